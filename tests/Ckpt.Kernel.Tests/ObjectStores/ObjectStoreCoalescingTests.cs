using Ckpt.Formats.Safetensors;
using Ckpt.Planning;
using Ckpt.Storage;
using Ckpt.Tensors;

namespace Ckpt.Tests.ObjectStores;

/// <summary>
/// Reads from a bucket are planned with the object-store tuning: nearby ranges coalesce into fewer GETs than a local
/// disk makes, within 2% of the bytes needed, the bytes in flight stay bounded, and the values equal a local read.
/// </summary>
[Collection(ObjectStoreCollection.Name)]
public class ObjectStoreCoalescingTests(ObjectStoreServers servers)
{
    /// <summary>Rows of 3 MiB + 96 KiB: the first 3 MiB of every row are three runs with two 96 KiB gaps between them.</summary>
    const long Cols = (3L << 20) / 4, Gap = 96 * 1024 / 4;

    static string WideCheckpoint()
    {
        var dir = TestPaths.TempDirectory("coalesce");
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"),
        [
            new TensorSource("wide", DType.F32, [3, Cols + Gap], () =>
            {
                var data = new TensorData("wide", DType.F32, [3, Cols + Gap]);
                new Random(18).NextBytes(data.Slice(0, (int)data.ByteLength));
                return data;
            }),
        ]);
        return dir;
    }

    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void A_slice_whose_rows_have_96_KiB_gaps_is_fetched_in_fewer_gets_than_rows_within_2_percent_and_equals_disk(string scheme)
    {
        var folder = WideCheckpoint();
        using var remote = Checkpoint.Open(servers.UploadFolder(scheme, folder));
        using var local = Checkpoint.Open(folder);
        var slice = new Box([0, 0], [3, Cols]);

        long localCalls = local.Storage.Statistics.ReadCalls, remoteCalls = remote.Storage.Statistics.ReadCalls;
        using var a = local.Read("wide", slice);
        using var b = remote.Read("wide", slice);
        Assert.True(a.Bytes.SequenceEqual(b.Bytes));

        long needed = 3 * Cols * 4;
        // On disk a 96 KiB gap is another read (three); in a bucket the first two rows are one GET, the third its own.
        Assert.Equal(3, local.Storage.Statistics.ReadCalls - localCalls);
        Assert.Equal(needed, local.Storage.Statistics.TensorBytesRead);
        Assert.Equal(2, remote.Storage.Statistics.ReadCalls - remoteCalls);
        Assert.Equal(needed + 96 * 1024, remote.Storage.Statistics.TensorBytesRead);
        Assert.True(remote.Storage.Statistics.TensorBytesRead <= needed * 1.02);
    }

    [ObjectStoreTheory]
    [InlineData("s3")]
    [InlineData("az")]
    public void Eight_readers_never_have_more_bytes_in_flight_than_the_storage_allows(string scheme)
    {
        var folder = WideCheckpoint();
        using var remote = Checkpoint.Open(servers.UploadFolder(scheme, folder));
        using var local = Checkpoint.Open(folder);
        var storage = (ObjectStorage)remote.Storage;
        // 256 KiB GETs, at most 1 MiB of them at once: eight workers would otherwise have 2 MiB outstanding.
        storage.Tuning = new ReadTuning { CoalesceGapBytes = 64 * 1024, MaxReadBytes = 256 * 1024, MaxBytesInFlight = 1 << 20 };
        var entry = remote.GetEntry("wide");
        long calls = storage.Statistics.ReadCalls;
        using var b = TensorReader.Read(storage, entry, null, parallelism: 8);
        using var a = local.Read("wide");
        Assert.True(a.Bytes.SequenceEqual(b.Bytes));
        Assert.InRange(storage.Tuning.PeakBytesInFlight, 256 * 1024, 1 << 20);
        // 9,732,096 bytes in one contiguous run: 38 ranged GETs of at most 256 KiB.
        Assert.Equal(38, storage.Statistics.ReadCalls - calls);
    }
}
