using System.Diagnostics;
using System.Globalization;
using Ckpt.Manifest;
using Ckpt.Planning;
using Ckpt.Tensors;

namespace Ckpt.Merging;

/// <summary>
/// Runs a merge streaming: validates the spec and every input's manifest first, then for each tensor reads it
/// from every input in row chunks (at most <c>chunkElements</c> elements per input at a time), combines, writes
/// the merged tensor to the sink and releases it. Peak memory is one output tensor plus a few chunks, whatever
/// the model size or number of inputs. Inputs open through <see cref="Checkpoint.Open(string, CancellationToken)"/>,
/// so any format the project reads can be merged.
/// </summary>
public static class MergeExecutor
{
    /// <summary>16 M elements: 64 MB of float32 per input per chunk.</summary>
    public const long DefaultChunkElements = 16L << 20;

    public static MergeReport Run(MergeSpec spec, ITensorSink sink, long chunkElements = DefaultChunkElements,
        string? configSource = null, CancellationToken cancellationToken = default)
    {
        MergeSpecValidation.Check(spec, configSource);
        if (chunkElements < 1) throw new ArgumentOutOfRangeException(nameof(chunkElements));
        var clock = Stopwatch.StartNew();
        var opened = new List<Checkpoint>();
        try
        {
            Checkpoint? baseModel = spec.BaseModel is not null && spec.Method.NeedsBase() ? Open(spec.BaseModel, opened) : null;
            var models = spec.Models.Select(m => Open(m.Path, opened)).ToArray();
            var labelled = new List<(string, CheckpointManifest)>();
            if (baseModel is not null) labelled.Add((spec.BaseModel!, baseModel.Manifest));
            for (int i = 0; i < models.Length; i++) labelled.Add((spec.Models[i].Path, models[i].Manifest));
            MergeValidation.Check(labelled);

            var reference = baseModel ?? models[0];
            long readBefore = opened.Sum(c => c.Storage.Statistics.TensorBytesRead);
            var kernel = MergeKernel.For(spec);
            int capacity = (int)Math.Min(int.MaxValue, reference.Manifest.Tensors
                .Select(t => Chunks(t.Shape, chunkElements).Select(c => c.Length).DefaultIfEmpty(0).Max()).DefaultIfEmpty(0).Max());
            var chunk = new MergeChunk(models.Length, baseModel is not null, capacity);
            var merged = new float[capacity];
            var colinear = new List<string>();
            var copied = new List<string>();
            long elements = 0, written = 0;

            foreach (var entry in reference.Manifest.Tensors)
            {
                cancellationToken.ThrowIfCancellationRequested();
                elements += entry.ElementCount;
                if (!entry.DType.IsFloatingPoint())
                {
                    using var same = reference.Read(entry.Name, null, cancellationToken);
                    sink.Write(same);
                    written += same.ByteLength;
                    copied.Add(entry.Name);
                    continue;
                }
                var outType = spec.OutputDType ?? (FloatSpans.CanEncode(entry.DType) ? entry.DType : DType.F32);
                using var output = new TensorData(entry.Name, outType, entry.Shape);
                var chunks = Chunks(entry.Shape, chunkElements).ToArray();
                kernel.BeginTensor(entry.Name, entry.ElementCount);
                bool loaded = false;
                for (int pass = 0; pass < kernel.StatisticPasses; pass++)
                {
                    foreach (var c in chunks)
                    {
                        if (!(loaded && chunks.Length == 1)) Load(entry.Name, c, baseModel, models, chunk, cancellationToken);
                        loaded = true;
                        kernel.Observe(pass, chunk);
                    }
                    kernel.EndPass(pass);
                }
                foreach (var c in chunks)
                {
                    if (!(loaded && chunks.Length == 1)) Load(entry.Name, c, baseModel, models, chunk, cancellationToken);
                    var span = merged.AsSpan(0, c.Length);
                    kernel.Combine(chunk, span);
                    int size = outType.Size();
                    FloatSpans.Encode(span, outType, output.Slice(c.Offset * size, c.Length * size));
                }
                if (kernel is SlerpKernel { UsedLerp: true }) colinear.Add(entry.Name);
                sink.Write(output);
                written += output.ByteLength;
            }

            var parameters = Parameters(spec);
            sink.Complete(parameters.ToDictionary(kv => "merge_" + kv.Key, kv => Convert.ToString(kv.Value, CultureInfo.InvariantCulture) ?? ""));
            return new MergeReport
            {
                Method = spec.Method.ConfigName(),
                Models = spec.Models,
                BaseModel = baseModel is null ? null : spec.BaseModel,
                Parameters = parameters,
                Tensors = reference.Manifest.Tensors.Count,
                Elements = elements,
                InputBytes = opened.Sum(c => c.Manifest.TensorBytes),
                BytesRead = opened.Sum(c => c.Storage.Statistics.TensorBytesRead) - readBefore,
                BytesWritten = written,
                Seconds = clock.Elapsed.TotalSeconds,
                ColinearFallbacks = colinear,
                Copied = copied,
            };
        }
        finally
        {
            foreach (var c in opened) c.Dispose();
        }
    }

