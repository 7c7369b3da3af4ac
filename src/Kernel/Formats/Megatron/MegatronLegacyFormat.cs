using System.Text.RegularExpressions;
using Ckpt.Formats.TorchSave;
using Ckpt.Pickle;
using Ckpt.Resharding;

namespace Ckpt.Formats.Megatron;

/// <summary>
/// Megatron-LM legacy checkpoints (`--ckpt-format torch`; formats.md §5.1, NVIDIA/Megatron-LM
/// `megatron/training/checkpointing.py`), consolidated into global tensors without reading tensor bytes.
/// Invariants, each a typed reason:
/// - the root holds `latest_checkpointed_iteration.txt` ("release" or an integer) naming `release/` or
///   `iter_{:07d}/`, or is that iteration folder itself (MissingFile / MetadataInvalid);
/// - rank folders are `mp_rank_{tp:02d}` (PP = 1) or `mp_rank_{tp:02d}_{pp:03d}`, each with `model_optim_rng.pt`;
///   `args.tensor_model_parallel_size` × `args.pipeline_model_parallel_size` folders must all exist (MissingFile);
/// - every TP rank of a stage holds the same parameter names, with shapes that agree off the split dimension
///   (MetadataInvalid).
/// Merge rules (tools/checkpoint): column-parallel concat dim 0, row-parallel dim 1, replicated taken from TP
/// rank 0; SwiGLU fc1 (`args.swiglu`) is [gate_r; up_r] per rank and becomes two fragments per rank. Fused QKV stays
/// in Megatron's group-interleaved row order (TP ranks hold whole query groups, so dim-0 concat is exact).
/// Layer numbers are local to each PP stage and are renumbered by the stages' layer counts. `_extra_state`
/// (TransformerEngine FP8 blobs) and optimizer / RNG state are left out of the tensors.
/// </summary>
public sealed class MegatronLegacyFormat : ICheckpointFormat
{
    public const string Tracker = "latest_checkpointed_iteration.txt";
    const string RankFile = "model_optim_rng.pt";
    static readonly Regex Layer = new(@"(^|\.)layers\.(\d+)\.", RegexOptions.CultureInvariant);

    public string Name => "megatron-legacy";
    public int Priority => 20;

    public bool Matches(ICheckpointStorage storage, string entry)
    {
        if (entry.Length != 0) return false;
        string folder = "";
        if (storage.Exists(Tracker))
        {
            try { folder = IterationFolder(storage)! + "/"; }
            catch (CheckpointFormatException) { return true; } // a tracker that names nothing is this format's error to report
        }
        return storage.Exists($"{folder}mp_rank_00/{RankFile}") || storage.Exists($"{folder}mp_rank_00_000/{RankFile}");
    }

