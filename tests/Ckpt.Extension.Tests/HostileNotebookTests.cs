using System.Diagnostics;
using Xunit.Abstractions;

namespace Ckpt.Extension.Tests;

/// <summary>tests/notebooks/hostile-corpus.ipynb executed once by real Jupyter, with the would-be command's marker cleared first.</summary>
public sealed class HostileNotebookRun
{
    public const string Marker = "/tmp/ckpt-attack-marker";

    readonly Lazy<(JupyterRun Run, TimeSpan Elapsed)> _run = new(() =>
    {
        File.Delete(Marker);
        LocalFeed.Prepare();
        var clock = Stopwatch.StartNew();
        var run = JupyterRun.Execute("tests/notebooks/hostile-corpus.ipynb");
        return (run, clock.Elapsed);
    });

    internal JupyterRun Run => _run.Value.Run;
    internal TimeSpan Elapsed => _run.Value.Elapsed;
}

/// <summary>
/// A sample of the hostile corpus (tests/attacks), one or more files per kind of attack, loaded with #!ckpt-load
/// in a real notebook: each cell fails with exactly the sentence the `ckpt` CLI prints for the same file (run in
/// process here), with no stack trace; later cells still run; nothing the files would execute runs.
/// </summary>
[Trait("Category", "slow")]
public sealed class HostileNotebookTests(HostileNotebookRun notebook, ITestOutputHelper output) : IClassFixture<HostileNotebookRun>
{
    const string LoadPrefix = "#!ckpt-load ../attacks/";
    static readonly string Corpus = Path.Combine(TestPaths.RepoRoot, "tests", "attacks");

    IEnumerable<ExecutedCell> RefusedLoads => notebook.Run.Cells.Where(c => c.Source.StartsWith(LoadPrefix, StringComparison.Ordinal) && !c.Source.Contains("--name"));

    static (int Code, string Stdout, string Stderr) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Ckpt.Cli.Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The sentence after `ckpt: `, which is all the CLI prints for bad input.</summary>
    static string CliSentence(params string[] args)
    {
        var (code, _, stderr) = Cli(args);
        Assert.True(code == 2, $"ckpt {string.Join(' ', args)} exited {code}: {stderr}");
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ckpt: ", line);
        return line["ckpt: ".Length..];
    }

    static void AssertNoStackTrace(ExecutedCell cell)
    {
        Assert.DoesNotContain(cell.Traceback, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.DoesNotContain(cell.Outputs, o => o.Text.Contains("   at ", StringComparison.Ordinal));
    }

    [Fact]
    public void The_sample_covers_every_kind_of_attack()
    {
        var sampled = RefusedLoads.Select(c => c.Source[LoadPrefix.Length..].Trim()).ToArray();
        foreach (var kind in new[] { "pickle/global_reduce", "pickle/deep_nesting", "pickle/huge_memo", "zip/member_named_dotdot", "zip/deflated_storage_bomb",
                     "safetensors/header_2_63", "index/index_dotdot", "dcp/chunk_outside_tensor", "dcp/metadata_os_system" })
            Assert.Contains(sampled, s => s.StartsWith(kind, StringComparison.Ordinal));
        Assert.Contains(notebook.Run.Cells, c => c.Source.StartsWith(LoadPrefix + "dcp/zstd_bomb", StringComparison.Ordinal));
    }

    [Fact]
    public void Each_cell_fails_with_the_sentence_the_cli_prints_for_the_same_file()
    {
        output.WriteLine($"the notebook ran in {notebook.Elapsed.TotalSeconds:F1} s (nbconvert, kernel start and every cell)");
        var cells = RefusedLoads.ToArray();
        Assert.True(cells.Length >= 10, $"only {cells.Length} hostile cells");
        foreach (var cell in cells)
        {
            var relative = cell.Source[LoadPrefix.Length..].Trim();
            var expected = CliSentence("inspect", Path.Combine(Corpus, relative));
            output.WriteLine($"{relative}: {cell.ErrorValue}");
            Assert.True(expected == cell.ErrorValue, $"{relative}: the cell says\n  {cell.ErrorValue}\nthe CLI says\n  {expected}");
            Assert.DoesNotContain("\n", cell.ErrorValue);
            AssertNoStackTrace(cell);
            Assert.Empty(cell.Text("text/html"));
        }
    }

    [Fact]
    public void A_zstd_bomb_loads_its_headers_and_fails_the_cell_that_reads_it_with_the_cli_sentence()
    {
        var load = notebook.Run.Cell(LoadPrefix + "dcp/zstd_bomb");
        Assert.Null(load.ErrorValue);
        var stats = notebook.Run.Cell("#!ckpt-stats bomb model.norm.weight");
        var expected = CliSentence("bench", "load", Path.Combine(Corpus, "dcp", "zstd_bomb"), "--parallelism", "1");
        Assert.Equal(expected, stats.ErrorValue);
        Assert.EndsWith("[TooLarge].", stats.ErrorValue);
        AssertNoStackTrace(stats);
    }

    [Fact]
    public void Later_cells_still_run_and_nothing_was_executed()
    {
        var after = notebook.Run.Cell("\"still running\"");
        Assert.Null(after.ErrorValue);
        Assert.Contains("still running", after.Text("text/plain") + after.Text("text/html"));
        Assert.False(File.Exists(HostileNotebookRun.Marker), "a hostile file created the marker its command would");
    }
}
