using Ckpt.Training;

namespace Ckpt.Cli.Commands;

/// <summary>`ckpt finetune`: parses options, calls <see cref="FineTuning.Run"/>, shows progress and a summary.</summary>
static class FineTuningCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr, Terminal? terminal) =>
        VerbCommand.Create(FineTuningVerb.Definition, (given, cancellationToken) =>
        {
            var options = FineTuningVerb.Bind(given) with
            {
                Trace = VerbCommand.Flag(given, "--trace") ? line => Trace(stderr, line) : null,
            };
            bool asJson = VerbCommand.Flag(given, "--json");
            var bar = asJson ? null : ProgressBar.On(terminal, stdout);
            var progress = new ProgressBar.Reporter<TrainingProgress>(p =>
            {
                if (asJson) stdout.WriteLine(VerbJson.Serialize(p.ToJson(), indented: false));
                else bar?.Show((double)p.Step / p.TotalSteps, ProgressText(p), p.Step == p.TotalSteps);
            });
            var result = FineTuning.Run(options, progress, cancellationToken);
            bar?.Done();
            if (asJson) stdout.WriteLine(VerbJson.Serialize(result.ToJson(), indented: false));
            else WriteSummary(stdout, result);
            return Task.FromResult(result.Cancelled ? 130 : 0);
        });

    /// <summary>Unbuffered, so the last line before a native crash is on the terminal.</summary>
    static void Trace(TextWriter stderr, string line)
    {
        stderr.WriteLine(line);
        stderr.Flush();
    }

    static void WriteSummary(TextWriter o, FineTuningResult r)
    {
        var inv = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(inv, $"{r.Recipe.ToString().ToUpperInvariant()} {(r.Cancelled ? "cancelled" : "finished")}: steps {r.StartStep + 1}-{r.StartStep + r.StepsCompleted} of {r.TotalSteps} on {r.Examples} examples{(r.PackedRows is int rows ? $" packed into {rows} rows" : "")} in {r.Elapsed.TotalSeconds:F1} s"));
        if (r.Last is { } last)
        {
            o.WriteLine(string.Create(inv, $"  final loss        {last.Loss:F4}"));
            if (last.Metrics.TryGetValue(Evaluation.Prefix + "loss", out var evalLoss))
                o.WriteLine(string.Create(inv, $"  eval loss         {evalLoss:F4}"));
            foreach (var (k, v) in last.Metrics.Where(kv => kv.Key.StartsWith("rewards/", StringComparison.Ordinal) || kv.Key.StartsWith("forget_", StringComparison.Ordinal)
                || kv.Key.StartsWith("retain_", StringComparison.Ordinal) || kv.Key.StartsWith("npo/", StringComparison.Ordinal)))
                o.WriteLine(string.Create(inv, $"  {k,-17} {v:F4}"));
        }
        o.WriteLine(string.Create(inv, $"  tokens/s          {r.MeanTokensPerSecond:F0}"));
        o.WriteLine(string.Create(inv, $"  trainable params  {r.TrainableParameters:N0} of {r.TotalParameters:N0} ({100.0 * r.TrainableParameters / Math.Max(1, r.TotalParameters):F2}%)"));
        if (r.QuantizedBase is { } q)
            o.WriteLine(string.Create(inv, $"  NF4 base          {q.Layers} layers, {q.BytesPerParameter:F4} bytes/param"));
        if (r.Saves.Count > 0)
            o.WriteLine(string.Create(inv, $"  saves             {r.Saves.Count}, longest stall {r.MaxSaveStallMs:F1} ms (a synchronous save: {r.SyncSaveMs ?? 0:F1} ms)"));
        if (r.DroppedExamples > 0) o.WriteLine($"  dropped           {r.DroppedExamples} examples whose prompt fills --max-length");
        o.WriteLine($"  {r.Saved,-17} {r.AdapterDirectory}");
        o.WriteLine($"  resumable state   {r.CheckpointDirectory}");
    }

    /// <summary>The bar's text: step, loss, learning rate, the run's mean tokens/s (as the summary reports it) and the time left.</summary>
    internal static string ProgressText(TrainingProgress p)
    {
        var eta = p.Step == 0 ? TimeSpan.Zero : p.Elapsed / p.Step * (p.TotalSteps - p.Step);
        var extra = p.Metrics.TryGetValue("rewards/accuracies", out var acc) ? string.Create(CultureInfo.InvariantCulture, $" acc {acc:F2}") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{p.Step}/{p.TotalSteps} loss {p.Loss:F4}{extra} lr {p.LearningRate:0.0e+00} {p.MeanTokensPerSecond:F0} tok/s ETA {eta:mm\\:ss}");
    }
}
