using Ckpt.Models;

namespace Ckpt.Extension.Training;

/// <summary>
/// Handles <see cref="GenerateText"/>: builds the <see cref="GenerationRequest"/> `ckpt generate` builds and lets it
/// check itself (one sentence for bad input, before any model is read), runs <see cref="Generation.Run"/> on a worker
/// thread with the cell's cancellation token and shows the prompt and its continuation (HTML and plain text);
/// <see cref="VerbMagic"/> binds the <see cref="GenerationCompleted"/> when `--name` is given.
/// </summary>
static class GenerateHandler
{
    /// <summary>What a cell stopped before generation finished says.</summary>
    public const string Stopped = "stopped before generation finished; nothing was generated";

    public static async Task<object?> HandleAsync(VerbMagicCall call)
    {
        // Our own sentences for the two values every run needs, rather than the binding's "generate needs --model".
        if (call.Text("--model") is null) throw new ArgumentException("#!ckpt-generate needs --model <variable|checkpoint path>");
        if (call.Text("--prompt") is null) throw new ArgumentException("#!ckpt-generate needs --prompt \"text to continue\"");
        var request = call.Bind(GenerateVerb.Bind);
        request = request with { Model = await CheckpointTarget.PathAsync(request.Model, call.Context) };
        request.Validate();
        TorchNativeLibraries.Require("generation", "ckpt generate");

        var done = await Task.Run(() => Generation.Run(request, call.CancellationToken));
        call.Context.Publish(new DisplayedValueProduced(done, call.Command,
        [
            new FormattedValue(HtmlFormatter.MimeType, GenerationHtml.Html(request.Prompt!, done)),
            new FormattedValue(PlainTextFormatter.MimeType, GenerationHtml.PlainText(request.Prompt!, done)),
        ]));
        return done;
    }
}
