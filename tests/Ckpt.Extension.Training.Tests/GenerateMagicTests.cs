using System.Text.RegularExpressions;
using Ckpt.Models;
using Ckpt.Training.Data;
using Microsoft.DotNet.Interactive.Events;

namespace Ckpt.Extension.Tests;

/// <summary>
/// `#!ckpt-generate` in a real CompositeKernel with the CPU LibTorch: the tiny LLaMA fixture (vocab 512) with the
/// SentencePiece fixture beside it as its tokenizer, against <see cref="Generation.Generate"/> called here directly.
/// </summary>
[Trait("Category", "slow")]
public sealed class GenerateMagicTests : IDisposable
{
    const string Prompt = "Tom & <Jerry> say";
    const int NewTokens = 12;

    readonly KernelHarness _harness = new();
    readonly string _model = Directory.CreateTempSubdirectory("ckpt-generate-magic-").FullName;

    public GenerateMagicTests()
    {
        foreach (var file in Directory.GetFiles(TestPaths.Fixture("hf-llama-tiny-sharded")).Where(f => !f.EndsWith("reference_logits.safetensors")))
            File.Copy(file, Path.Combine(_model, Path.GetFileName(file)));
        File.Copy(Path.Combine(TestPaths.RepoRoot, "tests", "Ckpt.Kernel.Tests", "Training", "Tokenizer", "tokenizer.model"), Path.Combine(_model, "tokenizer.model"));
    }

    public void Dispose()
    {
        _harness.Dispose();
        try { Directory.Delete(_model, recursive: true); } catch (IOException) { }
    }

    /// <summary>Greedy generation without the magic: the prompt tokenized with BOS, the fixture's EOS (2) from its generation_config.json.</summary>
    (int[] Prompt, int[] Tokens, string Text) Direct()
    {
        using var tokenizer = TextTokenizer.TryOpen(_model)!;
        var ids = tokenizer.Encode(Prompt, addBos: true);
        using var ckpt = Checkpoint.Open(_model);
        using var model = CausalLanguageModel.Load(ckpt);
        model.eval();
        var sequence = Generation.Generate(model, ids, new GenerationSettings { MaxNewTokens = NewTokens, EosTokenIds = [2] });
        var newTokens = sequence.FinishReason == "eos" ? sequence.Tokens[..^1] : sequence.Tokens;
        return (ids, sequence.Tokens, tokenizer.Decode(newTokens));
    }

    [Fact]
    public async Task Greedy_generate_magic_shows_the_escaped_prompt_and_the_same_tokens_and_text_as_generation_called_directly()
    {
        var result = await _harness.SubmitAsync($"#!ckpt-generate --model \"{_model}\" --prompt \"{Prompt}\" --greedy --max-new-tokens {NewTokens} --threads 1");
        KernelHarness.AssertSucceeded(result);
        var expected = Direct();

        var html = KernelHarness.Html(result);
        Assert.Contains("<span class=\"ckpt-prompt\" style=\"opacity: 0.6\">Tom &amp; &lt;Jerry&gt; say</span>", html);
        Assert.DoesNotContain("<Jerry>", html);
        var ids = Regex.Match(html, "data-ids=\"([^\"]*)\"").Groups[1].Value.Split(' ').Select(int.Parse);
        Assert.Equal(expected.Tokens, ids);
        Assert.Contains($"<b>{System.Net.WebUtility.HtmlEncode(expected.Text)}</b>", html);
        Assert.Contains("greedy", html);

        var plain = result.Events.OfType<DisplayedValueProduced>().SelectMany(e => e.FormattedValues).Single(v => v.MimeType == "text/plain").Value;
        Assert.StartsWith(Prompt + expected.Text + "\n-- ", plain);
    }

    [Fact]
    public async Task Generate_magic_on_a_loaded_checkpoint_binds_a_result_whose_ids_equal_generation_called_directly()
    {
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#!ckpt-load \"{_model}\" --name tiny"));
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#!ckpt-generate --model tiny --prompt \"{Prompt}\" --greedy --max-new-tokens {NewTokens} --threads 1 --name gen"));
        var expected = Direct();

        var tokens = await _harness.SubmitAsync("gen.Rows[0].Sequence.Tokens");
        KernelHarness.AssertSucceeded(tokens);
        Assert.Equal(expected.Tokens, (int[])KernelHarness.ReturnValue(tokens)!);
        var prompt = await _harness.SubmitAsync("gen.Rows[0].Sequence.PromptIds");
        Assert.Equal(expected.Prompt, (int[])KernelHarness.ReturnValue(prompt)!);
        var text = await _harness.SubmitAsync("gen.Rows[0].Text");
        Assert.Equal(expected.Text, KernelHarness.ReturnValue(text));
    }

    [Fact]
    public async Task Generate_magic_on_a_model_without_a_tokenizer_fails_with_one_sentence_naming_it()
    {
        File.Delete(Path.Combine(_model, "tokenizer.model"));
        var failed = KernelHarness.Failure(await _harness.SubmitAsync($"#!ckpt-generate --model \"{_model}\" --prompt \"{Prompt}\" --greedy"));
        Assert.NotNull(failed);
        Assert.Contains("tokenizer.model or tokenizer.json", failed.Message);
        Assert.DoesNotContain("\n", failed.Message.Trim());
    }
}
