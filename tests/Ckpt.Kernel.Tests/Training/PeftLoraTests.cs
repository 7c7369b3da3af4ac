using Ckpt.Models;
using Ckpt.Tests.Models;
using Ckpt.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>Against PEFT 0.21's own outputs for the fixture adapter (r 4, alpha 8, q/v/down_proj), fp32, max abs 1e-4.</summary>
public class PeftLoraTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-4;
    static readonly string Adapter = TestPaths.Fixture("peft-lora-llama-tiny");
    static readonly string Reference = TestPaths.Fixture("peft-lora-llama-tiny", "reference.safetensors");

    static CausalLanguageModel Base()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        return CausalLanguageModel.Load(ckpt);
    }

    double DiffFromAdapterLogits(CausalLanguageModel model)
    {
        using var ids = ReferenceTensors.Load(Reference, "input_ids");
        using var expected = ReferenceTensors.Load(Reference, "logits_with_adapter");
        using var noGrad = no_grad();
        using var logits = model.Forward(ids);
        var diff = ReferenceTensors.MaxAbsDiff(logits, expected);
        output.WriteLine($"max abs difference from logits_with_adapter: {diff:E3}");
        return diff;
    }

    [Fact]
    public void The_adapter_config_is_read_with_peft_scaling()
    {
        var config = LoraConfig.Read(Path.Combine(Adapter, "adapter_config.json"));
        Assert.Equal(4, config.R);
        Assert.Equal(2.0, config.Scaling);
        Assert.True(config.Targets("model.layers.3.mlp.down_proj"));
        Assert.False(config.Targets("model.layers.3.mlp.up_proj"));
    }

    [Fact]
    public void Logits_with_the_peft_adapter_match_peft()
    {
        using var model = Base();
        PeftLora.Load(model, Adapter);
        Assert.Equal(12, model.Projections().Count(p => p.Layer.Adapter is not null));
        Assert.True(DiffFromAdapterLogits(model) < Tolerance);
    }

    [Fact]
    public void Disabling_the_adapter_gives_the_base_logits_back()
    {
        using var model = Base();
        PeftLora.Load(model, Adapter);
        using var ids = ReferenceTensors.Load(Reference, "input_ids");
        using var baseLogits = ReferenceTensors.Load(TestPaths.Fixture("hf-llama-tiny-sharded", "reference_logits.safetensors"), "logits");
        using var noGrad = no_grad();
        using (PeftLora.Disabled(model))
        {
            using var logits = model.Forward(ids);
            Assert.True(ReferenceTensors.MaxAbsDiff(logits, baseLogits) < Tolerance);
        }
        Assert.True(DiffFromAdapterLogits(model) < Tolerance);
    }

    [Fact]
    public void Merged_weights_give_the_adapter_logits_and_save_as_a_plain_checkpoint()
    {
        using var model = Base();
        PeftLora.Load(model, Adapter);
        Assert.Equal(12, PeftLora.MergeAndUnload(model));
        Assert.DoesNotContain(model.named_parameters(), p => p.name.Contains("lora_"));
        Assert.True(DiffFromAdapterLogits(model) < Tolerance);

        var dir = TestPaths.TempDirectory("merged");
        ModelWeights.Save(model, dir);
        File.Copy(TestPaths.Fixture("hf-llama-tiny-sharded", "config.json"), Path.Combine(dir, "config.json"));
        using var saved = Checkpoint.Open(dir);
        Assert.Equal(39, saved.Manifest.Tensors.Count);
        using var reloaded = CausalLanguageModel.Load(saved);
        Assert.True(DiffFromAdapterLogits(reloaded) < Tolerance);
    }

    [Fact]
    public void An_adapter_saved_by_the_project_loads_back_identically()
    {
        using var model = Base();
        var config = PeftLora.Load(model, Adapter);
        var dir = TestPaths.TempDirectory("adapter");
        PeftLora.Save(model, config, dir);

        using var original = Checkpoint.Open(Path.Combine(Adapter, "adapter_model.safetensors"));
        using var written = Checkpoint.Open(Path.Combine(dir, "adapter_model.safetensors"));
        Assert.Equal(original.Manifest.Tensors.Select(t => t.Name).Order(), written.Manifest.Tensors.Select(t => t.Name).Order());
        foreach (var t in original.Manifest.Tensors)
        {
            using var a = original.Read(t.Name);
            using var b = written.Read(t.Name);
            Assert.Equal(a.ToArray(), b.ToArray());
        }
        var reread = LoraConfig.Read(Path.Combine(dir, "adapter_config.json"));
        Assert.Equal(config.R, reread.R);
        Assert.Equal(config.Alpha, reread.Alpha);
        Assert.Equal(config.TargetModules.Order(), reread.TargetModules.Order());

        using var again = Base();
        PeftLora.Load(again, dir);
        Assert.True(DiffFromAdapterLogits(again) < Tolerance);
    }

    [Fact]
    public void A_fresh_adapter_starts_as_a_no_op_with_peft_init_bounds()
    {
        using var model = Base();
        var attached = PeftLora.Attach(model, new LoraConfig { R = 8, Alpha = 16, TargetModules = FineTuningFixtures.LlamaLinear }, seed: 1);
        Assert.Equal(28, attached.Count);
        var down = (LoraAdapter)model.Projections().Single(p => p.Path == "model.layers.0.mlp.down_proj").Layer.Adapter!;
        using (var maxA = down.A.Weight.abs().max()) Assert.InRange(maxA.item<float>(), 0.5 / Math.Sqrt(176), 1 / Math.Sqrt(176));
        using (var maxB = down.B.Weight.abs().max()) Assert.Equal(0f, maxB.item<float>());
        using var ids = ReferenceTensors.Load(TestPaths.Fixture("hf-llama-tiny-sharded", "reference_logits.safetensors"), "input_ids");
        using var expected = ReferenceTensors.Load(TestPaths.Fixture("hf-llama-tiny-sharded", "reference_logits.safetensors"), "logits");
        using var noGrad = no_grad();
        using var logits = model.Forward(ids);
        Assert.True(ReferenceTensors.MaxAbsDiff(logits, expected) < Tolerance);
    }
}
