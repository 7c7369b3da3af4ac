namespace Ckpt.Merging;

/// <summary>How a set of checkpoints is combined, tensor by tensor. Names follow mergekit's `merge_method`.</summary>
public enum MergeMethod
{
    /// <summary>Weighted average Σ wᵢθᵢ (/ Σ wᵢ when normalised); uniform soup is this with equal weights.</summary>
    Linear,
    /// <summary>Spherical interpolation of exactly two models at <c>t</c>; lerp when they are near-colinear.</summary>
    Slerp,
    /// <summary>base + λ Σ wᵢ(θᵢ − base).</summary>
    TaskArithmetic,
    /// <summary>Task vectors trimmed to the top <c>density</c> by magnitude, signs elected by summed mass, disjoint mean.</summary>
    Ties,
    /// <summary>Task vectors randomly dropped with probability 1 − density and rescaled by 1/density, then summed.</summary>
    DareLinear,
    /// <summary>DARE drop and rescale, then TIES sign election and disjoint mean.</summary>
    DareTies,
}

public static class MergeMethods
{
    public static string ConfigName(this MergeMethod m) => m switch
    {
        MergeMethod.Linear => "linear",
        MergeMethod.Slerp => "slerp",
        MergeMethod.TaskArithmetic => "task_arithmetic",
        MergeMethod.Ties => "ties",
        MergeMethod.DareLinear => "dare_linear",
        MergeMethod.DareTies => "dare_ties",
        _ => m.ToString(),
    };

    /// <summary>Accepts mergekit's names and their dashed forms (`task-arithmetic`).</summary>
    public static bool TryParse(string text, out MergeMethod method)
    {
        var key = text.Trim().ToLowerInvariant().Replace('-', '_');
        foreach (var m in Enum.GetValues<MergeMethod>())
            if (m.ConfigName() == key) { method = m; return true; }
        method = default;
        return false;
    }

    /// <summary>Whether the method works on task vectors θᵢ − base and so needs a base model.</summary>
    public static bool NeedsBase(this MergeMethod m) =>
        m is MergeMethod.TaskArithmetic or MergeMethod.Ties or MergeMethod.DareLinear or MergeMethod.DareTies;

    // mergekit registry defaults: ties normalises its disjoint mean; task_arithmetic and the DARE methods do not.
    internal static bool DefaultNormalize(this MergeMethod m) => m is MergeMethod.Linear or MergeMethod.Ties;
}
