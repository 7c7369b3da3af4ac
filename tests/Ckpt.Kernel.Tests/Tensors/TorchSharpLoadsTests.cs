using static TorchSharp.torch;

namespace Ckpt.Tests.Tensors;

public class TorchSharpLoadsTests
{
    [Fact]
    public void The_cpu_libtorch_loads_and_sums_a_tensor()
    {
        using var sum = ones(2).sum();
        Assert.Equal(2f, sum.item<float>());
    }
}
