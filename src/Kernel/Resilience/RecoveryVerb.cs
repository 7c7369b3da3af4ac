namespace Ckpt.Resilience;

/// <summary>`#!ckpt-recovery`: loss curves of a recovery comparison (<see cref="IRecoveryChart"/>). It has no CLI command.</summary>
public static class RecoveryVerb
{
    public static readonly Verb Definition = new("recovery", "#!ckpt-recovery",
        "Charts a CheckFree experiment: loss per step with no failure, after CheckFree recovery and after re-initialising the lost stage.",
        [
            new("--result", "A C# variable holding a recovery comparison (IRecoveryChart), such as samples/CheckFree's CheckFreeExperimentResult.") { Positional = true, Required = true, Noun = "result variable" },
        ])
    {
        MagicUsage = "#!ckpt-recovery <var>",
        HasCommand = false,
        OneSurfaceReason = "it charts an IRecoveryChart C# variable, which only a notebook holds",
    };
}
