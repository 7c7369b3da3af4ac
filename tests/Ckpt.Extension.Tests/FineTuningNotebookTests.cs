using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Ckpt.Extension.Tests;

/// <summary>Runs notebooks/05-finetune-sft-then-dpo.ipynb once through real Jupyter (nbconvert + the dotnet-interactive kernel).</summary>
public sealed class FineTuningNotebookRun
{
    internal Lazy<JupyterRun> Run { get; } = new(() =>
    {
        LocalFeed.Prepare();
        return JupyterRun.Execute("notebooks/05-finetune-sft-then-dpo.ipynb");
    });
}

[Trait("Category", "slow")]
public sealed class FineTuningNotebookTests(FineTuningNotebookRun run) : IClassFixture<FineTuningNotebookRun>
{
    JupyterRun Notebook => run.Run.Value;

    [Fact]
    public void The_finetune_notebook_runs_with_no_cell_error()
    {
        var failed = Notebook.CellErrors();
        Assert.True(failed.Length == 0, string.Join("\n", failed));
    }

    [Fact]
    public void The_qlora_sft_chart_has_the_training_and_held_out_loss_and_the_held_out_loss_falls()
    {
        var cell = Notebook.Cell("#!ckpt-finetune --recipe sft");
        var traces = Traces(cell);
        Assert.Equal(["loss", "eval_loss"], traces.Keys);
        var loss = traces["loss"];
        var eval = traces["eval_loss"];
        Assert.Equal(Enumerable.Range(1, loss.Count), loss.Select(p => p.Step));
        Assert.Equal([2, 4, 6, 8, 10, 12, 14, 16], eval.Select(p => p.Step));
        Assert.True(eval[^1].Value < eval[0].Value * 0.8, $"eval_loss {eval[0].Value:F3} -> {eval[^1].Value:F3}");
        Assert.True(loss[^1].Value < loss[0].Value * 0.8, $"loss {loss[0].Value:F3} -> {loss[^1].Value:F3}");
        // The summary table's NF4 row: all 7 projections of the 4 layers quantized.
        Assert.Contains("28 layers", cell.Text("text/html"));
        // The run trained with its layers checkpointed, as the cell asks (the step's saved trainer state says so).
        var state = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "artifacts", "nb05", "sft", "checkpoints", "step-16", "trainer_state.json"));
        Assert.Matches("\"gradient_checkpointing\":\\s*\"true\"", state);
    }

    [Fact]
    public void Merging_the_sft_adapter_reports_the_28_merged_projection_weights()
    {
        var cell = Notebook.Cell("#!ckpt-convert");
        Assert.Null(cell.ErrorValue);
        var html = cell.Text("text/html");
        Assert.Contains("Merged the LoRA adapter into 28 weights.", html);
        Assert.Contains("config.json", html);
    }

    [Fact]
    public void Dpo_on_the_merged_model_ends_with_high_reward_accuracy_and_a_positive_margin()
    {
        var cell = Notebook.Cell("#!ckpt-finetune --recipe dpo");
        var traces = Traces(cell);
        Assert.Equal(["loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "eval_loss"], traces.Keys);
        Assert.True(traces["rewards/accuracies"][^1].Value >= 0.9, $"accuracy {traces["rewards/accuracies"][^1].Value}");
        Assert.True(traces["rewards/margins"][^1].Value > 0, $"margin {traces["rewards/margins"][^1].Value}");
        var loss = traces["loss"];
        Assert.True(loss[^1].Value < Math.Log(2), $"DPO loss {loss[^1].Value:F4}");
        Assert.Equal([10, 20], traces["eval_loss"].Select(p => p.Step));
    }

    [Fact]
    public void The_summary_cell_prints_the_figures_of_the_three_steps_from_the_bound_results()
    {
        var cell = Notebook.Cell("var s = sft.Last!.Metrics;");
        var text = cell.Text("text/plain");
        var m = Regex.Match(text, @"SFT \(QLoRA, 28 NF4 layers\): loss (?<loss>[\d.]+), held-out eval_loss (?<eval>[\d.]+); merged the adapter into 28 weights; " +
                                  @"DPO: loss (?<dpo>[\d.]+), reward accuracy (?<acc>[\d.]+), margin (?<margin>-?[\d.]+), held-out accuracy (?<held>[\d.]+); \d+ s of training");
        Assert.True(m.Success, text);
        double V(string g) => double.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);

        // The same numbers as the charts above, to the printed precision.
        void Printed(double expected, string group, double half)
        {
            var printed = V(group);
            Assert.True(Math.Abs(printed - expected) <= half * 1.0001, $"{group}: printed {printed}, charted {expected}");
        }
        var sft = Traces(Notebook.Cell("#!ckpt-finetune --recipe sft"));
        Printed(sft["eval_loss"][^1].Value, "eval", 0.5e-4);
        Printed(sft["loss"][^1].Value, "loss", 0.5e-4);
        var dpo = Traces(Notebook.Cell("#!ckpt-finetune --recipe dpo"));
        Printed(dpo["loss"][^1].Value, "dpo", 0.5e-3);
        Printed(dpo["rewards/accuracies"][^1].Value, "acc", 0.5e-2);
        Printed(dpo["rewards/margins"][^1].Value, "margin", 0.5e-3);
        // The notebook says the preference carries over to unseen pairs better than chance.
        Assert.True(V("held") > 0.5, $"held-out reward accuracy {V("held")}");
    }

    /// <summary>The cell's final chart (the live chart's last redraw): each trace's points by name, in trace order.</summary>
    static Dictionary<string, List<(int Step, double Value)>> Traces(ExecutedCell cell)
    {
        Assert.Null(cell.ErrorValue);
        var figure = cell.Figures()[^1];
        return figure.GetProperty("data").EnumerateArray().ToDictionary(
            t => t.GetProperty("name").GetString()!,
            t => t.GetProperty("x").EnumerateArray().Zip(t.GetProperty("y").EnumerateArray())
                .Where(p => p.Second.ValueKind == JsonValueKind.Number)
                .Select(p => (p.First.GetInt32(), p.Second.GetDouble())).ToList());
    }
}
