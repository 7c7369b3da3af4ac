using Ckpt.Formats.Dcp;
using Ckpt.Formats.Safetensors;
using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;
using Ckpt.Monitoring;
using Ckpt.Outputs;
using Ckpt.Planning;

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
        IProgress<ByteProgress>? progress = null) => Convert(source, options, null, cancellationToken, progress);

    /// <param name="meter">Adds up the bytes the read-ahead holds (a checkpoint in an object store), for a test to hold against the budget.</param>
    internal static ConversionResult Convert(Checkpoint source, ConvertOptions options, ReadAheadMeter? meter, CancellationToken cancellationToken,
        IProgress<ByteProgress>? progress = null)
    {
        if (options.Share is not null) return ConvertPart(source, options, meter, cancellationToken);
        using var output = OutputFolder.Begin(options.OutputDirectory, [source.Path, options.MergeAdapter], options.Overwrite);
        using var merge = options.MergeAdapter is { } adapter ? Training.LoraMerge.Open(adapter, source.Manifest, cancellationToken) : null;
        var result = Write(source, options with { OutputDirectory = output.Staging }, merge, progress, meter, cancellationToken);
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

    /// <summary>
    /// This process's part of a conversion on a cluster (<see cref="ConvertOptions.Share"/>): the safetensors shards i with
    /// i mod N = rank, or for DCP the one data file (part 0); `ckpt finalize` writes the index. A torch.save output, and
    /// safetensors that fit one shard, are one file a reader accepts alone, so they are refused here.
    /// </summary>
    static ConversionResult ConvertPart(Checkpoint source, ConvertOptions options, ReadAheadMeter? meter, CancellationToken cancellationToken)
    {
        var share = options.Share!;
        if (options.To == TargetFormat.Torch)
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, options.OutputDirectory, null,
                "--to torch writes one file (model.pt), which cannot be split between --ranks processes; convert it in one process");
        using var merge = options.MergeAdapter is { } adapter ? Training.LoraMerge.Open(adapter, source.Manifest, cancellationToken) : null;
        var timeline = new OperationTimeline("convert");
        using var ahead = TensorReadAhead.For(source.Storage, timeline, cancellationToken, meter: meter);
        var ((sources, skipped), entries) = Sources(source, options, merge, ahead, timeline, cancellationToken);
        string[] inputs = options.MergeAdapter is { } a ? [source.Path, a] : [source.Path];
        if (options.To == TargetFormat.Dcp)
        {
            var (tensors, objects) = DcpItems(source, sources);
            // One writer rank (part 0): the tensors in order, if this process owns it.
            if (share.Owns(0)) ExpectReads(ahead, sources, entries, sources);
            using var part = OutputParts.Begin(options.OutputDirectory, inputs, options.Overwrite, "convert", share.Rank, share.Ranks,
                Cluster.PartIndex.Dcp(tensors, objects, null));
            var files = DcpWriter.WriteData(part.Staging, tensors, objects, share.Owns, 1, timeline, cancellationToken);
            var copied = share.Rank == 0 ? CopyModelFiles(source.Path, part.Staging) : [];
            var names = files.Select(f => f.File).Concat(copied.Select(Path.GetFileName)).ToArray();
            long bytes = names.Sum(f => new FileInfo(Path.Combine(part.Staging, f!)).Length);
            var paths = part.Commit(names!, Cluster.PartIndex.Stored(files));
            return new ConversionResult(paths.Take(files.Count).ToArray(), null, files.Sum(f => f.Items.Count(i => i.Offsets is not null)), bytes,
                skipped.Except(objects.Select(o => o.Fqn)).ToArray(), timeline) { CopiedFiles = paths.Skip(files.Count).ToArray() };
        }
        var shards = ShardedSafetensorsWriter.Split(sources, options.MaxShardBytes);
        if (shards.Count <= 1)
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, options.OutputDirectory, null,
                $"the output fits one safetensors file under --max-shard-size {ByteSize.Format(options.MaxShardBytes)}, which cannot be split between --ranks processes; lower --max-shard-size or convert it in one process");
        ExpectReads(ahead, sources, entries, SafetensorsOrder(shards.Where((_, i) => share.Owns(i))));
        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
            foreach (var t in shards[i]) weightMap[t.Name] = ShardedSafetensorsWriter.ShardName("model", i, shards.Count);
        const string indexName = "model.safetensors.index.json";
        using (var part = OutputParts.Begin(options.OutputDirectory, inputs, options.Overwrite, "convert", share.Rank, share.Ranks,
            Cluster.PartIndex.Safetensors(indexName, sources.Sum(t => Manifest.Shapes.ElementCount(t.Shape)), sources.Sum(t => t.ByteCount), weightMap)))
        {
            var written = new List<string>();
            int tensorCount = 0;
            for (int i = 0; i < shards.Count; i++)
            {
                if (!share.Owns(i)) continue;
                var name = ShardedSafetensorsWriter.ShardName("model", i, shards.Count);
                SafetensorsWriter.Write(Path.Combine(part.Staging, name), shards[i], new Dictionary<string, string> { ["format"] = "pt" }, timeline, cancellationToken);
                written.Add(name);
                tensorCount += shards[i].Count;
            }
            var copied = share.Rank == 0 ? CopyModelFiles(source.Path, part.Staging) : [];
            var names = written.Concat(copied.Select(c => Path.GetFileName(c))).ToArray();
            long bytes = names.Sum(f => new FileInfo(Path.Combine(part.Staging, f)).Length);
            var paths = part.Commit(names, []);
            return new ConversionResult(paths.Take(written.Count).ToArray(), null, tensorCount, bytes, skipped, timeline) { CopiedFiles = paths.Skip(written.Count).ToArray() };
        }
    }

    /// <summary>
    /// The tensors to write, each read when the writer pulls it: through <paramref name="ahead"/> where the storage reads
    /// ahead (then <see cref="ExpectReads"/> tells it the writer's order), else one plain read each. Entries[i] is Sources[i]'s.
    /// </summary>
    static ((TensorSource[] Sources, string[] Skipped) Sources, TensorEntry[] Entries) Sources(Checkpoint source, ConvertOptions options,
        Training.LoraMerge? merge, TensorReadAhead? ahead, OperationTimeline timeline, CancellationToken cancellationToken)
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

        var sources = selected.Select(t =>
        {
            var target = options.DType is { } d && t.DType.IsFloatingPoint() ? d : t.DType;
            var name = options.StripPrefix is { } p && t.Name.StartsWith(p, StringComparison.Ordinal) ? t.Name[p.Length..] : t.Name;
            return new TensorSource(name, target, t.Shape, () =>
            {
                var data = ahead?.Read(t, null, Environment.ProcessorCount * 2)
                    ?? TensorReader.Read(source.Storage, t, null, Environment.ProcessorCount * 2, timeline, cancellationToken);
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

        return ((sources, source.Manifest.Objects.Select(o => o.Name).ToArray()), selected);
    }

    /// <summary>
    /// Tells <paramref name="ahead"/> the order the writer pulls <paramref name="written"/> (a subset of
    /// <paramref name="sources"/>, in the writer's order), each the whole tensor of its entry.
    /// </summary>
    static void ExpectReads(TensorReadAhead? ahead, IReadOnlyList<TensorSource> sources, IReadOnlyList<TensorEntry> entries,
        IEnumerable<TensorSource> written)
    {
        if (ahead is null) return;
        var entryOf = new Dictionary<TensorSource, TensorEntry>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < sources.Count; i++) entryOf[sources[i]] = entries[i];
        foreach (var s in written) ahead.Expect(entryOf[s]);
    }

    /// <summary>The order <see cref="ShardedSafetensorsWriter"/> (and <see cref="SafetensorsWriter"/> per shard) loads tensors.</summary>
    static IEnumerable<TensorSource> SafetensorsOrder(IEnumerable<IReadOnlyList<TensorSource>> shards) => shards.SelectMany(SafetensorsWriter.Order);

    /// <summary>One writer rank, each tensor one whole chunk; plain-data values travel as bytes items.</summary>
    static (DcpTensorWrite[] Tensors, DcpBytesWrite[] Objects) DcpItems(Checkpoint source, IReadOnlyList<TensorSource> sources) => (
        sources.Select(s => new DcpTensorWrite(s.Name, s.DType, s.Shape, [new DcpChunkWrite(0, Box.Whole(s.Shape), s.Load)])).ToArray(),
        source.Manifest.Objects
            .Where(o => !o.Name.StartsWith(".metadata/", StringComparison.Ordinal) && PickleWriter.CanWrite(o.Value))
            .Select(o => new DcpBytesWrite(o.Name, 0, TorchSaveWriter.SaveObject(o.Value))).ToArray());

    static ConversionResult Write(Checkpoint source, ConvertOptions options, Training.LoraMerge? merge, IProgress<ByteProgress>? progress,
        ReadAheadMeter? meter, CancellationToken cancellationToken)
    {
        var timeline = new OperationTimeline("convert") { Progress = progress };
        using var ahead = TensorReadAhead.For(source.Storage, timeline, cancellationToken, meter: meter);
        var ((sources, skipped), entries) = Sources(source, options, merge, ahead, timeline, cancellationToken);
        timeline.ExpectedBytes = sources.Sum(s => s.ByteCount);
        // The order each writer pulls the tensors: DCP (one rank) and torch.save in state-dict order, safetensors per shard sorted.
        ExpectReads(ahead, sources, entries, options.To switch
        {
            TargetFormat.Dcp or TargetFormat.Torch => sources,
            _ => SafetensorsOrder(ShardedSafetensorsWriter.Split(sources, options.MaxShardBytes)),
        });
        switch (options.To)
        {
            case TargetFormat.Dcp:
            {
                Directory.CreateDirectory(options.OutputDirectory);
                var (tensors, objects) = DcpItems(source, sources);
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
