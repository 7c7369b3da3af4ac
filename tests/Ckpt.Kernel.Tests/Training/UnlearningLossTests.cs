using System.Text.Json;
using Ckpt.Training;
using static TorchSharp.torch;

namespace Ckpt.Tests.Training;

/// <summary>
/// The unlearning objectives against torch 1.13 on a fixed batch (tests/python/unlearning_losses_reference.py writes
/// tests/fixtures/unlearning/losses_reference.json): each loss within 1e-5 relative, its gradient with respect to the
/// policy logits within 1e-6 absolute (fp32 softmaxes over 11 classes).
/// </summary>
public sealed class UnlearningLossTests
{
    static readonly JsonElement Reference = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("unlearning", "losses_reference.json"))).RootElement;
    static readonly long[] Shape = Reference.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
    static readonly double Beta = Reference.GetProperty("beta").GetDouble();

    static float[] Floats(string key) => Reference.GetProperty(key).EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
    static long[] Longs(string key) => Reference.GetProperty(key).EnumerateArray().Select(e => e.GetInt64()).ToArray();
    static Tensor Logits(string key, bool grad = false) => tensor(Floats(key), Shape).requires_grad_(grad);
    static Tensor Labels => tensor(Longs("labels"), [Shape[0], Shape[1]]);
    static Tensor Mask => tensor(Longs("attention_mask"), [Shape[0], Shape[1]]);

    static void Check(string name, Func<Tensor, Tensor> loss)
    {
        using var scope = NewDisposeScope();
        var expected = Reference.GetProperty("losses").GetProperty(name);
        var policy = Logits("policy_logits", grad: true);
        var value = loss(policy);
        value.backward();
        double want = expected.GetProperty("value").GetDouble();
        Assert.True(Math.Abs(value.item<float>() - want) <= 1e-5 * Math.Max(1, Math.Abs(want)), $"{name}: {value.item<float>()} vs torch {want}");
        var grad = policy.grad!.flatten().data<float>().ToArray();
        var wantGrad = expected.GetProperty("grad").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(wantGrad.Length, grad.Length);
        double worst = grad.Zip(wantGrad, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1e-6, $"{name}: gradient differs from torch's by up to {worst:G3}");
    }

    [Fact]
    public void Gradient_ascent_is_minus_the_hf_causal_lm_loss() =>
        Check("ga", p => UnlearningLoss.GradientAscent(p, Labels));

    [Fact]
    public void Npo_per_sequence_is_restors_logsigmoid_form_with_beta_0_1() =>
        Check("npo", p => UnlearningLoss.Npo(p, Logits("reference_logits"), Labels, Beta).mean());

    [Fact]
    public void Row_nll_is_the_token_mean_cross_entropy_of_each_row()
    {
        using var scope = NewDisposeScope();
        foreach (var (logits, key) in new[] { ("policy_logits", "row_mean_nll_policy"), ("reference_logits", "row_mean_nll_reference") })
        {
            var (sum, count) = UnlearningLoss.RowNll(Logits(logits), Labels);
            var mean = sum.div(count).data<float>().ToArray();
            var want = Reference.GetProperty(key).EnumerateArray().Select(e => e.GetDouble()).ToArray();
            for (int i = 0; i < want.Length; i++) Assert.Equal(want[i], mean[i], 5);
        }
    }

    [Fact]
    public void Kl_retain_term_is_restors_kl_loss_over_the_real_positions() =>
        Check("retain_cross_entropy", p =>
        {
            var (sum, count) = UnlearningLoss.RetainCrossEntropy(p, Logits("reference_logits"), Mask);
            return sum.div(count);
        });

    [Fact]
    public void Kl_retain_term_without_padding_is_restors_mean_over_every_position() =>
        Check("retain_cross_entropy_unmasked", p =>
        {
            var (sum, count) = UnlearningLoss.RetainCrossEntropy(p, Logits("reference_logits"), null);
            return sum.div(count);
        });

    [Fact]
    public void Logged_kl_divergence_is_kl_of_the_model_from_the_reference() =>
        Check("kl_divergence", p =>
        {
            var (sum, count) = UnlearningLoss.KlDivergence(p, Logits("reference_logits"), Mask);
            return sum.div(count);
        });

    [Fact]
    public void Npo_of_a_model_equal_to_its_reference_is_2_over_beta_ln_2()
    {
        using var scope = NewDisposeScope();
        var policy = Logits("policy_logits");
        var losses = UnlearningLoss.Npo(policy, policy, Labels, Beta).data<float>().ToArray();
        Assert.All(losses, l => Assert.Equal(2 / Beta * Math.Log(2), l, 4));
    }
}
