namespace Ckpt.Pickle;

/// <summary>A `torch.&lt;dtype&gt;` attribute named by a pickle (`torch.float32`); <see cref="DType"/> is null for dtypes we cannot hold.</summary>
public sealed record TorchDType(string Name, DType? DType)
{
    public override string ToString() => "torch." + Name;
}

/// <summary>A `torch.device` value, as its text (`cpu`, `cuda:0`).</summary>
public sealed record TorchDevice(string Name)
{
    public override string ToString() => $"device('{Name}')";
}