    static Checkpoint Open(string path, List<Checkpoint> opened)
    {
        var c = Checkpoint.Open(path);
        opened.Add(c);
        return c;
    }

    static Dictionary<string, object?> Parameters(MergeSpec spec)
    {
        var p = new Dictionary<string, object?>();
        switch (spec.Method)
        {
            case MergeMethod.Linear: p["normalize"] = spec.EffectiveNormalize; break;
            case MergeMethod.Slerp: p["t"] = spec.T; break;
            default:
                p["lambda"] = spec.Lambda;
                p["normalize"] = spec.EffectiveNormalize;
                if (spec.Method != MergeMethod.TaskArithmetic) p["density"] = spec.Density;
                if (spec.Method is MergeMethod.DareLinear or MergeMethod.DareTies) p["seed"] = spec.Seed;
                break;
        }
        p["weights"] = spec.Models.Select(m => m.Weight).ToArray();
        p["dtype"] = spec.OutputDType?.ToString();
        return p;
    }

    internal readonly record struct Chunk(Box? Box, long Offset, int Length);

    /// <summary>Whole tensor when it fits, else runs of whole rows along dim 0 (read as boxes).</summary>
    internal static IEnumerable<Chunk> Chunks(IReadOnlyList<long> shape, long chunkElements)
    {
        long n = Shapes.ElementCount(shape);
        if (n == 0) yield break;
        if (n <= chunkElements || shape.Count == 0) { yield return new Chunk(null, 0, checked((int)n)); yield break; }
        long rowElements = n / shape[0];
        long rows = Math.Max(1, chunkElements / rowElements);
        for (long r = 0; r < shape[0]; r += rows)
        {
            long len = Math.Min(rows, shape[0] - r);
            var offsets = new long[shape.Count];
            offsets[0] = r;
            var lengths = shape.ToArray();
            lengths[0] = len;
            yield return new Chunk(new Box(offsets, lengths), r * rowElements, checked((int)(len * rowElements)));
        }
    }

    static void Load(string name, Chunk c, Checkpoint? baseModel, Checkpoint[] models, MergeChunk chunk, CancellationToken ct)
    {
        chunk.Offset = c.Offset;
        chunk.Length = c.Length;
        if (baseModel is not null) Decode(baseModel, name, c, chunk.Base!, ct);
        for (int i = 0; i < models.Length; i++) Decode(models[i], name, c, chunk.Models[i], ct);
    }

    static void Decode(Checkpoint from, string name, Chunk c, float[] into, CancellationToken ct)
    {
        using var data = from.Read(name, c.Box, ct);
        FloatSpans.Decode(data.DType, data.Bytes, into.AsSpan(0, c.Length));
    }
}
