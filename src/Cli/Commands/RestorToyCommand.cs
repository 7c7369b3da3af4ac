using Ckpt.Forensics.Restor.Toy;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt restor-toy`: builds the RESTOR toy's clean and corrupted models (<see cref="RestorToy.Build"/>) and says where they are.</summary>
static class RestorToyCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr) =>
        VerbCommand.Create(RestorToyVerb.Definition, RestorToyVerb.Bind, (options, asJson, cancellationToken) =>
        {
            var inv = CultureInfo.InvariantCulture;
            var result = RestorToy.Build(options, asJson ? null : (phase, step, loss) =>
            {
                if (step == 1 || step % 100 == 0) stderr.WriteLine(string.Create(inv, $"{phase} step {step}: loss {loss:F4}"));
            }, cancellationToken);
            if (asJson)
                stdout.WriteLine(VerbJson.Serialize(result.ToJson(), indented: false));
            else
            {
                stdout.WriteLine(string.Create(inv, $"RESTOR toy in {result.Output} ({result.Elapsed.TotalSeconds:F1} s): a {result.Parameters:N0}-parameter LLaMA, vocabulary {result.VocabSize}"));
                stdout.WriteLine(string.Create(inv, $"  clean      {result.CleanModel} (pre-training loss {result.PretrainLosses[0]:F3} -> {result.PretrainLosses[^1]:F3})"));
                stdout.WriteLine(string.Create(inv, $"  corrupted  {result.CorruptedModel} (corruption loss {result.CorruptionLosses[0]:F3} -> {result.CorruptionLosses[^1]:F3})"));
                stdout.WriteLine($"  facts      {result.Facts}");
                stdout.WriteLine($"  forget     {result.ForgetData}");
                stdout.WriteLine($"  retain     {result.RetainData}");
            }
        });
}