    public CheckpointManifest Describe(ICheckpointStorage storage, string entry, CancellationToken cancellationToken = default)
    {
        var folder = storage.Exists(Tracker) ? IterationFolder(storage)! : "";
        string Prefix(string p) => folder.Length == 0 ? p : $"{folder}/{p}";
        bool pipelined = storage.Exists(Prefix($"mp_rank_00_000/{RankFile}"));
        string RankPath(int tp, int pp) => Prefix(pipelined ? $"mp_rank_{tp:00}_{pp:000}/{RankFile}" : $"mp_rank_{tp:00}/{RankFile}");

        var first = TorchSaveFile.Read(storage, RankPath(0, 0));
        var args = first.Objects.FirstOrDefault(o => o.Name == "args")?.Value as PyObject;
        int tpSize = ArgInt(args, "tensor_model_parallel_size") ?? Count(storage, t => RankPath(t, 0));
        int ppSize = pipelined ? ArgInt(args, "pipeline_model_parallel_size") ?? Count(storage, p => RankPath(0, p)) : 1;
        bool gated = (args?.State as PyDict)?.Get("swiglu") is true;
        for (int p = 0; p < ppSize; p++)
            for (int t = 0; t < tpSize; t++)
                if (!storage.Exists(RankPath(t, p)))
                    throw new CheckpointFormatException(FormatErrorReason.MissingFile, RankPath(t, p), null,
                        $"tensor-parallel rank {t} of pipeline stage {p} is missing (args give TP {tpSize} × PP {ppSize})",
                        expected: $"{tpSize * ppSize} rank files");

        var rules = new TensorParallelLayout(tpSize, gated);
        var tensors = new List<TensorEntry>();
        int layerOffset = 0;
        var files = new List<StorageFile>();
        for (int p = 0; p < ppSize; p++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var ranks = Enumerable.Range(0, tpSize).Select(t => t == 0 && p == 0 ? first : TorchSaveFile.Read(storage, RankPath(t, p))).ToArray();
            files.AddRange(ranks.Select(r => new StorageFile(r.File, storage.Length(r.File))));
            var local = ranks.Select(r => r.Tensors.Where(IsModelWeight).ToDictionary(x => x.Name[(x.Name.IndexOf('.') + 1)..], StringComparer.Ordinal)).ToArray();
            int stageLayers = 0;
            foreach (var (name, entry0) in local[0])
            {
                var m = Layer.Match(name);
                if (m.Success) stageLayers = Math.Max(stageLayers, int.Parse(m.Groups[2].Value) + 1);
                var global = m.Success ? Layer.Replace(name, $"{m.Groups[1].Value}layers.{int.Parse(m.Groups[2].Value) + layerOffset}.", 1) : name;
                var shards = new TensorEntry[tpSize];
                for (int t = 0; t < tpSize; t++)
                    shards[t] = local[t].GetValueOrDefault(name) ?? throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid,
                        ranks[t].File, name, $"TP rank {t} lacks a parameter that TP rank 0 holds");
                tensors.Add(Merge(global, shards, rules.SplitOf(global, entry0.Rank), ranks[0].File));
            }
            layerOffset += stageLayers;
        }
        var objects = first.Objects.Where(o => !o.Name.StartsWith("model", StringComparison.Ordinal) && !o.Name.StartsWith("optimizer", StringComparison.Ordinal)).ToList();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["megatron.tensor_model_parallel_size"] = tpSize.ToString(),
            ["megatron.pipeline_model_parallel_size"] = ppSize.ToString(),
        };
        if (folder.Length > 0) metadata["megatron.iteration_folder"] = folder;
        return new CheckpointManifest
        {
            Format = Name,
            Framework = "megatron",
            Layout = new ParallelLayout(tpSize * ppSize, [ppSize, tpSize], $"Megatron TP {tpSize} × PP {ppSize}"),
            Metadata = metadata,
            Tensors = tensors,
            Objects = objects,
            Files = files,
        };
    }

    /// <summary>Model parameters: `model.*` (or `model0.*` for virtual stages), without TransformerEngine `_extra_state`.</summary>
    static bool IsModelWeight(TensorEntry t) =>
        Regex.IsMatch(t.Name, @"^model\d*\.") && !t.Name.EndsWith("._extra_state", StringComparison.Ordinal);

    internal static TensorEntry Merge(string name, TensorEntry[] shards, TensorParallelSplit split, string file)
    {
        if (shards.Length == 1 || split == TensorParallelSplit.Replicated)
            return shards[0] with { Name = name };
        int dim = split == TensorParallelSplit.Row ? 1 : 0;
        var first = shards[0];
        foreach (var s in shards)
        {
            if (s.DType != first.DType || s.Rank != first.Rank || Enumerable.Range(0, s.Rank).Any(d => d != dim && s.Shape[d] != first.Shape[d]))
                throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, file, name,
                    $"TP shards disagree: {first.DType} {first.ShapeText} against {s.DType} {s.ShapeText} off dim {dim}");
            if (split == TensorParallelSplit.GatedColumn && s.Shape[0] % 2 != 0)
                throw new CheckpointFormatException(FormatErrorReason.InvalidShape, file, name,
                    $"a SwiGLU fc1 shard has {s.Shape[0]} rows; it must hold equal gate and up halves");
        }
        var shape = first.Shape.ToArray();
        shape[dim] = shards.Sum(s => s.Shape[dim]);
        var fragments = new List<Fragment>();
        long at = 0;
        long half = shape[0] / 2;
        foreach (var s in shards)
        {
            foreach (var f in s.Fragments)
            {
                if (split != TensorParallelSplit.GatedColumn)
                {
                    var o = f.Offsets.ToArray();
                    o[dim] += at;
                    fragments.Add(f with { Offsets = o });
                    continue;
                }
                // [gate_r; up_r]: rows [0, h) of the shard go to gate rows [at/2, at/2 + h), rows [h, 2h) to up rows.
                long h = s.Shape[0] / 2;
                foreach (var (from, to) in new[] { (0L, at / 2), (h, half + at / 2) })
                {
                    long lo = Math.Max(f.Offsets[0], from), hi = Math.Min(f.Offsets[0] + f.Lengths[0], from + h);
                    if (hi <= lo) continue;
                    var o = f.Offsets.ToArray();
                    var l = f.Lengths.ToArray();
                    o[0] = to + (lo - from);
                    l[0] = hi - lo;
                    fragments.Add(f with { Offsets = o, Lengths = l, StorageOffset = f.StorageOffset + (lo - f.Offsets[0]) * f.Strides[0] });
                }
            }
            at += s.Shape[dim];
        }
        return new TensorEntry(name, first.DType, shape, fragments);
    }

    internal static string? IterationFolder(ICheckpointStorage storage)
    {
        var buffer = new byte[(int)Math.Min(storage.Length(Tracker), 64)];
        storage.Read(Tracker, 0, buffer, IoCategory.Metadata);
        var text = System.Text.Encoding.ASCII.GetString(buffer).Trim();
        if (text == "release") return "release";
        return int.TryParse(text, out var iteration) && iteration >= 0 ? $"iter_{iteration:0000000}"
            : throw new CheckpointFormatException(FormatErrorReason.MetadataInvalid, Tracker, null,
                "the tracker holds neither \"release\" nor an iteration number", expected: "release or an integer", found: text);
    }

    static int? ArgInt(PyObject? args, string key) => (args?.State as PyDict)?.Get(key) switch
    {
        long l => (int)l,
        int i => i,
        _ => null,
    };

    static int Count(ICheckpointStorage storage, Func<int, string> path)
    {
        int n = 0;
        while (storage.Exists(path(n))) n++;
        return n;
    }
}
