using Ckpt.Monitoring;
using Ckpt.Planning;

namespace Ckpt.Inspection;

/// <summary>
/// Summary statistics of one tensor: min/max/mean/std over finite values, NaN and ±Inf counts, the
/// fraction of exact zeros and a histogram of finite values. Reads that tensor only, then streams its
/// values twice in bounded chunks (range, then bins).
/// </summary>
public sealed record TensorStatistics(
    string Name,
    string DType,
    IReadOnlyList<long> Shape,
    long Elements,
    double? Min,
    double? Max,
    double? Mean,
    double? Std,
    long NaNCount,
    long PositiveInfinityCount,
    long NegativeInfinityCount,
    double ZeroFraction,
    IReadOnlyList<double> BinEdges,
    IReadOnlyList<long> BinCounts)
{
    public static TensorStatistics Of(Checkpoint checkpoint, string name, int bins = 64, CancellationToken cancellationToken = default)
    {
        var entry = checkpoint.GetEntry(name);
        if (!ElementChunks.Supports(entry.DType))
            throw new CheckpointFormatException(FormatErrorReason.Unsupported, checkpoint.Path, name,
                $"statistics of {entry.DType} tensors are not supported");
        var timeline = new OperationTimeline("stats");
        using var data = TensorReader.Read(checkpoint.Storage, entry, null, Environment.ProcessorCount, timeline, cancellationToken);

        var t0 = timeline.Now;
        long nan = 0, posInf = 0, negInf = 0, zeros = 0, finite = 0;
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        double mean = 0, m2 = 0;
        foreach (var chunk in ElementChunks.Of(data))
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var v in chunk)
            {
                if (double.IsNaN(v)) { nan++; continue; }
                if (double.IsPositiveInfinity(v)) { posInf++; continue; }
                if (double.IsNegativeInfinity(v)) { negInf++; continue; }
                if (v == 0) zeros++;
                finite++;
                if (v < min) min = v;
                if (v > max) max = v;
                // Welford: stable for large tensors whose mean is far from zero.
                double delta = v - mean;
                mean += delta / finite;
                m2 += delta * (v - mean);
            }
        }

        bins = Math.Max(1, bins);
        var edges = new double[finite > 0 ? bins + 1 : 0];
        var counts = new long[finite > 0 ? bins : 0];
        if (finite > 0)
        {
            double width = max > min ? (max - min) / bins : 1;
            for (int i = 0; i <= bins; i++) edges[i] = min + i * width;
            foreach (var chunk in ElementChunks.Of(data))
                foreach (var v in chunk)
                {
                    if (!double.IsFinite(v)) continue;
                    int b = (int)((v - min) / width);
                    counts[Math.Clamp(b, 0, bins - 1)]++;
                }
        }
        timeline.Record("statistics", name, t0, 0);
        checkpoint.RecordTimeline(timeline);

        return new TensorStatistics(name, entry.DType.ToString(), entry.Shape, data.ElementCount,
            finite > 0 ? min : null, finite > 0 ? max : null, finite > 0 ? mean : null,
            finite > 0 ? Math.Sqrt(m2 / finite) : null,
            nan, posInf, negInf, data.ElementCount == 0 ? 0 : (double)zeros / data.ElementCount, edges, counts);
    }
}
