#!/usr/bin/env python3
"""Build a DeepSpeed ZeRO (stage 1, 2 or 3) or Universal Checkpoint folder from the documented layout, with real torch.save.

usage: make_deepspeed_zero.py <out_dir> <stage 1|2|3|ucp> <dp_world_size> [size_multiplier]

DeepSpeed is not installed here (and cannot be), so this writes what deepspeed/runtime/engine.py and the ZeRO
optimizers save (formats.md §4.1; deepspeed/utils/zero_to_fp32.py and deepspeed/checkpoint/ds_to_universal.py
are the readers it was checked against):

- stage 1/2: <out>/latest = "global_step10"; global_step10/mp_rank_00_model_states.pt with `module` (bf16 copies,
  fp32 buffer, tied lm_head), `param_shapes` (one OrderedDict of torch.Size per param group), `buffer_names`,
  `shared_params`, `frozen_param_shapes`/`frozen_param_fragments` (whole bf16 tensor), `ds_version`, ...; and per DP
  rank zero_pp_rank_R_mp_rank_00_optim_states.pt with `optimizer_state_dict` = {zero_stage, partition_count (a list per
  group), single_partition_of_fp32_groups (rank R's slice of each group's flat fp32 vector, the group padded to a
  multiple of 2*world and the last rank's padding stripped, saved as a view of the padded partition),
  base_optimizer_state (torch Adam state_dict over the padded partitions), group_paddings, param_slice_mappings,
  loss_scaler}.
- stage 3: per DP rank zero_pp_rank_R_mp_rank_00_model_states.pt (`module` holds empty placeholders for parameters,
  `frozen_param_fragments` rank R's padded partition) and zero_pp_rank_R_mp_rank_00_optim_states.pt with
  fp32_flat_groups (per sub-group, each parameter's ceil(numel/world) partition, zero padded, back to back) and the
  nested Adam optimizer_state_dict over those flat groups.
- ucp: <out>/latest_universal = "global_step10_universal"; that folder holds mp_rank_00_model_states.pt (with
  universal_checkpoint_info), zero/optimizer_state.pt and zero/<param>/{fp32,exp_avg,exp_avg_sq,step}.pt. embed.weight
  is stored the pre-0.3 way (padded to padded_vocab_size rows plus `vocab_divisibility_padding_tensor`), one bias the
  ZeRO-3 way (a bare flat tensor), the rest as {param, cat_dim}; module entries without a folder get fp32.pt from the
  bf16 copy, as ds_to_universal does.

DeepSpeed classes (loss scaler, fragment_address, ZeroStageEnum) are pickled under their real module paths from stand-ins, so the
reader meets the same globals. Odd sizes make every padding rule matter. <out>/reference.pt holds every tensor the
reader should expose, under the names it should expose them.
"""
import math
import os
import sys
from collections import OrderedDict

import torch

out, stage, world = sys.argv[1], sys.argv[2], int(sys.argv[3])
scale = int(sys.argv[4]) if len(sys.argv) > 4 else 1  # > 1 only for timing runs


from deepspeed_standins import DynamicLossScaler, ZeroStageEnum, fragment_address  # noqa: E402

torch.manual_seed(77)
vocab, padded_vocab, hidden, ffn = 37 * scale, 40 * scale, 10 * scale, 23 * scale
groups = [
    OrderedDict([("embed.weight", torch.randn(vocab, hidden)), ("layers.0.attn.weight", torch.randn(hidden, hidden)),
                 ("layers.0.mlp.up.weight", torch.randn(ffn, hidden)), ("layers.0.mlp.down.weight", torch.randn(hidden, ffn))]),
    OrderedDict([("layers.0.attn.bias", torch.randn(hidden)), ("norm.weight", torch.randn(hidden)), ("scale", torch.randn(()))]),
]
exp_avg = {n: torch.randn(p.shape) for g in groups for n, p in g.items()}
exp_avg_sq = {n: torch.rand(p.shape) for g in groups for n, p in g.items()}
frozen = OrderedDict([("frozen.weight", torch.randn(3, 7).to(torch.bfloat16))])
buffers = OrderedDict([("rope.inv_freq", torch.arange(5, dtype=torch.float32) / 7)])
shared = {"lm_head.weight": "embed.weight"}
params = OrderedDict((n, p) for g in groups for n, p in g.items())
ds_config = {"train_batch_size": 8 * world, "bf16": {"enabled": True}, "zero_optimization": {"stage": 3 if stage == "3" else 2}}


