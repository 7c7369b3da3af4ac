using Microsoft.DotNet.Interactive.Directives;

namespace Ckpt.Extension.Tests;

/// <summary>
/// A one-value option of any ckpt magic given more than once fails the cell with our own sentence naming the magic, the
/// option and the count, never with .NET Interactive's DNI105 (which the pinned binder raises for a parameter declared
/// with the default MaxOccurrences of 1).
/// </summary>
public sealed class RepeatedOptionTests : IDisposable
{
    readonly KernelHarness _harness = new();
    readonly string _dir = Directory.CreateTempSubdirectory("ckpt-repeated-").FullName;

    static string TinyLlama => TestPaths.Fixture("hf-llama-tiny-sharded");
    static string Trajectory(string step) => TestPaths.Fixture($"trajectory-llama-micro/{step}.safetensors");

    string Data(string name)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, "{\"prompt_input_ids\":[1,10,20,3],\"completion_input_ids\":[110,160,2]}\n");
        return path;
    }

    Task<string> FailureOf(string code) => _harness.FailureOfAsync(code);

    [Fact]
    public async Task Finetune_magic_given_two_models_says_model_was_given_twice() =>
        Assert.Equal("#!ckpt-finetune --model was given 2 times (one value expected)",
            await FailureOf($"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --model \"{Trajectory("step-0400")}\" --data \"{Data("a.jsonl")}\" --steps 2"));

    [Fact]
    public async Task Finetune_magic_given_three_data_files_says_data_was_given_three_times() =>
        Assert.Equal("#!ckpt-finetune --data was given 3 times (one value expected)",
            await FailureOf($"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{Data("a.jsonl")}\" --steps 2 " +
                            $"--data \"{Data("b.jsonl")}\" --data \"{Data("c.jsonl")}\""));

    [Fact]
    public async Task Finetune_magic_given_an_optional_option_twice_says_so_before_reading_anything() =>
        Assert.Equal("#!ckpt-finetune --lr was given 2 times (one value expected)",
            await FailureOf($"#!ckpt-finetune --recipe sft --model \"{TinyLlama}\" --data \"{Data("a.jsonl")}\" --lr 1e-3 --lr 2e-3"));

    [Fact]
    public async Task Load_magic_given_two_names_says_name_was_given_twice() =>
        Assert.Equal("#!ckpt-load --name was given 2 times (one value expected)",
            await FailureOf($"#!ckpt-load \"{Trajectory("step-0400")}\" --name first --name second"));

    [Fact]
    public async Task Convert_magic_given_two_targets_says_to_was_given_twice_and_writes_nothing()
    {
        var output = Path.Combine(_dir, "converted");
        Assert.Equal("#!ckpt-convert --to was given 2 times (one value expected)",
            await FailureOf($"#!ckpt-convert \"{Trajectory("step-0400")}\" --to safetensors --out \"{output}\" --to dcp"));
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task Reshard_magic_given_a_flag_twice_says_it_is_a_flag_given_once() =>
        Assert.Equal("#!ckpt-reshard --gated was given 2 times (a flag, given once)",
            await FailureOf($"#!ckpt-reshard \"{Trajectory("step-0400")}\" --world-size 2 --layout tp --gated --gated"));

    [Fact]
    public async Task A_repeated_option_is_reported_before_the_positional_values_are_counted() =>
        Assert.Equal("#!ckpt-load --name was given 2 times (one value expected)",
            await FailureOf($"#!ckpt-load \"{Trajectory("step-0025")}\" \"{Trajectory("step-0400")}\" --name a --name b"));

    [Fact]
    public async Task Each_use_of_a_magic_in_one_cell_counts_only_its_own_line()
    {
        // --name once per line: two lines, two variables, no failure.
        var result = await _harness.SubmitAsync($"#!ckpt-load \"{Trajectory("step-0025")}\" --name first\n#!ckpt-load \"{Trajectory("step-0400")}\" --name second");
        KernelHarness.AssertSucceeded(result);
    }

    [Fact]
    public async Task An_option_given_once_still_binds_its_value()
    {
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#!ckpt-load \"{Trajectory("step-0400")}\" --name once"));
        var value = await _harness.SubmitAsync("once.Manifest.Tensors.Count");
        KernelHarness.AssertSucceeded(value);
        Assert.True((int)KernelHarness.ReturnValue(value)! > 0);
    }

    /// <summary>Every option of every ckpt magic, declared as taking one value, given twice with the magic's required
    /// options present once; the options that take several values on purpose (the positional values, and those a
    /// verb's Kernel definition declares Many: `#!ckpt-merge --model`, `--only`) are the only ones left out.</summary>
    public static TheoryData<string, string> SingleValueOptions()
    {
        using var harness = new KernelHarness();
        var data = new TheoryData<string, string>();
        foreach (var directive in harness.Kernel.KernelInfo.SupportedDirectives.OfType<KernelActionDirective>().Where(d => d.Name.StartsWith("#!ckpt-")))
            foreach (var p in directive.Parameters.Where(p => !p.AllowImplicitName && !p.Flag && Extension.SingleValueOptions.OnceOptions(directive.Name).Contains(p.Name)))
                data.Add(directive.Name, p.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(SingleValueOptions))]
    public async Task Any_single_value_option_of_a_ckpt_magic_given_twice_fails_with_our_sentence(string magic, string option)
    {
        var directive = _harness.Kernel.KernelInfo.SupportedDirectives.OfType<KernelActionDirective>().Single(d => d.Name == magic);
        var required = directive.Parameters.Where(p => p.Required && p.Name != option).Select(p => $" {p.Name} x");
        Assert.Equal($"{magic} {option} was given 2 times (one value expected)",
            await FailureOf($"{magic}{string.Concat(required)} {option} one {option} two"));
    }

    // #!ckpt-layout and #!ckpt-diff take several --tensor globs, as their CLI commands do, so they have none.
    [Fact]
    public void Every_ckpt_magic_has_single_value_options_to_check() =>
        Assert.Equal(["#!ckpt-convert", "#!ckpt-finalize", "#!ckpt-finetune", "#!ckpt-generate", "#!ckpt-lcsc", "#!ckpt-load", "#!ckpt-merge", "#!ckpt-reshard", "#!ckpt-restor", "#!ckpt-smoothinv", "#!ckpt-stats"],
            SingleValueOptions().Select(row => (string)row[0]).Distinct().Order());

    public void Dispose()
    {
        _harness.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
