using System.Diagnostics;
using System.Runtime.InteropServices;
using Ckpt.Conversion;
using Ckpt.Formats.Safetensors;
using Ckpt.Inspection;
using Ckpt.Merging;
using Ckpt.Monitoring;
using Ckpt.Planning;
using Ckpt.Storage;
using Ckpt.Tensors;

namespace Ckpt.Tests.ObjectStores;

/// <summary>
/// convert, diff and merge read a checkpoint in a bucket ahead, in the order they use its tensors: far fewer GETs than
/// one per tensor, within 2% of the bytes needed, the same output as from disk, the bytes held (by all of an operation's
/// readers together) within the budget, and nothing left running when cancelled. Against the real servers.
/// </summary>
[Collection(ObjectStoreCollection.Name)]
public class VerbReadAheadTests(ObjectStoreServers servers)
{
    const int Tensors = 300;

    /// <summary>f32 tensors t0000… of 4-64 KiB (seeded sizes), values in [-0.5, 0.5); <paramref name="noise"/> 1 shifts some.</summary>
    static string SmallTensors(string name, int noise)
    {
        var dir = TestPaths.TempDirectory(name);
        var random = new Random(18);
        var sources = Enumerable.Range(0, Tensors).Select(i =>
        {
            long elements = random.Next(1, 17) * 1024;
            var tensorName = $"t{i:D4}";
            return new TensorSource(tensorName, DType.F32, [elements], () =>
            {
                var data = new TensorData(tensorName, DType.F32, [elements]);
                var values = MemoryMarshal.Cast<byte, float>(data.Slice(0, (int)data.ByteLength));
                var r = new Random(i);
                for (int k = 0; k < values.Length; k++) values[k] = (float)(r.NextDouble() - 0.5) + noise * 1e-3f * (k % 7);
                return data;
            });
        }).ToArray();
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), sources);
        return dir;
    }

    /// <summary>256 KiB GETs, at most 1 MiB held: a budget the 10 MB checkpoint presses against.</summary>
    static ReadTuning Small() => new()
    {
        CoalesceGapBytes = 512 * 1024, MaxReadBytes = 256 * 1024, MaxOverRead = 0.02, MaxBytesInFlight = 1 << 20, ReadAheadRequests = 8,
    };

    /// <summary>One tensor at a time (today's path), read ahead as object stores do, and under <see cref="Small"/>.</summary>
    static readonly Func<ReadTuning>[] Tunings = [() => ReadTuning.ObjectStore(readAheadRequests: 0), () => ReadTuning.ObjectStore(), Small];

    static Checkpoint Open(string url, ReadTuning tuning)
    {
        var ckpt = Checkpoint.Open(url);
        ((ObjectStorage)ckpt.Storage).Tuning = tuning;
        return ckpt;
    }

    static string Out(string name) => Path.Combine(TestPaths.TempDirectory(name), "out");

    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void Convert_from_a_bucket_reads_ahead_in_a_few_gets_within_2_percent_and_writes_what_a_convert_from_disk_writes(string scheme)
    {
        var folder = SmallTensors("readahead-convert", 0);
        // Three shards: the writer pulls shard by shard, each in safetensors order.
        var fromDisk = Out("readahead-convert");
        using (var local = Checkpoint.Open(folder))
            CheckpointConverter.Convert(local, new ConvertOptions(TargetFormat.Safetensors, fromDisk, MaxShardBytes: 4_000_000));
        var url = servers.UploadFolder(scheme, folder);

        var gets = new List<long>();
        foreach (var tune in Tunings)
        {
            var tuning = tune();
            using var remote = Open(url, tuning);
            var stats = remote.Storage.Statistics;
            long calls = stats.ReadCalls, bytes = stats.TensorBytesRead;
            var meter = new ReadAheadMeter();
            var fromBucket = Out("readahead-convert");
            CheckpointConverter.Convert(remote, new ConvertOptions(TargetFormat.Safetensors, fromBucket, MaxShardBytes: 4_000_000), meter, CancellationToken.None);
            gets.Add(stats.ReadCalls - calls);
            long needed = remote.Manifest.TensorBytes;
            Assert.InRange(stats.TensorBytesRead - bytes, needed, (long)(needed * 1.02));
            ObjectStoreReadTests.SameFiles(fromDisk, fromBucket);
            Assert.InRange(meter.PeakBytesHeld, tuning.ReadAheadRequests == 0 ? 0 : 1, tuning.MaxBytesInFlight!.Value);
            Assert.Equal(0, meter.BytesHeld);
            Assert.Equal(0, meter.Outstanding);
        }
        // One GET per tensor without read-ahead; 8 MiB GETs of consecutive tensors with it; 256 KiB GETs under the small
        // tuning (the counts are fixed by the seeded sizes).
        Assert.Equal(Tensors, gets[0]);
        Assert.Equal(2, gets[1]);
        Assert.Equal(44, gets[2]);
    }

    [ObjectStoreTheory]
    [InlineData("s3", TargetFormat.Torch)]
    [InlineData("az", TargetFormat.Torch)]
    [InlineData("s3", TargetFormat.Dcp)]
    [InlineData("az", TargetFormat.Dcp)]
    public void Convert_to_torch_save_or_dcp_from_a_bucket_reads_in_state_dict_order_and_equals_the_one_from_disk(string scheme, TargetFormat to)
    {
        var folder = SmallTensors("readahead-torch", 0);
        var fromDisk = Out("readahead-torch");
        using (var local = Checkpoint.Open(folder))
            CheckpointConverter.Convert(local, new ConvertOptions(to, fromDisk, DType: DType.BF16));
        using var remote = Open(servers.UploadFolder(scheme, folder), ReadTuning.ObjectStore());
        long calls = remote.Storage.Statistics.ReadCalls;
        var fromBucket = Out("readahead-torch");
        CheckpointConverter.Convert(remote, new ConvertOptions(to, fromBucket, DType: DType.BF16));
        Assert.Equal(2, remote.Storage.Statistics.ReadCalls - calls);
        ObjectStoreReadTests.SameFiles(fromDisk, fromBucket);
    }

    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void Diff_of_two_bucket_checkpoints_reads_both_ahead_and_reports_what_a_diff_from_disk_reports(string scheme)
    {
        var a = SmallTensors("readahead-diff-a", 0);
        var b = SmallTensors("readahead-diff-b", 1);
        DiffReport expected;
        using (var la = Checkpoint.Open(a))
        using (var lb = Checkpoint.Open(b))
            expected = CheckpointDiff.Compare(la, lb);
        Assert.Equal(Tensors, expected.Changes.Count);
        Assert.Contains(expected.Changes, c => c.MaxAbsDiff > 0);
        var (urlA, urlB) = (servers.UploadFolder(scheme, a), servers.UploadFolder(scheme, b));

        var gets = new List<long>();
        foreach (var tune in Tunings)
        {
            var tuning = tune();
            using var ra = Open(urlA, tuning);
            using var rb = Open(urlB, tune());
            long calls = ra.Storage.Statistics.ReadCalls + rb.Storage.Statistics.ReadCalls;
            long bytes = ra.Storage.Statistics.TensorBytesRead + rb.Storage.Statistics.TensorBytesRead;
            var meter = new ReadAheadMeter();
            var report = CheckpointDiff.Compare(ra, rb, null, true, null, meter, CancellationToken.None);
            gets.Add(ra.Storage.Statistics.ReadCalls + rb.Storage.Statistics.ReadCalls - calls);
            long needed = ra.Manifest.TensorBytes + rb.Manifest.TensorBytes;
            Assert.InRange(ra.Storage.Statistics.TensorBytesRead + rb.Storage.Statistics.TensorBytesRead - bytes, needed, (long)(needed * 1.02));
            Assert.Equal(expected.Changes, report.Changes);
            Assert.Equal(expected.Layers, report.Layers);
            // The two sides together, each within half the budget.
            Assert.InRange(meter.PeakBytesHeld, tuning.ReadAheadRequests == 0 ? 0 : 1, tuning.MaxBytesInFlight!.Value);
            Assert.Equal(0, meter.BytesHeld);
            Assert.Equal(0, meter.Outstanding);
        }
        Assert.Equal(2 * Tensors, gets[0]);
        Assert.Equal(4, gets[1]);
        Assert.Equal(2 * 44, gets[2]);
    }

    /// <summary>Reports by calling back at once (Progress&lt;T&gt; posts to the thread pool).</summary>
    sealed class Callback<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void Cancelling_a_diff_or_a_convert_from_a_bucket_stops_the_gets_and_leaves_no_task_running(string scheme)
    {
        var a = SmallTensors("readahead-cancel", 0);
        var url = servers.UploadFolder(scheme, a);
        using var ra = Open(url, Small());
        using var rb = Open(url, Small());
        long calls = ra.Storage.Statistics.ReadCalls + rb.Storage.Statistics.ReadCalls;
        var meter = new ReadAheadMeter();
        using (var cancel = new CancellationTokenSource())
        {
            int compared = 0;
            var progress = new Callback<string>(_ => { if (++compared == 20) cancel.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() => CheckpointDiff.Compare(ra, rb, null, true, progress, meter, cancel.Token));
        }
        Assert.Equal(0, meter.Outstanding);
        Assert.Equal(0, meter.BytesHeld);
        Assert.InRange(meter.PeakBytesHeld, 1, 1 << 20);
        // 20 tensors in (at most 1.3 MB a side), 1 MiB held between the sides: a few of the 88 GETs, none after.
        long issued = ra.Storage.Statistics.ReadCalls + rb.Storage.Statistics.ReadCalls - calls;
        Assert.InRange(issued, 2, 30);

        using var rc = Open(url, Small());
        calls = rc.Storage.Statistics.ReadCalls;
        meter = new ReadAheadMeter();
        using (var cancel = new CancellationTokenSource())
        {
            var progress = new Callback<ByteProgress>(p => { if (p.Done > 1_000_000) cancel.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() =>
                CheckpointConverter.Convert(rc, new ConvertOptions(TargetFormat.Safetensors, Out("readahead-cancel")), meter, cancel.Token, progress));
        }
        Assert.Equal(0, meter.Outstanding);
        Assert.Equal(0, meter.BytesHeld);
        Assert.InRange(rc.Storage.Statistics.ReadCalls - calls, 1, 20);
    }

    /// <summary>The reads a plain read of each (tensor, box) issues: one per range its plan reads.</summary>
    static long PlainReads(Checkpoint ckpt, IEnumerable<(string Name, Box? Box)> reads) =>
        reads.Sum(r => ReadPlanner.Plan(ckpt.GetEntry(r.Name), r.Box, tuning: ckpt.Storage.Tuning).Reads.Count);

    [Fact]
    public void On_a_local_disk_convert_diff_and_merge_read_as_before_one_read_per_planned_range()
    {
        var a = SmallTensors("readahead-local-a", 0);
        var b = SmallTensors("readahead-local-b", 1);
        using var ca = Checkpoint.Open(a);
        using var cb = Checkpoint.Open(b);
        Assert.False(TensorReadAhead.Applies(ca.Storage));
        var every = ca.Manifest.Tensors.Select(t => (t.Name, (Box?)null)).ToArray();

        long calls = ca.Storage.Statistics.ReadCalls, bytes = ca.Storage.Statistics.TensorBytesRead;
        var meter = new ReadAheadMeter();
        CheckpointConverter.Convert(ca, new ConvertOptions(TargetFormat.Safetensors, Out("readahead-local")), meter, CancellationToken.None);
        Assert.Equal(PlainReads(ca, every), ca.Storage.Statistics.ReadCalls - calls);
        Assert.Equal(ca.Manifest.TensorBytes, ca.Storage.Statistics.TensorBytesRead - bytes);
        Assert.Equal(Tensors, ca.Storage.Statistics.ReadCalls - calls);

        calls = ca.Storage.Statistics.ReadCalls + cb.Storage.Statistics.ReadCalls;
        CheckpointDiff.Compare(ca, cb, null, true, null, meter, CancellationToken.None);
        Assert.Equal(PlainReads(ca, every) + PlainReads(cb, every), ca.Storage.Statistics.ReadCalls + cb.Storage.Statistics.ReadCalls - calls);

        using var session = MergeSession.Open(new MergeSpec { Method = MergeMethods.Linear, Models = [new MergeInput(a), new MergeInput(b)] }, 4096);
        calls = session.Inputs.Sum(c => c.Storage.Statistics.ReadCalls);
        MergeExecutor.Run(session, new MemoryTensorSink(), Stopwatch.StartNew(), meter, CancellationToken.None);
        var chunks = ca.Manifest.Tensors.SelectMany(t => MergeExecutor.Chunks(t.Shape, 4096).Select(c => (t.Name, c.Box))).ToArray();
        Assert.Equal(session.Inputs.Sum(c => PlainReads(c, chunks)), session.Inputs.Sum(c => c.Storage.Statistics.ReadCalls) - calls);
        Assert.All(session.Inputs, c => Assert.Null(session.ReadAheadOf(c)));
        Assert.Equal(0, meter.PeakBytesHeld);
    }

    [ObjectStoreTheory]
    [Trait("Category", "slow")]
    [InlineData("s3", "linear", 1532, 4, 84)]
    [InlineData("az", "linear", 1532, 4, 84)]
    [InlineData("s3", "slerp", 1790, 172, 194)]
    [InlineData("az", "slerp", 1790, 172, 194)]
    public void A_merge_of_bucket_inputs_reads_each_ahead_in_the_order_it_merges_and_merges_what_it_merges_from_disk(string scheme, string method,
        int before, int after, int small)
    {
        var a = SmallTensors("readahead-merge-a", 0);
        var b = SmallTensors("readahead-merge-b", 1);
        Assert.True(MergeMethods.TryParse(method, out var m));
        // 4 K-element chunks: SLERP keeps tensors of up to 12 K elements whole and reads larger ones twice (statistics, then
        // combine), chunk by chunk, so its reads go back as well as forward.
        const long chunk = 4096;
        MergeSpec Spec(string x, string y) => new() { Method = m, Models = [new MergeInput(x), new MergeInput(y)] };
        var expected = new MemoryTensorSink();
        using (var local = MergeSession.Open(Spec(a, b), chunk))
            MergeExecutor.Run(local, expected, Stopwatch.StartNew(), null, CancellationToken.None);
        var (urlA, urlB) = (servers.UploadFolder(scheme, a), servers.UploadFolder(scheme, b));

        var (gets, fetched) = (new List<long>(), new List<long>());
        foreach (var tune in Tunings)
        {
            var tuning = tune();
            using var session = MergeSession.Open(Spec(urlA, urlB), chunk);
            foreach (var input in session.Inputs) ((ObjectStorage)input.Storage).Tuning = tune();
            long calls = session.Inputs.Sum(c => c.Storage.Statistics.ReadCalls);
            var meter = new ReadAheadMeter();
            var sink = new MemoryTensorSink();
            var report = MergeExecutor.Run(session, sink, Stopwatch.StartNew(), meter, CancellationToken.None);
            gets.Add(session.Inputs.Sum(c => c.Storage.Statistics.ReadCalls) - calls);
            // What one chunk at a time reads (SLERP re-reads its chunked tensors), and no more than 2% over it read ahead.
            fetched.Add(report.BytesRead);
            Assert.InRange(report.BytesRead, fetched[0], (long)(fetched[0] * 1.02));
            Assert.Equal(expected.Names, sink.Names);
            foreach (var name in expected.Names) Assert.True(expected.BytesOf(name).AsSpan().SequenceEqual(sink.BytesOf(name)), name);
            if (tuning.ReadAheadRequests > 0)
                // Every read was expected where it came: the session predicts its own order.
                foreach (var input in session.Inputs) Assert.Equal(0, session.ReadAheadOf(input)!.PlainReads);
            // The inputs together within the budget.
            Assert.InRange(meter.PeakBytesHeld, tuning.ReadAheadRequests == 0 ? 0 : 1, tuning.MaxBytesInFlight!.Value);
            Assert.Equal(0, meter.BytesHeld);
            Assert.Equal(0, meter.Outstanding);
        }
        // One GET per chunk per input without read-ahead (SLERP reads its chunked tensors twice); read ahead, GETs of
        // consecutive chunks, a new one where a second pass goes back; the counts are fixed by the seeded sizes.
        Assert.Equal([before, after, small], gets);
    }
}
