namespace Ckpt.Merging;

/// <summary>
/// A contiguous run of elements of one tensor, as float32, from every input of a merge. Buffers are
/// reused across chunks and tensors; only the first <see cref="Length"/> elements are valid.
/// </summary>
internal sealed class MergeChunk
{
    public MergeChunk(int models, bool withBase, int capacity)
    {
        Models = new float[models][];
        for (int i = 0; i < models; i++) Models[i] = new float[capacity];
        Base = withBase ? new float[capacity] : null;
    }

    /// <summary>Index of the first element in the flattened (row-major) tensor.</summary>
    public long Offset { get; set; }
    public int Length { get; set; }
    public float[][] Models { get; }
    public float[]? Base { get; }
    public int Capacity => Models.Length > 0 ? Models[0].Length : Base?.Length ?? 0;

    public ReadOnlySpan<float> Model(int i) => Models[i].AsSpan(0, Length);
}
