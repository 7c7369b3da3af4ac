using System.Text.Json;
using Ckpt.Merging;
using static Ckpt.Tests.Merging.MergeTestData;

namespace Ckpt.Tests.Merging;

/// <summary>The streaming executor: output folders, chunking, and inputs in other layouts.</summary>
public class MergeExecutorTests
{
    static MergeSpec Ties() => new()
    {
        Method = MergeMethods.Ties, BaseModel = Step(100), Density = 0.4,
        Models = [new MergeInput(Step(300)), new MergeInput(Step(400))],
    };

    [Fact]
    public void Merging_to_a_folder_writes_sharded_safetensors_with_an_index_and_a_json_log()
    {
        using var dir = new TempDirectory();
        var expected = Run(Ties());

        var report = MergeExecutor.RunToDirectory(Ties(), dir.Path, maxShardBytes: 40_000);

        Assert.True(File.Exists(Path.Combine(dir.Path, "model.safetensors.index.json")));
        Assert.True(report.Files!.Count > 1, "a 40 kB shard limit must split the 170 kB model");
        using var merged = Checkpoint.Open(dir.Path);
        Assert.Equal(expected.Names.Order(), merged.Manifest.Tensors.Select(t => t.Name).Order());
        foreach (var name in expected.Names)
        {
            using var t = merged.Read(name);
            Assert.Equal(expected.Floats(name), t.ToFloats());
        }
        using var log = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, MergeExecutor.LogFileName)));
        Assert.Equal("ties", log.RootElement.GetProperty("method").GetString());
        Assert.Equal(21, log.RootElement.GetProperty("tensors").GetInt32());
        Assert.Equal(0.4, log.RootElement.GetProperty("parameters").GetProperty("density").GetDouble());
    }

    [Fact]
    public void A_merge_read_in_whole_tensors_reads_each_input_byte_once()
    {
        var report = MergeExecutor.Run(new MergeSpec
        {
            Method = MergeMethods.Linear, Models = [new MergeInput(Step(350)), new MergeInput(Step(375)), new MergeInput(Step(400))],
        }, new MemoryTensorSink());

        Assert.Equal(report.InputBytes, report.BytesRead);
        Assert.Equal(3 * new FileInfo(Step(400)).Length, report.InputBytes, tolerance: 3 * 4096);
    }

    [Fact]
    public void Chunks_are_runs_of_whole_rows_no_larger_than_the_limit()
    {
        var chunks = MergeExecutor.Chunks([10, 3], 7).ToArray();

        Assert.Equal(5, chunks.Length);
        Assert.All(chunks, c => Assert.Equal(6, c.Length));
        Assert.Equal([0L, 6, 12, 18, 24], chunks.Select(c => c.Offset));
        Assert.Equal([8L, 0], chunks[4].Box!.Offsets);
        Assert.Single(MergeExecutor.Chunks([10, 3], 30));
        Assert.Empty(MergeExecutor.Chunks([0, 3], 7));
    }

    [Fact]
    public void Linear_merge_chunked_by_rows_equals_the_whole_tensor_merge()
    {
        var spec = new MergeSpec { Method = MergeMethods.Linear, Models = [new MergeInput(Step(200), 0.3), new MergeInput(Step(400), 0.7)] };
        var whole = Run(spec);
        var chunked = Run(spec, chunkElements: 100);
        foreach (var n in whole.Names) Assert.Equal(whole.Floats(n), chunked.Floats(n));
    }

    [Fact]
    public void A_sharded_hugging_face_checkpoint_merges_with_itself_to_the_same_weights()
    {
        var path = TestPaths.Fixture("hf-llama-tiny-sharded");
        var original = Floats(path);

        var sink = Run(new MergeSpec { Method = MergeMethods.Linear, Models = [new MergeInput(path, 0.25), new MergeInput(path, 0.75)] });

        foreach (var (name, values) in original) Assert.Equal(values, sink.Floats(name));
    }
}
