using Ckpt.Errors;
using Ckpt.Formats.Dcp;
using Ckpt.Formats.Safetensors;
using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;
using Ckpt.Manifest;
using Ckpt.Monitoring;
using Ckpt.Outputs;
using Ckpt.Planning;
using Ckpt.Tensors;

namespace Ckpt.Conversion;

/// <summary>
/// Turns any readable checkpoint into another format, one tensor at a time: sharded or DCP inputs are
/// consolidated through the read planner, so peak memory is about one tensor, not the model.
/// </summary>
public static class CheckpointConverter
{
    /// <summary>Files beside a model's weights that make the converted folder loadable as that model (as save_pretrained writes them).</summary>
    public static readonly IReadOnlyList<string> ModelFiles =
        ["config.json", "generation_config.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>Writes into a staging sibling of the output and moves it into place when complete (<see cref="OutputFolder"/>).</summary>
    public static ConversionResult Convert(Checkpoint source, ConvertOptions options, CancellationToken cancellationToken = default,
        IProgress<ByteProgress>? progress = null)
    {
        using var output = OutputFolder.Begin(options.OutputDirectory, [source.Path, options.MergeAdapter], options.Overwrite);
        using var merge = options.MergeAdapter is { } adapter ? Training.LoraMerge.Open(adapter, source.Manifest, cancellationToken) : null;
        var result = Write(source, options with { OutputDirectory = output.Staging }, merge, progress, cancellationToken);
        var copied = CopyModelFiles(source.Path, output.Staging);
        output.Commit();
        return result with
        {
            Files = result.Files.Select(output.Final).ToArray(),
            IndexFile = result.IndexFile is { } index ? output.Final(index) : null,
            CopiedFiles = copied.Select(output.Final).ToArray(),
            MergedWeights = merge?.Count ?? 0,
        };
    }

    static IReadOnlyList<string> CopyModelFiles(string sourcePath, string outputDirectory)
    {
        var folder = Directory.Exists(sourcePath) ? sourcePath : Path.GetDirectoryName(Path.GetFullPath(sourcePath))!;
        var copied = new List<string>();
        foreach (var name in ModelFiles)
        {
            var from = Path.Combine(folder, name);
            var to = Path.Combine(outputDirectory, name);
            if (!File.Exists(from) || File.Exists(to)) continue;
            File.Copy(from, to);
            copied.Add(to);
        }
        return copied;
    }

    static ConversionResult Write(Checkpoint source, ConvertOptions options, Training.LoraMerge? merge, IProgress<ByteProgress>? progress,
        CancellationToken cancellationToken)
    {
        if (options.MaxShardBytes <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), "max shard size must be positive");

        var filter = new TensorFilter(options.Only ?? []);
        var selected = source.Manifest.Tensors.Where(t => filter.Includes(t.Name)).ToArray();
        if (selected.Length == 0)
            throw new CheckpointFormatException(FormatErrorReason.TensorNotFound, source.Path, null,
                $"no tensor matches --only {string.Join(",", options.Only ?? [])}");
        if (options.DType is { } to)
            foreach (var t in selected.Where(t => !DTypeConversion.CanConvert(t.DType, to) && t.DType.IsFloatingPoint()))
                throw new CheckpointFormatException(FormatErrorReason.Unsupported, source.Path, t.Name, $"cannot cast {t.DType} to {to}");

        var timeline = new OperationTimeline("convert")
        {
            Progress = progress,
            ExpectedBytes = selected.Sum(t => (options.DType is { } d && t.DType.IsFloatingPoint() ? d : t.DType).ByteCount(t.ElementCount)),
        };
        var sources = selected.Select(t =>
        {
            var target = options.DType is { } d && t.DType.IsFloatingPoint() ? d : t.DType;
            var name = options.StripPrefix is { } p && t.Name.StartsWith(p, StringComparison.Ordinal) ? t.Name[p.Length..] : t.Name;
            return new TensorSource(name, target, t.Shape, () =>
            {
                var data = TensorReader.Read(source.Storage, t, null, Environment.ProcessorCount * 2, timeline, cancellationToken);
                if (merge is not null && merge.Changes(t.Name))
                {
                    var merged = merge.Apply(t.Name, data, cancellationToken);
                    data.Dispose();
                    data = merged;
                }
                return target == t.DType ? data : DTypeConversion.Convert(data, target);
            });
        }).ToArray();
        var duplicate = sources.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, source.Path, duplicate.Key,
                "two tensors map to this name after --strip-prefix");

        var skipped = source.Manifest.Objects.Select(o => o.Name).ToArray();
        switch (options.To)
        {
            case TargetFormat.Dcp:
            {
                // One writer rank, each tensor one whole chunk; plain-data values travel as bytes items.
                Directory.CreateDirectory(options.OutputDirectory);
                var tensors = sources.Select(s => new DcpTensorWrite(s.Name, s.DType, s.Shape,
                    [new DcpChunkWrite(0, Box.Whole(s.Shape), s.Load)])).ToArray();
                var objects = source.Manifest.Objects
                    .Where(o => !o.Name.StartsWith(".metadata/", StringComparison.Ordinal) && PickleWriter.CanWrite(o.Value))
                    .Select(o => new DcpBytesWrite(o.Name, 0, TorchSaveWriter.SaveObject(o.Value))).ToArray();
                var dcp = DcpWriter.Write(options.OutputDirectory, tensors, objects, null, 1, timeline, cancellationToken);
                return new ConversionResult(dcp.Files, Path.Combine(options.OutputDirectory, DcpWriter.MetadataFileName), sources.Length,
                    dcp.BytesWritten, skipped.Except(objects.Select(o => o.Fqn)).ToArray(), timeline);
            }
            case TargetFormat.Torch:
            {
                Directory.CreateDirectory(options.OutputDirectory);
                var path = Path.Combine(options.OutputDirectory, "model.pt");
                var bytes = TorchSaveWriter.Write(path, sources, timeline, cancellationToken);
                return new ConversionResult([path], null, sources.Length, bytes, skipped, timeline);
            }
            default:
            {
                var metadata = new Dictionary<string, string> { ["format"] = "pt" };
                var written = ShardedSafetensorsWriter.Write(options.OutputDirectory, sources, options.MaxShardBytes, metadata, "model", timeline, cancellationToken);
                return new ConversionResult(written.Files, written.IndexFile, sources.Length, written.TotalBytes, skipped, timeline);
            }
        }
    }
}
