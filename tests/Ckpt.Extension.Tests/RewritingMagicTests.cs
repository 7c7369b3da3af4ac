using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ckpt.Extension.Rewriting;
using Ckpt.Extension.Visualisation;
using Ckpt.Merging;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Events;

namespace Ckpt.Extension.Tests;

/// <summary>`#!ckpt-reshard`, `#!ckpt-convert`, `#!ckpt-merge` and `#!ckpt-lcsc` in a real CompositeKernel.</summary>
public sealed class RewritingMagicTests : IDisposable
{
    readonly KernelHarness _harness = new();
    readonly string _out = Directory.CreateTempSubdirectory("ckpt-magic-").FullName;

    static string Trajectory(string step) => TestPaths.Fixture($"trajectory-llama-micro/{step}.safetensors");

    /// <summary>The numeric cells of one class in the magic's table, from their `data-value`.</summary>
    static double[] Column(KernelCommandResult result, string cls) =>
        Regex.Matches(KernelHarness.Html(result), $"<td class=\"{cls}\" data-value=\"([^\"]+)\"")
            .Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToArray();

    static string FailureMessage(KernelCommandResult result) =>
        KernelHarness.Failure(result)?.Message ?? throw new Xunit.Sdk.XunitException("the magic succeeded where it should have failed");

    static void AssertOneSentence(string message)
    {
        Assert.DoesNotContain("\n", message.Trim());
        Assert.DoesNotContain("   at ", message);
    }

    [Fact]
    public async Task Reshard_magic_writes_three_ranks_reading_at_most_1_05_times_what_each_needs_and_binds_the_result()
    {
        var source = TestPaths.Fixture("dcp-fsdp2-4rank");
        var result = await _harness.SubmitAsync($"#!ckpt-reshard \"{source}\" --world-size 3 --out \"{_out}\" --name resharded");
        KernelHarness.AssertSucceeded(result);
        Assert.Equal([0, 1, 2], Column(result, "rank"));
        var ratios = Column(result, "ratio");
        Assert.Equal(3, ratios.Length);
        Assert.All(ratios, r => Assert.InRange(r, 0.999, 1.05));
        Assert.Equal(3, Column(result, "phase-load").Length);
        Assert.Contains("<th>write s</th>", KernelHarness.Html(result));

        var bound = await _harness.SubmitAsync("resharded.Ranks.Count");
        KernelHarness.AssertSucceeded(bound);
        Assert.Equal(3, KernelHarness.ReturnValue(bound));

        using var written = Checkpoint.Open(_out);
        using var original = Checkpoint.Open(source);
        Assert.Equal(3, written.Manifest.Tensors.SelectMany(t => t.Fragments).Select(f => f.Payload.File).Distinct().Count());
        foreach (var t in original.Manifest.Tensors)
        {
            using var a = original.Read(t.Name);
            using var b = written.Read(t.Name);
            Assert.True(a.Bytes.SequenceEqual(b.Bytes), t.Name);
        }
    }

    [Fact]
    public async Task Reshard_magic_parts_then_finalize_magic_commit_the_output_one_reshard_writes()
    {
        var source = TestPaths.Fixture("dcp-fsdp2-4rank");
        var output = Path.Combine(_out, "parts");
        for (int r = 0; r < 2; r++)
            KernelHarness.AssertSucceeded(await _harness.SubmitAsync($"#!ckpt-reshard \"{source}\" --world-size 2 --out \"{output}\" --rank {r} --ranks 2"));
        Assert.False(Directory.Exists(output));
        var result = await _harness.SubmitAsync($"#!ckpt-finalize \"{output}\" --name finalized");
        KernelHarness.AssertSucceeded(result);
        Assert.Contains("Finalized the reshard output of 2 parts", KernelHarness.Html(result));
        var bound = await _harness.SubmitAsync("finalized.IndexFiles.Count");
        KernelHarness.AssertSucceeded(bound);
        Assert.Equal(1, KernelHarness.ReturnValue(bound));
        using var written = Checkpoint.Open(output);
        Assert.Equal(2, written.Manifest.Layout.WorldSize);
    }

