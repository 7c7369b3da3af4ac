namespace Ckpt.Inspection;

/// <summary>`#!ckpt-stats`: statistics and a histogram of one tensor (<see cref="TensorStatistics"/>). It has no CLI command.</summary>
public static class StatsVerb
{
    /// <summary>The checkpoint (a C# variable or a path) and the tensor's full name, and the histogram's bins.</summary>
    public sealed record Request(
        [Option("--checkpoint", "A C# variable holding a Checkpoint (or a checkpoint path), then the tensor's full name.", Path = true, Positional = true, Required = true, Exactly = 2, Noun = "a checkpoint and a tensor name")] IReadOnlyList<string> Checkpoint,
        [Option("--bins", "Histogram bins.")] int Bins = 64);

    public static readonly Verb Definition = Verb.Of<Request>("stats", "#!ckpt-stats",
        "Min, max, mean, std, NaN/Inf counts, zero fraction and a histogram of one tensor, reading only that tensor.",
        [], magicUsage: "#!ckpt-stats <var|path> <tensor> [--bins n]") with
    {
        HasCommand = false,
        OneSurfaceReason = "a histogram chart of one tensor for a notebook; no terminal command has been asked for (ckpt diff --json reads tensors from a terminal)",
    };

    /// <summary>The checkpoint (a C# variable or a path), the tensor's full name and the histogram's bins.</summary>
    /// <exception cref="ArgumentException">A missing, repeated or malformed value; the message names the option.</exception>
    public static (string Checkpoint, string Tensor, int Bins) Bind(IReadOnlyDictionary<string, IReadOnlyList<string>> given)
    {
        var r = Definition.Bind<Request>(given);
        return (r.Checkpoint[0], r.Checkpoint[1], r.Bins);
    }
}
