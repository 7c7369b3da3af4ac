using Ckpt.Errors;
using Ckpt.Extension.Visualisation;
using Ckpt.Models;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace Ckpt.Extension.Training;

/// <summary>
/// Handles <see cref="GenerateText"/>: builds the <see cref="GenerationRequest"/> `ckpt generate` builds and lets it
/// check itself (one sentence for bad input, before any model is read), runs <see cref="Generation.Run"/> on a worker
/// thread with the cell's cancellation token, shows the prompt and its continuation (HTML and plain text) and binds
/// the <see cref="GenerationCompleted"/> when `--name` is given.
/// </summary>
static class GenerateHandler
{
    public static async Task HandleAsync(GenerateText command, KernelInvocationContext context)
    {
        if (command.Name is { } name && !VariableName.IsValid(name))
        {
            context.Fail(command, message: $"'{name}' is not a valid C# variable name for --name.");
            return;
        }
        GenerationRequest request;
        try
        {
            request = await RequestAsync(command, context);
            request.Validate();
            TorchNativeLibraries.Require("generation", "ckpt generate");
        }
        catch (Exception e)
        {
            MagicFailure.Fail(context, command, e, "#!ckpt-generate");
            return;
        }

        GenerationCompleted done;
        try { done = await Task.Run(() => Generation.Run(request, context.CancellationToken)); }
        catch (OperationCanceledException)
        {
            context.Fail(command, message: "stopped before generation finished; nothing was generated");
            return;
        }
        catch (Exception e)
        {
            MagicFailure.Fail(context, command, e, "#!ckpt-generate");
            return;
        }

        context.Publish(new DisplayedValueProduced(done, command,
        [
            new FormattedValue(HtmlFormatter.MimeType, GenerationHtml.Html(request.Prompt!, done)),
            new FormattedValue(PlainTextFormatter.MimeType, GenerationHtml.PlainText(request.Prompt!, done)),
        ]));
        await CSharpVariable.BindForMagicAsync(command, context, command.Name, done);
    }

    static async Task<GenerationRequest> RequestAsync(GenerateText c, KernelInvocationContext context)
    {
        if (string.IsNullOrWhiteSpace(c.Model)) throw new ArgumentException("#!ckpt-generate needs --model <variable|checkpoint path>");
        if (c.Prompt is null) throw new ArgumentException("#!ckpt-generate needs --prompt \"text to continue\"");
        var defaults = new GenerationRequest { Model = c.Model };
        return defaults with
        {
            Model = await CheckpointTarget.PathAsync(c.Model, context),
            Prompt = c.Prompt,
            Adapter = c.Adapter,
            Chat = c.Chat,
            MaxNewTokens = c.MaxNewTokens ?? defaults.MaxNewTokens,
            Greedy = c.Greedy,
            Temperature = c.Temperature,
            TopK = c.TopK,
            TopP = c.TopP,
            Seed = c.Seed ?? defaults.Seed,
            Device = c.Device,
            DType = c.DType,
            Threads = c.Threads,
        };
    }
}
