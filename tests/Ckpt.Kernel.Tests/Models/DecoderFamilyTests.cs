using System.Text.Json;
using Ckpt.Errors;
using Ckpt.Models;
using Ckpt.Tests.Training;
using Ckpt.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Models;

/// <summary>
/// The LLaMA-style families (Llama 3 RoPE scaling, Qwen2, Qwen3, Phi-3, Gemma 2) on tiny random models that
/// tests/python/decoder_families_reference.py writes and runs in plain torch: fp32 logits within 1e-4 of it, cached
/// decoding equal to the full forward, a LoRA SFT run on the family's PEFT target names, and the adapter merged.
/// </summary>
public sealed class DecoderFamilyTests(ITestOutputHelper output) : IDisposable
{
    const double Tolerance = 1e-4;
    readonly string _dir = TestPaths.TempDirectory("decoder-family");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>Every linear layer of a decoder block, as PEFT names them in each family.</summary>
    static string[] AllLinear(string family) =>
        family == "phi3" ? ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"] : FineTuningFixtures.LlamaLinear;

    string Make(string family)
    {
        var folder = Path.Combine(_dir, family);
        var script = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "python", "decoder_families_reference.py"));
        var (code, _, stderr) = PythonTorch.Run(script, "make", family, folder);
        Assert.True(code == 0, stderr);
        return folder;
    }

    static CausalLanguageModel Load(string folder)
    {
        using var ckpt = Checkpoint.Open(folder);
        var model = CausalLanguageModel.Load(ckpt);
        model.eval();
        return model;
    }

    double DiffFromReference(CausalLanguageModel model, string folder)
    {
        var reference = Path.Combine(folder, "reference_logits.safetensors");
        using var ids = ReferenceTensors.Load(reference, "input_ids");
        using var expected = ReferenceTensors.Load(reference, "logits");
        using var noGrad = no_grad();
        using var logits = model.Forward(ids);
        return ReferenceTensors.MaxAbsDiff(logits, expected);
    }

    [PythonTorchTheory]
    [InlineData("llama3")]
    [InlineData("llama-linear")]
    [InlineData("llama-dynamic")]
    [InlineData("qwen2")]
    [InlineData("qwen3")]
    [InlineData("phi3")]
    [InlineData("gemma2")]
    public void Logits_equal_the_plain_torch_reference_within_1e_4(string family)
    {
        var folder = Make(family);
        using var model = Load(folder);
        var diff = DiffFromReference(model, folder);
        output.WriteLine($"{family}: max abs difference from the plain-torch reference {diff:E3}");
        Assert.True(diff < Tolerance, $"max abs difference {diff:E3}");
    }

    [PythonTorchTheory]
    [InlineData("llama3", 6, 6)]
    [InlineData("llama-linear", 6, 6)]
    // transformers' dynamic NTK rotates cached keys with the θ of their own step, so cache and full forward agree only
    // up to max_position_embeddings (8 here); beyond it neither Ckpt nor transformers claim they do.
    [InlineData("llama-dynamic", 4, 4)]
    [InlineData("qwen2", 6, 6)]
    [InlineData("qwen3", 6, 6)]
    [InlineData("phi3", 6, 6)]
    [InlineData("gemma2", 6, 6)]
    public void Cached_logits_at_every_generated_position_equal_a_full_forward_within_1e_4(string family, int promptLength, int steps)
    {
        using var model = Load(Make(family));
        var prompt = Enumerable.Range(0, promptLength).Select(i => 3 + 37 * i % 500).ToArray();
        var generated = Generation.Generate(model, prompt, new GenerationSettings { MaxNewTokens = steps, KeepLogits = true });
        var worst = CachedLogits.WorstDifferenceFromFullForward(model, prompt, generated);
        output.WriteLine($"{family}: {generated.Tokens.Length} cached steps, max abs difference from the full forward {worst:E3}");
        Assert.Equal(steps, generated.Tokens.Length);
        Assert.True(worst < Tolerance, $"max abs difference {worst:E3}");
    }

    [PythonTorchTheory]
    [InlineData("qwen2")]
    [InlineData("qwen3")]
    [InlineData("phi3")]
    [InlineData("llama3")]
    [InlineData("gemma2")]
    public void Lora_sft_on_the_family_targets_trains_and_the_merged_checkpoint_gives_the_adapter_logits(string family)
    {
        var folder = Make(family);
        var steps = new List<TrainingProgress>();
        var result = FineTuning.Run(new FineTuningOptions
        {
            Recipe = Recipe.Sft, Model = folder, Data = FineTuningFixtures.InstructionIds(Path.Combine(_dir, "ids.jsonl"), 8),
            Output = Path.Combine(_dir, "out"), Steps = 2, BatchSize = 4, LearningRate = 1e-2, LoraR = 4, LoraAlpha = 8,
            LoraTargets = AllLinear(family), Threads = 1,
        }, new Collect(steps.Add));
        Assert.Equal(2, steps.Count);
        Assert.All(steps, s => Assert.True(double.IsFinite(s.Loss), $"loss {s.Loss}"));
        output.WriteLine($"{family}: SFT losses {string.Join(", ", steps.Select(s => s.Loss.ToString("F4")))}");

        using var adapter = Checkpoint.Open(Path.Combine(result.AdapterDirectory, "adapter_model.safetensors"));
        foreach (var target in AllLinear(family))
            Assert.Contains(adapter.Manifest.Tensors, t => t.Name.StartsWith("base_model.model.model.layers.0.") && t.Name.EndsWith($".{target}.lora_B.weight"));

        using var withAdapter = Load(folder);
        PeftLora.Load(withAdapter, result.AdapterDirectory);
        using var noGrad = no_grad();
        using (var b = withAdapter.named_parameters().First(p => p.name.EndsWith("lora_B.weight")).parameter.abs().max())
            Assert.True(b.item<float>() > 0, "the SFT steps left lora_B at zero");
        var reference = Path.Combine(folder, "reference_logits.safetensors");
        using var ids = ReferenceTensors.Load(reference, "input_ids");
        using var adapted = withAdapter.Forward(ids);
        using var baseLogits = ReferenceTensors.Load(reference, "logits");
        Assert.True(ReferenceTensors.MaxAbsDiff(adapted, baseLogits) > 1e-3, "the adapter does not change the logits");

        var (code, _, stderr) = Cli.CliRunner.Run("convert", folder, "--out", Path.Combine(_dir, "merged"), "--merge-adapter", result.AdapterDirectory);
        Assert.True(code == 0, stderr);
        using var merged = Load(Path.Combine(_dir, "merged"));
        using var mergedLogits = merged.Forward(ids);
        var diff = ReferenceTensors.MaxAbsDiff(mergedLogits, adapted);
        output.WriteLine($"{family}: merged checkpoint vs base + adapter, max abs difference {diff:E3}");
        Assert.True(diff < Tolerance, $"max abs difference {diff:E3}");
    }

    static CheckpointFormatException Refusal(string json) =>
        Assert.Throws<CheckpointFormatException>(() => ModelConfig.Parse(System.Text.Encoding.UTF8.GetBytes(json), "config.json"));

    const string Tiny = "\"vocab_size\": 512, \"hidden_size\": 64, \"intermediate_size\": 96, \"num_hidden_layers\": 2, \"num_attention_heads\": 4";

    [Theory]
    [InlineData("phi3", "\"rope_scaling\": {\"type\": \"longrope\", \"short_factor\": [1], \"long_factor\": [1]}", "rope_scaling.type longrope is not implemented")]
    [InlineData("llama", "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}", "rope_scaling.type yarn is not implemented")]
    [InlineData("qwen2", "\"hidden_act\": \"gelu\"", "hidden_act gelu is not implemented for model_type qwen2")]
    [InlineData("gemma2", "\"hidden_activation\": \"gelu\"", "hidden_activation gelu is not implemented for model_type gemma2")]
    [InlineData("llama", "\"final_logit_softcapping\": 30.0", "final_logit_softcapping 30.0 is not implemented for model_type llama")]
    [InlineData("qwen3", "\"mlp_bias\": true", "mlp_bias true is not implemented for model_type qwen3")]
    [InlineData("phi3", "\"attention_bias\": true", "attention_bias true is not implemented for model_type phi3")]
    public void A_config_field_that_changes_the_numbers_and_is_not_implemented_is_refused_by_name(string type, string field, string sentence)
    {
        var e = Refusal($"{{\"model_type\": \"{type}\", {Tiny}, {field}}}");
        Assert.Equal(FormatErrorReason.Unsupported, e.Reason);
        Assert.Contains(sentence, e.Message);
    }

    [Fact]
    public void An_unknown_model_type_is_refused_naming_it_and_the_buildable_ones()
    {
        var e = Refusal($"{{\"model_type\": \"gemma3\", {Tiny}}}");
        Assert.Contains("model_type gemma3 cannot be built", e.Message);
        Assert.Contains("qwen3", e.Message);
    }

    [Theory]
    [InlineData("qwen2", "\"use_sliding_window\": true, \"sliding_window\": 8", 8L)]
    [InlineData("qwen2", "\"use_sliding_window\": false, \"sliding_window\": 8", null)]
    [InlineData("mistral", "\"sliding_window\": 8", 8L)]
    [InlineData("phi3", "\"sliding_window\": 8", 8L)]
    [InlineData("llama", "\"sliding_window\": 8", null)]
    [InlineData("gemma2", "\"sliding_window\": 8", 8L)]
    public void Sliding_windows_are_read_only_where_the_family_applies_them(string type, string fields, long? window)
    {
        var config = (LlamaConfig)ModelConfig.Parse(System.Text.Encoding.UTF8.GetBytes($"{{\"model_type\": \"{type}\", {Tiny}, {fields}}}"), "config.json");
        Assert.Equal(window, config.SlidingWindow);
    }

    [PythonTorchFact]
    public void A_sequence_longer_than_the_sliding_window_is_refused_and_one_as_long_gives_the_unwindowed_logits()
    {
        var folder = Make("qwen2");
        var path = Path.Combine(folder, "config.json");
        var json = JsonDocument.Parse(File.ReadAllText(path)).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object)p.Value);
        json["use_sliding_window"] = true;
        json["sliding_window"] = 12;
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        using var model = Load(folder);
        Assert.True(DiffFromReference(model, folder) < Tolerance); // the reference input is 12 tokens long
        using var longer = zeros([1, 13], ScalarType.Int64);
        var e = Assert.Throws<CheckpointFormatException>(() => model.Forward(longer));
        Assert.Contains("sliding_window 12 is not implemented for sequences longer than the window (13 tokens)", e.Message);
    }
}
