namespace Ckpt.Training;

/// <summary>
/// TRL DPOConfig's `loss_type` values Ckpt offers, with TRL's formulas (h = the policy's chosen-minus-rejected log-ratio
/// minus the reference's; ε = label_smoothing):
/// sigmoid −(1−ε)·log σ(βh) − ε·log σ(−βh) (DPO; cDPO when ε &gt; 0), ipo (h − 1/(2β))² on log-probs averaged over the
/// completion tokens, hinge relu(1 − βh) (SLiC), robust [−(1−ε)·log σ(βh) + ε·log σ(−βh)] / (1 − 2ε) (Robust DPO).
/// </summary>
public enum DpoLossType { Sigmoid, Ipo, Hinge, Robust }

public static class DpoLossTypeNames
{
    /// <summary>TRL's spelling of a loss type (DPOConfig.loss_type), as `--dpo-loss` reads it.</summary>
    public static string TrlName(this DpoLossType loss) => loss.ToString().ToLowerInvariant();
}
