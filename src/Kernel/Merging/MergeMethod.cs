namespace Ckpt.Merging;

/// <summary>
/// One way of combining checkpoints tensor by tensor, as mergekit's <c>MergeMethod</c>: its name, the parameters
/// it reads and their defaults, its checks, and the per-tensor computation (<see cref="TensorMerge"/>). Every method
/// is listed once in <see cref="MergeMethods"/>; the CLI, the magic and the YAML parser take their method lists from there.
/// </summary>
public abstract class MergeMethod
{
    /// <summary>mergekit's <c>merge_method</c> spelling (<c>dare_linear</c>).</summary>
    public abstract string Name { get; }

    /// <summary>The CLI and magic spelling (<c>dare-linear</c>); both spellings parse on every surface.</summary>
    public string CliName => Name.Replace('_', '-');

    /// <summary>One line for help texts and docs.</summary>
    public abstract string Summary { get; }

    /// <summary>Whether it works on task vectors θᵢ − base and so needs a base model.</summary>
    public virtual bool NeedsBase => false;

    /// <summary>
    /// The keys of mergekit's <c>parameters:</c> that change this method's result, in the order the merge log
    /// reports them (<see cref="MergeSpec.ParameterValue"/>); model weights and the output dtype are always reported.
    /// </summary>
    public abstract IReadOnlyList<string> Parameters { get; }

    /// <summary>mergekit's per-method default for <c>normalize</c>.</summary>
    internal virtual bool DefaultNormalize => false;

    /// <summary>The rescale used when the spec names none (CLI, magic and C#); null for methods that do not sparsify.</summary>
    internal virtual TaskVectorRescale? DefaultRescale => null;

    /// <summary>What mergekit's <c>parameters.rescale</c> (absent: null) means for this method; null where it has no effect.</summary>
    internal virtual TaskVectorRescale? MergekitRescale(bool? rescale) => null;

    /// <summary>Method-specific checks beyond those every spec gets; errors name the key as mergekit spells it.</summary>
    internal virtual void Check(MergeSpec spec, string? source) { }

    /// <summary>A fresh per-tensor merge for one run (it keeps per-tensor statistics, so it is not shared).</summary>
    internal abstract TensorMerge CreateMerge(MergeSpec spec);

    public override string ToString() => Name;
}
