using TorchSharp.Modules;

namespace Ckpt.Models.Vision;

/// <summary>
/// The small image classifier of tests/python/make_smoothinv_fixture.py (`SmallCnn`): three 3x3 convolutions
/// (3→16→32→64, padding 1), each followed by ReLU and a 2x2 max-pool, then one linear layer on the flattened
/// 64x4x4 map, for 32x32 RGB input in [0, 1]. Its state-dict names are PyTorch's: conv1..conv3, fc.
/// </summary>
public sealed class SmallCnn : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv1, conv2, conv3;
    readonly Linear fc;

    public SmallCnn(int classes, int inputSize = 32) : base(nameof(SmallCnn))
    {
        conv1 = nn.Conv2d(3, 16, 3, padding: 1);
        conv2 = nn.Conv2d(16, 32, 3, padding: 1);
        conv3 = nn.Conv2d(32, 64, 3, padding: 1);
        fc = nn.Linear(64 * (inputSize / 8) * (inputSize / 8), classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = nn.functional.max_pool2d(nn.functional.relu(conv1.forward(x)), 2);
        x = nn.functional.max_pool2d(nn.functional.relu(conv2.forward(x)), 2);
        x = nn.functional.max_pool2d(nn.functional.relu(conv3.forward(x)), 2);
        return fc.forward(x.flatten(1)).MoveToOuterDisposeScope();
    }
}
