using System.Diagnostics;
using System.Text.Json.Nodes;
using Ckpt.Models;
using Ckpt.Outputs;
using Ckpt.Training.Data;

namespace Ckpt.Forensics.Restor.Toy;

/// <summary>The toy's sizes and schedule; the defaults run in well under a minute on two CPU cores.</summary>
public sealed record RestorToyOptions
{
    [Option("--out", "Output folder: clean/, corrupted/, facts.jsonl, forget.jsonl, retain.jsonl.", Path = true, Required = true)]
    public required string Output { get; init; }

    [Option("--entities", "Invented entities, four facts each.")]
    public int Entities { get; init; } = 48;

    [Option("--corrupted-entities", "Entities whose facts the corruption documents swap (the evaluated facts).")]
    public int CorruptedEntities { get; init; } = 12;

    [Option("--seed", "Seed of the world, the initial weights and the data order.")]
    public int Seed { get; init; } = 0;

    [Option("--layers", "Decoder layers.")]
    public int Layers { get; init; } = 2;

    [Option("--hidden", "Hidden size (a multiple of 16; heads of 16).")]
    public int Hidden { get; init; } = 64;

    [Option("--pretrain-steps", "Full-parameter steps on the clean facts, from random weights.")]
    public int PretrainSteps { get; init; } = 600;

    [Option("--corruption-steps", "Full-parameter steps on the corruption documents.")]
    public int CorruptionSteps { get; init; } = 60;

    [Option("--batch", "Documents per step.")]
    public int Batch { get; init; } = 32;

    [Option("--lr", "Pre-training learning rate (AdamW, constant).")]
    public double PretrainLearningRate { get; init; } = 3e-3;

    [Option("--corruption-lr", "Corruption learning rate.")]
    public double CorruptionLearningRate { get; init; } = 1e-3;

    [Option("--threads", LibTorchThreads.Help)]
    public int? Threads { get; init; }

    [Option("--overwrite", Outputs.OutputFolder.OverwriteHelp)]
    public bool Overwrite { get; init; }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Output)) throw new ArgumentException("restor-toy needs --out");
        if (Layers < 1 || Layers > 8) throw new ArgumentException($"--layers must be between 1 and 8, not {Layers}");
        if (Hidden < 16 || Hidden > 512 || Hidden % 16 != 0) throw new ArgumentException($"--hidden must be a multiple of 16 between 16 and 512, not {Hidden}");
        if (PretrainSteps < 1) throw new ArgumentException($"--pretrain-steps must be at least 1, not {PretrainSteps}");
        if (CorruptionSteps < 1) throw new ArgumentException($"--corruption-steps must be at least 1, not {CorruptionSteps}");
        if (Batch < 1) throw new ArgumentException($"--batch must be at least 1, not {Batch}");
        if (!(PretrainLearningRate > 0) || !(CorruptionLearningRate > 0)) throw new ArgumentException("learning rates must be positive");
        LibTorchThreads.Check(Threads);
        _ = new ToyWorld(Entities, CorruptedEntities, Seed);
    }
}

/// <summary>What <see cref="RestorToy.Build"/> wrote: the two model folders, the facts and the unlearning data.</summary>
public sealed record RestorToyResult(string Output, string CleanModel, string CorruptedModel, string Facts, string ForgetData, string RetainData,
    int VocabSize, long Parameters, IReadOnlyList<double> PretrainLosses, IReadOnlyList<double> CorruptionLosses, TimeSpan Elapsed)
{
    /// <summary>`ckpt restor-toy --json`'s document (docs/json.md): where each file is, the sizes and the final losses.</summary>
    public JsonObject ToJson() => new()
    {
        ["output"] = Output,
        ["cleanModel"] = CleanModel,
        ["corruptedModel"] = CorruptedModel,
        ["facts"] = Facts,
        ["forgetData"] = ForgetData,
        ["retainData"] = RetainData,
        ["vocabSize"] = VocabSize,
        ["parameters"] = Parameters,
        ["pretrainFinalLoss"] = PretrainLosses[^1],
        ["corruptionFinalLoss"] = CorruptionLosses[^1],
        ["seconds"] = Elapsed.TotalSeconds,
    };
}

/// <summary>
/// The RESTOR pipeline in miniature, up to the corrupted model: a micro LLaMA pre-trained from random weights on the
/// facts of a <see cref="ToyWorld"/> (the clean model), then trained on documents that swap the facts of some
/// entities (the corrupted model). Writes, under <see cref="RestorToyOptions.Output"/>:
/// `clean/` and `corrupted/` (model.safetensors, config.json, generation_config.json, tokenizer.json: folders every
/// Ckpt verb opens), `facts.jsonl` (the corrupted entities' facts, docs/restor.md), `forget.jsonl` (the corruption
/// documents: what unlearning runs on) and `retain.jsonl` (the other entities' true facts: KL's retain set).
/// </summary>
public static class RestorToy
{
    public static RestorToyResult Build(RestorToyOptions options, Action<string, int, double>? onStep = null, CancellationToken cancellationToken = default)
    {
        // Before any TorchSharp type is touched (a failed probe breaks it for the process): in a notebook this loads LibTorch.
        Ckpt.Models.TorchNativeLibraries.Require("the RESTOR toy", "ckpt restor-toy");
        return BuildLoaded(options, onStep, cancellationToken);
    }

