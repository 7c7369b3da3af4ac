using Ckpt.Errors;
using Ckpt.Resharding;

namespace Ckpt.Tests.Formats;

/// <summary>
/// No Megatron-LM install exists here, so each test builds its checkpoint from the documented layout with real
/// torch.save (Debian's python3-torch 1.13) through tests/python/make_megatron_legacy.py: TP-split rank files
/// under `iter_0000010/mp_rank_TT[_PPP]/model_optim_rng.pt`, SwiGLU fc1 as [gate_r; up_r], stage-local layer
/// numbers, TE `_extra_state` entries, plus `reference.pt` with the full tensors they were cut from.
/// </summary>
[Trait("Category", "slow")]
public class MegatronLegacyFormatTests
{
    static string Build(int tp, int pp)
    {
        var dir = TestPaths.TempDirectory($"megatron-tp{tp}-pp{pp}");
        var script = Path.Combine(TestPaths.RepoRoot, "tests", "python", "make_megatron_legacy.py");
        var (code, stdout, stderr) = PythonTorch.Run(File.ReadAllText(script), dir, tp.ToString(), pp.ToString());
        Assert.True(code == 0, stdout + stderr);
        return dir;
    }

    [PythonTorchFact]
    public void Tensor_parallel_2_consolidates_to_the_tensors_it_was_cut_from() => AssertConsolidates(2, 1);

    [PythonTorchFact]
    public void Tensor_parallel_2_by_pipeline_2_consolidates_with_global_layer_numbers() => AssertConsolidates(2, 2);

    static void AssertConsolidates(int tp, int pp)
    {
        var dir = Build(tp, pp);
        using var ckpt = Checkpoint.Open(dir);
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));
        ReferenceParity.AssertDescribed(ckpt, "megatron-legacy", tp * pp);
        Assert.DoesNotContain(ckpt.Manifest.Tensors, t => t.Name.Contains("_extra_state"));
        ReferenceParity.AssertSameTensors(reference, ckpt, $"after the TP{tp}×PP{pp} merge");
        Assert.Equal("10", Manifest.ManifestJson.Describe(ckpt.Manifest.Objects.Single(o => o.Name == "iteration").Value));
    }

    [PythonTorchFact]
    public void A_consolidated_megatron_checkpoint_reshards_to_another_tensor_parallel_size()
    {
        var dir = Build(2, 1);
        using var ckpt = Checkpoint.Open(dir);
        using var reference = Checkpoint.Open(Path.Combine(dir, "reference.pt"));
        var layout = new TensorParallelLayout(4, gatedLinearUnit: true);
        using var rank1 = ckpt.ReadForRank(layout, 1);
        var fc1 = rank1.Plan.Tensors.Single(t => t.Tensor.Name == "decoder.layers.0.mlp.linear_fc1.weight");
        using var full = reference.Read(fc1.Tensor.Name);
        Assert.Equal(Resharding.ReferenceSlices.Expected(full, fc1.Shard), rank1[fc1.Tensor.Name].ToArray());
        Assert.Equal([12L, 16], rank1[fc1.Tensor.Name].Shape);
    }

    [PythonTorchFact]
    public void A_missing_tensor_parallel_rank_names_the_missing_folder()
    {
        var dir = Build(2, 2);
        Directory.Delete(Path.Combine(dir, "iter_0000010", "mp_rank_01_001"), recursive: true);
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Contains("mp_rank_01_001", e.Message);
    }

    [PythonTorchFact]
    public void A_missing_tensor_parallel_rank_without_pipeline_stages_names_the_missing_folder()
    {
        var dir = Build(2, 1);
        Directory.Delete(Path.Combine(dir, "iter_0000010", "mp_rank_01"), recursive: true);
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.Equal("iter_0000010/mp_rank_01/model_optim_rng.pt", e.File);
        Assert.Equal("2 rank files", e.Expected);
    }

    [PythonTorchFact]
    public void A_tracker_naming_no_iteration_is_refused()
    {
        var dir = Build(2, 1);
        File.WriteAllText(Path.Combine(dir, "latest_checkpointed_iteration.txt"), "latest");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MetadataInvalid, e.Reason);
    }
}
