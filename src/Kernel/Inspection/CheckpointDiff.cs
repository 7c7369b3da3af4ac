using System.Text.RegularExpressions;
using Ckpt.Conversion;
using Ckpt.Monitoring;
using Ckpt.Planning;

namespace Ckpt.Inspection;

/// <summary>
/// What changed between two checkpoints: tensors added, removed, reshaped, or with a new dtype, and for
/// every tensor in both with the same shape the relative L2 change ‖b−a‖/‖a‖ and the max |b−a|.
/// Tensors are read one pair at a time and released before the next, so memory stays at two tensors.
/// </summary>
public static partial class CheckpointDiff
{
    public static DiffReport Compare(Checkpoint a, Checkpoint b, TensorFilter? filter = null, bool compareValues = true,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default) =>
        Compare(a, b, filter, compareValues, progress, null, cancellationToken);

    /// <param name="meter">Adds up the bytes the two sides' read-aheads hold (object stores), for a test to hold against the budget.</param>
    internal static DiffReport Compare(Checkpoint a, Checkpoint b, TensorFilter? filter, bool compareValues,
        IProgress<string>? progress, ReadAheadMeter? meter, CancellationToken cancellationToken)
    {
        filter ??= TensorFilter.All;
        // A set against one checkpoint: every member is compared with it (a trajectory against its final step).
        var (ma, mb) = (CheckpointSetView.Members(a), CheckpointSetView.Members(b)) switch
        {
            (null, { } members) => (CheckpointSetView.Repeat(a.Manifest, members), b.Manifest),
            ({ } members, null) => (a.Manifest, CheckpointSetView.Repeat(b.Manifest, members)),
            _ => (a.Manifest, b.Manifest),
        };
        var ta = ma.Tensors.Where(t => filter.Includes(t.Name)).ToList();
        var tb = mb.Tensors.Where(t => filter.Includes(t.Name)).ToList();
        var inA = ta.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var inB = tb.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);

        var added = tb.Where(t => !inA.Contains(t.Name)).Select(TensorSummary.Of).ToList();
        var removed = ta.Where(t => !inB.Contains(t.Name)).Select(TensorSummary.Of).ToList();
        var reshaped = new List<ShapeChange>();
        var dtypeChanged = new List<ShapeChange>();
        var changes = new List<TensorChange>();

        var timeline = new OperationTimeline("diff");
        var measured = new List<(TensorEntry X, TensorEntry Y)>();
        foreach (var x in ta.Where(t => inB.Contains(t.Name)))
        {
            var y = mb.Find(x.Name)!;
            var change = new ShapeChange(x.Name, x.DType.ToString(), y.DType.ToString(), x.Shape, y.Shape);
            if (!x.Shape.SequenceEqual(y.Shape)) { reshaped.Add(change); continue; }
            if (x.DType != y.DType) dtypeChanged.Add(change);
            if (!compareValues || !ElementChunks.Supports(x.DType) || !ElementChunks.Supports(y.DType)) continue;
            measured.Add((x, y));
        }
        // Object stores: each side's tensors read ahead in the order they are compared, the two sides sharing the budget.
        using var aheadA = TensorReadAhead.For(a.Storage, timeline, cancellationToken, share: 0.5, meter);
        using var aheadB = TensorReadAhead.For(b.Storage, timeline, cancellationToken, share: 0.5, meter);
        foreach (var (x, y) in measured)
        {
            aheadA?.Expect(x);
            aheadB?.Expect(y);
        }
        foreach (var (x, y) in measured)
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress?.Report(x.Name);
            changes.Add(Measure(a, x, aheadA, b, y, aheadB, timeline, cancellationToken));
        }
        a.RecordTimeline(timeline);
        b.RecordTimeline(timeline);
        return new DiffReport(a.Path, b.Path, added, removed, reshaped, dtypeChanged, changes, ByLayer(changes));
    }

    static TensorChange Measure(Checkpoint a, TensorEntry x, TensorReadAhead? aheadA, Checkpoint b, TensorEntry y, TensorReadAhead? aheadB,
        OperationTimeline timeline, CancellationToken ct)
    {
        int parallelism = Environment.ProcessorCount;
        using var da = aheadA?.Read(x, null, parallelism) ?? TensorReader.Read(a.Storage, x, null, parallelism, timeline, ct);
        using var db = aheadB?.Read(y, null, parallelism) ?? TensorReader.Read(b.Storage, y, null, parallelism, timeline, ct);
        var t0 = timeline.Now;
        double normA = 0, normDiff = 0, maxAbs = 0;
        using var ea = ElementChunks.Of(da).GetEnumerator();
        using var eb = ElementChunks.Of(db).GetEnumerator();
        while (ea.MoveNext() && eb.MoveNext())
        {
            var va = ea.Current;
            var vb = eb.Current;
            for (int i = 0; i < va.Length; i++)
            {
                double d = vb[i] - va[i];
                normA += va[i] * va[i];
                normDiff += d * d;
                double ad = Math.Abs(d);
                if (ad > maxAbs || double.IsNaN(ad)) maxAbs = ad;
            }
        }
        timeline.Record("compare", x.Name, t0, 0);
        return new TensorChange(x.Name, x.ElementCount, Math.Sqrt(normA), Math.Sqrt(normDiff), maxAbs);
    }

    /// <summary>Aggregates per layer (`model.layers.3`), or per top-level module for tensors outside numbered layers.</summary>
    static IReadOnlyList<LayerChange> ByLayer(IReadOnlyList<TensorChange> changes) =>
        changes.GroupBy(c => LayerOf(c.Name), StringComparer.Ordinal)
            .Select(g => new LayerChange(g.Key, g.Count(),
                Math.Sqrt(g.Sum(c => c.NormA * c.NormA)), Math.Sqrt(g.Sum(c => c.NormDiff * c.NormDiff)),
                g.Max(c => c.MaxAbsDiff)))
            .ToList();

    public static string LayerOf(string name)
    {
        var m = NumberedLayer().Match(name);
        if (m.Success) return m.Value;
        int dot = name.LastIndexOf('.');
        return dot > 0 ? name[..dot] : name;
    }

    [GeneratedRegex(@"^.*?\.\d+(?=\.)")]
    private static partial Regex NumberedLayer();
}
