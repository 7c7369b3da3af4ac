using System.Globalization;
using System.Text.Json;
using Ckpt.Errors;
using Ckpt.Models;
using Ckpt.Tests.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Models;

public class GenerationTests(ITestOutputHelper output)
{
    static string Llama => TestPaths.Fixture("hf-llama-tiny-sharded");
    static string Gpt2 => TestPaths.Fixture("hf-gpt2-tiny");

    /// <summary>The first row of the fixture's reference input_ids, the prompt every parity test continues.</summary>
    static int[] FixturePrompt(string model)
    {
        using var ids = ReferenceTensors.Load(Path.Combine(model, "reference_logits.safetensors"), "input_ids");
        return ids.select(0, 0).data<long>().ToArray().Select(v => (int)v).ToArray();
    }

    static CausalLanguageModel Load(string folder)
    {
        using var ckpt = Checkpoint.Open(folder);
        var model = CausalLanguageModel.Load(ckpt);
        model.eval();
        return model;
    }

    static string Model(string name) => name switch
    {
        "llama" => Llama,
        "gpt2" => Gpt2,
        // Weights large enough that greedy decoding does not settle on one token.
        "random-llama" => FineTuningFixtures.RandomLlama(TestPaths.TempDirectory("generate-random-llama")),
        _ => throw new ArgumentException(name),
    };

    [Trait("Category", "slow")]
    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    [InlineData("random-llama")]
    public void Cached_logits_at_every_generated_position_equal_a_full_forward_of_the_sequence_within_1e_4(string name)
    {
        var folder = Model(name);
        using var model = Load(folder);
        var prompt = FixturePrompt(name == "gpt2" ? Gpt2 : Llama);
        var generated = Generation.Generate(model, prompt, new GenerationSettings { MaxNewTokens = 24, KeepLogits = true });
        Assert.Equal(24, generated.Tokens.Length);
        Assert.Equal("length", generated.FinishReason);

        var worst = CachedLogits.WorstDifferenceFromFullForward(model, prompt, generated);
        output.WriteLine($"{name}: {generated.Tokens.Length} cached steps, max abs difference from the full forward {worst:E3}; tokens {string.Join(" ", generated.Tokens)}");
        Assert.True(worst < 1e-4, $"max abs difference {worst:E3}");
    }

