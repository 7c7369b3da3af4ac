using Ckpt.Formats;
using Ckpt.Monitoring;
using Ckpt.Planning;

namespace Ckpt;

/// <summary>
/// An opened checkpoint: its manifest (read from headers only) and the storage its bytes come from.
/// The entry point from C#: <c>using var ckpt = Checkpoint.Open("./run/step-2000");</c>
/// </summary>
public sealed class Checkpoint : IDisposable
{
    public string Path { get; }
    public CheckpointManifest Manifest { get; }
    public ICheckpointStorage Storage { get; }
    /// <summary>Timeline of the most recent operation on this checkpoint (open, reads).</summary>
    public OperationTimeline LastTimeline { get; private set; }

    Checkpoint(string path, CheckpointManifest manifest, ICheckpointStorage storage, OperationTimeline timeline)
    {
        Path = path;
        Manifest = manifest;
        Storage = storage;
        LastTimeline = timeline;
    }

    /// <summary>Opens a checkpoint file or folder in any supported format, reading headers and metadata only.</summary>
    public static Checkpoint Open(string path, CancellationToken cancellationToken = default)
    {
        if (ObjectUrl.IsObjectUrl(path)) return OpenObjects(ObjectUrl.Parse(path), path, cancellationToken);
        var full = System.IO.Path.GetFullPath(path);
        string root, entry;
        if (Directory.Exists(full)) { root = full; entry = ""; }
        else if (File.Exists(full))
        {
            RegularFile.Require(full, path);
            root = System.IO.Path.GetDirectoryName(full)!;
            entry = System.IO.Path.GetFileName(full);
        }
        else throw new CheckpointFormatException(FormatErrorReason.MissingFile, path, null, "no such file or folder");

        var storage = new LocalStorage(root);
        try
        {
            return Open(storage, entry, path, cancellationToken);
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    /// <summary>`s3://bucket/prefix` or `az://container/prefix`: a folder of objects, or else one object in its parent's.</summary>
    static Checkpoint OpenObjects(ObjectUrl url, string path, CancellationToken cancellationToken)
    {
        ObjectStorage storage = ObjectStorage.Open(url);
        string entry = "";
        try
        {
            if (storage.Objects.Count == 0 && url.Parent() is { } parent)
            {
                var folder = ObjectStorage.Open(parent);
                if (folder.Exists(url.Name)) { storage.Dispose(); storage = folder; entry = url.Name; }
                else folder.Dispose();
            }
            if (storage.Objects.Count == 0)
                throw new CheckpointFormatException(FormatErrorReason.MissingFile, path, null, "no object has that name or prefix");
            return Open(storage, entry, path, cancellationToken);
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    /// <summary>Opens <paramref name="entry"/> ("" for the root folder) of any storage.</summary>
    public static Checkpoint Open(ICheckpointStorage storage, string entry, string? displayPath = null, CancellationToken cancellationToken = default)
    {
        var timeline = new OperationTimeline("open");
        var start = timeline.Now;
        var format = CheckpointProbe.Find(storage, entry);
        CheckpointManifest manifest;
        try
        {
            manifest = format.Describe(storage, entry, cancellationToken);
        }
        catch (OverflowException e)
        {
            throw new CheckpointFormatException(FormatErrorReason.InvalidShape, entry.Length == 0 ? storage.Root : entry, null,
                $"a size in the {format.Name} metadata overflows ({e.Message.TrimEnd('.')})");
        }
        ManifestValidator.Validate(manifest, storage);
        timeline.Record("describe", format.Name, start, storage.Statistics.MetadataBytesRead);
        return new Checkpoint(displayPath ?? System.IO.Path.Combine(storage.Root, entry), manifest, storage, timeline);
    }

    /// <summary>A checkpoint over a manifest built elsewhere (a <see cref="CheckpointSetView"/>); takes <paramref name="storage"/>.</summary>
    internal static Checkpoint FromManifest(string path, CheckpointManifest manifest, ICheckpointStorage storage) =>
        new(path, manifest, storage, new OperationTimeline("open"));

    public TensorEntry GetEntry(string name) => Manifest.Find(name)
        ?? throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, Path, name,
            $"the checkpoint has no tensor of that name ({Manifest.Tensors.Count} tensors)");

    /// <summary>
    /// Reads a whole tensor, or the N-d <paramref name="slice"/> of it, reading only the bytes it needs; kept in
    /// its saved dtype unless <paramref name="as"/> asks for another floating dtype.
    /// </summary>
    public TensorData Read(string name, Box? slice = null, DType? @as = null, CancellationToken cancellationToken = default)
    {
        var timeline = new OperationTimeline("read");
        LastTimeline = timeline;
        var data = TensorReader.Read(Storage, GetEntry(name), slice, Environment.ProcessorCount * 2, timeline, cancellationToken);
        return @as is { } d && d != data.DType ? Conversion.DTypeConversion.Convert(data, d) : data;
    }

    public TensorData Read(string name, Box? slice, CancellationToken cancellationToken) => Read(name, slice, null, cancellationToken);

    /// <summary>Makes <paramref name="timeline"/> the one <see cref="LastTimeline"/> reports (diff, statistics).</summary>
    internal void RecordTimeline(OperationTimeline timeline) => LastTimeline = timeline;

    public void Dispose() => (Storage as IDisposable)?.Dispose();

    public override string ToString() =>
        $"{Manifest.Format} checkpoint {Path}: {Manifest.Tensors.Count} tensors, {Manifest.ParameterCount:N0} elements";
}
