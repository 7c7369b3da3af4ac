using System.CommandLine;
using System.Diagnostics;

namespace Ckpt.Tests.Cli;

/// <summary>What a newcomer meets first: bare `ckpt`, the root help, typos, and the text beside an HTML report.</summary>
public class FirstCommandTests
{
    [Fact]
    public void Ckpt_with_no_arguments_prints_the_help_and_exits_0()
    {
        var (code, stdout, stderr) = CliRunner.Run();
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Contains("Commands:", stdout);
        Assert.Equal(stdout, CliRunner.Run("--help").Out);
    }

    [Fact]
    public void The_root_help_lists_every_command_of_the_tree_on_one_line_each()
    {
        var stdout = CliRunner.Run().Out;
        var lines = stdout.Split('\n');
        var root = global::Ckpt.Cli.Program.Root(TextWriter.Null, TextWriter.Null);
        var leaves = Leaves(root, "").ToList();
        Assert.True(leaves.Count >= 13, $"{leaves.Count} commands");
        foreach (var name in leaves)
        {
            var line = Assert.Single(lines, l => l.StartsWith($"  {name} ", StringComparison.Ordinal));
            Assert.True(line.Trim().Length > name.Length + 10, $"'{name}' has no summary: {line}");
        }
    }

    static IEnumerable<string> Leaves(Command c, string prefix) =>
        c.Subcommands.SelectMany(s => s.Subcommands.Count == 0 ? [prefix + s.Name] : Leaves(s, prefix + s.Name + " "));

    [Theory]
    [InlineData("inpsect|x", "unknown command 'inpsect'; did you mean 'inspect'?")]
    [InlineData("reshard|x|--world-sise|2", "unknown option '--world-sise' for reshard; did you mean '--world-size'?")]
    [InlineData("inspect|x|--jsno", "unknown option '--jsno' for inspect; did you mean '--json'?")]
    [InlineData("bench|lod|x", "unknown command 'bench lod'; did you mean 'bench load'?")]
    [InlineData("layuot|x", "unknown command 'layuot'; did you mean 'layout'?")]
    public void A_typo_gets_the_nearest_name_in_one_sentence_and_exit_code_2(string args, string sentence)
    {
        var (code, stdout, stderr) = CliRunner.Run(args.Split('|'));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal($"ckpt: {sentence}\n", stderr);
    }

    [Fact]
    public void A_name_nothing_like_a_command_lists_the_commands()
    {
        var (code, _, stderr) = CliRunner.Run("frobnicate");
        Assert.Equal(2, code);
        Assert.StartsWith("ckpt: unknown command 'frobnicate'; the commands are inspect, convert, bench,", stderr);
        Assert.DoesNotContain("did you mean", stderr);
    }

    [Theory]
    [InlineData("inspect", "inspct", 1)]
    [InlineData("inspect", "inpsect", 1)] // a swap of neighbours is one edit
    [InlineData("--world-size", "--world-sise", 1)]
    [InlineData("merge", "lcsc", 5)]
    public void Edit_distance_counts_insertions_deletions_substitutions_and_swaps(string a, string b, int distance) =>
        Assert.Equal(distance, global::Ckpt.Cli.Suggestions.Distance(a, b));

    [Fact]
    public void Layout_with_html_also_prints_its_text_summary()
    {
        var dir = TestPaths.TempDirectory("layout-html-text");
        var html = Path.Combine(dir, "layout.html");
        var fixture = TestPaths.Fixture("hf-llama-tiny-sharded");
        var text = CliRunner.Run("layout", fixture);
        var (code, stdout, _) = CliRunner.Run("layout", fixture, "--html", html);
        Assert.Equal(0, code);
        Assert.Equal(text.Out + $"wrote {html}\n", stdout);
        Assert.True(File.Exists(html));
    }

    [Fact]
    public void Diff_with_html_also_prints_its_text_summary()
    {
        var dir = TestPaths.TempDirectory("diff-html-text");
        var html = Path.Combine(dir, "diff.html");
        var a = TestPaths.Fixture("hf-llama-tiny-sharded");
        var b = TestPaths.Fixture("hf-llama-tiny-bin");
        var text = CliRunner.Run("diff", a, b);
        var (code, stdout, _) = CliRunner.Run("diff", a, b, "--html", html);
        Assert.Equal(0, code);
        Assert.Contains("compared", text.Out);
        Assert.Equal(text.Out + $"wrote {html}\n", stdout);
    }

    [Fact]
    public void Inspect_text_labels_the_metadata_says_1_file_and_names_the_size_on_disk()
    {
        var path = TestPaths.Fixture("hf-gpt2-tiny", "model.safetensors");
        var (code, stdout, _) = CliRunner.Run("inspect", path);
        Assert.Equal(0, code);
        var bytes = Assert.Single(stdout.Split('\n'), l => l.StartsWith("  bytes", StringComparison.Ordinal));
        Assert.Matches(@"of tensors in 1 file \([0-9.]+ [KMG]?B on disk\)$", bytes);
        var sharded = CliRunner.Run("inspect", TestPaths.Fixture("hf-llama-tiny-sharded")).Out;
        Assert.Contains(" in 7 files (", sharded);
        Assert.Contains("\n  metadata    9 entries", sharded);
        Assert.Contains("\n    config.model_type            llama\n", sharded);
    }

    [Fact]
    public void A_piped_ckpt_prints_what_an_in_process_run_without_a_terminal_prints_byte_for_byte()
    {
        var dir = TestPaths.TempDirectory("piped-convert");
        var fixture = TestPaths.Fixture("hf-llama-tiny-sharded");
        var inProcess = CliRunner.Run("convert", fixture, "--to", "safetensors", "--out", Path.Combine(dir, "a"));
        Assert.Equal(0, inProcess.Code);
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "ckpt.dll"), "convert", fixture, "--to", "safetensors", "--out", Path.Combine(dir, "b") })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var piped = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        Assert.Equal(inProcess.Out.Replace(Path.Combine(dir, "a"), Path.Combine(dir, "b")), piped);
    }
}
