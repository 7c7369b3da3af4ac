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

    /// <summary>Every linear layer of a LLaMA decoder layer, by PEFT target name.</summary>
    public static readonly string[] LlamaLinear = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>Every linear (Conv1D) layer of a GPT-2 block, by PEFT target name.</summary>
    public static readonly string[] Gpt2Linear = ["c_attn", "c_proj", "c_fc"];

    public static string SentencePieceModel => Path.Combine(TestPaths.RepoRoot, "tests", "Ckpt.Kernel.Tests", "Training", "Tokenizer", "tokenizer.model");

    /// <summary>
    /// A random LLaMA with the fixture's architecture (vocab 512, hidden 64, 4 layers, GQA), initialised so that its
    /// logits are not near-uniform: the fixture's std-0.02 weights behind the final RMSNorm cap every logit near ±1.3,
    /// so no adapter inside the layers could halve its loss. Optionally with the SentencePiece fixture as its tokenizer.
    /// </summary>
    public static string RandomLlama(string folder, bool withTokenizer = false, long seed = 7)
    {
        RandomModel(folder, TinyLlama, seed, (name, p) =>
            name.EndsWith("norm.weight") ? null : name.Contains("embed_tokens") ? 1.0 : name.StartsWith("lm_head") ? 0.3 : 1.0 / Math.Sqrt(p.shape[1]));
        if (withTokenizer) File.Copy(SentencePieceModel, Path.Combine(folder, "tokenizer.model"), overwrite: true);
        return folder;
    }

    public static string TinyGpt2 => TestPaths.Fixture("hf-gpt2-tiny");

    /// <summary>
    /// A random GPT-2 with the fixture's architecture (vocab 512, 128 positions, hidden 64, 2 layers), its weights
    /// scaled as <see cref="RandomLlama"/>'s so that attention and positions visibly change the logits.
    /// </summary>
    public static string RandomGpt2(string folder, long seed = 7) =>
        RandomModel(folder, TinyGpt2, seed, (name, p) =>
            p.shape.Length == 1 ? (name.Contains("ln_") && name.EndsWith(".weight") ? null : 0.02)
            : name.Contains("wte") || name.Contains("wpe") ? 0.3 : 1.0 / Math.Sqrt(p.shape[0])); // Conv1D weights are [in, out]

    /// <param name="std">The std of a parameter's normal init; null fills it with 1 (norm weights).</param>
    static string RandomModel(string folder, string fixture, long seed, Func<string, TorchSharp.Modules.Parameter, double?> std)
    {
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(fixture, "config.json"), Path.Combine(folder, "config.json"), overwrite: true);
        var config = ModelConfig.ReadFile(Path.Combine(folder, "config.json"));
        using var model = CausalLanguageModel.Create(config, ScalarType.Float32, CPU);
        manual_seed(seed);
        var sources = new List<TensorSource>();
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
            {
                if (std(name, p) is double s)
                {
                    using var w = randn(p.shape).mul(s);
                    p.copy_(w);
                }
                else p.fill_(1);
                var param = p;
                sources.Add(new TensorSource(name, DType.F32, p.shape, () => param.ToTensorData(name)));
            }
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), sources);
        return folder;
    }

    /// <summary>
    /// Pre-tokenized SFT records of widely varied lengths (prompt + completion from <paramref name="shortest"/> to
    /// <paramref name="longest"/> tokens, the prompt 1 to 3/4 of it, BOS first, EOS last), ids below the fixtures' vocab of 512.
    /// </summary>
    public static string VariedIds(string path, int count, int seed = 3, int shortest = 8, int longest = 120)
    {
        var rng = new Random(seed);
        var lines = new List<string>();
        for (int i = 0; i < count; i++)
        {
            int total = rng.Next(shortest, longest + 1), p = rng.Next(1, Math.Max(2, total * 3 / 4));
            var prompt = Enumerable.Range(0, p).Select(j => j == 0 ? 1 : 4 + rng.Next(500)).ToArray();
            var completion = Enumerable.Range(0, total - p).Select(j => j == total - p - 1 ? 2 : 4 + rng.Next(500)).ToArray();
            lines.Add(JsonSerializer.Serialize(new { prompt_input_ids = prompt, completion_input_ids = completion }));
        }
        File.WriteAllLines(path, lines);
        return path;
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
