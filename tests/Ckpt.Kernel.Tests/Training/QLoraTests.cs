using Ckpt.Models;
using Ckpt.Tests.Models;
using Ckpt.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

public class QLoraTests(ITestOutputHelper output)
{
    static CausalLanguageModel Base()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        return CausalLanguageModel.Load(ckpt);
    }

    static Tensor Ids() => ReferenceTensors.Load(TestPaths.Fixture("hf-llama-tiny-sharded", "reference_logits.safetensors"), "input_ids");

    [Fact]
    public void Quantized_base_weights_take_at_most_0_53_bytes_per_parameter_and_no_dense_copy_remains()
    {
        using var model = Base();
        var report = QLora.QuantizeBase(model);
        output.WriteLine($"{report.Layers} layers, {report.Parameters:N0} parameters, {report.StorageBytes:N0} bytes, {report.BytesPerParameter:F4} B/param");
        Assert.Equal(28, report.Layers);
        Assert.Equal(4 * (64 * 64 * 2 + 32 * 64 * 2 + 176 * 64 * 3), report.Parameters);
        Assert.True(report.BytesPerParameter <= 0.53);
        Assert.DoesNotContain(model.named_parameters(), p => p.name.EndsWith("_proj.weight"));
    }

    [Fact]
    public void The_quantized_model_computes_what_a_dense_model_with_the_dequantized_weights_computes()
    {
        using var quantized = Base();
        using var dense = Base();
        QLora.QuantizeBase(quantized);
        using (no_grad())
        {
            var layers = quantized.Projections().ToDictionary(p => p.Path, p => p.Layer);
            foreach (var (path, layer) in dense.Projections())
            {
                using var w = ((Nf4Linear)layers[path].QuantizedBase!).Weight.Dequantize();
                layer.Weight.copy_(w);
            }
        }
        using var ids = Ids();
        using var noGrad = no_grad();
        using var a = quantized.Forward(ids);
        using var b = dense.Forward(ids);
        Assert.True(ReferenceTensors.MaxAbsDiff(a, b) < 1e-5);
        // And NF4 stays close to the original fp32 model.
        using var reference = ReferenceTensors.Load(TestPaths.Fixture("hf-llama-tiny-sharded", "reference_logits.safetensors"), "logits");
        var drift = ReferenceTensors.MaxAbsDiff(a, reference);
        output.WriteLine($"NF4 vs fp32 logits: max abs difference {drift:E3}");
        Assert.True(drift < 0.5);
    }

    [Fact]
    public void The_nf4_matmul_backward_gives_the_input_gradient_of_the_dequantized_linear()
    {
        manual_seed(3);
        using var w = randn(48, 80);
        using var q = Nf4.Quantize(w);
        using var dq = q.Dequantize();
        using var x1 = randn(5, 80).requires_grad_(true);
        using var x2 = x1.detach().clone().requires_grad_(true);
        using var layer = new Nf4Linear(q, null);
        using (var y1 = layer.forward(x1)) using (var s1 = y1.pow(2).sum()) s1.backward();
        using (var y2 = nn.functional.linear(x2, dq)) using (var s2 = y2.pow(2).sum()) s2.backward();
        Assert.True(ReferenceTensors.MaxAbsDiff(x1.grad!, x2.grad!) < 1e-4);
    }

    [Fact]
    public void An_exception_in_the_nf4_backward_is_rethrown_after_backward_returns()
    {
        // Thrown from backward it would end the process (LibTorch's engine calls backward from native code); here the
        // packed weight is freed between forward and backward, so dequantizing it again fails.
        manual_seed(3);
        using var w = randn(48, 80);
        var failure = new BackwardFailure();
        using var layer = new Nf4Linear(Nf4.Quantize(w), null) { Failure = failure };
        using var x = randn(5, 80).requires_grad_(true);
        using var y = layer.forward(x);
        using var loss = y.pow(2).sum();
        layer.Weight.Dispose();
        loss.backward();
        Assert.ThrowsAny<Exception>(failure.ThrowIfAny);
        Assert.Null(x.grad);
        failure.ThrowIfAny(); // reported once
    }

    [Fact]
    public void A_qlora_model_trains_its_adapters_with_dpo()
    {
        using var model = Base();
        QLora.QuantizeBase(model);
        PeftLora.Attach(model, new LoraConfig { R = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj", "down_proj"] }, seed: 5);
        var reference = TestPaths.Fixture("peft-lora-llama-tiny", "reference.safetensors");
        using var prompt = ReferenceTensors.Load(reference, "prompt");
        using var chosen = ReferenceTensors.Load(reference, "chosen");
        using var rejected = ReferenceTensors.Load(reference, "rejected");
        using var dpo = DpoLoss.Compute(model, prompt, chosen, rejected);
        Assert.Equal(Math.Log(2), dpo.Metrics()["loss"], 5);
        using var loss = dpo.Loss;
        loss.backward();
        var grads = model.named_parameters().Where(p => p.parameter.grad is not null).ToList();
        Assert.Equal(24, grads.Count);
        Assert.Contains(grads, p => p.name.EndsWith("lora_B.weight") && p.parameter.grad!.abs().sum().item<float>() > 0);
    }
}
