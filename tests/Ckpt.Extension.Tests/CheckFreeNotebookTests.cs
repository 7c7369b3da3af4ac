using System.Text.Json;

namespace Ckpt.Extension.Tests;

/// <summary>Runs notebooks/04-checkfree-recovery.ipynb once through real Jupyter (nbconvert + the dotnet-interactive kernel).</summary>
public sealed class CheckFreeNotebookRun
{
    internal Lazy<JupyterRun> Run { get; } = new(() =>
    {
        LocalFeed.Prepare();
        return JupyterRun.Execute("notebooks/04-checkfree-recovery.ipynb");
    });
}

[Trait("Category", "slow")]
public sealed class CheckFreeNotebookTests(CheckFreeNotebookRun run) : IClassFixture<CheckFreeNotebookRun>
{
    JupyterRun Notebook => run.Run.Value;

    [Fact]
    public void The_checkfree_notebook_runs_with_no_cell_error()
    {
        var failed = Notebook.CellErrors();
        Assert.True(failed.Length == 0, string.Join("\n", failed));
    }

    [Fact]
    public void The_recovery_chart_has_three_curves_and_CheckFree_is_back_within_5_percent_before_training_from_scratch()
    {
        var cell = Notebook.Cells.Single(c => c.Source.StartsWith("#!ckpt-recovery", StringComparison.Ordinal));
        Assert.Null(cell.ErrorValue);
        var figure = Assert.Single(cell.Figures());
        var traces = figure.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["no failure", "CheckFree", "from scratch"], traces.Select(t => t.GetProperty("name").GetString()));

        // Recomputed from the figure itself: the threshold is the no-failure curve's loss at the failure step + 5 %.
        var failure = traces[1].GetProperty("x")[0].GetInt32();
        var baseline = Series(traces[0]).Single(p => p.Step == failure).Loss;
        int? Recovered(JsonElement trace) => Series(trace).FirstOrDefault(p => p.Loss <= baseline * 1.05) is { Step: > 0 } p ? p.Step - failure : null;
        var checkFree = Recovered(traces[1]);
        var scratch = Recovered(traces[2]);
        Assert.NotNull(checkFree);
        Assert.True(checkFree < (scratch ?? int.MaxValue), $"CheckFree recovered after {checkFree} steps, from scratch after {scratch?.ToString() ?? "never"}");
        Assert.Contains("steps to recover", cell.Text("text/html"));
    }

    static List<(int Step, double Loss)> Series(JsonElement trace) =>
        trace.GetProperty("x").EnumerateArray().Zip(trace.GetProperty("y").EnumerateArray(), (x, y) => (x.GetInt32(), y.GetDouble())).ToList();
}
