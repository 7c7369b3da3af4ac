using System.Text.Json;
using System.Text.Json.Nodes;
using Ckpt.Charts;
using Ckpt.Inspection;
using Ckpt.Manifest;
using Ckpt.Tensors;

namespace Ckpt.Tests.Charts;

public class ChartRendererTests
{
    static JsonObject Render(string kind, JsonObject input) => JsonNode.Parse(ChartRenderer.Render(kind, input.ToJsonString()))!.AsObject();

    static JsonObject Figure(JsonObject rendered, string name) =>
        rendered["charts"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!["figure"]!.AsObject();

    static CheckpointManifest FourRanks()
    {
        // A [8, 4] tensor in a 2 x 2 grid of boxes (rows and columns split), one rank and one file each.
        var fragments = new List<Fragment>();
        for (int r = 0; r < 4; r++)
            fragments.Add(new Fragment([r / 2 * 4, r % 2 * 2], [4, 2], new Payload($"__{r}_0.distcp", 0, 32), [2, 1], 0, r));
        return new CheckpointManifest
        {
            Format = "test",
            Tensors = [new TensorEntry("layers.0.w", DType.F32, [8, 4], fragments)],
            Files = Enumerable.Range(0, 4).Select(r => new StorageFile($"__{r}_0.distcp", 32)).ToList(),
        };
    }

    [Fact]
    public void Layout_draws_one_rectangle_per_fragment_coloured_by_rank_with_the_fragment_in_the_hover()
    {
        var m = FourRanks();
        var rendered = Render("layout", InspectionJson.Layout("t", CheckpointLayout.Of(m), ModuleTree.Of(m)));
        var box = Figure(rendered, "boxmap");
        var shapes = box["layout"]!["shapes"]!.AsArray();
        Assert.Equal(4, shapes.Count);
        Assert.Equal(4, shapes.Select(s => s!["fillcolor"]!.GetValue<string>()).Distinct().Count());
        // Rank 3 holds rows 4..8, columns 2..4: the lower right quarter of the unit-wide band.
        var traces = box["data"]!.AsArray();
        var rank3 = traces.Single(t => t!["name"]!.GetValue<string>() == "rank 3")!;
        Assert.Equal(0.75, rank3["x"]![0]!.GetValue<double>(), 12);
        Assert.Contains("offsets [4, 2] lengths [4, 2]", rank3["text"]![0]!.GetValue<string>());
        Assert.Contains("__3_0.distcp", rank3["text"]![0]!.GetValue<string>());

        var heat = Figure(rendered, "heatmap")["data"]![0]!;
        Assert.Equal(32, heat["z"]![2]![2]!.GetValue<long>());
        Assert.Equal(0, heat["z"]![2]![1]!.GetValue<long>());
        var bars = Figure(rendered, "rank-bytes")["data"]![0]!["y"]!.AsArray().Select(v => v!.GetValue<long>());
        Assert.Equal([32L, 32, 32, 32], bars);
        var tree = Figure(rendered, "treemap")["data"]![0]!;
        Assert.Equal(["layers", "layers.0", "layers.0.w"], tree["ids"]!.AsArray().Select(v => v!.GetValue<string>()));
    }

    [Fact]
    public void A_standalone_document_inlines_plotly_js_and_loads_nothing()
    {
        var m = FourRanks();
        var html = ChartRenderer.Document("layout", InspectionJson.Layout("t", CheckpointLayout.Of(m), ModuleTree.Of(m)).ToJsonString(), "Layout <t>");
        Assert.Contains(ChartRenderer.PlotlyJs(), html);
        Assert.True(ChartRenderer.PlotlyJs().Length > 1_000_000);
        Assert.DoesNotContain("<script src=", html);
        Assert.DoesNotContain("<link", html);
        Assert.Contains("<title>Layout &lt;t&gt;</title>", html);
        Assert.Equal(4, html.Split("var renderPlotly_").Length - 1);
    }

    [Fact]
    public void Histogram_and_timeline_figures_carry_the_numbers_they_were_given()
    {
        var stats = new JsonObject
        {
            ["name"] = "w", ["dtype"] = "F32", ["shape"] = new JsonArray(3), ["elements"] = 3, ["min"] = 0.0, ["max"] = 2.0,
            ["mean"] = 1.0, ["std"] = 0.8, ["nan"] = 0, ["posInf"] = 0, ["negInf"] = 0, ["zeroFraction"] = 0.33,
            ["binEdges"] = new JsonArray(0.0, 1.0, 2.0), ["binCounts"] = new JsonArray(1, 2),
        };
        var hist = Figure(Render("stats", stats), "histogram")["data"]![0]!;
        Assert.Equal([0.5, 1.5], hist["x"]!.AsArray().Select(v => v!.GetValue<double>()));
        Assert.Equal([1L, 2], hist["y"]!.AsArray().Select(v => v!.GetValue<long>()));

        var timeline = new Ckpt.Monitoring.OperationTimeline("read");
        timeline.Record("read", "a.safetensors", TimeSpan.Zero, 100);
        var gantt = Figure(Render("timeline", InspectionJson.Timeline(timeline)), "timeline")["data"]![0]!;
        Assert.Equal("read", gantt["name"]!.GetValue<string>());
        Assert.Equal(0, gantt["base"]![0]!.GetValue<double>());
    }

    [Fact]
    public void An_unknown_chart_kind_is_refused_with_the_kinds_named()
    {
        var e = Assert.Throws<ArgumentException>(() => ChartRenderer.Render("pie", "{}"));
        Assert.Contains("layout, diff, stats, timeline", e.Message);
    }
}
