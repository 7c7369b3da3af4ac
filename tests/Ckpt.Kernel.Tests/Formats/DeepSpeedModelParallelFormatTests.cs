using Ckpt.Errors;

namespace Ckpt.Tests.Formats;

/// <summary>
/// DeepSpeed tensor-parallel `mp_rank_RR_model_states.pt` and pipeline `layer_XX[-model_RR]-model_states.pt` files,
/// written by torch 1.13 in DeepSpeed's layout (tests/python/make_deepspeed_model_parallel.py), consolidate to the
/// script's whole tensors byte for byte; with `--zero 1|2` the script adds the ZeRO optimizer partitions of a DP 2 run
/// (BF16_Optimizer's, ZeRO-2's or ZeRO-3's dicts), whose fp32 master weights and Adam moments consolidate to its whole tensors.
/// </summary>
public class DeepSpeedModelParallelFormatTests
{
    static string Build(int tp, int pp, params string[] flags)
    {
        var dir = TestPaths.TempDirectory($"deepspeed-mp-tp{tp}-pp{pp}");
        var script = Path.Combine(TestPaths.RepoRoot, "tests", "python", "make_deepspeed_model_parallel.py");
        var (code, stdout, stderr) = PythonTorch.Run(File.ReadAllText(script), [dir, tp.ToString(), pp.ToString(), .. flags]);
        Assert.True(code == 0, stdout + stderr);
        return dir;
    }

    [PythonTorchTheory]
    [InlineData(2, 1, false)]
    [InlineData(2, 1, true)]
    [InlineData(1, 2, false)]
    [InlineData(2, 2, true)]
    public void Model_parallel_files_consolidate_to_the_whole_tensors(int tp, int pp, bool swiglu)
    {
        var dir = Build(tp, pp, swiglu ? ["--swiglu"] : []);
        using var ckpt = Checkpoint.Open(dir);
        ReferenceParity.AssertDescribed(ckpt, "deepspeed-mp", tp, "deepspeed");
        Assert.Equal(swiglu ? "true" : "false", ckpt.Manifest.Metadata["deepspeed.swiglu"]);
        ReferenceParity.AssertSameTensors(Checkpoint.Open(Path.Combine(dir, "reference.pt")), ckpt, $"after consolidating TP {tp} × PP {pp}");
        Assert.Contains(ckpt.Manifest.Objects, o => o.Name == "global_steps");
    }

    [PythonTorchFact]
    public void A_parameter_no_split_rule_knows_is_refused_by_name()
    {
        var dir = Build(2, 1, "--unknown");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.Unsupported, e.Reason);
        Assert.Equal("language_model.encoder.layers.0.mlp.scale", e.Tensor);
        Assert.Contains("split of this parameter is not known", e.Message);
    }

    [PythonTorchFact]
    public void A_missing_tensor_parallel_rank_of_a_layer_is_named()
    {
        var dir = Build(2, 2);
        File.Delete(Path.Combine(dir, "global_step10", "layer_04-model_01-model_states.pt"));
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MissingFile, e.Reason);
        Assert.EndsWith("layer_04-model_01-model_states.pt", e.File);
    }

    [PythonTorchFact]
    public void A_missing_tensor_parallel_model_states_file_is_named()
    {
        var dir = Build(2, 1);
        File.Copy(Path.Combine(dir, "global_step10", "mp_rank_01_model_states.pt"), Path.Combine(dir, "global_step10", "mp_rank_02_model_states.pt"));
        File.Delete(Path.Combine(dir, "global_step10", "mp_rank_01_model_states.pt"));
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MetadataInvalid, e.Reason);
        Assert.EndsWith("mp_rank_02_model_states.pt", e.File);
    }

    [PythonTorchTheory]
    [InlineData(2, 1, false, 1)]
    [InlineData(2, 1, true, 2)]
    [InlineData(2, 2, false, 1)]
    [InlineData(2, 2, true, 1)]
    [InlineData(2, 1, true, 3)]
    public void Zero_optimizer_partitions_of_every_model_parallel_rank_consolidate_to_the_whole_tensors(int tp, int pp, bool swiglu, int zero)
    {
        var dir = Build(tp, pp, [.. swiglu ? new[] { "--swiglu" } : [], "--zero", zero.ToString()]);
        using var ckpt = Checkpoint.Open(dir);
        ReferenceParity.AssertDescribed(ckpt, "deepspeed-mp", tp, "deepspeed");
        Assert.Equal(zero.ToString(), ckpt.Manifest.Metadata["deepspeed.zero_stage"]);
        Assert.Equal("2", ckpt.Manifest.Metadata["deepspeed.dp_world_size"]);
        var fc1 = pp == 1 ? "language_model.encoder.layers.1.mlp.dense_h_to_4h.weight" : "4.mlp.dense_h_to_4h.weight";
        // ZeRO-3 keeps no bit16 copy: its fp32 master weights take the parameters' own names, as the MP 1 ZeRO-3 reader's do.
        var fp32 = zero == 3 ? fc1 : $"optimizer.state.{fc1}.fp32";
        foreach (var name in new[] { fp32, $"optimizer.state.{fc1}.exp_avg", $"optimizer.state.{fc1}.exp_avg_sq" })
            Assert.Equal([swiglu ? 24L : 12L, 8L], ckpt.GetEntry(name).Shape);
        Assert.Equal(Ckpt.Tensors.DType.F32, ckpt.GetEntry(fp32).DType);
        ReferenceParity.AssertSameTensors(Checkpoint.Open(Path.Combine(dir, "reference.pt")), ckpt,
            $"after consolidating ZeRO-{zero} partitions of TP {tp} × PP {pp} × DP 2");
    }

    [PythonTorchFact]
    public void A_missing_DP_partition_or_model_parallel_rank_of_the_optimizer_is_refused_in_one_sentence()
    {
        var dir = Build(2, 1, "--zero", "2");
        var tag = Path.Combine(dir, "global_step10");
        var copy = TestPaths.TempDirectory("deepspeed-mp-zero-missing-mp");
        Directory.CreateDirectory(Path.Combine(copy, "global_step10"));
        File.Copy(Path.Combine(dir, "latest"), Path.Combine(copy, "latest"));
        foreach (var f in Directory.GetFiles(tag))
            if (!Path.GetFileName(f).EndsWith("_mp_rank_01_optim_states.pt", StringComparison.Ordinal))
                File.Copy(f, Path.Combine(copy, "global_step10", Path.GetFileName(f)));

        File.Delete(Path.Combine(tag, "bf16_zero_pp_rank_1_mp_rank_01_optim_states.pt"));
        var dp = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir));
        Assert.Equal(FormatErrorReason.MissingFile, dp.Reason);
        Assert.Equal("global_step10/bf16_zero_pp_rank_1_mp_rank_01_optim_states.pt", dp.File);
        Assert.Equal("2 rank files", dp.Expected);
        Assert.Equal("ranks 0", dp.Found);
        Assert.DoesNotContain('\n', dp.Message);

        var mp = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(copy));
        Assert.Equal(FormatErrorReason.MissingFile, mp.Reason);
        Assert.Equal("global_step10/bf16_zero_pp_rank_0_mp_rank_01_optim_states.pt", mp.File);
        Assert.Contains("model-parallel rank 1's ZeRO optimizer partitions are missing", mp.Message);
        Assert.Equal("MP ranks 0", mp.Found);
        Assert.DoesNotContain('\n', mp.Message);
    }
}
