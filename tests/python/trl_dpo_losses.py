"""TRL v0.28.0's DPO losses in float32 torch (trl/trainer/dpo_trainer.py): `concatenated_forward` divides each row's
summed completion log-probs by its completion tokens when the loss is "ipo" (policy and reference alike), `dpo_loss`
turns them into per-pair losses and rewards, and `get_batch_loss_metrics` logs rewards/* and logps/*.

Reads one JSON object from argv[1]: policy_chosen, policy_rejected, ref_chosen, ref_rejected (summed log-probs, [n]
each), chosen_mask and rejected_mask ([n][C] of 0/1), beta, label_smoothing, loss_type. Prints one JSON object with
the per-pair values, the metrics, and the IPO losses without the per-token averaging ("unnormalised_losses")."""
import json
import sys

import torch
import torch.nn.functional as F


def losses_of(logits, loss_type, beta, eps):
    if loss_type == "sigmoid":
        return -F.logsigmoid(beta * logits) * (1 - eps) - F.logsigmoid(-beta * logits) * eps
    if loss_type == "robust":
        return (-F.logsigmoid(beta * logits) * (1 - eps) + F.logsigmoid(-beta * logits) * eps) / (1 - 2 * eps)
    if loss_type == "hinge":
        return torch.relu(1 - beta * logits)
    if loss_type == "ipo":
        return (logits - 1 / (2 * beta)) ** 2
    raise ValueError(loss_type)


def dpo(policy, reference, mask, loss_type, beta, eps, average):
    if average:
        tokens = mask.sum(-1)
        policy = policy / tokens
        reference = reference / tokens
    n = policy.shape[0] // 2
    chosen, rejected = policy[:n], policy[n:]
    ref_chosen, ref_rejected = reference[:n], reference[n:]
    logits = (chosen - rejected) - (ref_chosen - ref_rejected)
    losses = losses_of(logits, loss_type, beta, eps)
    chosen_rewards = beta * (chosen - ref_chosen)
    rejected_rewards = beta * (rejected - ref_rejected)
    return losses, chosen_rewards, rejected_rewards, chosen, rejected


def main():
    x = json.loads(sys.argv[1])
    f32 = lambda key: torch.tensor(x[key], dtype=torch.float32)
    policy = torch.cat([f32("policy_chosen"), f32("policy_rejected")])
    reference = torch.cat([f32("ref_chosen"), f32("ref_rejected")])
    mask = torch.tensor(x["chosen_mask"] + x["rejected_mask"], dtype=torch.bool)
    loss_type, beta, eps = x["loss_type"], x["beta"], x["label_smoothing"]

    losses, chosen_rewards, rejected_rewards, chosen, rejected = dpo(
        policy, reference, mask, loss_type, beta, eps, average=loss_type == "ipo")
    unnormalised, _, _, _, _ = dpo(policy, reference, mask, loss_type, beta, eps, average=False)
    print(json.dumps({
        "losses": losses.tolist(),
        "chosen_rewards": chosen_rewards.tolist(),
        "rejected_rewards": rejected_rewards.tolist(),
        "chosen_logps": chosen.tolist(),
        "rejected_logps": rejected.tolist(),
        "unnormalised_losses": unnormalised.tolist(),
        "metrics": {
            "loss": losses.mean().item(),
            "rewards/chosen": chosen_rewards.mean().item(),
            "rewards/rejected": rejected_rewards.mean().item(),
            "rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean().item(),
            "rewards/margins": (chosen_rewards - rejected_rewards).mean().item(),
            "logps/chosen": chosen.mean().item(),
            "logps/rejected": rejected.mean().item(),
        },
    }))


if __name__ == "__main__":
    main()
