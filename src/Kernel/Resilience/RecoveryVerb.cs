using Ckpt.Verbs;

namespace Ckpt.Resilience;

/// <summary>`#!ckpt-recovery`: loss curves of a <see cref="CheckFreeExperimentResult"/>. It has no CLI command.</summary>
public static class RecoveryVerb
{
    public static readonly Verb Definition = new("recovery", "#!ckpt-recovery",
        "Charts a CheckFree experiment: loss per step with no failure, after CheckFree recovery and after re-initialising the lost stage.",
        [
            new("--result", "A C# variable holding a CheckFreeExperimentResult.") { Positional = true, Required = true, Noun = "result variable" },
        ])
    {
        MagicUsage = "#!ckpt-recovery <var>",
        HasCommand = false,
        OneSurfaceReason = "it charts a CheckFreeExperimentResult C# variable, which only a notebook holds",
    };
}
