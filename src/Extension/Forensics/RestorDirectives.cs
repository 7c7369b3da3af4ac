using Ckpt.Forensics.Restor;

namespace Ckpt.Extension.Forensics;

/// <summary>
/// `#!ckpt-restor`: binds the line through <see cref="RestorVerb"/>, makes the one Kernel call
/// (<see cref="RestorEvaluation.Run"/>, the same as `ckpt restor`), and shows the table, the grouped bar charts and
/// the per-fact drill-down; `--name` binds the <see cref="RestorReport"/>.
/// </summary>
public static class RestorDirectives
{
    public static void Register(Kernel kernel) =>
        kernel.AddVerbMagic<EvaluateRestor, RestorRequest, RestorReport>(RestorVerb.Definition,
            RestorVerb.Bind, (request, token) => RestorEvaluation.Run(request, token), (call, report) => call.Chart("restor", RestorJson.From(report)));
}
