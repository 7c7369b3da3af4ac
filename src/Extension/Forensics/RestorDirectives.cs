using Ckpt.Extension.Directives;
using Ckpt.Extension.Rewriting;
using Ckpt.Extension.Visualisation;
using Ckpt.Forensics.Restor;
using Microsoft.DotNet.Interactive;

namespace Ckpt.Extension.Forensics;

/// <summary>
/// `#!ckpt-restor`: binds the line through <see cref="RestorVerb"/>, makes the one Kernel call
/// (<see cref="RestorEvaluation.Run"/>, the same as `ckpt restor`), and shows the table, the grouped bar charts and
/// the per-fact drill-down; `--name` binds the <see cref="RestorReport"/>.
/// </summary>
public static class RestorDirectives
{
    public static void Register(Kernel kernel) =>
        kernel.AddMagic<EvaluateRestor>(VerbDirective.Create(RestorVerb.Definition,
            "RESTOR (Rezaei et al. 2025): asks a clean, a corrupted and unlearned models the facts (greedy), charts accuracy on clean and corrupted answers, recovery and forgetting, per fact."),
            Handle);

    static Task Handle(EvaluateRestor command, KernelInvocationContext context)
    {
        var values = VerbDirective.Values(RestorVerb.Definition, command);
        return RewritingDirectives.Guarded(command, context, "#!ckpt-restor", VerbDirective.Text(values, "--name"), async () =>
        {
            var request = RestorVerb.Bind(values);
            var report = await Task.Run(() => RestorEvaluation.Run(request, context.CancellationToken), context.CancellationToken);
            ChartOutput.Publish(context, ChartRendering.Render("restor", RestorJson.From(report)));
            return report;
        });
    }
}
