using Ckpt.Errors;

namespace Ckpt.Tests.Formats;

/// <summary>
/// Universal Checkpoint folders built from the documented layout (see <see cref="DeepSpeedFixture"/>): per-parameter
/// `zero/&lt;param&gt;/{fp32,exp_avg,exp_avg_sq,step}.pt`, the embedding stored the pre-0.3 way (padded from 37 to 40 rows
/// with `vocab_divisibility_padding_tensor`), one bias stored flat as the ZeRO-3 path saves it.
/// </summary>
[Trait("Category", "slow")]
public class DeepSpeedUniversalCheckpointTests
{
    [PythonTorchFact]
    public void A_universal_checkpoint_reads_as_the_tensors_it_was_built_from_with_vocabulary_padding_stripped()
    {
        var dir = DeepSpeedFixture.Build("ucp");
        using var ckpt = Checkpoint.Open(dir);
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));
        ReferenceParity.AssertDescribed(ckpt, "deepspeed-ucp");
        ReferenceParity.AssertSameTensors(reference, ckpt, "from its source");
        Assert.Equal([37L, 10], ckpt.GetEntry("embed.weight").Shape);
        Assert.Equal([37L, 10], ckpt.GetEntry("optimizer.state.embed.weight.exp_avg").Shape);
        Assert.Equal([10L], ckpt.GetEntry("layers.0.attn.bias").Shape);
        Assert.Equal("0", ckpt.Manifest.Metadata["deepspeed.ucp.cat_dim.layers.0.mlp.up.weight"]);
        Assert.Equal("37", ckpt.Manifest.Metadata["deepspeed.ucp.original_vocab_size"]);
    }

    [PythonTorchFact]
    public void A_parameter_folder_without_fp32_pt_is_named()
    {
        var dir = DeepSpeedFixture.Build("ucp");
        File.Delete(Path.Combine(dir, "global_step10_universal", "zero", "norm.weight", "fp32.pt"));
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Equal("global_step10_universal/zero/norm.weight/fp32.pt", e.File);
        Assert.Equal("norm.weight", e.Tensor);
        Assert.Equal("fp32.pt", e.Expected);
        Assert.Equal("exp_avg.pt, exp_avg_sq.pt, step.pt", e.Found);
    }

    [PythonTorchFact]
    public void The_universal_folder_opened_directly_reads_the_same_tensors()
    {
        var dir = DeepSpeedFixture.Build("ucp");
        using var root = Checkpoint.Open(dir);
        using var folder = Checkpoint.Open(Path.Combine(dir, "global_step10_universal"));
        Assert.Equal(root.Manifest.Tensors.Select(t => t.Name), folder.Manifest.Tensors.Select(t => t.Name));
    }
}
