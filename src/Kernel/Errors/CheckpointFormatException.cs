namespace Ckpt.Errors;

/// <summary>Why a checkpoint could not be read. One value per invariant a reader enforces.</summary>
public enum FormatErrorReason
{
    UnknownFormat,
    EmptyFile,
    Truncated,
    HeaderTooLarge,
    HeaderInvalid,
    MetadataInvalid,
    UnknownDType,
    InvalidShape,
    OffsetOutOfBounds,
    OverlappingData,
    HoleInData,
    ByteLengthMismatch,
    MissingFile,
    PathEscapesCheckpoint,
    ForbiddenPickleGlobal,
    PickleInvalid,
    ZipInvalid,
    UnsupportedTransform,
    TransformFailed,
    ChunksDoNotCoverTensor,
    TensorNotFound,
    SliceOutOfBounds,
    TooLarge,
    ChecksumMismatch,
    Incomplete,
    Unsupported,
    /// <summary>Inputs of a merge differ in tensor names, shapes or dtypes.</summary>
    MergeInputsDisagree,
    /// <summary>A merge configuration (YAML or options) has a missing, unknown or out-of-range key.</summary>
    MergeConfigInvalid,
    /// <summary>A path names a FIFO, socket, device or folder where a file is read; it is never opened (a FIFO would block).</summary>
    NotARegularFile,
    /// <summary>A path is a loop of symbolic links.</summary>
    SymbolicLinkLoop,
    /// <summary>A numeric option is out of range for the checkpoint it applies to (a world size above a tensor's elements).</summary>
    OptionOutOfRange,
    /// <summary>An output path that would overwrite, delete or overlap something Ckpt must not touch.</summary>
    OutputRefused,
    /// <summary>A folder of several checkpoints (a <see cref="Ckpt.CheckpointSet"/>) given where one checkpoint is needed.</summary>
    CheckpointSet,
    /// <summary>A checkpoint's tensors do not fit a module's state: missing, unexpected or mis-shaped keys.</summary>
    StateDictMismatch,
    /// <summary>An object store refused or failed a request (missing bucket or credentials, unreachable after retries).</summary>
    StorageUnavailable,
}

/// <summary>
/// The one exception a reader throws for bad input. Its message is one sentence naming the file,
/// the tensor (when there is one) and what was expected against what was found.
/// </summary>
public sealed class CheckpointFormatException : Exception
{
    public FormatErrorReason Reason { get; }
    public string? File { get; }
    public string? Tensor { get; }
    public string? Expected { get; }
    public string? Found { get; }

    public CheckpointFormatException(FormatErrorReason reason, string? file, string? tensor, string detail,
        string? expected = null, string? found = null, Exception? inner = null)
        : base(Compose(reason, file, tensor, detail, expected, found), inner)
    {
        Reason = reason;
        File = file;
        Tensor = tensor;
        Expected = expected;
        Found = found;
    }

    static string Compose(FormatErrorReason reason, string? file, string? tensor, string detail, string? expected, string? found)
    {
        var where = file is null ? "" : $"{file}: ";
        var what = tensor is null ? "" : $"tensor '{tensor}': ";
        var cmp = expected is null && found is null ? "" : $" (expected {expected ?? "?"}, found {found ?? "?"})";
        var sentence = $"{where}{what}{detail}{cmp}";
        sentence = sentence.TrimEnd('.');
        // Names come from the file (tensor names, keys, zip members) or the user (paths): a newline in one must not
        // turn the one-line error into several, nor a terminal escape recolour it.
        return ControlCharacters.Escape($"{sentence} [{reason}].");
    }
}
