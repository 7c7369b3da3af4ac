namespace Ckpt.Extension.Tests;

/// <summary>
/// `#!ckpt-generate` refusing bad input in one sentence, before any model is read. This project has no LibTorch (as a
/// notebook before it references one), so a valid request ends in one sentence saying how to get it; generation itself
/// is tested in Ckpt.Extension.Training.Tests.
/// </summary>
public sealed class GenerateMagicInputTests : IDisposable
{
    readonly KernelHarness _harness = new();

    static string TinyLlama => TestPaths.Fixture("hf-llama-tiny-sharded");

    public void Dispose() => _harness.Dispose();

    Task<string> FailureOf(string code) => _harness.FailureOfAsync(code);

    [Fact]
    public async Task Generate_magic_without_a_prompt_or_a_model_fails_with_our_sentence_naming_the_option()
    {
        Assert.Equal("#!ckpt-generate needs --prompt \"text to continue\"", (await FailureOf($"#!ckpt-generate --model \"{TinyLlama}\"")).Trim());
        Assert.Equal("#!ckpt-generate needs --model <variable|checkpoint path>", (await FailureOf("#!ckpt-generate --prompt \"Once upon\"")).Trim());
    }

    [Theory]
    [InlineData("--max-new-tokens 0", "--max-new-tokens must be at least 1, not 0")]
    [InlineData("--top-p 1.5", "--top-p must be in (0, 1], not 1.5")]
    [InlineData("--dtype f8", "--dtype must be F32, BF16, F16 or F64, not 'f8'")]
    [InlineData("--greedy --temperature 0.7", "--greedy cannot be combined with --temperature, --top-p or --top-k, which sample")]
    [InlineData("--device tpu", "--device must be cpu, cuda or cuda:N, not 'tpu'")]
    public async Task Generate_magic_with_an_option_out_of_range_fails_with_the_cli_sentence_before_any_model_is_read(string options, string expected) =>
        Assert.Equal(expected, (await FailureOf($"#!ckpt-generate --model \"{TinyLlama}\" --prompt \"Once upon\" {options}")).Trim());

    [Fact]
    public async Task Generate_magic_with_a_missing_adapter_folder_fails_with_one_sentence_naming_it()
    {
        var message = await FailureOf($"#!ckpt-generate --model \"{TinyLlama}\" --prompt \"Once upon\" --adapter nowhere-adapter");
        Assert.Equal("adapter folder nowhere-adapter does not exist", message.Trim());
    }

    [Fact]
    public async Task Generate_magic_naming_an_unbound_variable_as_model_fails_with_one_sentence() =>
        Assert.Contains("notLoaded", await FailureOf("#!ckpt-generate --model notLoaded --prompt \"Once upon\""));

    [Fact]
    public async Task Generate_magic_with_an_invalid_name_fails_with_one_sentence() =>
        Assert.Contains("not a valid C# variable name", await FailureOf($"#!ckpt-generate --model \"{TinyLlama}\" --prompt \"Once upon\" --name 2x"));

    [Fact]
    public async Task Generate_magic_where_LibTorch_is_absent_says_so_in_one_sentence()
    {
        var message = await FailureOf($"#!ckpt-generate --model \"{TinyLlama}\" --prompt \"Once upon\" --greedy --max-new-tokens 4");
        // This project's override names an empty folder (WithoutLibTorch): the sentence says what was tried and what to set.
        Assert.Contains("generation runs the model with TorchSharp and LibTorch could not be loaded (CKPT_LIBTORCH=", message);
        Assert.Contains("holds no libtorch.so): set CKPT_LIBTORCH to a LibTorch lib folder", message);
        Assert.Contains("ckpt generate", message);
    }

    [Trait("Category", "slow")]
    [Fact]
    public async Task Generate_magic_on_a_variable_bound_by_load_gets_as_far_as_libtorch()
    {
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#!ckpt-load \"{TinyLlama}\" --name tiny"));
        Assert.Contains("LibTorch", await FailureOf("#!ckpt-generate --model tiny --prompt \"Once upon\""));
    }
}
