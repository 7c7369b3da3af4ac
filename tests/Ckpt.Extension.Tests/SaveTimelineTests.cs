using System.Text.Json;
using Ckpt.Extension.Visualisation;
using Ckpt.Resilience;
using Ckpt.Tensors;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Events;

namespace Ckpt.Extension.Tests;

public sealed class SaveTimelineTests : IDisposable
{
    readonly KernelHarness _harness = new();
    readonly string _folder = Path.Combine(Path.GetTempPath(), "ckpt-save-timeline-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Timeline_magic_charts_each_phase_of_a_training_save_from_a_checkpointer_variable()
    {
        var weights = Enumerable.Range(0, 4096).Select(i => (float)i).ToArray();
        await using var checkpointer = new AsyncCheckpointer(new CheckpointDirectory(_folder));
        await (await checkpointer.SaveAsync(1, [StateTensor.FromArray("w", DType.F32, weights)])).Committed;
        var pending = await checkpointer.SaveAsync(2, [StateTensor.FromArray("w", DType.F32, weights)]);
        await pending.Committed;
        var csharp = await CSharp();
        await csharp.SetValueAsync("saver", checkpointer, typeof(AsyncCheckpointer));
        await csharp.SetValueAsync("firstSave", checkpointer.History[0], typeof(SaveRecord));

        var fromCheckpointer = await _harness.SubmitAsync("#!ckpt-timeline saver");
        KernelHarness.AssertSucceeded(fromCheckpointer);
        Assert.Contains("save step 2", KernelHarness.Html(fromCheckpointer));
        Assert.Equal(["wait", "snapshot", "serialise", "write", "fsync", "commit"], PhaseTraces(fromCheckpointer));

        var fromRecord = await _harness.SubmitAsync("#!ckpt-timeline firstSave");
        KernelHarness.AssertSucceeded(fromRecord);
        Assert.Contains("save step 1", KernelHarness.Html(fromRecord));
        Assert.Equal(["snapshot", "serialise", "write", "fsync", "commit"], PhaseTraces(fromRecord));
    }

    [Fact]
    public async Task A_checkpointer_that_has_not_saved_fails_the_cell_with_one_sentence()
    {
        await using var checkpointer = new AsyncCheckpointer(new CheckpointDirectory(_folder));
        var csharp = await CSharp();
        await csharp.SetValueAsync("idle", checkpointer, typeof(AsyncCheckpointer));
        var failed = KernelHarness.Failure(await _harness.SubmitAsync("#!ckpt-timeline idle"));
        Assert.NotNull(failed);
        Assert.Contains("has not saved anything yet", failed!.Message);
    }

    // The C# kernel must reference the Kernel assembly before it can hold its types in variables.
    async Task<CSharpKernel> CSharp()
    {
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#r \"{typeof(AsyncCheckpointer).Assembly.Location}\""));
        return _harness.Kernel.ChildKernels.OfType<CSharpKernel>().Single();
    }

    // One bar trace per phase, in the order the phases first happened.
    static List<string> PhaseTraces(Microsoft.DotNet.Interactive.KernelCommandResult result)
    {
        var plotly = result.Events.OfType<DisplayEvent>().SelectMany(e => e.FormattedValues).Single(v => v.MimeType == ChartOutput.PlotlyMimeType).Value;
        using var figure = JsonDocument.Parse(plotly);
        return figure.RootElement.GetProperty("data").EnumerateArray().Select(t => t.GetProperty("name").GetString()!).ToList();
    }

    public void Dispose()
    {
        _harness.Dispose();
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }
}
