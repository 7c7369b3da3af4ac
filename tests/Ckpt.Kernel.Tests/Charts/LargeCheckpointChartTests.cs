using System.Diagnostics;
using System.Text.Json.Nodes;
using Ckpt.Charts;
using Ckpt.Inspection;
using Ckpt.Manifest;
using Ckpt.Tensors;

namespace Ckpt.Tests.Charts;

public class LargeCheckpointChartTests
{
    /// <summary>200 layers × 20 tensors, every tensor split over 64 ranks, rank r writing file r % 128 of 128 files.</summary>
    static CheckpointManifest Huge()
    {
        var tensors = new List<TensorEntry>();
        for (int layer = 0; layer < 200; layer++)
            for (int t = 0; t < 20; t++)
            {
                long rows = 64 * (1 + t % 3);
                var fragments = Enumerable.Range(0, 64).Select(r =>
                    new Fragment([r * rows / 64, 0], [rows / 64, 128], new Payload($"shard-{(r + layer) % 128:000}.bin", 0, rows / 64 * 256),
                        [128, 1], 0, r)).ToList();
                tensors.Add(new TensorEntry($"model.layers.{layer}.block.p{t}.weight", DType.BF16, [rows, 128], fragments));
            }
        return new CheckpointManifest
        {
            Format = "test", Tensors = tensors,
            Files = Enumerable.Range(0, 128).Select(f => new StorageFile($"shard-{f:000}.bin", 1)).ToList(),
        };
    }

    [Trait("Category", "slow")]
    [Fact]
    public void Thousands_of_tensors_aggregate_into_capped_charts()
    {
        var m = Huge();
        var clock = Stopwatch.StartNew();
        var layout = CheckpointLayout.Of(m);
        var modules = ModuleTree.Of(m);
        var rendered = JsonNode.Parse(ChartRenderer.Render("layout", InspectionJson.Layout("huge", layout, modules).ToJsonString()))!;
        clock.Stop();

        Assert.Equal(4000, layout.TensorCount);
        Assert.Equal(m.TensorBytes, layout.TotalBytes);
        Assert.Equal(12, layout.Tensors.Count);
        Assert.True(modules.Nodes.Count <= 1500, $"{modules.Nodes.Count} treemap nodes");
        Assert.Contains(modules.Nodes, n => n.Id == "model.layers.199");
        var heat = rendered["charts"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == "heatmap")!["figure"]!["data"]![0]!;
        Assert.Equal(65, heat["x"]!.AsArray().Count); // 64 largest files and one column pooling the rest
        Assert.True(rendered.ToJsonString().Length < 3_000_000, $"{rendered.ToJsonString().Length} characters of chart JSON");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{clock.Elapsed.TotalSeconds:0.0} s");
    }
}
