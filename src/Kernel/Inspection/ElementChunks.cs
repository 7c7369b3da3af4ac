namespace Ckpt.Inspection;

/// <summary>A tensor's values widened to float64 a bounded chunk at a time, so statistics never hold a second full copy.</summary>
static class ElementChunks
{
    const int ChunkElements = 1 << 20;

    public static IEnumerable<double[]> Of(TensorData data)
    {
        int size = data.DType.Size();
        for (long start = 0; start < data.ElementCount; start += ChunkElements)
        {
            int n = (int)Math.Min(ChunkElements, data.ElementCount - start);
            yield return ElementConversion.ToDoubles(data.DType, data.Slice(start * size, n * size), n);
        }
    }

    public static bool Supports(DType d) => d is not (DType.F4 or DType.C64 or DType.C128
        or DType.F8_E4M3FNUZ or DType.F8_E5M2FNUZ or DType.F8_E8M0);
}
