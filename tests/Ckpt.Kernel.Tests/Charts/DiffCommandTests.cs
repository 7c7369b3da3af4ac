using System.Text.Json;
using Ckpt.Tests.Inspection;

namespace Ckpt.Tests.Charts;

public class DiffCommandTests
{
    static (int Code, string Out, string Err) RunCli(params string[] args) => global::Ckpt.Tests.Cli.CliRunner.Run(args);

    [Fact]
    public void Ckpt_diff_json_reports_each_tensors_relative_L2_as_computed_independently()
    {
        var a = TestPaths.Fixture("trajectory-llama-micro", "step-0025.safetensors");
        var b = TestPaths.Fixture("trajectory-llama-micro", "step-0400.safetensors");
        var (code, stdout, stderr) = RunCli("diff", a, b, "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var fa = RawSafetensors.Floats(a);
        var fb = RawSafetensors.Floats(b);
        var changes = doc.RootElement.GetProperty("changes").EnumerateArray().ToList();
        Assert.Equal(fa.Count, changes.Count);
        foreach (var c in changes)
        {
            var name = c.GetProperty("name").GetString()!;
            double num = 0, den = 0;
            for (int i = 0; i < fa[name].Length; i++) { double d = (double)fb[name][i] - fa[name][i]; num += d * d; den += (double)fa[name][i] * fa[name][i]; }
            Assert.Equal(Math.Sqrt(num / den), c.GetProperty("relativeL2").GetDouble(), 9);
        }
        Assert.Equal(0, doc.RootElement.GetProperty("added").GetArrayLength());
    }

    [Fact]
    public void Ckpt_diff_html_writes_a_standalone_report()
    {
        var html = Path.Combine(TestPaths.TempDirectory("diff-html"), "diff.html");
        var (code, stdout, stderr) = RunCli("diff", TestPaths.Fixture("trajectory-llama-micro", "step-0025.safetensors"),
            TestPaths.Fixture("trajectory-llama-micro", "step-0400.safetensors"), "--html", html);
        Assert.True(code == 0, stderr);
        Assert.Contains("wrote", stdout);
        var text = File.ReadAllText(html);
        Assert.Contains("Relative L2 change per layer", text);
        Assert.Contains("model.layers.1", text);
        Assert.DoesNotContain("<script src=", text);
    }

    [Fact]
    public void Ckpt_diff_of_a_missing_checkpoint_fails_with_one_line()
    {
        var (code, stdout, stderr) = RunCli("diff", "/nonexistent/a", TestPaths.Fixture("trajectory-llama-micro", "step-0400.safetensors"));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
