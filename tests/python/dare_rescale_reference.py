"""mergekit's DARE and TIES (generalised task arithmetic, random or magnitude sparsification), in plain torch, as its
current source describes it (arcee-ai/mergekit at a6e40288, 2026-06-17, the same since v0.1.0: mergekit/sparsify.py
`rescaled_masked_tensor`, mergekit/merge_methods/generalized_task_arithmetic.py `GTATask`); written from that
description, not copied:
  delta_i  = model_i - base
  masked_i = delta_i * mask_i     (DARE: the Bernoulli(density) draw, given by the caller; TIES: top int(density*n) |delta|)
  rescale l1:   masked_i * |delta_i|_1 / |masked_i|_1, unless either norm < 1e-7 (then masked_i as it is)
  rescale none: masked_i
  rescale inverse_density: masked_i / density_i    (the DARE paper; kept for comparison)
  d_i = w_i * masked_i; with ties, sign = sign(sum_i d_i) (0 counts as +), keep d_i of that sign, divisor sum w_i kept
  (0 -> 1); without, divisor sum w_i (|.| < 1e-8 -> 1); divide when normalize; result base + lambda * mixed.
The mask comes from the caller so that both sides drop the same entries (torch.bernoulli's stream is not Ckpt's).
Usage: dare_rescale_reference.py <folder>...; one run merges every folder given (importing torch is most of a run's
time). A folder holds params.json ({"weights", "densities", "rescale", "ties",
"normalize", "lambda", "models", "sizes", "sparsify": "random" (default) or "magnitude"}), base.bin, model{i}.bin
(float32) and, for random, mask{i}.bin (uint8), each the tensors of `sizes` end to end (norms are per tensor);
writes merged.bin (float32), the merged tensors end to end."""
import json, os, sys
import torch

def load(folder, name, dtype):
    data = bytearray(open(os.path.join(folder, name), "rb").read())
    return torch.frombuffer(data, dtype=dtype).clone()

def merge(base, models, masks):
    weighted = []
    for i, (model, mask) in enumerate(zip(models, masks)):
        delta = model - base
        density = p["densities"][i]
        if density >= 1:
            kept = delta   # mergekit's bernoulli() returns the tensor untouched at density 1
        else:
            if mask is None:   # ties: mergekit's magnitude(), the top int(density * n) entries by |delta|
                mask = torch.zeros_like(delta)
                mask[torch.argsort(delta.abs(), descending=True)[: int(density * delta.numel())]] = 1
            kept = delta * mask.to(torch.float32)
            if p["rescale"] == "l1":
                before, after = delta.abs().sum(), kept.abs().sum()
                if before >= 1e-7 and after >= 1e-7:
                    kept = kept * (before / after)
            elif p["rescale"] == "inverse_density":
                kept = kept / density
        weighted.append(kept * p["weights"][i])
    d = torch.stack(weighted)
    w = torch.tensor(p["weights"], dtype=torch.float32)[:, None]
    if p["ties"]:
        elected = (d.sum(0) >= 0).to(torch.float32) * 2 - 1
        agree = (d.sign() == elected).to(torch.float32)
        mixed = (d * agree).sum(0)
        divisor = (w * agree).sum(0)
        divisor[divisor == 0] = 1
    else:
        mixed = d.sum(0)
        divisor = w.sum(0).expand_as(mixed).clone()
        divisor[divisor.abs() < 1e-8] = 1
    if p["normalize"]:
        mixed = mixed / divisor
    return base + p["lambda"] * mixed

def run(folder):
    global p
    p = json.load(open(os.path.join(folder, "params.json")))
    sizes = p["sizes"]
    bases = load(folder, "base.bin", torch.float32).split(sizes)
    models = [load(folder, f"model{i}.bin", torch.float32).split(sizes) for i in range(p["models"])]
    masks = [load(folder, f"mask{i}.bin", torch.uint8).split(sizes) if p.get("sparsify", "random") == "random"
             else [None] * len(sizes) for i in range(p["models"])]
    merged = torch.cat([merge(bases[t], [m[t] for m in models], [k[t] for k in masks]) for t in range(len(sizes))])
    open(os.path.join(folder, "merged.bin"), "wb").write(merged.numpy().tobytes())
    print(json.dumps({"folder": os.path.basename(folder), "elements": merged.numel(), "rescale": p["rescale"], "ties": p["ties"]}))


for folder in sys.argv[1:]:
    run(folder)