def save(obj, *path):
    full = os.path.join(out, *path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    torch.save(obj, full)


def model_states(module, frozen_fragments, extra=None):
    sd = {"module": module, "buffer_names": list(buffers), "optimizer": None,
          "param_shapes": [OrderedDict((n, p.shape) for n, p in g.items()) for g in groups],
          "frozen_param_shapes": OrderedDict((n, p.shape) for n, p in frozen.items()),
          "frozen_param_fragments": frozen_fragments, "shared_params": dict(shared), "lr_scheduler": None,
          "data_sampler": None, "random_ltd": None, "sparse_tensor_module_names": set(), "skipped_steps": 0,
          "global_steps": 10, "global_samples": 80 * world, "dp_world_size": world, "mp_world_size": 1,
          "ds_config": ds_config, "ds_version": "0.16.4"}
    sd.update(extra or {})
    return sd


def full_module():
    m = OrderedDict()
    for n, p in params.items():
        m[n] = p.to(torch.bfloat16)
    m.update(frozen)
    m.update(buffers)
    m["lm_head.weight"] = m["embed.weight"]
    return m


reference = OrderedDict()
tag = "global_step10"
if stage in ("1", "2"):
    save(model_states(full_module(), OrderedDict(frozen)), tag, "mp_rank_00_model_states.pt")
    align = 2 * world
    parts = {}  # (rank, group) -> (fp32 lean view, padded exp_avg, padded exp_avg_sq, padding, mapping)
    for g, group in enumerate(groups):
        flat = {k: torch.cat([src[n].reshape(-1) for n in group]) for k, src in
                (("fp32", params), ("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq))}
        total = flat["fp32"].numel()
        padded = align * math.ceil(total / align)
        size = padded // world
        for k in flat:
            flat[k] = torch.cat([flat[k], torch.zeros(padded - total)])
        for r in range(world):
            padding = padded - total if r == world - 1 else 0
            part = flat["fp32"][r * size:(r + 1) * size].clone()
            mapping, offset = OrderedDict(), 0
            for n, p in group.items():
                lo, hi = max(offset, r * size), min(offset + p.numel(), (r + 1) * size)
                if lo < hi:
                    mapping[n] = fragment_address(numel=hi - lo, start=lo - r * size)
                offset += p.numel()
            parts[r, g] = (part[:size - padding], flat["exp_avg"][r * size:(r + 1) * size].clone(),
                           flat["exp_avg_sq"][r * size:(r + 1) * size].clone(), padding, mapping)
    for r in range(world):
        n_groups = range(len(groups))
        osd = {"loss_scaler": DynamicLossScaler(), "dynamic_loss_scale": True, "overflow": False, "clip_grad": 1.0,
               "base_optimizer_state": {
                   "state": {g: {"step": torch.tensor(10.0), "exp_avg": parts[r, g][1], "exp_avg_sq": parts[r, g][2]} for g in n_groups},
                   "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01 if g == 0 else 0.0,
                                     "amsgrad": False, "params": [g]} for g in n_groups]},
               "single_partition_of_fp32_groups": [parts[r, g][0] for g in n_groups],
               "zero_stage": ZeroStageEnum(int(stage)), "group_paddings": [parts[r, g][3] for g in n_groups],
               "partition_count": [world for _ in n_groups], "ds_version": "0.16.4",
               "param_slice_mappings": [parts[r, g][4] for g in n_groups]}
        save({"optimizer_state_dict": osd, "ds_config": ds_config, "ds_version": "0.16.4"},
             tag, f"zero_pp_rank_{r}_mp_rank_00_optim_states.pt")
elif stage == "3":
    def partition(t, r):
        p = math.ceil(t.numel() / world)
        flat = torch.cat([t.reshape(-1), torch.zeros(world * p - t.numel(), dtype=t.dtype)])
        return flat[r * p:(r + 1) * p].clone()

    for r in range(world):
        module = OrderedDict((n, torch.empty(0, dtype=torch.bfloat16)) for n in params)
        module.update((n, torch.empty(0, dtype=torch.bfloat16)) for n in frozen)
        module.update(buffers)
        module["lm_head.weight"] = module["embed.weight"]
        save(model_states(module, OrderedDict((n, partition(p, r)) for n, p in frozen.items())),
             tag, f"zero_pp_rank_{r}_mp_rank_00_model_states.pt")
        flat = {k: [torch.cat([partition(src[n], r) for n in g]) for g in groups]
                for k, src in (("fp32", params), ("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq))}
        osd = {"zero_stage": ZeroStageEnum.weights, "loss_scaler": DynamicLossScaler(), "dynamic_loss_scale": True, "overflow": False,
               "partition_count": world,
               "optimizer_state_dict": {
                   "state": {g: {"step": torch.tensor(10.0), "exp_avg": flat["exp_avg"][g], "exp_avg_sq": flat["exp_avg_sq"][g]}
                             for g in range(len(groups))},
                   "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
                                     "params": [g]} for g in range(len(groups))]},
               "fp32_flat_groups": flat["fp32"]}
        save({"optimizer_state_dict": osd, "ds_config": ds_config, "ds_version": "0.16.4"},
             tag, f"zero_pp_rank_{r}_mp_rank_00_optim_states.pt")
elif stage == "ucp":
    tag = "global_step10_universal"
    info = {"universal_checkpoint_version": 0.2, "original_vocab_size": vocab, "padded_vocab_size": padded_vocab,
            "vocabulary_parameter_patterns": ["embed.weight"]}
    save(model_states(full_module(), OrderedDict(frozen), {"universal_checkpoint_info": info}), tag, "mp_rank_00_model_states.pt")
    save({"param_groups": [{"lr": 1e-3, "params": []}], "optimizer_state_dict": {"zero_stage": 2}}, tag, "zero", "optimizer_state.pt")
    for n in params:
        for state, src in (("fp32", params), ("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)):
            t = src[n]
            if n == "embed.weight":
                t = torch.cat([t, t[-1:].repeat(padded_vocab - vocab, 1)])
                obj = {"param": t, "cat_dim": 0, "vocab_divisibility_padding_tensor": t[-1].clone()}
            elif n == "layers.0.attn.bias":
                obj = t.reshape(-1).clone()
            else:
                obj = {"param": t, "cat_dim": 0}
            save(obj, tag, "zero", n, f"{state}.pt")
        save(10, tag, "zero", n, "step.pt")
    for n, t in full_module().items():
        if n not in params:
            save({"param": t.float()}, tag, "zero", n, "fp32.pt")
            reference[n] = t.float()
    with open(os.path.join(out, "latest_universal"), "w") as f:
        f.write(tag)
else:
    raise SystemExit(f"unknown stage {stage}")

if stage != "ucp":
    with open(os.path.join(out, "latest"), "w") as f:
        f.write(tag)
    reference.update(buffers)
    reference.update(frozen)
    reference.update(("module." + n, t) for n, t in full_module().items()
                     if stage != "3" and n not in buffers)
reference.update(params)
if stage != "ucp":
    reference["lm_head.weight"] = params["embed.weight"]
for n in params:
    reference[f"optimizer.state.{n}.exp_avg"] = exp_avg[n]
    reference[f"optimizer.state.{n}.exp_avg_sq"] = exp_avg_sq[n]
torch.save(OrderedDict((k, v.clone()) for k, v in reference.items()), os.path.join(out, "reference.pt"))
