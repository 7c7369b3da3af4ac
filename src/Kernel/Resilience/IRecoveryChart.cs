using System.Text.Json.Nodes;

namespace Ckpt.Resilience;

/// <summary>
/// A failure-recovery comparison that `#!ckpt-recovery` can chart (Ckpt.Charts kind <c>recovery</c>): loss curves per
/// continuation against the training step, the failure step and the pre-failure loss. The CheckFree experiment's result
/// (samples/CheckFree) is one; the engine keeps only the recovery API (<see cref="CheckFreeRecovery"/>) and this contract.
/// </summary>
public interface IRecoveryChart
{
    /// <summary>{title, failureStep, lostStage, preFailureLoss, tolerance, curves: [{label, steps, loss, stepsToRecover, weightOfPrevious}]}.</summary>
    JsonObject ToChartJson();
}
