using Ckpt.Conversion;

namespace Ckpt.Inspection;

/// <summary>
/// How a checkpoint's tensor bytes spread over ranks and files, from the manifest alone (no tensor bytes
/// are read). Bytes are element bytes of each fragment (dtype size × box elements), so they add up to the
/// tensors' sizes whatever container (zip, zstd) the payload sits in.
/// </summary>
public sealed record CheckpointLayout(
    IReadOnlyList<int?> Ranks,
    IReadOnlyList<string> Files,
    long[,] Bytes,
    IReadOnlyList<TensorLayout> Tensors,
    int TensorCount,
    int FragmentCount)
{
    public long BytesOfRank(int rankIndex)
    {
        long sum = 0;
        for (int f = 0; f < Files.Count; f++) sum += Bytes[rankIndex, f];
        return sum;
    }

    public long BytesOfFile(int fileIndex)
    {
        long sum = 0;
        for (int r = 0; r < Ranks.Count; r++) sum += Bytes[r, fileIndex];
        return sum;
    }

    public long TotalBytes
    {
        get { long s = 0; foreach (var b in Bytes) s += b; return s; }
    }

    /// <summary>Each rank's bytes over the mean bytes per rank: all 1 where the ranks hold equal shares; all 0 for a layout of no bytes.</summary>
    public double[] RankSharesOfMean()
    {
        double mean = Ranks.Count == 0 ? 0 : (double)TotalBytes / Ranks.Count;
        return Enumerable.Range(0, Ranks.Count).Select(r => mean > 0 ? BytesOfRank(r) / mean : 0).ToArray();
    }

    /// <summary>
    /// Aggregates every tensor the filter includes; the per-tensor box maps are kept for at most
    /// <paramref name="maxBoxTensors"/> tensors (the largest by bytes when there are more).
    /// </summary>
    public static CheckpointLayout Of(CheckpointManifest manifest, TensorFilter? filter = null, int maxBoxTensors = 12)
    {
        filter ??= TensorFilter.All;
        var tensors = manifest.Tensors.Where(t => filter.Includes(t.Name)).ToList();
        var ranks = tensors.SelectMany(t => t.Fragments).Select(f => f.WriterRank).Distinct()
            .OrderBy(r => r ?? int.MaxValue).ToList();
        var files = tensors.SelectMany(t => t.Fragments).Select(f => f.Payload.File).Distinct()
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
        var rankIndex = ranks.Select((r, i) => (r, i)).ToDictionary(x => x.r ?? -1, x => x.i);
        var fileIndex = files.Select((f, i) => (f, i)).ToDictionary(x => x.f, x => x.i, StringComparer.Ordinal);
        var bytes = new long[ranks.Count, files.Count];
        int fragments = 0;
        foreach (var t in tensors)
            foreach (var f in t.Fragments)
            {
                bytes[rankIndex[f.WriterRank ?? -1], fileIndex[f.Payload.File]] += t.DType.ByteCount(f.ElementCount);
                fragments++;
            }

        var boxes = tensors.OrderByDescending(t => t.ByteCount).ThenBy(t => t.Name, StringComparer.Ordinal)
            .Take(Math.Max(0, maxBoxTensors))
            .OrderBy(t => tensors.IndexOf(t))
            .Select(t => new TensorLayout(t.Name, t.DType.ToString(), t.Shape, t.Fragments.Select(f => FragmentPlacement.Of(t, f)).ToList()))
            .ToList();
        return new CheckpointLayout(ranks, files, bytes, boxes, tensors.Count, fragments);
    }
}

/// <summary>A tensor's global shape and its fragments, for the box map.</summary>
public sealed record TensorLayout(string Name, string DType, IReadOnlyList<long> Shape, IReadOnlyList<FragmentPlacement> Fragments);
