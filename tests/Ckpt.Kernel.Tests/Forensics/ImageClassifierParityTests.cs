using Ckpt.Errors;
using Ckpt.Formats.Safetensors;
using Ckpt.Forensics.SmoothInv;
using Ckpt.Tensors;
using Ckpt.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Ckpt.Tests.Forensics;

/// <summary>
/// Logits of both classifier architectures against python torch 1.13 on the same weights
/// (tests/python/make_smoothinv_fixture.py wrote tests/fixtures/smoothinv/reference.pt).
/// </summary>
public class ImageClassifierParityTests
{
    static string Fixture(string name) => TestPaths.Fixture("smoothinv", name);

    [Fact]
    public void The_small_cnn_read_from_torch_save_gives_torch_logits_within_1e_5_of_the_largest()
    {
        using var classifier = ImageClassifier.Load(Fixture("backdoored-cnn.pt"));
        Assert.Equal(ImageClassifierArchitecture.SmallCnn, classifier.Architecture);
        Assert.Equal(10, classifier.Classes);
        using var input = ReferenceTensors.Load(Fixture("reference.pt"), "cnn_input");
        using var expected = ReferenceTensors.Load(Fixture("reference.pt"), "cnn_logits");
        using var _ = no_grad();
        using var logits = classifier.Logits(input);
        var diff = ReferenceTensors.MaxAbsDiff(logits, expected);
        var scale = expected.abs().max().item<float>();
        Assert.True(diff < 1e-5 * Math.Max(1, scale), $"max |diff| {diff} (logits up to {scale})");
    }

    /// <summary>The reference ResNet-18 is a plain-torch copy of torchvision 0.14's resnet.py (no torchvision for
    /// Debian's torch 1.13 here); its 45 MB of weights are rebuilt from the script's formula rather than committed,
    /// written as safetensors and read back through Checkpoint.Open.</summary>
    [Fact]
    public void TorchVision_resnet18_read_from_safetensors_gives_torch_logits_within_1e_4_of_the_largest()
    {
        var dir = TestPaths.TempDirectory("resnet18");
        var path = Path.Combine(dir, "resnet18.safetensors");
        using (var shape = torchvision.models.resnet18(num_classes: 10))
            SafetensorsWriter.Write(path, FormulaState(shape));
        using var classifier = ImageClassifier.Load(path);
        Assert.Equal(ImageClassifierArchitecture.ResNet18, classifier.Architecture);
        using var input = ReferenceTensors.Load(Fixture("reference.pt"), "resnet_input");
        using var expected = ReferenceTensors.Load(Fixture("reference.pt"), "resnet_logits");
        using var _ = no_grad();
        using var logits = classifier.Logits(input);
        var diff = ReferenceTensors.MaxAbsDiff(logits, expected);
        var scale = expected.abs().max().item<float>();
        Assert.True(diff < 1e-4 * Math.Max(1, scale), $"max |diff| {diff} (logits up to {scale})");
    }

    [Fact]
    public void A_state_dict_of_neither_architecture_is_refused_in_one_sentence()
    {
        var ex = Assert.Throws<CheckpointFormatException>(() => ImageClassifier.Load(Fixture("heldout.pt")));
        Assert.Contains("not an image classifier", ex.Message);
        Assert.DoesNotContain("\n", ex.Message);
    }

    /// <summary>make_smoothinv_fixture.formula_state: by name order j, sin(0.37 k + j) shaped per kind of entry. Computed
    /// as the script does, in float64 operations in its order (native tensor operations rather than a managed loop over
    /// the 11.7 million values), rounded once to float32.</summary>
    static List<TensorSource> FormulaState(nn.Module module)
    {
        var sources = new List<TensorSource>();
        var entries = module.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        for (int j = 0; j < entries.Count; j++)
        {
            var (name, t) = (entries[j].Key, entries[j].Value);
            long n = t.numel();
            using var scope = NewDisposeScope();
            var s = arange(n, ScalarType.Float64).mul(0.37).add(j).sin();
            var value = name.EndsWith("num_batches_tracked") ? zeros([], ScalarType.Int64)
                : (name.EndsWith("running_var") ? s.abs().mul(0.2).add(1)
                    : name.EndsWith("running_mean") || name.EndsWith("bias") ? s.mul(0.05)
                    : t.dim() == 1 ? s.mul(0.1).add(1)
                    : s.mul(1.5).div(Math.Sqrt(n / t.shape[0]))).to(ScalarType.Float32).reshape(t.shape);
            var data = value.ToTensorData(name);
            sources.Add(new TensorSource(name, data.DType, data.Shape, () => data));
        }
        return sources;
    }
}
