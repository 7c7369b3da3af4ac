using Ckpt.Formats.Safetensors;
using Ckpt.Errors;
using Ckpt.Manifest;
using Ckpt.Planning;
using Ckpt.Resharding;
using Ckpt.Storage;
using Ckpt.Tensors;

namespace Ckpt.Tests.ObjectStores;

/// <summary>
/// Reading a rank's tensors from a bucket reads ahead: neighbouring small tensors of one object come in one GET within
/// 2% of the bytes needed, the bytes fetched and not yet used stay within the budget, cancelling stops the GETs, and a
/// failed GET is reported when its tensor is reached, in the sentence a plain read gives.
/// </summary>
[Collection(ObjectStoreCollection.Name)]
public class ReadAheadTests(ObjectStoreServers servers)
{
    const int Tensors = 300;

    /// <summary>f32 tensors t0000… of 4-64 KiB (seeded), in name order in the file; two shards when <paramref name="shards"/> is 2.</summary>
    static string SmallTensors(int shards = 1)
    {
        var dir = TestPaths.TempDirectory("readahead");
        var random = new Random(18);
        var sources = Enumerable.Range(0, Tensors).Select(i =>
        {
            long elements = random.Next(1, 17) * 1024;
            var name = $"t{i:D4}";
            return new TensorSource(name, DType.F32, [elements], () =>
            {
                var data = new TensorData(name, DType.F32, [elements]);
                new Random(i).NextBytes(data.Slice(0, (int)data.ByteLength));
                return data;
            });
        }).ToArray();
        if (shards == 1) SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), sources);
        else ShardedSafetensorsWriter.Write(dir, sources, sources.Sum(s => s.ByteCount) / shards + 1);
        return dir;
    }

    static readonly TargetLayout Whole = new LayoutRequest(LayoutKind.Dtensor, 1).Resolve();

    /// <summary>Every 25th tensor left out: 12 gaps of 4-64 KiB that a GET may read through only within 2%.</summary>
    static bool Most(TensorEntry t) => int.Parse(t.Name[1..]) % 25 != 24;

    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void A_rank_of_288_small_tensors_is_fetched_in_a_handful_of_gets_within_2_percent_and_equals_disk(string scheme)
    {
        var folder = SmallTensors();
        using var local = Checkpoint.Open(folder);
        using var remote = Checkpoint.Open(servers.UploadFolder(scheme, folder));
        var storage = (ObjectStorage)remote.Storage;
        using var expected = local.ReadForRank(Whole, 0, Most);

        storage.Tuning = ReadTuning.ObjectStore(readAheadRequests: 0);
        long calls = storage.Statistics.ReadCalls, bytes = storage.Statistics.TensorBytesRead;
        using (var oneAtATime = remote.ReadForRank(Whole, 0, Most))
            Assert.Equal(288, oneAtATime.Tensors.Count);
        long before = storage.Statistics.ReadCalls - calls;

        storage.Tuning = ReadTuning.ObjectStore();
        calls = storage.Statistics.ReadCalls;
        bytes = storage.Statistics.TensorBytesRead;
        using var ahead = remote.ReadForRank(Whole, 0, Most);
        long after = storage.Statistics.ReadCalls - calls, fetched = storage.Statistics.TensorBytesRead - bytes;

        // One GET per tensor without read-ahead; with it, GETs of up to 8 MiB that read through a left-out tensor only
        // while within 2% (the count is fixed by the seeded sizes).
        Assert.Equal(288, before);
        Assert.Equal(6, after);
        Assert.Equal(expected.BytesNeeded, ahead.BytesNeeded);
        Assert.InRange(fetched, ahead.BytesNeeded, (long)(ahead.BytesNeeded * 1.02));
        Assert.Equal(expected.Tensors.Keys.Order(), ahead.Tensors.Keys.Order());
        foreach (var (name, data) in expected.Tensors)
            Assert.True(data.Bytes.SequenceEqual(ahead[name].Bytes), name);
        Assert.InRange(storage.Tuning.PeakBytesInFlight, 1, 64L << 20);
    }

    /// <summary>256 KiB GETs, at most 1 MiB fetched and not yet used: the tuning a test can count against.</summary>
    static ReadTuning Small() => new()
    {
        CoalesceGapBytes = 512 * 1024, MaxReadBytes = 256 * 1024, MaxOverRead = 0.02, MaxBytesInFlight = 1 << 20, ReadAheadRequests = 8,
    };

    static IReadOnlyList<ReadPlan> Plans(Checkpoint ckpt) => ckpt.PlanForRank(Whole, 0).Tensors.SelectMany(t => t.Reads).ToArray();

    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void Read_ahead_never_holds_more_bytes_than_its_budget_and_returns_them_all(string scheme)
    {
        var folder = SmallTensors();
        using var local = Checkpoint.Open(folder);
        using var remote = Checkpoint.Open(servers.UploadFolder(scheme, folder));
        ((ObjectStorage)remote.Storage).Tuning = Small();
        var plans = Plans(remote);
        long calls = remote.Storage.Statistics.ReadCalls;
        using var ahead = new ReadAhead(remote.Storage, plans, null, CancellationToken.None);
        Assert.True(ahead.FetchCount > 30, $"{ahead.FetchCount} GETs");
        for (int i = 0; i < plans.Count; i++)
        {
            using var data = new TensorData(plans[i].Tensor.Name, plans[i].Tensor.DType, plans[i].Target.Lengths);
            ahead.Fill(i, data);
            using var disk = local.Read(plans[i].Tensor.Name);
            Assert.True(disk.Bytes.SequenceEqual(data.Bytes), plans[i].Tensor.Name);
            Assert.InRange(ahead.BytesHeld, 0, 1 << 20);
        }
        Assert.InRange(ahead.PeakBytesHeld, 1, 1 << 20);
        Assert.InRange(remote.Storage.Tuning.PeakBytesInFlight, 1, 1 << 20);
        Assert.Equal(ahead.FetchCount, remote.Storage.Statistics.ReadCalls - calls);
        Assert.Equal(0, ahead.BytesHeld);
    }

    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void Tensors_passed_over_are_skipped_and_their_bytes_freed_but_going_back_is_refused(string scheme)
    {
        var folder = SmallTensors();
        using var local = Checkpoint.Open(folder);
        using var remote = Checkpoint.Open(servers.UploadFolder(scheme, folder));
        ((ObjectStorage)remote.Storage).Tuning = Small();
        var plans = Plans(remote);
        using var ahead = new ReadAhead(remote.Storage, plans, null, CancellationToken.None);
        // Every third tensor, as a writer that leaves some chunks out would ask for them.
        for (int i = 0; i < plans.Count; i += 3)
        {
            using var data = new TensorData(plans[i].Tensor.Name, plans[i].Tensor.DType, plans[i].Target.Lengths);
            ahead.Fill(i, data);
            using var disk = local.Read(plans[i].Tensor.Name);
            Assert.True(disk.Bytes.SequenceEqual(data.Bytes), plans[i].Tensor.Name);
        }
        using (var last = new TensorData(plans[^1].Tensor.Name, plans[^1].Tensor.DType, plans[^1].Target.Lengths))
            ahead.Fill(plans.Count - 1, last);
        Assert.Equal(0, ahead.BytesHeld);
        Assert.InRange(ahead.PeakBytesHeld, 1, 1 << 20);
        using var again = new TensorData(plans[0].Tensor.Name, plans[0].Tensor.DType, plans[0].Target.Lengths);
        Assert.Throws<InvalidOperationException>(() => ahead.Fill(0, again));
    }

    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void Cancelling_mid_read_stops_the_gets_and_leaves_no_task_running(string scheme)
    {
        var folder = SmallTensors();
        using var remote = Checkpoint.Open(servers.UploadFolder(scheme, folder));
        var storage = (ObjectStorage)remote.Storage;
        storage.Tuning = Small();
        var plans = Plans(remote);
        long calls = storage.Statistics.ReadCalls;
        using var cancel = new CancellationTokenSource();
        var ahead = new ReadAhead(storage, plans, null, cancel.Token);
        using (var first = new TensorData(plans[0].Tensor.Name, plans[0].Tensor.DType, plans[0].Target.Lengths))
            ahead.Fill(0, first);
        cancel.Cancel();
        using (var second = new TensorData(plans[1].Tensor.Name, plans[1].Tensor.DType, plans[1].Target.Lengths))
            Assert.ThrowsAny<OperationCanceledException>(() => ahead.Fill(1, second));
        ahead.Dispose();

        Assert.Equal(0, ahead.Outstanding);
        Assert.Equal(0, ahead.BytesHeld);
        // GETs of at least 192 KiB (a 256 KiB GET stops short by at most one 64 KiB tensor) within 1 MiB beyond the
        // first tensor: at most 7 were ever issued of the 40-odd the plan has, and none starts after Dispose.
        long issued = storage.Statistics.ReadCalls - calls;
        Assert.InRange(issued, 1, 7);
        Assert.True(ahead.FetchCount > 30, $"{ahead.FetchCount} GETs");
        using (var again = new TensorData(plans[0].Tensor.Name, plans[0].Tensor.DType, plans[0].Target.Lengths))
            TensorReader.Execute(storage, plans[0], again, 1, null, CancellationToken.None);
        Assert.Equal(issued + 1, storage.Statistics.ReadCalls - calls);
    }

    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void A_failed_get_surfaces_when_its_tensor_is_reached_in_the_sentence_a_plain_read_gives(string scheme)
    {
        var folder = SmallTensors(shards: 2);
        using var remote = Checkpoint.Open(servers.UploadFolder(scheme, folder));
        var storage = (ObjectStorage)remote.Storage;
        var first = remote.Manifest.Tensors[0].Fragments[0].Payload.File;
        var lost = remote.Manifest.Tensors.First(t => t.Fragments[0].Payload.File != first);
        // The listing was taken when the checkpoint was opened; the object goes away behind its back.
        storage.Delete(lost.Fragments[0].Payload.File);
        // The sentence a user is shown for a plain read of that tensor (UserFacingError unwraps its AggregateException).
        var plain = UserFacingError.From(Assert.ThrowsAny<Exception>(() => remote.Read(lost.Name)), "reading");
        Assert.Equal(ErrorKind.BadInput, plain.Kind);
        Assert.Contains("[StorageUnavailable]", plain.Sentence);

        var plans = Plans(remote);
        using var ahead = new ReadAhead(storage, plans, null, CancellationToken.None);
        int i = 0;
        for (; plans[i].Tensor.Name != lost.Name; i++)
        {
            Assert.Equal(first, plans[i].Reads[0].File);
            using var ok = new TensorData(plans[i].Tensor.Name, plans[i].Tensor.DType, plans[i].Target.Lengths);
            ahead.Fill(i, ok);
        }
        Assert.True(i > 100, $"the first shard holds {i} tensors");
        using var data = new TensorData(lost.Name, lost.DType, plans[i].Target.Lengths);
        var failed = Assert.Throws<CheckpointFormatException>(() => ahead.Fill(i, data));
        Assert.Equal(plain.Sentence, UserFacingError.From(failed, "reading").Sentence);
        Assert.Equal(FormatErrorReason.StorageUnavailable, failed.Reason);

        var rank = Assert.ThrowsAny<Exception>(() => remote.ReadForRank(Whole, 0));
        Assert.Equal(plain.Sentence, UserFacingError.From(rank, "reading").Sentence);
    }

    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void A_reshard_from_a_bucket_reads_each_ranks_chunks_ahead_in_fewer_gets_and_writes_what_it_writes_from_disk(string scheme)
    {
        var folder = SmallTensors();
        // One rank holding every tensor whole: with two, a rank's halves of consecutive tensors are separated by the
        // other rank's halves, gaps far over 2%, so they stay one GET each (read ahead, not joined).
        var layout = Whole;
        var fromDisk = Path.Combine(TestPaths.TempDirectory("readahead-reshard"), "out");
        using (var local = Checkpoint.Open(folder)) Resharder.Reshard(local, new ReshardOptions(layout, fromDisk));
        var url = servers.UploadFolder(scheme, folder);

        var counts = new List<long>();
        foreach (var requests in new[] { 0, 8 })
        {
            using var remote = Checkpoint.Open(url);
            var storage = (ObjectStorage)remote.Storage;
            storage.Tuning = ReadTuning.ObjectStore(readAheadRequests: requests);
            long calls = storage.Statistics.ReadCalls;
            var fromBucket = Path.Combine(TestPaths.TempDirectory("readahead-reshard"), "out");
            var result = Resharder.Reshard(remote, new ReshardOptions(layout, fromBucket));
            counts.Add(storage.Statistics.ReadCalls - calls);
            long needed = result.Ranks.Sum(r => r.BytesNeeded);
            Assert.InRange(result.SourceBytesRead, needed, (long)(needed * 1.02));
            ObjectStoreReadTests.SameFiles(fromDisk, fromBucket);
        }
        // One GET per chunk one at a time; read ahead, 8 MiB GETs of consecutive tensors (the count fixed by the seeded sizes).
        Assert.Equal(300, counts[0]);
        Assert.Equal(2, counts[1]);
    }
}
