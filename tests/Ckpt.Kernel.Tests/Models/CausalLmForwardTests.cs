using Ckpt.Errors;
using Ckpt.Models;
using Xunit.Abstractions;

namespace Ckpt.Tests.Models;

public class CausalLmForwardTests(ITestOutputHelper output)
{
    static readonly string Reference = TestPaths.Fixture("hf-llama-tiny-sharded", "reference_logits.safetensors");

    [Fact]
    public void Forward_writes_f32_logits_equal_to_the_reference_within_1e_4()
    {
        var dir = TestPaths.TempDirectory("forward");
        var outFile = Path.Combine(dir, "logits.safetensors");
        var done = CausalLmForward.Run(TestPaths.Fixture("hf-llama-tiny-sharded"), Reference, outFile);

        Assert.Equal([2L, 12, 512], done.LogitsShape);
        using var written = Checkpoint.Open(outFile);
        Assert.Equal(Ckpt.Tensors.DType.F32, written.GetEntry("logits").DType);
        using var logits = ReferenceTensors.Load(outFile, "logits");
        using var expected = ReferenceTensors.Load(Reference, "logits");
        Assert.True(ReferenceTensors.MaxAbsDiff(logits, expected) < 1e-4);
    }

    [Fact]
    public void Forward_with_a_peft_adapter_through_the_cli_writes_pefts_adapter_logits_within_1e_4()
    {
        var dir = TestPaths.TempDirectory("forward-adapter");
        var outFile = Path.Combine(dir, "logits.safetensors");
        var peftReference = TestPaths.Fixture("peft-lora-llama-tiny", "reference.safetensors");
        var (code, stdout, stderr) = Cli.CliRunner.Run("forward", TestPaths.Fixture("hf-llama-tiny-sharded"), "--input-ids", peftReference,
            "--out", outFile, "--adapter", TestPaths.Fixture("peft-lora-llama-tiny"));
        Assert.True(code == 0, stderr);
        using var logits = ReferenceTensors.Load(outFile, "logits");
        using var expected = ReferenceTensors.Load(peftReference, "logits_with_adapter");
        var diff = ReferenceTensors.MaxAbsDiff(logits, expected);
        output.WriteLine($"{stdout.Trim()}; max abs difference from PEFT {diff:E3}");
        Assert.True(diff < 1e-4);
    }

    [Fact]
    public void Forward_can_compute_in_bf16_and_still_writes_f32_logits_close_to_the_reference()
    {
        var dir = TestPaths.TempDirectory("forward-bf16");
        var outFile = Path.Combine(dir, "logits.safetensors");
        var done = CausalLmForward.Run(TestPaths.Fixture("hf-llama-tiny-sharded"), Reference, outFile, computeDType: "bf16");

        Assert.Equal("BFloat16", done.ComputeDType);
        using var written = Checkpoint.Open(outFile);
        Assert.Equal(Ckpt.Tensors.DType.F32, written.GetEntry("logits").DType);
        using var logits = ReferenceTensors.Load(outFile, "logits");
        using var expected = ReferenceTensors.Load(Reference, "logits");
        var diff = ReferenceTensors.MaxAbsDiff(logits, expected);
        output.WriteLine($"bf16 compute: max abs difference {diff:E3}");
        // bf16 keeps 8 bits of mantissa; the tiny model's logits are O(1), so errors of a few 1e-2 are expected.
        Assert.True(diff is > 0 and < 0.1, $"max abs difference {diff:E3}");
    }

    [Fact]
    public void An_input_file_without_input_ids_is_refused_with_the_tensor_named()
    {
        var dir = TestPaths.TempDirectory("forward-bad");
        var ex = Assert.Throws<CheckpointFormatException>(() => CausalLmForward.Run(TestPaths.Fixture("hf-llama-tiny-sharded"),
            TestPaths.Fixture("hf-gpt2-tiny", "model.safetensors"), Path.Combine(dir, "x.safetensors")));
        Assert.Equal(FormatErrorReason.TensorNotFound, ex.Reason);
        Assert.Equal("input_ids", ex.Tensor);
        Assert.False(File.Exists(Path.Combine(dir, "x.safetensors")));
    }
}
