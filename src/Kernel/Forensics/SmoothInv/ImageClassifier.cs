using Ckpt.Models.Vision;

namespace Ckpt.Forensics.SmoothInv;

/// <summary>Which architecture a classifier's state dict is, told from its keys.</summary>
public enum ImageClassifierArchitecture { SmallCnn, ResNet18 }

/// <summary>
/// An image classifier loaded from a state dict (torch.save or safetensors, by <see cref="Checkpoint.Open"/>): the
/// architecture is told from the keys (`layer4.1.conv2.weight` is TorchVision's ResNet-18, `conv3.weight` with
/// `fc.weight` the <see cref="SmallCnn"/>), the class count from `fc.weight`. It takes RGB in [0, 1], [N, 3, H, W],
/// with no normalisation of its own (a model trained on normalised input needs that folded into its first layer).
/// Loading is strict, so a state dict of another shape is refused with the keys that differ.
/// </summary>
public sealed class ImageClassifier : IDisposable
{
    ImageClassifier(nn.Module<Tensor, Tensor> module, ImageClassifierArchitecture architecture, int classes)
    {
        Module = module;
        Architecture = architecture;
        Classes = classes;
    }

    public nn.Module<Tensor, Tensor> Module { get; }
    public ImageClassifierArchitecture Architecture { get; }
    public int Classes { get; }

    public Tensor Logits(Tensor images) => Module.forward(images);

    /// <exception cref="CheckpointFormatException">Neither architecture's keys, or a state dict that does not fit.</exception>
    public static ImageClassifier Load(string path, CancellationToken cancellationToken = default)
    {
        using var checkpoint = Checkpoint.Open(path, cancellationToken);
        var names = checkpoint.Manifest.Tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var fc = checkpoint.Manifest.Find("fc.weight");
        var architecture = names.Contains("layer4.1.conv2.weight") ? ImageClassifierArchitecture.ResNet18
            : names.Contains("conv3.weight") ? ImageClassifierArchitecture.SmallCnn
            : throw new CheckpointFormatException(FormatErrorReason.StateDictMismatch, path, null,
                "not an image classifier Ckpt knows: expected the keys of TorchVision's ResNet-18 (layer4.1.conv2.weight) or of the small CNN (conv3.weight, fc.weight)");
        if (fc is null || fc.Shape.Count != 2)
            throw new CheckpointFormatException(FormatErrorReason.StateDictMismatch, path, "fc.weight", "expected a 2-d fc.weight [classes, features]");
        int classes = (int)Math.Min(fc.Shape[0], int.MaxValue);
        nn.Module<Tensor, Tensor> module = architecture == ImageClassifierArchitecture.ResNet18
            ? torchvision.models.resnet18(num_classes: classes)
            : new SmallCnn(classes, InputSize(fc.Shape[1], path));
        module.LoadCheckpoint(checkpoint, strict: true, cancellationToken);
        module.eval();
        return new ImageClassifier(module, architecture, classes);
    }

    /// <summary>The small CNN's input side from its flattened features: 64 x (side/8)^2.</summary>
    static int InputSize(long features, string path)
    {
        var side = (int)Math.Round(Math.Sqrt(features / 64.0));
        if (side < 1 || 64L * side * side != features)
            throw new CheckpointFormatException(FormatErrorReason.StateDictMismatch, path, "fc.weight",
                $"the small CNN's fc.weight has {features} inputs; 64 x k x k expected (k = input side / 8)");
        return side * 8;
    }

    public void Dispose() => Module.Dispose();
}
