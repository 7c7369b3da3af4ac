using Xunit.Abstractions;
namespace Ckpt.Extension.Tests;
public sealed class ProbeTwoTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("#!ckpt-layout a b")]
    [InlineData("#!ckpt-layout")]
    [InlineData("#!ckpt-load a b")]
    [InlineData("#!ckpt-reshard a b --world-size 2")]
    [InlineData("#!ckpt-convert a b --out o")]
    [InlineData("#!ckpt-lcsc a b --eval mse:x")]
    [InlineData("#!ckpt-timeline a b")]
    [InlineData("#!ckpt-recovery a b")]
    public async Task Probe(string line)
    {
        using var h = new KernelHarness();
        var r = await h.SubmitAsync(line);
        output.WriteLine($"{line} => {KernelHarness.Failure(r)?.Message ?? "OK"}");
    }
}
