using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;

namespace Ckpt.Extension.Tests;

/// <summary>A notebook's kernels without a notebook: a composite kernel around C#, with the extension loaded.</summary>
sealed class KernelHarness : IDisposable
{
    public CompositeKernel Kernel { get; }

    public KernelHarness()
    {
        Kernel = new CompositeKernel { new CSharpKernel() };
        Kernel.DefaultKernelName = "csharp";
        CkptKernelExtension.Load(Kernel);
    }

    public Task<KernelCommandResult> SubmitAsync(string code) => Kernel.SendAsync(new SubmitCode(code));

    public static string Html(KernelCommandResult result) => string.Join("\n",
        result.Events.OfType<DisplayEvent>().SelectMany(e => e.FormattedValues).Where(v => v.MimeType == "text/html").Select(v => v.Value));

    public static CommandFailed? Failure(KernelCommandResult result) => result.Events.OfType<CommandFailed>().FirstOrDefault();

    public static void AssertSucceeded(KernelCommandResult result)
    {
        var failed = Failure(result);
        Assert.True(failed is null, failed?.Message);
    }

    /// <summary>
    /// Submits a cell that must fail and returns its message, checked to be our own one sentence: one line, no stack
    /// trace, no .NET Interactive DNI code.
    /// </summary>
    public async Task<string> FailureOfAsync(string code)
    {
        var failed = Failure(await SubmitAsync(code)) ?? throw new Xunit.Sdk.XunitException($"'{code}' succeeded where it should have failed");
        Assert.DoesNotContain("\n", failed.Message.Trim());
        Assert.DoesNotContain("   at ", failed.Message);
        Assert.DoesNotContain("DNI", failed.Message);
        return failed.Message;
    }

    public static object? ReturnValue(KernelCommandResult result) =>
        result.Events.OfType<ReturnValueProduced>().Single().Value;

    public void Dispose() => Kernel.Dispose();
}
