namespace Ckpt.Monitoring;

/// <summary>`#!ckpt-timeline`: a chart of the last checkpoint operation (<see cref="OperationTimeline"/>). It has no CLI command.</summary>
public static class TimelineVerb
{
    public static readonly Verb Definition = new("timeline", "#!ckpt-timeline",
        "Charts the last checkpoint operation (open, read, diff, stats) or a training save as a timeline per worker thread.",
        [
            new("--checkpoint", "A C# variable holding a Checkpoint (its last operation), an AsyncCheckpointer (its last save), a SaveRecord, a PendingSave or an OperationTimeline.")
                { Positional = true, Noun = "checkpoint" },
        ])
    {
        MagicUsage = "#!ckpt-timeline [var]",
        HasCommand = false,
        OneSurfaceReason = "it charts the last operation of a notebook session or a C# variable, which a one-shot command does not have",
    };
}
