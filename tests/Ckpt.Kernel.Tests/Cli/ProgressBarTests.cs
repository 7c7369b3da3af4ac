using Ckpt.Cli.Progress;

namespace Ckpt.Tests.Cli;

/// <summary>The one progress component: drawn to a terminal's width, and nothing at all where stdout is not one.</summary>
public class ProgressBarTests
{
    [Theory]
    [InlineData(60)]
    [InlineData(80)]
    [InlineData(200)]
    public void The_line_is_one_column_short_of_the_terminal_so_it_never_wraps(int columns)
    {
        var line = ProgressBar.Render(0.5, "500 MB of 1.00 GB, 250 MB/s", columns);
        Assert.Equal(columns - 1, line.Length);
        Assert.StartsWith("[", line);
        Assert.Contains("]  50% 500 MB of 1.00 GB, 250 MB/s", line);
    }

    [Fact]
    public void The_bar_fills_in_proportion_and_a_long_text_is_cut_with_an_ellipsis()
    {
        Assert.Equal("[###############---------------]  50% x".PadRight(79), ProgressBar.Render(0.5, "x", 80));
        Assert.Equal("[#################] 100% done", ProgressBar.Render(1, "done", 30));
        var cut = ProgressBar.Render(0.25, new string('y', 100), 40);
        Assert.Equal(39, cut.Length);
        Assert.StartsWith("[##--------]  25% yyy", cut);
        Assert.EndsWith("y…", cut);
    }

    [Fact]
    public void Convert_on_a_terminal_draws_a_bar_then_prints_the_same_summary()
    {
        var dir = TestPaths.TempDirectory("progress-convert");
        var fixture = TestPaths.Fixture("hf-llama-tiny-sharded");
        var plain = Run(null, "convert", fixture, "--to", "safetensors", "--out", Path.Combine(dir, "a"));
        // The 1 GB threshold lowered so this 1 MB checkpoint earns a bar.
        var drawn = Run(new Terminal(60) { MinimumBytes = 0 }, "convert", fixture, "--to", "safetensors", "--out", Path.Combine(dir, "b"));
        var bar = drawn[..(drawn.IndexOf('\n', drawn.LastIndexOf('\r')) + 1)];
        var summary = drawn[bar.Length..];
        Assert.StartsWith("\r[", bar);
        Assert.Contains("] 100% 1.0 MB of 1.0 MB", bar);
        Assert.All(bar.TrimEnd('\n').Split('\r', StringSplitOptions.RemoveEmptyEntries), l => Assert.Equal(59, l.Length));
        Assert.Equal(plain.Replace(Path.Combine(dir, "a"), Path.Combine(dir, "b")), summary);
    }

    [Fact]
    public void Below_a_gigabyte_a_terminal_gets_no_bar_and_the_output_is_unchanged()
    {
        var dir = TestPaths.TempDirectory("progress-small");
        var fixture = TestPaths.Fixture("hf-llama-tiny-sharded");
        var plain = Run(null, "convert", fixture, "--to", "dcp", "--out", Path.Combine(dir, "a"));
        var terminal = Run(new Terminal(80), "convert", fixture, "--to", "dcp", "--out", Path.Combine(dir, "b"));
        Assert.Equal(plain.Replace(Path.Combine(dir, "a"), Path.Combine(dir, "b")), terminal);
        Assert.DoesNotContain('\r', terminal);
    }

    [Fact]
    public void Reshard_merge_and_bench_generate_report_through_the_same_bar()
    {
        var dir = TestPaths.TempDirectory("progress-others");
        var fixture = TestPaths.Fixture("hf-llama-tiny-sharded");
        var terminal = new Terminal(70) { MinimumBytes = 0 };
        foreach (var args in new[]
        {
            new[] { "reshard", fixture, "--world-size", "2", "--out", Path.Combine(dir, "r") },
            ["merge", "--method", "linear", "--model", fixture, "--model", TestPaths.Fixture("hf-llama-tiny-bin"), "--out", Path.Combine(dir, "m")],
            ["bench", "generate", "--out", Path.Combine(dir, "g"), "--size", "30MB", "--shards", "2", "--hidden", "128"],
        })
        {
            var output = Run(terminal, args);
            Assert.StartsWith("\r[", output);
            Assert.Contains("] 100% ", output);
            Assert.DoesNotContain('\r', Run(null, [.. args.Select(a => a.StartsWith(dir) ? a + "-plain" : a)]));
        }
    }

    static string Run(Terminal? terminal, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = global::Ckpt.Cli.Program.Run(args, stdout, stderr, terminal);
        Assert.True(code == 0, stderr.ToString());
        return stdout.ToString();
    }
}