    [Fact]
    public void In_bf16_the_cached_logits_stay_close_to_a_bf16_full_forward()
    {
        using var ckpt = Checkpoint.Open(Llama);
        using var model = CausalLanguageModel.Load(ckpt, dtype: ScalarType.BFloat16);
        model.eval();
        var prompt = FixturePrompt(Llama);
        var generated = Generation.Generate(model, prompt, new GenerationSettings { MaxNewTokens = 8, KeepLogits = true });
        var worst = CachedLogits.WorstDifferenceFromFullForward(model, prompt, generated, ScalarType.Float32);
        output.WriteLine($"bf16: max abs difference between cached and full-forward logits {worst:E3}");
        // bf16 rounds each product to 8 mantissa bits, and the two paths multiply matrices of different shapes.
        Assert.True(worst < 0.05, $"max abs difference {worst:E3}");
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void A_prompt_fed_through_the_cache_in_two_chunks_gives_the_logits_of_one_forward(string name)
    {
        using var model = Load(Model(name));
        var prompt = FixturePrompt(Model(name)).Select(i => (long)i).ToArray();
        using var noGrad = no_grad();
        using var cache = model.NewCache();
        using var first = model.Forward(tensor(prompt[..5]).view(1, -1), cache);
        using var second = model.Forward(tensor(prompt[5..]).view(1, -1), cache);
        Assert.Equal(prompt.Length, cache.Length);
        using var full = model.Forward(tensor(prompt).view(1, -1));
        using var chunked = cat([first, second], 1);
        var diff = ReferenceTensors.MaxAbsDiff(chunked, full);
        output.WriteLine($"{name}: chunked prefill vs one forward, max abs difference {diff:E3}");
        Assert.True(diff < 1e-4, $"max abs difference {diff:E3}");
    }

    [Trait("Category", "slow")]
    [PythonTorchTheory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    [InlineData("random-llama")]
    public void Greedy_tokens_equal_a_plain_torch_reference_decode(string name)
    {
        var folder = Model(name);
        var prompt = FixturePrompt(name == "gpt2" ? Gpt2 : Llama);
        const int steps = 24;
        using var model = Load(folder);
        var generated = Generation.Generate(model, prompt, new GenerationSettings { MaxNewTokens = steps });

        var script = Path.Combine(TestPaths.RepoRoot, "tests", "python", "causal_lm_reference.py");
        if (name != "random-llama")
        {
            // The reference is HF's model: its logits on the fixture's inputs are transformers'.
            var (c, o, e) = PythonTorch.Run(File.ReadAllText(script), "check", folder, Path.Combine(folder, "reference_logits.safetensors"));
            Assert.True(c == 0, e);
            var refDiff = JsonDocument.Parse(o).RootElement.GetProperty("max_abs_diff").GetDouble();
            output.WriteLine($"reference model vs transformers' logits: {refDiff:E3}");
            Assert.True(refDiff < 1e-5);
        }
        var (code, stdout, stderr) = PythonTorch.Run(File.ReadAllText(script), "greedy", folder, string.Join(",", prompt), steps.ToString(CultureInfo.InvariantCulture));
        Assert.True(code == 0, stderr);
        var root = JsonDocument.Parse(stdout).RootElement;
        var expected = root.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        var smallestGap = root.GetProperty("gaps").EnumerateArray().Min(g => g.GetDouble());
        output.WriteLine($"{name}: ckpt {string.Join(" ", generated.Tokens)}; torch {string.Join(" ", expected)}; smallest top-2 logit gap {smallestGap:E2}");
        Assert.Equal(expected, generated.Tokens);
    }

    public static TheoryData<double, int, double> Warpings => new()
    {
        { 1.0, 50, 1.0 },   // transformers' defaults: top-k 50 only
        { 0.7, 50, 0.9 },
        { 1.0, 0, 0.5 },    // top-p alone
        { 1.3, 5, 0.95 },
        { 0.5, 0, 0.999 },
        { 2.0, 1, 1.0 },    // k = 1 is greedy
        { 1.0, 0, 0.01 },   // p below the top token's probability keeps that token alone
    };

    [Trait("Category", "slow")]
    [PythonTorchTheory]
    [MemberData(nameof(Warpings))]
    public void Top_k_and_top_p_keep_the_tokens_and_probabilities_of_transformers_warpers_within_1e_6(double temperature, int topK, double topP)
    {
        manual_seed(11);
        using var logits = randn(512).mul(3);
        using var warped = LogitsWarpers.Apply(logits, temperature, topK, topP);
        using var probs = warped.softmax(-1);
        var ours = probs.data<float>().ToArray();

        var json = JsonSerializer.Serialize(new { logits = logits.data<float>().ToArray() });
        var script = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "python", "causal_lm_reference.py"));
        var (code, stdout, stderr) = PythonTorchWithInput(script, json, "warp", temperature.ToString("R", CultureInfo.InvariantCulture),
            topK.ToString(CultureInfo.InvariantCulture), topP.ToString("R", CultureInfo.InvariantCulture));
        Assert.True(code == 0, stderr);
        var theirs = JsonDocument.Parse(stdout).RootElement.GetProperty("probs").EnumerateArray().Select(p => p.GetDouble()).ToArray();

        var keptOurs = Enumerable.Range(0, ours.Length).Where(i => ours[i] > 0).ToArray();
        var keptTheirs = Enumerable.Range(0, theirs.Length).Where(i => theirs[i] > 0).ToArray();
        var diff = ours.Zip(theirs, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"T {temperature} k {topK} p {topP}: {keptOurs.Length} tokens kept; max abs probability difference {diff:E2}");
        Assert.Equal(keptTheirs, keptOurs);
        Assert.True(diff < 1e-6, $"max abs difference {diff:E3}");
        if (topK > 0) Assert.True(keptOurs.Length <= topK);
    }

