namespace Ckpt.Forensics.Restor;

/// <summary>
/// `ckpt restor` as typed and checked before any weight is read. Each model is a checkpoint folder (or file) of a
/// LLaMA-family or GPT-2 model with its tokenizer beside it; an unlearned model may also be a PEFT LoRA adapter
/// folder, which is then applied to the corrupted model (what `ckpt finetune` writes with LoRA).
/// </summary>
public sealed record RestorRequest
{
    [Option("--clean", "The clean model: a checkpoint folder or file (config.json and tokenizer beside it).", Path = true, Required = true)]
    public required string Clean { get; init; }

    [Option("--corrupted", "The clean model continually trained on misinformation.", Path = true, Required = true)]
    public required string Corrupted { get; init; }

    [Option("--unlearned", "An unlearned model, or a LoRA adapter folder applied to the corrupted model; give it once per model.", Path = true, Required = true)]
    public required IReadOnlyList<string> Unlearned { get; init; }

    [Option("--facts", "JSONL, one fact a line: {\"id\", \"prompt\", \"answers\", \"corruptedAnswers\"} (docs/restor.md).", Path = true, Required = true)]
    public required string Facts { get; init; }

    /// <summary>New tokens per answer (greedy); the answer is cut at its first newline anyway.</summary>
    [Option("--max-new-tokens", "Greedy tokens generated per answer (cut at the first newline).")]
    public int MaxNewTokens { get; init; } = 16;

    [Option("--device", ComputeDevice.Help)]
    public string Device { get; init; } = "cpu";

    [Option("--dtype", DTypeNames.ComputeHelp)]
    public string? DType { get; init; }

    [Option("--threads", LibTorchThreads.Help)]
    public int? Threads { get; init; }

    /// <exception cref="ArgumentException">A missing path or an out-of-range option; the message names it.</exception>
    internal void Validate()
    {
        Exists("--clean", Clean);
        Exists("--corrupted", Corrupted);
        if (Unlearned.Count == 0) throw new ArgumentException("restor needs at least one --unlearned model");
        foreach (var u in Unlearned) Exists("--unlearned", u);
        if (!File.Exists(Facts)) throw new ArgumentException($"--facts {Facts} does not exist");
        if (MaxNewTokens < 1) throw new ArgumentException($"--max-new-tokens must be at least 1, not {MaxNewTokens}");
        LibTorchThreads.Check(Threads);
        ComputeDevice.Parse(Device);
        _ = Tensors.DTypeNames.Compute(DType);
    }

    static void Exists(string option, string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException($"{option} needs a model path");
        if (!File.Exists(path) && !Directory.Exists(path)) throw new ArgumentException($"{option} model {path} does not exist");
    }

    /// <summary>Each unlearned model's name in the tables: its folder (or file) name, followed by its place among --unlearned where it is taken or repeated.</summary>
    internal IReadOnlyList<string> UnlearnedLabels()
    {
        var names = Unlearned.Select(u => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(u)))).ToList();
        var labels = new List<string>();
        foreach (var n in names)
        {
            var label = n is RestorScoring.CleanRole or RestorScoring.CorruptedRole || labels.Contains(n) ? $"{n} ({labels.Count + 1})" : n;
            labels.Add(label);
        }
        return labels;
    }
}