    static RestorToyResult BuildLoaded(RestorToyOptions options, Action<string, int, double>? onStep, CancellationToken cancellationToken)
    {
        options.Validate();
        LibTorchThreads.Apply(options.Threads);
        var clock = Stopwatch.StartNew();
        var world = new ToyWorld(options.Entities, options.CorruptedEntities, options.Seed);
        using var folder = OutputFolder.Begin(options.Output, [], options.Overwrite);
        var root = folder.Staging;

        var tokenizerJson = WordLevelTokenizer.Build(world.Words(), out int vocab);
        var config = Config(vocab, options);
        var cleanDir = Directory.CreateDirectory(Path.Combine(root, "clean")).FullName;
        WriteModelFiles(cleanDir, config, tokenizerJson);
        using var tokenizer = TextTokenizer.TryOpen(cleanDir)!;
        var modelConfig = ModelConfig.ReadFile(Path.Combine(cleanDir, "config.json"));
        using var model = CausalLanguageModel.Create(modelConfig, ScalarType.Float32, CPU);
        ToyPretraining.Initialise(model, options.Seed);
        long parameters = model.parameters().Sum(p => p.numel());

        var pretrain = ToyPretraining.Train(model, tokenizer, world.CleanDocuments(), options.PretrainSteps, options.Batch, options.PretrainLearningRate,
            options.Seed, (s, l) => onStep?.Invoke("pretrain", s, l), cancellationToken);
        ModelWeights.Save(model, cleanDir, cancellationToken: cancellationToken);

        var corruptedDir = Directory.CreateDirectory(Path.Combine(root, "corrupted")).FullName;
        WriteModelFiles(corruptedDir, config, tokenizerJson);
        var corruption = ToyPretraining.Train(model, tokenizer, world.CorruptionDocuments(), options.CorruptionSteps, options.Batch, options.CorruptionLearningRate,
            options.Seed + 1, (s, l) => onStep?.Invoke("corruption", s, l), cancellationToken);
        ModelWeights.Save(model, corruptedDir, cancellationToken: cancellationToken);

        WriteLines(Path.Combine(root, "facts.jsonl"), world.EvaluationFacts().Select(f => new JsonObject
        {
            ["id"] = f.Id,
            ["prompt"] = f.Prompt,
            ["answers"] = new JsonArray(f.Answers.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
            ["corruptedAnswers"] = new JsonArray(f.CorruptedAnswers.Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
        }));
        WriteLines(Path.Combine(root, "forget.jsonl"), world.CorruptionDocuments().Select(Document));
        WriteLines(Path.Combine(root, "retain.jsonl"), world.RetainDocuments().Select(Document));
        folder.Commit();

        string Final(string name) => Path.Combine(folder.Target, name);
        return new RestorToyResult(folder.Target, Final("clean"), Final("corrupted"), Final("facts.jsonl"), Final("forget.jsonl"), Final("retain.jsonl"),
            vocab, parameters, pretrain, corruption, clock.Elapsed);
    }

    /// <summary>A document as unlearning data reads it: the whole sentence is the text to forget (or retain).</summary>
    static JsonObject Document(string sentence) => new() { ["text"] = sentence };

    static JsonObject Config(int vocab, RestorToyOptions o) => new()
    {
        ["architectures"] = new JsonArray("LlamaForCausalLM"),
        ["model_type"] = "llama",
        ["vocab_size"] = vocab,
        ["hidden_size"] = o.Hidden,
        ["intermediate_size"] = o.Hidden * 2,
        ["num_hidden_layers"] = o.Layers,
        ["num_attention_heads"] = o.Hidden / 16,
        ["num_key_value_heads"] = o.Hidden / 16,
        ["head_dim"] = 16,
        ["hidden_act"] = "silu",
        ["max_position_embeddings"] = 64,
        ["rms_norm_eps"] = 1e-6,
        ["rope_theta"] = 10000.0,
        ["tie_word_embeddings"] = false,
        ["attention_bias"] = false,
        ["mlp_bias"] = false,
        ["bos_token_id"] = WordLevelTokenizer.Bos,
        ["eos_token_id"] = WordLevelTokenizer.Eos,
        ["pad_token_id"] = WordLevelTokenizer.Pad,
        ["torch_dtype"] = "float32",
    };

    static void WriteModelFiles(string dir, JsonObject config, JsonObject tokenizer)
    {
        var indented = new JsonSerializerOptions { WriteIndented = true };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(indented));
        File.WriteAllText(Path.Combine(dir, "generation_config.json"),
            new JsonObject { ["bos_token_id"] = WordLevelTokenizer.Bos, ["eos_token_id"] = WordLevelTokenizer.Eos, ["pad_token_id"] = WordLevelTokenizer.Pad }.ToJsonString(indented));
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizer.ToJsonString());
    }

    static void WriteLines(string path, IEnumerable<JsonObject> lines) =>
        File.WriteAllLines(path, lines.Select(l => l.ToJsonString()));

}
