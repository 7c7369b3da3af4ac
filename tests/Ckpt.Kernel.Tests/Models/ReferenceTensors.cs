using Ckpt.Tensors;
using static TorchSharp.torch;

namespace Ckpt.Tests.Models;

/// <summary>Tensors from a fixture's reference safetensors file, as torch tensors.</summary>
static class ReferenceTensors
{
    public static Tensor Load(string file, string name)
    {
        using var ckpt = Checkpoint.Open(file);
        using var data = ckpt.Read(name);
        return data.ToTorch();
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        Assert.Equal(a.shape, b.shape);
        using var diff = a.to(ScalarType.Float64).sub(b.to(ScalarType.Float64)).abs().max();
        return diff.item<double>();
    }
}
