using Ckpt.Monitoring;

namespace Ckpt.Resilience;

/// <summary>
/// Turns a snapshot into files. The checkpointer owns where the files go, their checksums, sizes and
/// fsync (through <see cref="ISnapshotSink"/>); a writer only decides the bytes, so any format writer that
/// writes to a Stream plugs in.
/// </summary>
public interface ISnapshotWriter
{
    /// <summary>Writes every file of the snapshot through the sink; records its "serialise" and "write" phases.</summary>
    void Write(Snapshot snapshot, ISnapshotSink sink, OperationTimeline timeline);
}

public interface ISnapshotSink
{
    /// <summary>A new file in the checkpoint being written (a plain name, no folders).</summary>
    Stream Create(string fileName);
}
