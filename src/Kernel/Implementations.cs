namespace Ckpt;

/// <summary>
/// One instance of every concrete class in the Kernel that implements <typeparamref name="T"/> and has a public
/// parameterless constructor: adding a format or a payload decoder is adding a file, not editing a list.
/// </summary>
internal static class Implementations<T> where T : class
{
    static readonly Lazy<IReadOnlyList<T>> _all = new(() =>
        typeof(T).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(T).IsAssignableFrom(t)
                        && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (T)Activator.CreateInstance(t)!)
            .ToArray());

    public static IReadOnlyList<T> All => _all.Value;
}
