using Ckpt.Errors;
using Ckpt.Extension.Directives;
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
        var values = VerbDirective.Values(GenerateVerb.Definition, command);
        var variable = VerbDirective.Text(values, "--name");
        if (variable is { } name && !VariableName.IsValid(name))
        {
            context.Fail(command, message: $"'{name}' is not a valid C# variable name for --name.");
            return;
        }
        GenerationRequest request;
        try
        {
            // Our own sentences for the two values every run needs, rather than the binding's "generate needs --model".
            if (VerbDirective.Text(values, "--model") is null) throw new ArgumentException("#!ckpt-generate needs --model <variable|checkpoint path>");
            if (VerbDirective.Text(values, "--prompt") is null) throw new ArgumentException("#!ckpt-generate needs --prompt \"text to continue\"");
            VerbDirective.Positional(GenerateVerb.Definition, values);
            request = GenerateVerb.Bind(values);
            request = request with { Model = await CheckpointTarget.PathAsync(request.Model, context) };
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
        await CSharpVariable.BindForMagicAsync(command, context, variable, done);
    }
}
