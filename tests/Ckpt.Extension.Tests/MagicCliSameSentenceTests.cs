namespace Ckpt.Extension.Tests;

/// <summary>
/// A magic and the CLI refuse the same input with the same sentence (both word it through the Kernel's
/// UserFacingError): a symlink loop, a tensor name with a newline, a world larger than the largest tensor.
/// </summary>
public sealed class MagicCliSameSentenceTests : IDisposable
{
    readonly KernelHarness _harness = new();
    readonly string _temp = Directory.CreateTempSubdirectory("ckpt-same-sentence-").FullName;

    static string Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(2, global::Ckpt.Cli.Program.Run(args, stdout, stderr));
        var line = Assert.Single(stderr.ToString().TrimEnd('\n').Split('\n'));
        Assert.StartsWith("ckpt: ", line);
        return line["ckpt: ".Length..];
    }

    static void AssertNoExceptionType(string sentence)
    {
        Assert.DoesNotContain("Exception", sentence);
        Assert.DoesNotContain("System.", sentence);
    }

    [Fact]
    public async Task A_symlink_loop_gives_the_same_sentence_from_load_and_inspect()
    {
        var loop = Path.Combine(_temp, "model.safetensors");
        File.CreateSymbolicLink(loop, "other");
        File.CreateSymbolicLink(Path.Combine(_temp, "other"), "model.safetensors");
        var magic = await _harness.FailureOfAsync($"#!ckpt-load \"{loop}\" --name m");
        Assert.Equal(Cli("inspect", loop), magic);
        Assert.EndsWith("[SymbolicLinkLoop].", magic);
        AssertNoExceptionType(magic);
    }

    [Fact]
    public async Task A_tensor_name_with_a_newline_is_escaped_alike_in_both()
    {
        var file = Path.Combine(_temp, "model.safetensors");
        TinySafetensors.Write(file, [("layer\n0.weight", [4])]);
        using (var f = new FileStream(file, FileMode.Open)) f.SetLength(f.Length - 4); // the tensor's bytes now run past the end
        var magic = await _harness.FailureOfAsync($"#!ckpt-load \"{file}\" --name m");
        Assert.Equal(Cli("inspect", file), magic);
        Assert.Contains(@"'layer\n0.weight'", magic);
        AssertNoExceptionType(magic);
    }

    [Fact]
    public async Task A_bad_restor_fact_and_a_missing_unlearned_model_are_refused_alike_by_the_magic_and_the_cli()
    {
        var model = TestPaths.Fixture("hf-llama-tiny-sharded");
        var facts = Path.Combine(_temp, "facts.jsonl");
        File.WriteAllText(facts, "{\"prompt\": \"p\", \"answers\": \"The Rome\", \"corruptedAnswers\": \"rome.\"}\n");
        var magic = await _harness.FailureOfAsync($"#!ckpt-restor --clean \"{model}\" --corrupted \"{model}\" --unlearned \"{model}\" --facts \"{facts}\"");
        Assert.Equal(Cli("restor", "--clean", model, "--corrupted", model, "--unlearned", model, "--facts", facts), magic);
        Assert.Equal("facts.jsonl line 1: 'rome' is both a clean and a corrupted answer", magic);
        var gone = Path.Combine(_temp, "gone");
        magic = await _harness.FailureOfAsync($"#!ckpt-restor --clean \"{model}\" --corrupted \"{model}\" --unlearned \"{gone}\" --facts \"{facts}\"");
        Assert.Equal(Cli("restor", "--clean", model, "--corrupted", model, "--unlearned", gone, "--facts", facts), magic);
        Assert.Equal($"--unlearned model {gone} does not exist", magic);
        AssertNoExceptionType(magic);
    }

    [Fact]
    public async Task A_world_larger_than_the_largest_tensor_is_refused_alike_by_the_magic_and_the_cli()
    {
        var source = TestPaths.Fixture("hf-gpt2-tiny");
        var magic = await _harness.FailureOfAsync($"#!ckpt-reshard \"{source}\" --world-size 2147483647 --out \"{Path.Combine(_temp, "m")}\"");
        Assert.Equal(Cli("reshard", source, "--world-size", "2147483647", "--out", Path.Combine(_temp, "c")), magic);
        Assert.EndsWith("[OptionOutOfRange].", magic);
        var planOnly = await _harness.FailureOfAsync($"#!ckpt-reshard \"{source}\" --world-size 2147483647");
        Assert.Equal(magic, planOnly);
    }

    [Fact]
    public async Task Finalize_with_a_part_missing_is_refused_alike_by_the_magic_and_the_cli()
    {
        var source = TestPaths.Fixture("dcp-fsdp2-4rank");
        var output = Path.Combine(_temp, "parts");
        Assert.Equal(0, Ckpt.Cli.Program.Run(["reshard", source, "--world-size", "2", "--out", output, "--rank", "1", "--ranks", "2"], TextWriter.Null, TextWriter.Null));
        var magic = await _harness.FailureOfAsync($"#!ckpt-finalize \"{output}\"");
        Assert.Equal(Cli("finalize", output), magic);
        Assert.Contains("1 of the 2 parts is missing: part-00000-of-00002", magic);
    }

    [Fact]
    public async Task A_non_png_image_and_a_missing_target_are_refused_alike_by_smoothinv_magic_and_cli()
    {
        var classifier = TestPaths.Fixture("smoothinv/backdoored-cnn.pt");
        var notPng = Path.Combine(_temp, "image.png");
        File.WriteAllText(notPng, "not a png");
        var magic = await _harness.FailureOfAsync($"#!ckpt-smoothinv \"{classifier}\" --image \"{notPng}\" --target 7 --out \"{Path.Combine(_temp, "m")}\"");
        Assert.Equal(Cli("smoothinv", classifier, "--image", notPng, "--target", "7", "--out", Path.Combine(_temp, "c")), magic);
        Assert.StartsWith(notPng, magic);
        AssertNoExceptionType(magic);
        var image = TestPaths.Fixture("smoothinv/clean.png");
        magic = await _harness.FailureOfAsync($"#!ckpt-smoothinv \"{classifier}\" --image \"{image}\" --out \"{Path.Combine(_temp, "m")}\"");
        Assert.Equal(Cli("smoothinv", classifier, "--image", image, "--out", Path.Combine(_temp, "c")), magic);
        Assert.Equal("smoothinv needs --target k or --scan", magic);
        Assert.False(Directory.Exists(Path.Combine(_temp, "m")));
    }

    public void Dispose()
    {
        _harness.Dispose();
        Directory.Delete(_temp, recursive: true);
    }
}
