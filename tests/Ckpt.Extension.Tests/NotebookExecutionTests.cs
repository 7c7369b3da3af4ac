using System.Globalization;
using System.Net;
using Ckpt.Manifest;
using Ckpt.Planning;

namespace Ckpt.Extension.Tests;

/// <summary>Runs the notebooks once each through real Jupyter (nbconvert + the .NET Interactive kernel).</summary>
public sealed class NotebookRuns
{
    readonly Lazy<bool> _feed = new(() => { LocalFeed.Prepare(); return true; });
    readonly Lazy<JupyterRun> _example, _badInput;

    public NotebookRuns()
    {
        _example = new(() => Execute("notebooks/01-load-and-inspect.ipynb"));
        _badInput = new(() => Execute("tests/notebooks/bad-input.ipynb"));
    }

    internal JupyterRun Example => _example.Value;
    internal JupyterRun BadInput => _badInput.Value;

    JupyterRun Execute(string notebook)
    {
        _ = _feed.Value;
        return JupyterRun.Execute(notebook);
    }
}

[Trait("Category", "slow")]
public sealed class NotebookExecutionTests(NotebookRuns runs) : IClassFixture<NotebookRuns>
{
    JupyterRun Example => runs.Example;

    static string Summary(ExecutedCell cell) => WebUtility.HtmlDecode(cell.Text("text/html"));

    [Fact]
    public void The_example_notebook_runs_with_no_cell_error()
    {
        var failed = Example.CellErrors();
        Assert.True(failed.Length == 0, string.Join("\n", failed));
    }

    [Fact]
    public void The_example_notebook_loads_the_extension_from_the_local_feed()
    {
        var cell = Example.Cell("#r \"nuget: Ckpt.Extension");
        Assert.Null(cell.ErrorValue);
        Assert.Contains("Ckpt.Extension, 0.1.0", cell.Text("text/html"));
        Assert.Contains("#!ckpt-load", WebUtility.HtmlDecode(cell.Text("text/html")));
    }

    [Fact]
    public void The_example_notebook_shows_the_sharded_llama_summary()
    {
        var cell = Example.Cell("#!ckpt-load ../tests/fixtures/hf-llama-tiny-sharded");
        var p = FixtureFacts.LlamaParameterCount().ToString("N0", CultureInfo.InvariantCulture);
        Assert.Null(cell.ErrorValue);
        Assert.Contains($"safetensors (transformers), 39 tensors, {p} parameters (F32 {p})", Summary(cell));
        Assert.Contains("Bound to the C# variable llama.", StripTags(Summary(cell)));
    }

    [Fact]
    public void The_example_notebook_shows_the_torch_save_summary()
    {
        var cell = Example.Cell("#!ckpt-load ../tests/fixtures/torch-save/variety.pt");
        var (tensors, parameters, byDType) = FixtureFacts.Variety();
        Assert.Null(cell.ErrorValue);
        var summary = Summary(cell);
        Assert.Contains("torch.save", summary);
        Assert.Contains($"{tensors} tensors, {parameters:N0} parameters ({ManifestSummary.ByDType(byDType)})", summary);
        Assert.Contains("Bound to the C# variable variety.", StripTags(summary));
    }

    [Fact]
    public void The_example_notebook_shows_the_dcp_summary_with_its_world_size()
    {
        var cell = Example.Cell("#!ckpt-load ../tests/fixtures/dcp-dtensor1d-4rank");
        using var reference = Checkpoint.Open(FixtureFacts.DcpReference);
        var m = reference.Manifest;
        Assert.Null(cell.ErrorValue);
        var summary = Summary(cell);
        Assert.StartsWith("dcp", StripTags(summary).Split(": ", 2)[1]);
        Assert.Contains($"world size 4, {m.Tensors.Count} tensors, {m.ParameterCount:N0} parameters ({ManifestSummary.ByDType(m.ParametersByDType)})", summary);
    }

    [Fact]
    public void The_example_notebook_reads_tensors_through_the_bound_variable()
    {
        var cell = Example.Cell("using Ckpt.Planning;");
        using var reference = Checkpoint.Open(FixtureFacts.DcpReference);
        var mean = reference.Read("model.norm.weight").ToFloats().Average();
        var corner = reference.Read("model.embed_tokens.weight", new Box([0, 0], [2, 4])).ToFloats();
        Assert.Null(cell.ErrorValue);
        var text = cell.Text("text/plain") + cell.Text("text/html");
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"model.norm.weight: F32 [64], mean {mean:F4}"), text);
        Assert.Contains("embed_tokens[0:2, 0:4] = [" + string.Join(", ", corner.Select(v => v.ToString("F4", CultureInfo.InvariantCulture))) + "]", text);
    }

    [Fact]
    public void A_truncated_file_fails_its_cell_with_the_one_sentence_and_no_stack_trace()
    {
        var cell = runs.BadInput.Cell("#!ckpt-load truncated.safetensors");
        var expected = Assert.Throws<Ckpt.Errors.CheckpointFormatException>(
            () => Checkpoint.Open(Path.Combine(TestPaths.RepoRoot, "tests", "notebooks", "truncated.safetensors")));
        Assert.Equal(expected.Message, cell.ErrorValue);
        Assert.EndsWith("[Truncated].", cell.ErrorValue);
        Assert.DoesNotContain(cell.Traceback, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.Empty(cell.Text("text/html"));
    }

    [Fact]
    public void A_missing_path_fails_its_cell_with_one_sentence_and_later_cells_still_run()
    {
        var run = runs.BadInput;
        var cell = run.Cell("#!ckpt-load no-such-checkpoint");
        Assert.Equal("no-such-checkpoint: no such file or folder [MissingFile].", cell.ErrorValue);
        Assert.DoesNotContain(cell.Traceback, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        var after = run.Cell("\"still running\"");
        Assert.Null(after.ErrorValue);
        Assert.Contains("still running", after.Text("text/plain") + after.Text("text/html"));
    }

    static string StripTags(string html) => System.Text.RegularExpressions.Regex.Replace(html, "<[^>]+>", "");
}
