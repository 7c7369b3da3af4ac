using Ckpt.Planning;
using Ckpt.Resharding;
using Ckpt.Tensors;

namespace Ckpt.Tests.Resharding;

/// <summary>Expected local tensors cut from a fully materialised reference tensor, element by element.</summary>
static class ReferenceSlices
{
    /// <summary>The bytes of <paramref name="box"/> of a row-major tensor, in row-major order.</summary>
    public static byte[] Slice(TensorData full, Box box)
    {
        int item = full.DType.Size();
        var strides = Manifest.Shapes.ContiguousStrides(full.Shape);
        var result = new byte[box.ElementCount * item];
        if (box.ElementCount == 0) return result;
        var src = full.Bytes;
        var idx = new long[box.Rank];
        long k = 0;
        while (true)
        {
            long flat = 0;
            for (int d = 0; d < box.Rank; d++) flat += (box.Offsets[d] + idx[d]) * strides[d];
            src.Slice((int)(flat * item), item).CopyTo(result.AsSpan((int)(k++ * item)));
            int j = box.Rank - 1;
            while (j >= 0 && ++idx[j] == box.Lengths[j]) { idx[j] = 0; j--; }
            if (j < 0) break;
        }
        return result;
    }

    /// <summary>A rank's expected local bytes: its boxes in order, then zero padding.</summary>
    public static byte[] Expected(TensorData full, RankShard shard)
    {
        var parts = shard.Boxes.Select(b => Slice(full, b)).SelectMany(b => b);
        var padding = new byte[full.DType.ByteCount(shard.PaddingElements)];
        return parts.Concat(padding).ToArray();
    }
}
