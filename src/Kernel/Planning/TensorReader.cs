using System.Buffers;
using Ckpt.Monitoring;

namespace Ckpt.Planning;

/// <summary>
/// Executes read plans: range reads in parallel, straight into the destination where possible, planned with the
/// storage's <see cref="ICheckpointStorage.Tuning"/> and, where it bounds them, never more bytes in flight than it allows.
/// </summary>
public static class TensorReader
{
    public static TensorData Read(ICheckpointStorage storage, TensorEntry tensor, Box? target = null,
        int parallelism = 4, OperationTimeline? timeline = null, CancellationToken cancellationToken = default)
    {
        var t0 = timeline?.Now;
        var plan = ReadPlanner.Plan(tensor, target, tuning: storage.Tuning);
        timeline?.Record("plan", tensor.Name, t0!.Value, 0);
        var data = new TensorData(tensor.Name, tensor.DType, plan.Target.Lengths);
        try
        {
            Execute(storage, plan, data, parallelism, timeline, cancellationToken);
            return data;
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    public static void Execute(ICheckpointStorage storage, ReadPlan plan, TensorData destination, int parallelism,
        OperationTimeline? timeline, CancellationToken ct)
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = ct };
        var gate = storage.Tuning.Gate;
        Parallel.ForEach(plan.Reads, options, read =>
        {
            // Entered before any buffer is rented, so the bound covers the memory of the reads too.
            using var inFlight = gate?.Enter(read.Length, ct) ?? default;
            var start = timeline?.Now;
            if (read.Copies.Count == 1 && read.Copies[0].Source == 0 && read.Copies[0].Length == read.Length)
            {
                storage.Read(read.File, read.Offset, destination.Slice(read.Copies[0].Destination, (int)read.Length), IoCategory.Tensor);
            }
            else
            {
                var buffer = ArrayPool<byte>.Shared.Rent((int)read.Length);
                try
                {
                    var span = buffer.AsSpan(0, (int)read.Length);
                    storage.Read(read.File, read.Offset, span, IoCategory.Tensor);
                    foreach (var c in read.Copies)
                        span.Slice((int)c.Source, (int)c.Length).CopyTo(destination.Slice(c.Destination, (int)c.Length));
                }
                finally { ArrayPool<byte>.Shared.Return(buffer); }
            }
            if (start is not null) timeline!.Record("read", read.File, start.Value, read.Length);
        });

        Decode(storage, plan, destination, timeline, ct);
    }

    /// <summary>Decodes the plan's compressed fragments whole and copies their overlap into the destination.</summary>
    internal static void Decode(ICheckpointStorage storage, ReadPlan plan, TensorData destination, OperationTimeline? timeline, CancellationToken ct)
    {
        foreach (var d in plan.DecodedReads)
        {
            ct.ThrowIfCancellationRequested();
            var start = timeline?.Now;
            var decoded = PayloadDecoders.Decode(storage, d.Fragment, plan.Tensor, ct);
            var raw = d.Fragment with
            {
                Payload = new Payload("<decoded>", 0, decoded.Storage.LongLength),
                Strides = decoded.Strides,
                StorageOffset = decoded.StorageOffset,
            };
            int item = plan.Tensor.DType.Size();
            var destStrides = Shapes.ContiguousStrides(plan.Target.Lengths);
            ReadPlanner.EmitRuns(raw, d.Overlap, plan.Target, destStrides, item, (src, dst, len) =>
                decoded.Storage.AsSpan((int)src, (int)len).CopyTo(destination.Slice(dst, (int)len)));
            if (start is not null) timeline!.Record("decode", d.Fragment.Payload.File, start.Value, d.Fragment.Payload.Length);
        }
    }
}
