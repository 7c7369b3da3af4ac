using Microsoft.DotNet.Interactive;

namespace Ckpt.Extension.Tests;

/// <summary>
/// Magics whose values can repeat, given none, one or too many: each count reaches the handler (the binder's DNI104/
/// DNI106 never shows) and a wrong one fails the cell with the magic's own sentence.
/// </summary>
public sealed class MagicValueCountTests : IDisposable
{
    readonly KernelHarness _harness = new();
    readonly string _out = Directory.CreateTempSubdirectory("ckpt-count-").FullName;

    static string Trajectory(string step) => TestPaths.Fixture($"trajectory-llama-micro/{step}.safetensors");

    Task<string> FailureOf(string code) => _harness.FailureOfAsync(code);

    const string DiffUsage = "#!ckpt-diff <a> <b> [--tensor glob]";

    [Fact]
    public async Task Diff_magic_given_one_checkpoint_says_it_needs_two() =>
        Assert.Equal($"#!ckpt-diff needs two checkpoints and was given one value: {DiffUsage}",
            await FailureOf($"#!ckpt-diff \"{Trajectory("step-0025")}\""));

    [Fact]
    public async Task Diff_magic_given_no_checkpoint_says_it_needs_two() =>
        Assert.Equal($"#!ckpt-diff needs two checkpoints and was given no value: {DiffUsage}",
            await FailureOf("#!ckpt-diff --tensor model.**"));

    [Fact]
    public async Task Diff_magic_given_three_checkpoints_says_it_needs_two() =>
        Assert.Equal($"#!ckpt-diff needs two checkpoints and was given 3 values: {DiffUsage}",
            await FailureOf($"#!ckpt-diff \"{Trajectory("step-0025")}\" \"{Trajectory("step-0375")}\" \"{Trajectory("step-0400")}\""));

    [Fact]
    public async Task Diff_magic_takes_two_checkpoints_around_its_tensor_option()
    {
        var result = await _harness.SubmitAsync($"#!ckpt-diff \"{Trajectory("step-0025")}\" --tensor model.layers.1.** \"{Trajectory("step-0400")}\"");
        KernelHarness.AssertSucceeded(result);
        Assert.Matches(@"\d+ compared, 0 added, 0 removed", KernelHarness.Html(result));
        Assert.DoesNotContain("model.layers.0.", KernelHarness.Html(result));
    }

    const string StatsUsage = "#!ckpt-stats <var|path> <tensor> [--bins n]";

    [Fact]
    public async Task Stats_magic_given_only_a_checkpoint_asks_for_the_tensor_too() =>
        Assert.Equal($"#!ckpt-stats needs a checkpoint and a tensor name and was given one value: {StatsUsage}",
            await FailureOf($"#!ckpt-stats \"{Trajectory("step-0400")}\" --bins 8"));

    [Fact]
    public async Task Stats_magic_given_nothing_asks_for_a_checkpoint_and_a_tensor() =>
        Assert.Equal($"#!ckpt-stats needs a checkpoint and a tensor name and was given no value: {StatsUsage}",
            await FailureOf("#!ckpt-stats"));

    [Fact]
    public async Task Stats_magic_given_two_tensors_says_it_takes_one() =>
        Assert.Equal($"#!ckpt-stats needs a checkpoint and a tensor name and was given 3 values: {StatsUsage}",
            await FailureOf($"#!ckpt-stats \"{Trajectory("step-0400")}\" model.norm.weight model.layers.1.mlp.down_proj.weight"));

    [Fact]
    public async Task Stats_magic_takes_a_path_and_a_tensor()
    {
        var result = await _harness.SubmitAsync($"#!ckpt-stats \"{Trajectory("step-0400")}\" model.layers.1.mlp.down_proj.weight --bins 8");
        KernelHarness.AssertSucceeded(result);
        Assert.Contains("model.layers.1.mlp.down_proj.weight", KernelHarness.Html(result));
    }

    [Fact]
    public async Task Merge_magic_with_one_model_for_slerp_says_slerp_needs_two() =>
        Assert.Equal("key 'models' slerp interpolates exactly two models (expected 2, found 1) [MergeConfigInvalid].",
            await FailureOf($"#!ckpt-merge --method slerp --model \"{Trajectory("step-0375")}\" --out \"{_out}\""));

    [Fact]
    public async Task Merge_magic_with_three_models_for_slerp_says_slerp_needs_two() =>
        Assert.Equal("key 'models' slerp interpolates exactly two models (expected 2, found 3) [MergeConfigInvalid].",
            await FailureOf($"#!ckpt-merge --method slerp --model \"{Trajectory("step-0025")}\" --model \"{Trajectory("step-0375")}\" " +
                            $"--model \"{Trajectory("step-0400")}\" --out \"{_out}\""));

    [Fact]
    public async Task Merge_magic_with_no_model_says_one_is_needed() =>
        Assert.Equal("key 'models' at least one model is needed [MergeConfigInvalid].",
            await FailureOf($"#!ckpt-merge --method linear --out \"{_out}\""));

