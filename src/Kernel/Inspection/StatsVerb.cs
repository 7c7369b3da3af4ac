namespace Ckpt.Inspection;

/// <summary>`#!ckpt-stats`: statistics and a histogram of one tensor (<see cref="TensorStatistics"/>). It has no CLI command.</summary>
public static class StatsVerb
{
    public static readonly Verb Definition = new("stats", "#!ckpt-stats",
        "Min, max, mean, std, NaN/Inf counts, zero fraction and a histogram of one tensor, reading only that tensor.",
        [
            new("--checkpoint", "A C# variable holding a Checkpoint (or a checkpoint path), then the tensor's full name.", OptionKind.Path)
                { Positional = true, Many = true, Required = true, Exactly = 2, Noun = "a checkpoint and a tensor name" },
            new("--bins", "Histogram bins.", OptionKind.Integer) { Default = "64" },
        ])
    {
        MagicUsage = "#!ckpt-stats <var|path> <tensor> [--bins n]",
        HasCommand = false,
        OneSurfaceReason = "a histogram chart of one tensor for a notebook; no terminal command has been asked for (ckpt diff --json reads tensors from a terminal)",
    };

    /// <summary>The checkpoint (a C# variable or a path), the tensor's full name and the histogram's bins.</summary>
    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static (string Checkpoint, string Tensor, int Bins) Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var v = Definition.Read(given);
        var values = v.All("--checkpoint");
        return (values[0], values[1], v.Integer("--bins")!.Value);
    }
}