    [Fact]
    public async Task Reshard_magic_without_out_plans_a_2x2_mesh_and_writes_nothing()
    {
        var result = await _harness.SubmitAsync($"#!ckpt-reshard \"{TestPaths.Fixture("dcp-dtensor1d-4rank")}\" --mesh 2x2 --placements \"Shard(0),Shard(1)\"");
        KernelHarness.AssertSucceeded(result);
        Assert.Equal(4, Column(result, "rank").Length);
        Assert.Contains("nothing written", KernelHarness.Html(result));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_out));
    }

    [Fact]
    public async Task Reshard_magic_on_a_missing_path_fails_with_one_sentence_naming_it()
    {
        var missing = Path.Combine(_out, "no-such-run");
        var message = FailureMessage(await _harness.SubmitAsync($"#!ckpt-reshard \"{missing}\" --world-size 2"));
        AssertOneSentence(message);
        Assert.Contains("no-such-run", message);
    }

    [Fact]
    public async Task Reshard_magic_with_a_mesh_that_disagrees_with_the_world_size_names_both()
    {
        var message = FailureMessage(await _harness.SubmitAsync($"#!ckpt-reshard \"{TestPaths.Fixture("dcp-fsdp2-4rank")}\" --world-size 3 --mesh 2x2"));
        AssertOneSentence(message);
        Assert.Contains("--world-size 3", message);
        Assert.Contains("2x2", message);
    }

    [Fact]
    public async Task Convert_magic_writes_float16_safetensors_of_the_selected_tensors_and_binds_the_result()
    {
        var source = TestPaths.Fixture("dcp-dtensor1d-4rank");
        var result = await _harness.SubmitAsync($"#!ckpt-convert \"{source}\" --to safetensors --out \"{_out}\" --only \"model.layers.0.**\" --dtype F16 --name converted");
        KernelHarness.AssertSucceeded(result);
        Assert.Contains("Converted", KernelHarness.Html(result));
        var bound = await _harness.SubmitAsync("converted.TensorCount");
        KernelHarness.AssertSucceeded(bound);

        using var original = Checkpoint.Open(source);
        using var written = Checkpoint.Open(_out);
        var selected = original.Manifest.Tensors.Where(t => t.Name.StartsWith("model.layers.0.", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(selected);
        Assert.Equal(selected.Count, KernelHarness.ReturnValue(bound));
        Assert.Equal(selected.Select(t => t.Name).Order(), written.Manifest.Tensors.Select(t => t.Name).Order());
        foreach (var t in selected)
        {
            Assert.Equal(Tensors.DType.F16, written.Manifest.Find(t.Name)!.DType);
            using var a = original.Read(t.Name);
            using var b = written.Read(t.Name);
            var expected = a.ToFloats().Select(x => (float)(Half)x).ToArray();
            Assert.Equal(expected, b.ToFloats());
        }
    }

    [Fact]
    public async Task Convert_magic_to_an_unknown_format_names_it()
    {
        var message = FailureMessage(await _harness.SubmitAsync($"#!ckpt-convert \"{Trajectory("step-0400")}\" --to onnx --out \"{_out}\""));
        AssertOneSentence(message);
        Assert.Contains("onnx", message);
    }

    public static TheoryData<string> MergeMethodNames() => new(MergeMethods.All.Select(m => m.CliName));

    /// <summary>Every method in <see cref="MergeMethods"/> runs from the magic, as from `ckpt merge` (MergeMethodRegistryTests).</summary>
    [Theory]
    [MemberData(nameof(MergeMethodNames))]
    public async Task Merge_magic_runs_every_registered_method(string cliName)
    {
        var inputs = cliName == MergeMethods.Slerp.CliName
            ? $"--model \"{Trajectory("step-0375")}\" --model \"{Trajectory("step-0400")}\""
            : $"--base \"{Trajectory("step-0100")}\" --model \"{Trajectory("step-0375")}\" --model \"{Trajectory("step-0400")}\"";
        var result = await _harness.SubmitAsync($"#!ckpt-merge --method {cliName} {inputs} --density 0.5 --out \"{Path.Combine(_out, cliName)}\" --name merged");
        KernelHarness.AssertSucceeded(result);
        var bound = await _harness.SubmitAsync("merged.Method");
        KernelHarness.AssertSucceeded(bound);
        Assert.Equal(cliName.Replace('-', '_'), KernelHarness.ReturnValue(bound));
    }

    [Fact]
    public void Merge_magic_method_help_lists_exactly_the_registered_methods()
    {
        var directive = _harness.Kernel.KernelInfo.SupportedDirectives
            .OfType<Microsoft.DotNet.Interactive.Directives.KernelActionDirective>().Single(d => d.Name == "#!ckpt-merge");
        Assert.Equal(MergeMethods.CliNames, directive.Parameters.Single(p => p.Name == "--method").Description);
    }

    [Fact]
    public async Task Merge_magic_linear_equals_the_weighted_sum_of_its_inputs()
    {
        var result = await _harness.SubmitAsync(
            $"#!ckpt-merge --method linear --model \"{Trajectory("step-0375")}:0.3\" --model \"{Trajectory("step-0400")}:0.7\" --out \"{_out}\" --name merged");
        KernelHarness.AssertSucceeded(result);
        Assert.Equal([0.3, 0.7], Column(result, "weight"));
        var bound = await _harness.SubmitAsync("merged.Method");
        KernelHarness.AssertSucceeded(bound);
        Assert.Equal("linear", KernelHarness.ReturnValue(bound));

        using var a = Checkpoint.Open(Trajectory("step-0375"));
        using var b = Checkpoint.Open(Trajectory("step-0400"));
        using var m = Checkpoint.Open(_out);
        Assert.Equal(a.Manifest.Tensors.Count, m.Manifest.Tensors.Count);
        foreach (var t in a.Manifest.Tensors)
        {
            using var x = a.Read(t.Name);
            using var y = b.Read(t.Name);
            using var z = m.Read(t.Name);
            var xs = x.ToFloats();
            var ys = y.ToFloats();
            var zs = z.ToFloats();
            // mergekit's linear merge: Σ wᵢθᵢ / Σ wᵢ; float32 output, so within a few ulps of the double formula.
            for (int i = 0; i < zs.Length; i++)
                Assert.True(Math.Abs(zs[i] - (0.3 * xs[i] + 0.7 * ys[i])) <= 1e-6 + 1e-6 * Math.Abs(zs[i]), $"{t.Name}[{i}]");
        }
    }

    [Fact]
    public async Task Merge_magic_with_an_unknown_method_fails_with_one_sentence_naming_it()
    {
        var message = FailureMessage(await _harness.SubmitAsync(
            $"#!ckpt-merge --method frankenmerge --model \"{Trajectory("step-0375")}\" --model \"{Trajectory("step-0400")}\" --out \"{_out}\""));
        AssertOneSentence(message);
        Assert.Contains("frankenmerge", message);
    }

    [Fact]
    public async Task Merge_magic_with_a_missing_model_fails_with_one_sentence_naming_the_path()
    {
        var missing = Path.Combine(_out, "step-9999.safetensors");
        var message = FailureMessage(await _harness.SubmitAsync(
            $"#!ckpt-merge --method linear --model \"{Trajectory("step-0400")}\" --model \"{missing}\" --out \"{Path.Combine(_out, "merged")}\""));
        AssertOneSentence(message);
        Assert.Contains("step-9999", message);
    }

    [Fact]
    public async Task Lcsc_magic_redraws_one_chart_in_place_and_finds_the_midpoint_it_is_asked_for()
    {
        // Target: the exact midpoint of two checkpoints; the search must find coefficients near (0.5, 0.5).
        var target = Path.Combine(_out, "midpoint");
        MergeExecutor.RunToDirectory(new MergeSpec
        {
            Method = MergeMethods.Linear,
            Models = [new MergeInput(Trajectory("step-0375"), 0.5), new MergeInput(Trajectory("step-0400"), 0.5)],
        }, target);
        var output = Path.Combine(_out, "best");
        LiveSearchChart.Interval = TimeSpan.FromMilliseconds(50);
        var result = await _harness.SubmitAsync(
            $"#!ckpt-lcsc \"{Trajectory("step-0375")},{Trajectory("step-0400")}\" --eval \"mse:{target}\" --budget 60 --seed 3 --out \"{output}\" --name search");
        KernelHarness.AssertSucceeded(result);

        var produced = result.Events.OfType<DisplayedValueProduced>().Where(e => e.FormattedValues.Any(v => v.MimeType == ChartOutput.PlotlyMimeType)).ToList();
        var updates = result.Events.OfType<DisplayedValueUpdated>().ToList();
        Assert.Single(produced);
        Assert.NotEmpty(updates);
        Assert.All(updates, u => Assert.Equal(produced[0].ValueId, u.ValueId));
        var last = updates[^1].FormattedValues;
        using var figure = JsonDocument.Parse(last.Single(v => v.MimeType == ChartOutput.PlotlyMimeType).Value);
        var bars = figure.RootElement.GetProperty("data")[2];
        Assert.Equal(["step-0375", "step-0400"], bars.GetProperty("x").EnumerateArray().Select(x => x.GetString()));
        Assert.Contains("DecompressionStream", last.Single(v => v.MimeType == "text/html").Value);

        var coefficients = Column(result, "coefficient");
        Assert.Equal(2, coefficients.Length);
        Assert.All(coefficients, c => Assert.InRange(c, 0.45, 0.55));
        Assert.Equal(1.0, coefficients.Sum(), 9);
        Assert.True(File.Exists(Path.Combine(output, CombinationSearch.LogFileName)));
        var bound = await _harness.SubmitAsync("search.Search.Evaluations");
        KernelHarness.AssertSucceeded(bound);
        Assert.Equal(60, KernelHarness.ReturnValue(bound));
    }

    [Fact]
    public async Task Lcsc_magic_with_an_unknown_metric_fails_with_one_sentence_naming_it()
    {
        var message = FailureMessage(await _harness.SubmitAsync(
            $"#!ckpt-lcsc \"{Trajectory("step-0375")},{Trajectory("step-0400")}\" --eval perplexity:foo"));
        AssertOneSentence(message);
        Assert.Contains("perplexity:foo", message);
    }

    [Fact]
    public async Task Lcsc_magic_on_a_missing_folder_fails_with_one_sentence_naming_it()
    {
        var message = FailureMessage(await _harness.SubmitAsync($"#!ckpt-lcsc \"{Path.Combine(_out, "no-run", "step-*.safetensors")}\" --eval mse:x"));
        AssertOneSentence(message);
        Assert.Contains("no-run", message);
    }

    [Fact]
    public async Task Stopping_an_lcsc_cell_ends_it_as_failed_with_nothing_written()
    {
        LiveSearchChart.Interval = TimeSpan.FromMilliseconds(50);
        var firstUpdate = new TaskCompletionSource();
        var updates = new System.Collections.Concurrent.ConcurrentQueue<DisplayedValueUpdated>();
        using var subscription = _harness.Kernel.KernelEvents.Subscribe(e =>
        {
            if (e is not DisplayedValueUpdated u) return;
            updates.Enqueue(u);
            firstUpdate.TrySetResult();
        });
        var folder = TestPaths.Fixture("trajectory-llama-micro");
        var running = _harness.SubmitAsync($"#!ckpt-lcsc \"{folder}\" --eval \"mse:{Trajectory("step-0200")}\" --budget 100000 --out \"{_out}\"");
        await firstUpdate.Task.WaitAsync(TimeSpan.FromMinutes(5));
        await _harness.Kernel.SendAsync(new Microsoft.DotNet.Interactive.Commands.Cancel());
        var result = await running.WaitAsync(TimeSpan.FromMinutes(2));

        Assert.NotNull(KernelHarness.Failure(result));
        Assert.All(updates, u => Assert.Equal(updates.First().ValueId, u.ValueId));
        // Nothing is written for a search that did not finish.
        Assert.False(File.Exists(Path.Combine(_out, CombinationSearch.LogFileName)));
    }

    [Fact]
    public async Task Lcsc_magic_with_eval_loss_where_LibTorch_is_absent_says_so_in_one_sentence()
    {
        // This test project has TorchSharp's managed assembly only (as a notebook has until it references a LibTorch package).
        var batch = TestPaths.Fixture("trajectory-llama-micro/eval_batch.safetensors");
        var message = FailureMessage(await _harness.SubmitAsync(
            $"#!ckpt-lcsc \"{Trajectory("step-0375")},{Trajectory("step-0400")}\" --eval \"eval-loss:{batch}\" --budget 3"));
        AssertOneSentence(message);
        Assert.Contains("LibTorch", message);
    }

    [Fact]
    public async Task Merge_magic_takes_a_mergekit_config()
    {
        var config = Path.Combine(_out, "merge.yaml");
        File.WriteAllText(config, $"""
            merge_method: slerp
            models:
              - model: {Trajectory("step-0375")}
              - model: {Trajectory("step-0400")}
            parameters:
              t: 0.25
            dtype: float16
            """);
        var result = await _harness.SubmitAsync($"#!ckpt-merge --config \"{config}\" --out \"{Path.Combine(_out, "merged")}\"");
        KernelHarness.AssertSucceeded(result);
        Assert.Contains("slerp: merged 21 tensors", KernelHarness.Html(result));
        using var merged = Checkpoint.Open(Path.Combine(_out, "merged"));
        Assert.All(merged.Manifest.Tensors, t => Assert.Equal(Tensors.DType.F16, t.DType));
    }

    [Fact]
    public async Task Every_writing_magic_refuses_a_folder_of_the_users_files_with_the_cli_sentence_even_with_overwrite()
    {
        var output = Path.Combine(_out, "mine");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "notes.txt"), "the user's notes");
        var (a, b) = (Trajectory("step-0375"), Trajectory("step-0400"));
        foreach (var overwrite in new[] { "", " --overwrite" })
        {
            // The CLI prints this same Kernel sentence after "ckpt: ".
            var expected = Assert.Throws<Ckpt.Errors.CheckpointFormatException>(() => Ckpt.Outputs.OutputFolder.Check(output, [], overwrite.Length > 0)).Message;
            foreach (var magic in new[]
            {
                $"#!ckpt-convert \"{a}\" --out \"{output}\"{overwrite}",
                $"#!ckpt-reshard \"{TestPaths.Fixture("dcp-fsdp2-4rank")}\" --world-size 2 --out \"{output}\"{overwrite}",
                $"#!ckpt-merge --method linear --model \"{a}\" --model \"{b}\" --out \"{output}\"{overwrite}",
                $"#!ckpt-lcsc \"{a},{b}\" --eval \"mse:{Trajectory("step-0200")}\" --budget 2 --out \"{output}\"{overwrite}",
            })
            {
                var message = FailureMessage(await _harness.SubmitAsync(magic));
                Assert.Equal(expected, message);
                AssertOneSentence(message);
            }
        }
        Assert.Equal(["notes.txt"], Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName));
        Assert.Equal("the user's notes", File.ReadAllText(Path.Combine(output, "notes.txt")));
    }

    [Fact]
    public async Task Convert_magic_refuses_an_out_inside_its_input_with_the_cli_sentence()
    {
        var source = Path.Combine(_out, "source");
        Directory.CreateDirectory(source);
        File.Copy(TestPaths.Fixture("hf-gpt2-tiny/model.safetensors"), Path.Combine(source, "model.safetensors"));
        var inside = Path.Combine(source, "converted");
        var expected = Assert.Throws<Ckpt.Errors.CheckpointFormatException>(() => Ckpt.Outputs.OutputFolder.Check(inside, [source], false)).Message;
        Assert.Equal(expected, FailureMessage(await _harness.SubmitAsync($"#!ckpt-convert \"{source}\" --out \"{inside}\"")));
        Assert.Equal(["model.safetensors"], Directory.EnumerateFileSystemEntries(source).Select(Path.GetFileName));
    }

    public void Dispose()
    {
        _harness.Dispose();
        try { Directory.Delete(_out, recursive: true); } catch (IOException) { }
    }
}
