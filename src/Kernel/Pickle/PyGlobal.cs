namespace Ckpt.Pickle;

/// <summary>
/// A Python class or function named by a pickle (GLOBAL / STACK_GLOBAL), never resolved to code:
/// it is only a name the allow-list may map to a data constructor.
/// </summary>
public sealed record PyGlobal(string Module, string Name)
{
    public string FullName => $"{Module}.{Name}";
    public override string ToString() => FullName;
}
