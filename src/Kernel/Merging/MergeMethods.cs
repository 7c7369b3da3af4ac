using System.Diagnostics.CodeAnalysis;

namespace Ckpt.Merging;

/// <summary>
/// The merge methods Ckpt implements, listed once (as mergekit's <c>merge_methods/registry.py</c>). Adding a method is
/// one file under <c>Methods/</c> and its entry in <see cref="All"/> (the named fields are for C# callers);
/// `ckpt merge --method`, `#!ckpt-merge --method` and the YAML <c>merge_method</c> key all resolve names through
/// <see cref="TryParse"/>, and their help and error texts list <see cref="All"/>.
/// </summary>
public static class MergeMethods
{
    public static readonly MergeMethod Linear = new LinearMethod();
    public static readonly MergeMethod Slerp = new SlerpMethod();
    public static readonly MergeMethod TaskArithmetic = new TaskArithmeticMethod();
    public static readonly MergeMethod Ties = new TiesMethod();
    public static readonly MergeMethod DareLinear = new DareLinearMethod();
    public static readonly MergeMethod DareTies = new DareTiesMethod();

    public static IReadOnlyList<MergeMethod> All { get; } = [Linear, Slerp, TaskArithmetic, Ties, DareLinear, DareTies];

    /// <summary>Accepts mergekit's names and their dashed forms (<c>task-arithmetic</c>), in any case.</summary>
    public static bool TryParse(string text, [MaybeNullWhen(false)] out MergeMethod method)
    {
        var key = text.Trim().ToLowerInvariant().Replace('-', '_');
        method = All.FirstOrDefault(m => m.Name == key);
        return method is not null;
    }

    /// <summary>The CLI spellings, for `--method` help: <c>linear | slerp | …</c>.</summary>
    public static string CliNames => string.Join(" | ", All.Select(m => m.CliName));

    /// <summary>mergekit's spellings, for the YAML parser's errors: <c>linear, slerp, …</c>.</summary>
    public static string ConfigNames => string.Join(", ", All.Select(m => m.Name));
}
