namespace Ckpt.Models;

/// <summary>
/// A module whose children and parameters are registered only explicitly, under their HF names.
/// TorchSharp's register_module calls RegisterComponents on the child, which would otherwise also register
/// every Parameter/Module field by its C# (backing-field) name, duplicating weights under names no checkpoint has.
/// </summary>
public abstract class NamedModule : nn.Module<Tensor, Tensor>
{
    protected NamedModule(string name) : base(name) { }

    protected override void RegisterComponents() { }
}
