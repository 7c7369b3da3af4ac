using TorchSharp.Modules;

namespace Ckpt.Models;

/// <summary>A module holding one [rows, width] matrix named `weight` (token/position embeddings, an untied lm_head).</summary>
public sealed class WeightMatrix : NamedModule
{
    public Parameter Weight { get; }

    public WeightMatrix(long rows, long width, ScalarType dtype, Device device) : base("weight_matrix")
    {
        Weight = new Parameter(empty(rows, width, dtype, device), requires_grad: false);
        register_parameter("weight", Weight);
    }

    public override Tensor forward(Tensor ids) => Weight.index_select(0, ids);
}
