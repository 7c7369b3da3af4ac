using Ckpt.Models;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt generate`: the options of <see cref="GenerateVerb"/>, a call to <see cref="Generation.Run"/>, the text (or ids) and a summary line.</summary>
static class GenerateCommand
{
    public static Command Create(TextWriter stdout) => VerbCommand.Create(GenerateVerb.Definition, GenerateVerb.Bind, (request, asJson, cancellationToken) =>
    {
        if (asJson)
        {
            var done = Generation.Run(request, cancellationToken: cancellationToken);
            for (int r = 0; r < done.Rows.Count; r++) stdout.WriteLine(VerbJson.Serialize(done.RowJson(r), indented: false));
        }
        else
        {
            // Text is shown as it is generated, each row's summary as soon as it is complete.
            var inv = CultureInfo.InvariantCulture;
            var streamed = new HashSet<int>();
            var done = Generation.Run(request, cancellationToken, onText: (row, piece) =>
            {
                streamed.Add(row);
                stdout.Write(piece);
                stdout.Flush();
            }, onRow: (row, generated) =>
            {
                var s = generated.Sequence;
                if (streamed.Contains(row)) stdout.WriteLine();
                else stdout.WriteLine(generated.Text ?? string.Join(' ', s.Tokens));
                stdout.WriteLine(string.Create(inv, $"-- {s.Tokens.Length} tokens ({s.FinishReason}), {s.TokensPerSecond:F1} tokens/s"));
            });
            stdout.WriteLine(string.Create(inv, $"-- {(done.Settings.DoSample ? $"sampled (seed {done.Settings.Seed})" : "greedy")}, " +
                $"{done.ModelType} in {done.ComputeDType} on {done.Device}, loaded in {done.LoadTime.TotalSeconds:F2} s"));
        }
    });
}
