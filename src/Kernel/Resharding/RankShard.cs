using Ckpt.Planning;

namespace Ckpt.Resharding;

/// <summary>
/// What one target rank holds of one tensor: boxes of the global tensor whose row-major elements, concatenated
/// in order and followed by <see cref="PaddingElements"/> zeros, form the rank's local tensor of
/// <see cref="LocalShape"/>. A DTensor shard is one box; an FSDP flat shard is the few boxes a flat range cuts
/// into; a Megatron SwiGLU fc1 shard is its gate box then its up box.
/// </summary>
public sealed record RankShard(IReadOnlyList<Box> Boxes, IReadOnlyList<long> LocalShape, long PaddingElements = 0)
{
    /// <summary>Elements that come from the saved tensor (padding excluded).</summary>
    public long ElementCount => Boxes.Sum(b => b.ElementCount);
    public bool IsEmpty => ElementCount == 0;

    public static RankShard Of(Box box) => new([box], box.Lengths);

    public override string ToString() =>
        string.Join(" + ", Boxes) + (PaddingElements > 0 ? $" + {PaddingElements} padding" : "") + $" as [{string.Join(", ", LocalShape)}]";
}
