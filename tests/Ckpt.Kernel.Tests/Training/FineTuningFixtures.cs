using System.Text.Json;
using Ckpt.Formats.Safetensors;
using Ckpt.Models;
using Ckpt.Tensors;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>Models and JSONL data for the fine-tuning tests, written into a test's own folder.</summary>
static class FineTuningFixtures
{
    public static string TinyLlama => TestPaths.Fixture("hf-llama-tiny-sharded");

    public static string SentencePieceModel => Path.Combine(TestPaths.RepoRoot, "tests", "Ckpt.Kernel.Tests", "Training", "Tokenizer", "tokenizer.model");

    /// <summary>
    /// A random LLaMA with the fixture's architecture (vocab 512, hidden 64, 4 layers, GQA), initialised so that its
    /// logits are not near-uniform: the fixture's std-0.02 weights behind the final RMSNorm cap every logit near ±1.3,
    /// so no adapter inside the layers could halve its loss. Optionally with the SentencePiece fixture as its tokenizer.
    /// </summary>
    public static string RandomLlama(string folder, bool withTokenizer = false, long seed = 7)
    {
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(TinyLlama, "config.json"), Path.Combine(folder, "config.json"), overwrite: true);
        var config = ModelConfig.ReadFile(Path.Combine(folder, "config.json"));
        using var model = CausalLanguageModel.Create(config, ScalarType.Float32, CPU);
        manual_seed(seed);
        var sources = new List<TensorSource>();
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
            {
                if (name.EndsWith("norm.weight")) p.fill_(1);
                else
                {
                    double std = name.Contains("embed_tokens") ? 1.0 : name.StartsWith("lm_head") ? 0.3 : 1.0 / Math.Sqrt(p.shape[1]);
                    using var w = randn(p.shape).mul(std);
                    p.copy_(w);
                }
                var param = p;
                sources.Add(new TensorSource(name, DType.F32, p.shape, () => param.ToTensorData(name)));
            }
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), sources);
        if (withTokenizer) File.Copy(SentencePieceModel, Path.Combine(folder, "tokenizer.model"), overwrite: true);
        return folder;
    }

    /// <summary>
    /// Pre-tokenized instructions: prompt "BOS op a b SEP", a completion the instruction (op) decides; with
    /// <paramref name="varyCompletions"/> the completion keeps 1-4 of its tokens before EOS.
    /// </summary>
    public static string InstructionIds(string path, int count, int seed = 1, bool varyCompletions = false)
    {
        var rng = new Random(seed);
        var lines = new List<string>();
        for (int i = 0; i < count; i++)
        {
            int op = 10 + rng.Next(3), a = 20 + rng.Next(100), b = 20 + rng.Next(100);
            int[] prompt = rng.Next(2) == 0 ? [1, op, a, b, 3] : [1, op, a, 3]; // prompts of different lengths
            int[] completion = [op + 100, op + 150, op + 200, op + 250, 2];
            if (varyCompletions) completion = [.. completion[..(1 + rng.Next(4))], 2];
            lines.Add(JsonSerializer.Serialize(new { prompt_input_ids = prompt, completion_input_ids = completion }));
        }
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>Alpaca records whose answers follow a rule the model can learn: the instruction names the output.</summary>
    public static string AlpacaText(string path, int count, int seed = 1)
    {
        var rng = new Random(seed);
        string[] ops = ["Add", "Subtract", "Reverse"];
        var lines = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var op = ops[rng.Next(ops.Length)];
            int a = rng.Next(10), b = rng.Next(10);
            var input = rng.Next(2) == 0 ? $"{a} and {b}" : "";
            lines.Add(JsonSerializer.Serialize(new { instruction = $"{op} the numbers.", input, output = $"The answer is {op}." }));
        }
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>Pre-tokenized preference pairs: continuing a count is preferred to repeating the last token.</summary>
    public static string PreferenceIds(string path, int count, int seed = 2)
    {
        var rng = new Random(seed);
        var lines = new List<string>();
        for (int i = 0; i < count; i++)
        {
            int a = 20 + rng.Next(200);
            int plen = 3 + rng.Next(2);
            var prompt = Enumerable.Range(0, plen).Select(j => j == 0 ? 1 : a + j).ToArray();
            var chosen = Enumerable.Range(0, 3).Select(j => a + plen + j).ToArray();
            var rejected = Enumerable.Repeat(a + plen - 1, 2 + rng.Next(2)).ToArray();
            lines.Add(JsonSerializer.Serialize(new { prompt_input_ids = prompt, chosen_input_ids = chosen, rejected_input_ids = rejected }));
        }
        File.WriteAllLines(path, lines);
        return path;
    }
}
