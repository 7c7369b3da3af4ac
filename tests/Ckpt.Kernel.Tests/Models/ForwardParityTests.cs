using Ckpt.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Models;

/// <summary>Logits against those transformers computed for the same weights and input_ids [2, 12] (fp32, max abs 1e-4).</summary>
public class ForwardParityTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;

    double MaxDifferenceFromReference(string checkpointPath, string referenceFile, ModelConfig? config = null)
    {
        using var ckpt = Checkpoint.Open(checkpointPath);
        using var model = CausalLanguageModel.Load(ckpt, config);
        using var ids = ReferenceTensors.Load(referenceFile, "input_ids");
        using var expected = ReferenceTensors.Load(referenceFile, "logits");
        using var noGrad = no_grad();
        using var logits = model.Forward(ids);
        var diff = ReferenceTensors.MaxAbsDiff(logits, expected);
        output.WriteLine($"{checkpointPath}: max abs difference {diff:E3}");
        return diff;
    }

    [Fact]
    public void Llama_from_sharded_safetensors_reproduces_the_transformers_logits()
    {
        var diff = MaxDifferenceFromReference(TestPaths.Fixture("hf-llama-tiny-sharded"),
            TestPaths.Fixture("hf-llama-tiny-sharded", "reference_logits.safetensors"));
        Assert.True(diff < Tolerance, $"max abs difference {diff:E3}");
    }

    [Fact]
    public void Gpt2_with_conv1d_weights_and_tied_head_reproduces_the_transformers_logits()
    {
        var diff = MaxDifferenceFromReference(TestPaths.Fixture("hf-gpt2-tiny"),
            TestPaths.Fixture("hf-gpt2-tiny", "reference_logits.safetensors"));
        Assert.True(diff < Tolerance, $"max abs difference {diff:E3}");
    }

    [Trait("Category", "slow")]
    [Fact]
    public void The_same_llama_weights_in_one_flat_file_without_a_config_give_the_same_logits()
    {
        var config = ModelConfig.ReadFile(TestPaths.Fixture("hf-llama-tiny-sharded", "config.json"));
        var diff = MaxDifferenceFromReference(TestPaths.Fixture("dcp-dtensor1d-4rank", "reference_full_model.safetensors"),
            TestPaths.Fixture("hf-llama-tiny-sharded", "reference_logits.safetensors"), config);
        Assert.True(diff < Tolerance, $"max abs difference {diff:E3}");
    }

    [FormatRequiredFact("hf-llama-tiny-bin")]
    public void Llama_from_sharded_torch_save_bin_files_reproduces_the_transformers_logits()
    {
        var diff = MaxDifferenceFromReference(TestPaths.Fixture("hf-llama-tiny-bin"),
            TestPaths.Fixture("hf-llama-tiny-bin", "reference_logits.safetensors"));
        Assert.True(diff < Tolerance, $"max abs difference {diff:E3}");
    }

    [FormatRequiredFact("dcp-dtensor1d-4rank")]
    public void Llama_from_a_four_rank_dcp_checkpoint_reproduces_the_transformers_logits()
    {
        var config = ModelConfig.ReadFile(TestPaths.Fixture("hf-llama-tiny-sharded", "config.json"));
        var diff = MaxDifferenceFromReference(TestPaths.Fixture("dcp-dtensor1d-4rank"),
            TestPaths.Fixture("hf-llama-tiny-sharded", "reference_logits.safetensors"), config);
        Assert.True(diff < Tolerance, $"max abs difference {diff:E3}");
    }
}
