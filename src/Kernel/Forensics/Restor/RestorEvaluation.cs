using Ckpt.Models;
using Ckpt.Training;
using Ckpt.Training.Data;

namespace Ckpt.Forensics.Restor;

/// <summary>
/// `ckpt restor`: asks every model every fact with greedy decoding (<see cref="Generation.Generate"/>, KV cache, BOS
/// first, stopping at the model's EOS or after <see cref="RestorRequest.MaxNewTokens"/>), then scores the answers
/// (<see cref="RestorScoring"/>). RESTOR samples its answers and averages a judge's verdicts over three runs; greedy
/// decoding gives one deterministic answer per fact instead, so a rerun gives the same report.
/// </summary>
public static class RestorEvaluation
{
    /// <param name="onModel">Sees each model's label before it is loaded.</param>
    /// <param name="onAnswer">Sees (model label, fact index) after each answer.</param>
    public static RestorReport Run(RestorRequest request, CancellationToken cancellationToken = default,
        Action<string>? onModel = null, Action<string, int>? onAnswer = null)
    {
        request.Validate();
        var facts = RestorFacts.Read(request.Facts);
        LibTorchThreads.Apply(request.Threads);
        var device = ComputeDevice.Parse(request.Device).ToTorch();
        var dtype = Tensors.DTypeNames.Compute(request.DType);

        IReadOnlyList<string> Ask(string label, string model, string? adapter)
        {
            onModel?.Invoke(label);
            return Answers(model, adapter, facts, request.MaxNewTokens, device, dtype, cancellationToken, i => onAnswer?.Invoke(label, i));
        }

        var answers = new List<ModelAnswers>
        {
            new(RestorScoring.CleanRole, RestorScoring.CleanRole, Ask(RestorScoring.CleanRole, request.Clean, null)),
            new(RestorScoring.CorruptedRole, RestorScoring.CorruptedRole, Ask(RestorScoring.CorruptedRole, request.Corrupted, null)),
        };
        foreach (var (path, label) in request.Unlearned.Zip(request.UnlearnedLabels()))
        {
            bool adapter = Directory.Exists(path) && File.Exists(Path.Combine(path, "adapter_config.json"));
            answers.Add(new(label, RestorScoring.UnlearnedRole, adapter ? Ask(label, request.Corrupted, path) : Ask(label, path, null)));
        }
        return RestorScoring.Score(facts, answers);
    }

    /// <summary>The model's greedy continuation of each fact's prompt, decoded without the EOS that stopped it.</summary>
    public static IReadOnlyList<string> Answers(string modelPath, string? adapter, IReadOnlyList<RestorFact> facts, int maxNewTokens,
        Device? device = null, ScalarType? dtype = null, CancellationToken cancellationToken = default, Action<int>? onAnswer = null)
    {
        var folder = Directory.Exists(modelPath) ? modelPath : Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        using var tokenizer = TextTokenizer.TryOpen(folder)
            ?? throw new CheckpointFormatException(FormatErrorReason.MissingFile, folder, null,
                "RESTOR asks facts as text, so the model needs tokenizer.model or tokenizer.json beside it", "tokenizer.model or tokenizer.json", "none");
        var eos = GenerationDefaults.Read(folder).EosTokenIds;
        if (eos.Count == 0 && tokenizer.Special.Eos is int e) eos = [e];
        var settings = new GenerationSettings { MaxNewTokens = maxNewTokens, DoSample = false, EosTokenIds = eos };

        using var ckpt = Checkpoint.Open(modelPath, cancellationToken);
        using var model = CausalLanguageModel.Load(ckpt, ModelConfig.Read(ckpt), device ?? CPU, dtype, cancellationToken);
        if (adapter is not null) PeftLora.Load(model, adapter, cancellationToken);
        model.eval();
        var outputs = new List<string>(facts.Count);
        for (int i = 0; i < facts.Count; i++)
        {
            var ids = tokenizer.Encode(facts[i].Prompt, addBos: true);
            var sequence = Generation.Generate(model, ids, settings, cancellationToken: cancellationToken);
            var tokens = sequence.FinishReason == "eos" ? sequence.Tokens[..^1] : sequence.Tokens;
            outputs.Add(tokenizer.Decode(tokens));
            onAnswer?.Invoke(i);
        }
        return outputs;
    }
}
