using Ckpt.Merging;
using Microsoft.DotNet.Interactive.Directives;

namespace Ckpt.Extension.Tests;

/// <summary>Every method in <see cref="MergeMethods"/> is offered and run by `#!ckpt-merge --method`, as by `ckpt merge`.</summary>
public sealed class MergeMagicMethodTests : IDisposable
{
    readonly KernelHarness _harness = new();
    readonly string _out = Directory.CreateTempSubdirectory("ckpt-merge-methods-").FullName;

    static string Trajectory(string step) => TestPaths.Fixture($"trajectory-llama-micro/{step}.safetensors");

    public static TheoryData<string> Methods() => new(MergeMethods.All.Select(m => m.CliName));

    [Theory]
    [MemberData(nameof(Methods))]
    public async Task A_registered_method_runs_from_the_merge_magic(string cliName)
    {
        var inputs = cliName == MergeMethods.Slerp.CliName
            ? $"--model \"{Trajectory("step-0375")}\" --model \"{Trajectory("step-0400")}\""
            : $"--base \"{Trajectory("step-0100")}\" --model \"{Trajectory("step-0375")}\" --model \"{Trajectory("step-0400")}\"";
        var result = await _harness.SubmitAsync($"#!ckpt-merge --method {cliName} {inputs} --density 0.5 --out \"{Path.Combine(_out, cliName)}\" --name merged");
        KernelHarness.AssertSucceeded(result);
        var bound = await _harness.SubmitAsync("merged.Method");
        KernelHarness.AssertSucceeded(bound);
        Assert.Equal(cliName.Replace('-', '_'), KernelHarness.ReturnValue(bound));
    }

    [Fact]
    public void The_merge_magic_method_help_lists_exactly_the_registered_methods()
    {
        var directive = _harness.Kernel.KernelInfo.SupportedDirectives.OfType<KernelActionDirective>().Single(d => d.Name == "#!ckpt-merge");
        Assert.Equal(MergeMethods.CliNames, directive.Parameters.Single(p => p.Name == "--method").Description);
    }

    public void Dispose()
    {
        _harness.Dispose();
        try { Directory.Delete(_out, recursive: true); } catch (IOException) { }
    }
}