    /// <summary><see cref="PythonTorch.Run"/> with stdin: the logits are passed as JSON rather than 512 arguments.</summary>
    static (int, string, string) PythonTorchWithInput(string script, string stdin, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(PythonTorch.Interpreter!)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3))) { p.Kill(true); throw new TimeoutException("python did not finish"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void With_a_peft_adapter_the_first_step_logits_equal_pefts_logits_with_adapter_within_1e_4()
    {
        var reference = TestPaths.Fixture("peft-lora-llama-tiny", "reference.safetensors");
        using var ids = ReferenceTensors.Load(reference, "input_ids");
        using var expected = ReferenceTensors.Load(reference, "logits_with_adapter");
        using var baseModel = Load(Llama);
        using var adapted = Load(Llama);
        Ckpt.Training.PeftLora.Load(adapted, TestPaths.Fixture("peft-lora-llama-tiny"));
        for (int row = 0; row < ids.shape[0]; row++)
        {
            var prompt = ids.select(0, row).data<long>().ToArray().Select(v => (int)v).ToArray();
            var settings = new GenerationSettings { MaxNewTokens = 3, KeepLogits = true };
            var withAdapter = Generation.Generate(adapted, prompt, settings);
            var without = Generation.Generate(baseModel, prompt, settings);
            using var want = expected.select(0, row).select(0, prompt.Length - 1);
            using var got = tensor(withAdapter.Logits![0]);
            using var baseLogits = tensor(without.Logits![0]);
            var diff = ReferenceTensors.MaxAbsDiff(got, want);
            var adapterEffect = ReferenceTensors.MaxAbsDiff(baseLogits, want);
            output.WriteLine($"row {row}: first-step logits vs PEFT {diff:E3}; the base model's differ by {adapterEffect:E3}");
            Assert.True(diff < 1e-4, $"max abs difference {diff:E3}");
            Assert.True(adapterEffect > 100 * diff, "the adapter must change the logits it is checked on");
        }
    }

    [Fact]
    public void Sampling_with_a_seed_repeats_its_tokens_and_another_seed_draws_others()
    {
        using var model = Load(FineTuningFixtures.RandomLlama(TestPaths.TempDirectory("generate-sample")));
        int[] prompt = [1, 20, 30, 40];
        var settings = new GenerationSettings { MaxNewTokens = 16, DoSample = true, Temperature = 1.5, TopK = 0, TopP = 0.98, Seed = 5 };
        var a = Generation.Generate(model, prompt, settings);
        var b = Generation.Generate(model, prompt, settings);
        var c = Generation.Generate(model, prompt, settings with { Seed = 6 });
        var greedy = Generation.Generate(model, prompt, settings with { DoSample = false });
        output.WriteLine($"seed 5: {string.Join(" ", a.Tokens)}; seed 6: {string.Join(" ", c.Tokens)}; greedy: {string.Join(" ", greedy.Tokens)}");
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.NotEqual(a.Tokens, c.Tokens);
        Assert.NotEqual(a.Tokens, greedy.Tokens);
    }

    [Trait("Category", "slow")]
    [Fact]
    public void Decoding_without_the_cache_chooses_the_same_tokens_as_with_it()
    {
        using var model = Load(FineTuningFixtures.RandomLlama(TestPaths.TempDirectory("generate-nocache")));
        int[] prompt = [1, 20, 30, 40];
        var settings = new GenerationSettings { MaxNewTokens = 12, DoSample = true, Temperature = 0.8, Seed = 3 };
        var cached = Generation.Generate(model, prompt, settings);
        var full = Generation.Generate(model, prompt, settings with { UseCache = false });
        Assert.Equal(full.Tokens, cached.Tokens);
    }

    [Fact]
    public void Generation_stops_after_an_eos_id_from_a_list_and_reports_it()
    {
        using var model = Load(Llama);
        var prompt = FixturePrompt(Llama);
        var free = Generation.Generate(model, prompt, new GenerationSettings { MaxNewTokens = 10 });
        // Make the last new token of the free run an EOS id, listed beside one it never emits.
        var stopAt = Array.IndexOf(free.Tokens, free.Tokens.Distinct().Last());
        var eos = free.Tokens[stopAt];
        var stopped = Generation.Generate(model, prompt, new GenerationSettings { MaxNewTokens = 10, EosTokenIds = [511, eos] });
        Assert.Equal("eos", stopped.FinishReason);
        Assert.Equal(free.Tokens[..(stopAt + 1)], stopped.Tokens);
    }

    [Fact]
    public void Gpt2_stops_at_its_last_learned_position()
    {
        using var model = Load(Gpt2);
        var prompt = Enumerable.Range(0, 120).Select(i => 1 + i % 500).ToArray();
        var generated = Generation.Generate(model, prompt, new GenerationSettings { MaxNewTokens = 64 });
        // 128 positions: the prompt fills 120, and the token chosen after position 127 is the last one.
        Assert.Equal(9, generated.Tokens.Length);
        Assert.Equal("length", generated.FinishReason);
        var ex = Assert.Throws<ArgumentException>(() => Generation.Generate(model, Enumerable.Repeat(1, 129).ToArray(), new GenerationSettings()));
        Assert.Contains("128 positions", ex.Message);
    }

    [Fact]
    public void Generation_config_eos_ids_may_be_a_list_and_config_json_is_the_fallback()
    {
        var dir = TestPaths.TempDirectory("generation-defaults");
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"eos_token_id": 7}""");
        Assert.Equal([7], GenerationDefaults.Read(dir).EosTokenIds);
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), """{"eos_token_id": [128001, 128009], "do_sample": true, "temperature": 0.6, "top_p": 0.9}""");
        var defaults = GenerationDefaults.Read(dir);
        Assert.Equal([128001, 128009], defaults.EosTokenIds);
        Assert.Equal(true, defaults.DoSample);
        Assert.Equal(0.6, defaults.Temperature);
        Assert.Equal(0.9, defaults.TopP);
        Assert.Null(defaults.TopK);
    }

    [Fact]
    public void A_text_prompt_without_a_tokenizer_beside_the_model_names_the_missing_file()
    {
        var ex = Assert.Throws<CheckpointFormatException>(() => Generation.Run(new GenerationRequest { Model = Llama, Prompt = "Hello" }));
        Assert.Equal(FormatErrorReason.MissingFile, ex.Reason);
        Assert.Contains("tokenizer", ex.Message);
    }

    [Fact]
    public void A_text_prompt_is_tokenized_with_bos_and_the_new_tokens_are_decoded_and_streamed()
    {
        var folder = FineTuningFixtures.RandomLlama(TestPaths.TempDirectory("generate-text"), withTokenizer: true);
        var pieces = new List<string>();
        var done = Generation.Run(new GenerationRequest { Model = folder, Prompt = "The answer is", MaxNewTokens = 8 },
            onText: (r, piece) => pieces.Add(piece));
        var row = Assert.Single(done.Rows);
        Assert.Equal(row.Text, string.Concat(pieces));
        using var tokenizer = Ckpt.Training.Data.TextTokenizer.TryOpen(folder)!;
        Assert.Equal(tokenizer.Encode("The answer is", addBos: true), row.Sequence.PromptIds);
        Assert.Equal(tokenizer.Decode(row.Sequence.Tokens), row.Text);
        output.WriteLine($"'{row.Text}' from {string.Join(" ", row.Sequence.Tokens)}");
        Assert.False(string.IsNullOrEmpty(row.Text));
    }

    [Fact]
    public void Chat_renders_the_prompt_as_one_user_message_with_the_generation_prompt()
    {
        var folder = FineTuningFixtures.RandomLlama(TestPaths.TempDirectory("generate-chat"), withTokenizer: true);
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), JsonSerializer.Serialize(new
        {
            bos_token = "<s>",
            chat_template = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}",
        }));
        var done = Generation.Run(new GenerationRequest { Model = folder, Prompt = "Hi there", Chat = true, MaxNewTokens = 2 });
        using var tokenizer = Ckpt.Training.Data.TextTokenizer.TryOpen(folder)!;
        Assert.Equal(tokenizer.EncodeRendered("<s>[user] Hi there\n[assistant] "), done.Rows[0].Sequence.PromptIds);

        File.Delete(Path.Combine(folder, "tokenizer_config.json"));
        var ex = Assert.Throws<CheckpointFormatException>(() => Generation.Run(new GenerationRequest { Model = folder, Prompt = "Hi", Chat = true }));
        Assert.Contains("chat template", ex.Message);
    }
}
