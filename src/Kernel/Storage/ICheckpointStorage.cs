namespace Ckpt.Storage;

/// <summary>
/// Where a checkpoint's bytes live. Paths are relative to the checkpoint root, '/'-separated, and can
/// never name anything outside it. Reads are positional and thread-safe.
/// </summary>
public interface ICheckpointStorage
{
    /// <summary>A name for messages: the root path or URL.</summary>
    string Root { get; }
    bool Exists(string path);
    long Length(string path);
    /// <summary>Files directly inside <paramref name="directory"/> ("" for the root), relative to the root.</summary>
    IReadOnlyList<string> List(string directory = "");
    /// <summary>Folders directly inside <paramref name="directory"/> ("" for the root), relative to the root, in ordinal order.</summary>
    IReadOnlyList<string> Folders(string directory = "");
    /// <summary>Reads exactly <paramref name="destination"/>.Length bytes at <paramref name="offset"/>, or throws Truncated.</summary>
    void Read(string path, long offset, Span<byte> destination, IoCategory category);
    IoStatistics Statistics { get; }
    /// <summary>How the read planner cuts reads of this storage (gaps read through, request size, bytes in flight); local disks keep <see cref="Planning.ReadTuning.LocalDisk"/>.</summary>
    Planning.ReadTuning Tuning => Planning.ReadTuning.LocalDisk;
}

public enum IoCategory { Metadata, Tensor }
