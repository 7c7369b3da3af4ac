using Ckpt.Forensics.Restor;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt restor`: binds the options through <see cref="RestorVerb"/>, runs <see cref="RestorEvaluation"/>, prints a table or JSON.</summary>
static class RestorCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr) =>
        VerbCommand.Create(RestorVerb.Definition, RestorVerb.Bind, (request, asJson, cancellationToken) =>
        {
            var report = RestorEvaluation.Run(request, cancellationToken);
            if (asJson) stdout.WriteLine(VerbJson.Serialize(RestorJson.From(report), indented: false));
            else Write(stdout, report);
        });

    static void Write(TextWriter o, RestorReport r)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine($"RESTOR on {r.Facts.Count} facts (greedy answers; docs/restor.md)");
        o.WriteLine(string.Create(inv, $"  {"model",-16} {"accuracy",9} {"corrupted",10} {"recovery",9} {"forgetting",11}"));
        foreach (var m in r.Models)
        {
            var u = r.Unlearned.FirstOrDefault(x => x.Label == m.Label && m.Role == RestorScoring.UnlearnedRole);
            o.WriteLine(string.Create(inv, $"  {m.Label,-16} {m.Accuracy,9:0.0%} {m.CorruptedAccuracy,10:0.0%} {Ratio(u?.Recovery, u is null),9} {Ratio(u?.Forgetting, u is null),11}"));
        }
        foreach (var u in r.Unlearned)
            o.WriteLine($"  {u.Label}: {u.Recovered} recovered, {u.NotRecovered} not recovered, {u.Kept} kept, {u.Lost} lost");
        if (r.Unlearned.Any(u => u.Recovery is null || u.Forgetting is null))
            o.WriteLine("  undefined: the corrupted model's accuracy equals the clean model's there, so nothing was lost to recover (or gained to forget)");
    }

    static string Ratio(double? v, bool notApplicable) => notApplicable ? "" : v is double d ? d.ToString("0.000", CultureInfo.InvariantCulture) : "undefined";
}
