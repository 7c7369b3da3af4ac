using Ckpt.Errors;
using Ckpt.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ckpt.Tests.Tensors;

/// <summary>`module.LoadCheckpoint` reports keys as PyTorch's `load_state_dict` does, against the DCP HF fixture's reference.</summary>
public class ModuleCheckpointTests
{
    static string Sharded => TestPaths.Fixture("dcp-hf-2rank", "sharded");
    static string Reference => TestPaths.Fixture("dcp-hf-2rank", "reference.safetensors");

    sealed class Norm : nn.Module
    {
        readonly Parameter weight;
        public Norm(long size) : base(nameof(Norm)) { weight = nn.Parameter(zeros(size)); RegisterComponents(); }
    }

    sealed class Inner : nn.Module
    {
        readonly Embedding embed = nn.Embedding(6, 4);
        readonly Linear proj;
        readonly Norm norm;
        public Inner(long projOut) : base(nameof(Inner)) { proj = nn.Linear(6, projOut, hasBias: false); norm = new Norm(5); RegisterComponents(); }
    }

    sealed class Tiny : nn.Module
    {
        readonly Inner model;
        public Tiny(long projOut = 4) : base(nameof(Tiny)) { model = new Inner(projOut); RegisterComponents(); }
    }

    [Fact]
    public void A_module_is_filled_from_per_rank_shards_cast_to_its_dtype_and_the_extra_key_reported_unexpected()
    {
        using var module = new Tiny();
        module.to(float64);

        var loaded = module.LoadCheckpoint(Sharded, strict: false);

        Assert.Empty(loaded.MissingKeys);
        Assert.Equal(["train.step"], loaded.UnexpectedKeys);
        using var reference = Checkpoint.Open(Reference);
        foreach (var (name, value) in module.state_dict())
        {
            Assert.Equal(float64, value.dtype);
            using var want = reference.Read(name).ToTorch(dtype: float64);
            Assert.True(want.allclose(value, 0, 0), $"{name} differs after loading");  // f32 → f64 is exact: tolerance 0
        }
    }

    [Fact]
    public void Strict_loading_refuses_in_one_sentence_naming_the_unexpected_key_before_copying_anything()
    {
        using var module = new Tiny();
        using var before = module.state_dict()["model.embed.weight"].clone();

        var e = Assert.Throws<CheckpointFormatException>(() => module.LoadCheckpoint(Sharded));

        Assert.Equal(FormatErrorReason.StateDictMismatch, e.Reason);
        Assert.Contains("1 unexpected (train.step)", e.Message);
        Assert.True(before.allclose(module.state_dict()["model.embed.weight"], 0, 0));
    }

    [Fact]
    public void A_mis_shaped_key_refuses_even_when_not_strict_naming_both_shapes()
    {
        using var module = new Tiny(projOut: 3);

        var e = Assert.Throws<CheckpointFormatException>(() => module.LoadCheckpoint(Sharded, strict: false));

        Assert.Contains("model.proj.weight (checkpoint [4, 6], module [3, 6])", e.Message);
    }

    [Fact]
    public void Keys_the_checkpoint_lacks_are_reported_missing()
    {
        using var module = new Tiny();
        using var checkpoint = Checkpoint.Open(TestPaths.Fixture("dcp-hf-2rank", "full", "model-00001-of-00002.safetensors"));

        var loaded = module.LoadCheckpoint(checkpoint, strict: false);

        Assert.Equal(["model.norm.weight"], loaded.MissingKeys);
        Assert.Empty(loaded.UnexpectedKeys);
    }
}
