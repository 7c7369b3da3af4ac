using Ckpt.Errors;

namespace Ckpt.Tests.Formats;

/// <summary>
/// DeepSpeed tensor-parallel `mp_rank_RR_model_states.pt` and pipeline `layer_XX[-model_RR]-model_states.pt` files,
/// written by torch 1.13 in DeepSpeed's layout (tests/python/make_deepspeed_model_parallel.py), consolidate to the
/// script's whole tensors byte for byte.
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
}
