namespace Ckpt.Pickle;

/// <summary>How one pickle is loaded: where persistent ids go, and the bounds a hostile pickle meets.</summary>
public sealed record PickleOptions
{
    public static readonly PickleOptions Default = new();

    /// <summary>Turns a persistent id (PERSID / BINPERSID) into a value; without one, a persistent id is PickleInvalid.</summary>
    public Func<object?, object?>? PersistentLoad { get; init; }
    /// <summary>Items on the stack at once; protocol 1+ batches containers by 1000, so real pickles stay far below.</summary>
    public int MaxStackDepth { get; init; } = 100_000;
    /// <summary>MARK nesting; Python itself cannot pickle containers nested past its recursion limit (1000).</summary>
    public int MaxMarkDepth { get; init; } = 1000;
    public int MaxMemoEntries { get; init; } = 1 << 22;
    /// <summary>Longest text line (GLOBAL names, protocol-0 numbers and strings).</summary>
    public int MaxLineLength { get; init; } = 1 << 16;
    /// <summary>
    /// Longest LONG1/LONG4 integer. Python itself refuses to print an int over 4,300 digits (about 1,800 bytes):
    /// converting one to text is quadratic, so a 1 MiB integer would take minutes to show.
    /// </summary>
    public int MaxIntegerBytes { get; init; } = 4096;
    /// <summary>
    /// Nodes the loaded value may have, counted through every shared reference (<see cref="PyTreeSize"/>), per input
    /// byte plus a fixed allowance. Without sharing a pickle builds at most one node per opcode, each at least one
    /// byte; checkpoints share tensors (leaves) and the odd small dict, far below this.
    /// </summary>
    public long MaxNodesPerInputByte { get; init; } = 4;
    public long MaxNodesFixed { get; init; } = 100_000;
}
