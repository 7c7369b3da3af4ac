"""Reference numbers for Ckpt's unlearning losses (src/Kernel/Training/UnlearningLoss.cs), from torch 1.13.

Writes tests/fixtures/unlearning/losses_reference.json: a fixed batch (policy logits, reference logits, SFT-style
labels with -100 on prompt and padding, attention mask) and, for each objective as RESTOR's code writes it
(k1rezaei/restor unlearning/unlearn/{GA,KL,NPO}.py), the loss and its gradient with respect to the policy logits.

    /usr/bin/python3 tests/python/unlearning_losses_reference.py
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1913)
B, T, V = 2, 6, 11
BETA = 0.1

policy = (torch.randn(B, T, V) * 2).double().float()
reference = (policy + torch.randn(B, T, V) * 0.7).float()
ids = torch.randint(0, V, (B, T))
attention = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
labels = ids.clone()
labels[0, :2] = -100          # a prompt of 2 tokens
labels[1, :1] = -100          # a prompt of 1 token
labels[attention == 0] = -100  # padding


def hf_loss(logits, labels):
    """transformers' causal-LM loss: shift by one, mean cross-entropy over labels != -100."""
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)


def row_mean_nll(logits, labels):
    shifted = labels[:, 1:]
    nll = F.cross_entropy(logits[:, :-1].reshape(-1, V), shifted.reshape(-1), ignore_index=-100, reduction="none").view(B, T - 1)
    counted = (shifted != -100).float()
    return (nll * counted).sum(1) / counted.sum(1)


def restor_kl_loss(prob_p, prob_q, mask=None):
    """RESTOR's kl_loss, -(p * log(q + 1e-12)).sum(-1).mean(); with a mask, the mean over unmasked positions."""
    per_position = -(prob_p * torch.log(prob_q + 1e-12)).sum(-1)
    if mask is None:
        return per_position.mean()
    return (per_position * mask).sum() / mask.sum()


def with_grad(fn):
    x = policy.clone().requires_grad_(True)
    loss = fn(x)
    loss.backward()
    return {"value": loss.item(), "grad": x.grad.flatten().tolist()}


results = {
    # GA: loss = -outputs.loss
    "ga": with_grad(lambda x: -hf_loss(x, labels)),
    # NPO per sequence (RESTOR's batch-level formula at batch size 1, applied to each row), averaged over rows
    "npo": with_grad(lambda x: (-F.logsigmoid(BETA * (row_mean_nll(x, labels) - row_mean_nll(reference, labels))) * 2 / BETA).mean()),
    # KL's retain term: RESTOR's kl_loss(softmax(policy), softmax(reference)) over the real positions
    "retain_cross_entropy": with_grad(lambda x: restor_kl_loss(torch.softmax(x, -1), torch.softmax(reference, -1), attention.float())),
    # the same without a mask: every position, exactly RESTOR's .mean()
    "retain_cross_entropy_unmasked": with_grad(lambda x: restor_kl_loss(torch.softmax(x, -1), torch.softmax(reference, -1))),
    # the true KL(p || q) over the real positions (logged beside the cross-entropy)
    "kl_divergence": with_grad(lambda x: ((torch.softmax(x, -1) * (F.log_softmax(x, -1) - F.log_softmax(reference, -1))).sum(-1) * attention.float()).sum() / attention.float().sum()),
}

out = {
    "torch": torch.__version__,
    "shape": [B, T, V],
    "beta": BETA,
    "policy_logits": policy.flatten().tolist(),
    "reference_logits": reference.flatten().tolist(),
    "labels": labels.flatten().tolist(),
    "attention_mask": attention.flatten().tolist(),
    "row_mean_nll_policy": row_mean_nll(policy, labels).tolist(),
    "row_mean_nll_reference": row_mean_nll(reference, labels).tolist(),
    "losses": results,
}
path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "unlearning", "losses_reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print({k: v["value"] for k, v in results.items()})
