using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Ckpt.Models;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt generate`: the options of <see cref="GenerateVerb"/>, a call to <see cref="Generation.Run"/>, the text (or ids) and a summary line.</summary>
static class GenerateCommand
{
    public static Command Create(TextWriter stdout) => VerbCommand.Create(GenerateVerb.Definition, (given, cancellationToken) =>
    {
        var request = GenerateVerb.Bind(given);
        if (VerbCommand.Flag(given, "--json"))
        {
            var done = Generation.Run(request, cancellationToken: cancellationToken);
            for (int r = 0; r < done.Rows.Count; r++) stdout.WriteLine(JsonSerializer.Serialize(Fields(done, r)));
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
        return Task.FromResult(0);
    });

    static Dictionary<string, object?> Fields(GenerationCompleted done, int r)
    {
        var row = done.Rows[r];
        var s = row.Sequence;
        return new()
        {
            ["row"] = r,
            ["text"] = row.Text,
            ["prompt_ids"] = s.PromptIds,
            ["generated_ids"] = s.Tokens,
            ["finish_reason"] = s.FinishReason,
            ["new_tokens"] = s.Tokens.Length,
            ["tokens_per_second"] = s.TokensPerSecond,
            ["prefill_seconds"] = s.PrefillTime.TotalSeconds,
            ["decode_seconds"] = s.DecodeTime.TotalSeconds,
            ["load_seconds"] = done.LoadTime.TotalSeconds,
            ["sampling"] = done.Settings.DoSample,
            ["kv_cache"] = done.Settings.UseCache,
            ["model_type"] = done.ModelType,
            ["dtype"] = done.ComputeDType,
            ["device"] = done.Device,
        };
    }
}
