using System.Text.Json.Nodes;
using Ckpt.Charts;
using Ckpt.Conversion;
using Ckpt.Inspection;
using Ckpt.Tests.Cli;

namespace Ckpt.Tests.Charts;

/// <summary>Charts say what they show: by file where there are no ranks, what a cap leaves out, a mesh as blocks, one precision.</summary>
public class ChartsExplainThemselvesTests
{
    static JsonObject Layout(string path, params string[] globs)
    {
        using var ckpt = Checkpoint.Open(path);
        var filter = new TensorFilter(globs);
        var input = InspectionJson.Layout(ckpt.Path, CheckpointLayout.Of(ckpt.Manifest, filter), ModuleTree.Of(ckpt.Manifest, filter));
        return JsonNode.Parse(ChartRenderer.Render("layout", input.ToJsonString()))!.AsObject();
    }

    static IReadOnlyList<string> Names(JsonObject rendered) =>
        rendered["charts"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();

    static JsonObject Figure(JsonObject rendered, string name) =>
        rendered["charts"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!["figure"]!.AsObject();

    static string Title(JsonObject figure) => figure["layout"]!["title"]!["text"]!.GetValue<string>();

    [Fact]
    public void A_single_process_checkpoint_is_charted_by_file_with_no_rank_question_mark()
    {
        var rendered = Layout(TestPaths.Fixture("hf-llama-tiny-sharded"));
        Assert.Equal(["boxmap", "file-bytes", "treemap"], Names(rendered));
        Assert.DoesNotContain("rank ?", rendered.ToJsonString());
        var bars = Figure(rendered, "file-bytes")["data"]![0]!;
        Assert.Equal(6, bars["x"]!.AsArray().Count); // 6 shards hold tensors; the index holds none
        Assert.Equal(1001728L, bars["y"]!.AsArray().Sum(v => v!.GetValue<long>()));
        Assert.Contains("written by one process in 6 files", rendered.ToJsonString());
        Assert.StartsWith("Tensor fragments by file", Title(Figure(rendered, "boxmap")));
    }

    [Fact]
    public void A_capped_box_map_says_how_many_it_shows_and_how_to_choose()
    {
        var all = Title(Figure(Layout(TestPaths.Fixture("hf-llama-tiny-sharded")), "boxmap"));
        Assert.EndsWith(": 12 of 39 tensors (the largest); --tensor <glob> chooses", all);
        var few = Title(Figure(Layout(TestPaths.Fixture("hf-llama-tiny-sharded"), "model.layers.0.self_attn.**"), "boxmap"));
        Assert.EndsWith(": 4 tensors", few);
    }

    [Fact]
    public void A_2x2_mesh_is_drawn_as_its_blocks_coloured_by_rank_with_bytes_and_file_offsets_on_hover()
    {
        var dir = TestPaths.TempDirectory("mesh-chart");
        var mesh = Path.Combine(dir, "mesh");
        var (code, _, err) = CliRunner.Run("reshard", TestPaths.Fixture("hf-llama-tiny-sharded"), "--mesh", "2x2",
            "--placements", "Shard(0),Shard(1)", "--out", mesh);
        Assert.True(code == 0, err);
        var rendered = Layout(mesh, "model.layers.0.self_attn.q_proj.weight");
        Assert.Equal(["boxmap", "heatmap", "rank-bytes", "treemap"], Names(rendered));
        var box = Figure(rendered, "boxmap");
        var shapes = box["layout"]!["shapes"]!.AsArray().Select(s => s!.AsObject()).ToList();
        Assert.Equal(4, shapes.Count);
        Assert.Equal(4, shapes.Select(s => s["fillcolor"]!.GetValue<string>()).Distinct().Count());
        // Mesh coordinate (i, j) = rank 2i + j holds rows i/2.., columns j/2..: the 2 x 2 grid, not stripes.
        var quadrants = shapes.Select(s => (s["x0"]!.GetValue<double>(), s["y0"]!.GetValue<double>())).Distinct().Count();
        Assert.Equal(4, quadrants);
        var traces = box["data"]!.AsArray();
        for (int rank = 0; rank < 4; rank++)
        {
            var trace = traces.Single(t => t!["name"]!.GetValue<string>() == $"rank {rank}")!;
            Assert.Equal(rank % 2 == 0 ? 0.25 : 0.75, trace["x"]![0]!.GetValue<double>(), 12);
            var hover = trace["text"]![0]!.GetValue<string>();
            Assert.Contains($"offsets [{rank / 2 * 32}, {rank % 2 * 32}] lengths [32, 32]", hover);
            Assert.Matches($@"file __{rank}_0\.distcp @ \d+ \(\+4096 B\)", hover);
            Assert.EndsWith("4.1 KB", hover);
        }
    }

    [Fact]
    public void Diff_numbers_read_the_same_in_the_cli_text_the_chart_hovers_and_the_table()
    {
        var a = TestPaths.Fixture("trajectory-llama-micro", "step-0025.safetensors");
        var b = TestPaths.Fixture("trajectory-llama-micro", "step-0050.safetensors");
        var text = CliRunner.Run("diff", a, b).Out;
        using var ca = Checkpoint.Open(a);
        using var cb = Checkpoint.Open(b);
        var report = CheckpointDiff.Compare(ca, cb, TensorFilter.All);
        var rendered = JsonNode.Parse(ChartRenderer.Render("diff", InspectionJson.Diff(report).ToJsonString()))!.AsObject();
        var bars = Figure(rendered, "diff-tensors")["data"]![0]!;
        var names = bars["y"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        var html = rendered["summaryHtml"]!.GetValue<string>();
        foreach (var change in report.Changes.Where(c => names.Contains(c.Name)))
        {
            var (l2, max) = (DiffReport.NumberText(change.RelativeL2), DiffReport.NumberText(change.MaxAbsDiff));
            var hover = bars["customdata"]![names.IndexOf(change.Name)]!.AsArray().Select(v => v!.GetValue<string>()).ToList();
            Assert.Equal([l2, max], hover);
            Assert.Matches($@"\n  {System.Text.RegularExpressions.Regex.Escape(change.Name)} +{System.Text.RegularExpressions.Regex.Escape(l2)} +{System.Text.RegularExpressions.Regex.Escape(max)}\n", text);
            Assert.Contains($"<td>{l2}</td>", html);
        }
        Assert.Contains("%{customdata[0]}", bars["hovertemplate"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(0.0123456, "0.01235")]
    [InlineData(1.23456e-7, "1.235e-07")]
    [InlineData(2.5, "2.5")]
    [InlineData(0.0, "0")]
    [InlineData(double.PositiveInfinity, "∞")]
    [InlineData(123456.0, "1.235e+05")]
    public void A_diff_number_has_four_significant_figures(double value, string text) =>
        Assert.Equal(text, DiffReport.NumberText(value));

    [Fact]
    public void Layout_text_of_a_single_process_checkpoint_has_no_rank_row()
    {
        var (code, stdout, _) = CliRunner.Run("layout", TestPaths.Fixture("hf-llama-tiny-sharded"));
        Assert.Equal(0, code);
        Assert.DoesNotContain("rank ?", stdout);
        Assert.Contains("\n  written by one process, in 6 files\n", stdout);
    }
}