    [Fact]
    public async Task Merge_magic_takes_a_single_model_against_its_base()
    {
        // task arithmetic with one model: base + λ(model − base), here halfway between step 25 and step 400.
        var result = await _harness.SubmitAsync(
            $"#!ckpt-merge --method task-arithmetic --base \"{Trajectory("step-0025")}\" --model \"{Trajectory("step-0400")}\" --lambda 0.5 --out \"{_out}\"");
        KernelHarness.AssertSucceeded(result);
        using var b = Checkpoint.Open(Trajectory("step-0025"));
        using var m = Checkpoint.Open(Trajectory("step-0400"));
        using var merged = Checkpoint.Open(_out);
        Assert.Equal(b.Manifest.Tensors.Count, merged.Manifest.Tensors.Count);
        foreach (var t in b.Manifest.Tensors)
        {
            using var x = b.Read(t.Name);
            using var y = m.Read(t.Name);
            using var z = merged.Read(t.Name);
            var (xs, ys, zs) = (x.ToFloats(), y.ToFloats(), z.ToFloats());
            for (int i = 0; i < zs.Length; i++)
                Assert.True(Math.Abs(zs[i] - (xs[i] + 0.5 * (ys[i] - xs[i]))) <= 1e-6 + 1e-6 * Math.Abs(zs[i]), $"{t.Name}[{i}]");
        }
    }

    // Magics with one positional value: the binder fills it only when it is given once, so none and two reach the
    // handler the same way (empty) and the line tells them apart.

    [Theory]
    [InlineData("#!ckpt-layout --tensor model.**", "#!ckpt-layout needs one checkpoint and was given no value: #!ckpt-layout <var|path> [--tensor glob]")]
    [InlineData("#!ckpt-layout {a} --tensor model.** {b}", "#!ckpt-layout needs one checkpoint and was given 2 values: #!ckpt-layout <var|path> [--tensor glob]")]
    [InlineData("#!ckpt-layout --checkpoint {a} --checkpoint {b}", "#!ckpt-layout needs one checkpoint and was given 2 values: #!ckpt-layout <var|path> [--tensor glob]")]
    [InlineData("#!ckpt-load", "#!ckpt-load needs one checkpoint and was given no value: #!ckpt-load <folder or file> [--name var]")]
    [InlineData("#!ckpt-load {a} {b} --name both", "#!ckpt-load needs one checkpoint and was given 2 values: #!ckpt-load <folder or file> [--name var]")]
    [InlineData("#!ckpt-reshard --world-size 2", "#!ckpt-reshard needs one checkpoint and was given no value: #!ckpt-reshard <path> --world-size N [--mesh AxB] [--placements ...] [--out dir]")]
    [InlineData("#!ckpt-reshard {a} --world-size 2 --gated {b}", "#!ckpt-reshard needs one checkpoint and was given 2 values: #!ckpt-reshard <path> --world-size N [--mesh AxB] [--placements ...] [--out dir]")]
    [InlineData("#!ckpt-convert {a} {b} --to safetensors --out {out}", "#!ckpt-convert needs one checkpoint and was given 2 values: #!ckpt-convert <path> --to safetensors|dcp|torch --out <dir> [--only glob] [--dtype F16]")]
    [InlineData("#!ckpt-lcsc --eval mse:x", "#!ckpt-lcsc needs checkpoints and was given no value: #!ckpt-lcsc <folder|glob|a,b,c|a b c> --eval eval-loss:<batch.safetensors>[#key] or mse:<checkpoint>")]
    [InlineData("#!ckpt-timeline {a} {b}", "#!ckpt-timeline takes at most one checkpoint and was given 2 values: #!ckpt-timeline [var]")]
    [InlineData("#!ckpt-recovery", "#!ckpt-recovery needs one result variable and was given no value: #!ckpt-recovery <var>")]
    [InlineData("#!ckpt-recovery first second", "#!ckpt-recovery needs one result variable and was given 2 values: #!ckpt-recovery <var>")]
    public async Task A_single_value_magic_given_none_or_two_says_so_in_its_own_sentence(string line, string sentence)
    {
        var code = line.Replace("{a}", $"\"{Trajectory("step-0375")}\"").Replace("{b}", $"\"{Trajectory("step-0400")}\"")
            .Replace("{out}", $"\"{_out}\"");
        Assert.Equal(sentence, await FailureOf(code));
    }

    [Fact]
    public async Task Lcsc_magic_takes_its_checkpoints_as_separate_values()
    {
        var result = await _harness.SubmitAsync($"#!ckpt-lcsc \"{Trajectory("step-0025")}\" \"{Trajectory("step-0375")}\" --budget 8 \"{Trajectory("step-0400")}\" " +
                                                $"--eval \"mse:{Trajectory("step-0400")}\" --name search");
        KernelHarness.AssertSucceeded(result);
        var names = await _harness.SubmitAsync("string.Join(\" \", search.Checkpoints.Select(System.IO.Path.GetFileNameWithoutExtension))");
        KernelHarness.AssertSucceeded(names);
        Assert.Equal("step-0025 step-0375 step-0400", KernelHarness.ReturnValue(names));
    }

    [Fact]
    public async Task Timeline_magic_still_runs_with_no_value()
    {
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#!ckpt-stats \"{Trajectory("step-0400")}\" model.norm.weight"));
        KernelHarness.AssertSucceeded(await _harness.SubmitAsync("#!ckpt-timeline"));
    }

    [Fact]
    public async Task Each_use_of_a_magic_in_one_cell_reads_its_own_line()
    {
        var path = Trajectory("step-0400");
        var result = await _harness.SubmitAsync($"#!ckpt-stats \"{path}\" model.norm.weight --bins 4\n#!ckpt-stats \"{path}\" model.layers.1.mlp.down_proj.weight");
        KernelHarness.AssertSucceeded(result);
        var html = KernelHarness.Html(result);
        Assert.Contains("model.norm.weight", html);
        Assert.Contains("model.layers.1.mlp.down_proj.weight", html);
    }

    public void Dispose()
    {
        _harness.Dispose();
        Directory.Delete(_out, recursive: true);
    }
}
