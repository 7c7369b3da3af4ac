#!/usr/bin/env python3
"""Build a tensor- and/or pipeline-parallel DeepSpeed checkpoint from the documented layout, with real torch.save.

usage: make_deepspeed_model_parallel.py <out_dir> <tp> <pp> [--swiglu] [--unknown] [--zero 1|2|3]

DeepSpeed is not installed here (and cannot be), so this writes what DeepSpeed v0.16 saves for a Megatron-DeepSpeed GPT
(read from microsoft/DeepSpeed at 38327e0: runtime/engine.py `_get_ckpt_name`, `_save_checkpoint`; runtime/pipe/module.py
`ckpt_layer_path`, `save_state_dict`; runtime/pipe/topology.py `get_rank_repr`; checkpoint/deepspeed_checkpoint.py for
the merge rules its own tools use):

- <out>/latest = "global_step10". pp == 1: global_step10/mp_rank_{tp:02d}_model_states.pt, one per TP rank, each
  `module` = that rank's slice of the whole model's state dict (`language_model.embedding.word_embeddings.weight`,
  `language_model.encoder.layers.N.self_attention.query_key_value.weight`, ...), plus the engine's keys
  (buffer_names, optimizer, param_shapes, ..., global_steps, dp_world_size, mp_world_size, ds_config, ds_version)
  and Megatron-DeepSpeed's client state `args` (an argparse.Namespace; `swiglu` set with --swiglu).
- pp > 1: every layer of the PipelineModule in its own file, `layer_{idx:02d}-model_{tp:02d}-model_states.pt`
  (`layer_{idx:02d}-model_states.pt` when tp == 1: PipeDataParallelTopology has no model axis), holding that layer's
  own state dict (`word_embeddings.weight`, `self_attention.dense.weight`, the final LayerNorm's bare `weight`, `bias`).
  Layer indices count the pipeline's functions too: 0 (to-fp16) and 2 and 5 are functions and have no file; 1 is the
  embedding, 3 and 4 transformer layers, 6 the final norm. The engine still writes mp_rank_{r:02d}_model_states.pt for
  each of the pp * tp model ranks (the grid's ds_model_rank), with `module` None.

Tensor-parallel slices follow Megatron: query_key_value, dense_h_to_4h and word_embeddings split on dim 0 (torch.chunk),
self_attention.dense and dense_4h_to_h weights on dim 1, norms, row-parallel biases and position embeddings replicated;
with --swiglu, dense_h_to_4h is [gate; up] and each rank holds [gate_r; up_r]. --unknown adds `mlp.scale` (split on dim
0), a name no rule knows. <out>/reference.pt holds every whole tensor under the name the reader gives it
(`language_model...` for pp == 1, `<layer index>.<key>` for pp > 1, as PipelineModule's own state_dict names them).

--zero 1|2 adds the ZeRO optimizer partitions of a data-parallel size 2 run (DeepSpeed 38327e0: runtime/engine.py
`_get_zero_ckpt_name`, `_save_zero_checkpoint`; runtime/bf16_optimizer.py and runtime/zero/stage_1_and_2.py `state_dict`;
checkpoint/ds_to_universal.py and reshape_3d_utils.py read them back). Every parameter has an fp32 master weight and Adam
exp_avg / exp_avg_sq, whole, cut into TP slices by the same rules. Model rank m = stage * tp + tp_rank (the pipe grid's
ds_model_rank; pipeline stage 0 holds layers 1 and 3, stage 1 layers 4 and 6) gets `param_shapes` in its
mp_rank_{m:02d}_model_states.pt (two groups as Megatron builds them: 2-D weights, then biases and norms, module order)
and, for each DP rank d, bf16_zero_pp_rank_{d}_mp_rank_{m:02d}_optim_states.pt (bf16 is enabled, so the engine adds the
`bf16_` prefix) = {optimizer_state_dict, ds_config, ds_version}. Each group's slices are flattened back to back, padded
with zeros to a multiple of 2 * dp, and cut into dp equal partitions; torch Adam's state_dict over the partitions is
base_optimizer_state. --zero 1 writes BF16_Optimizer's dict (bf16 with ZeRO-1, Megatron-DeepSpeed's default: no
zero_stage, every partition keeps its padding); --zero 2 DeepSpeedZeroOptimizer's (zero_stage ZeroStageEnum 2, the last
rank's fp32 partition stripped of padding as a view, loss scaler). The reference then also holds
`optimizer.state.<name>.fp32`, `.exp_avg` and `.exp_avg_sq`, the whole tensors. Pipeline runs take --zero 1 only
(runtime/pipe/engine.py refuses ZeRO-2 and 3). --zero 3 (pp 1) writes ZeRO-3's files instead of mp_rank_*: per model
rank m and DP rank d zero_pp_rank_{d}_mp_rank_{m:02d}_model_states.pt (empty bf16 placeholders in `module`,
param_shapes) and bf16_zero_pp_rank_{d}_mp_rank_{m:02d}_optim_states.pt (fp32_flat_groups: each slice's ceil(numel/2)
partition, zero padded, back to back per group; nested Adam optimizer_state_dict); the reference is then the whole fp32
masters under their own names and `optimizer.state.<name>.exp_avg` / `.exp_avg_sq`, as the ZeRO-3 reader names them.
"""
import argparse
import math
import os
import sys
from collections import OrderedDict

import torch

out, tp, pp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
swiglu, unknown = "--swiglu" in sys.argv, "--unknown" in sys.argv
zero = int(sys.argv[sys.argv.index("--zero") + 1]) if "--zero" in sys.argv else 0
DP = 2
torch.manual_seed(7)
H, V, P, F, LAYERS = 8, 20, 6, 12, 2
dtype = torch.bfloat16


def t(*shape):
    return torch.randn(*shape).to(dtype)


def transformer_layer():
    layer = OrderedDict()
    layer["input_layernorm.weight"], layer["input_layernorm.bias"] = t(H), t(H)
    layer["self_attention.query_key_value.weight"], layer["self_attention.query_key_value.bias"] = t(3 * H, H), t(3 * H)
    layer["self_attention.dense.weight"], layer["self_attention.dense.bias"] = t(H, H), t(H)
    layer["post_attention_layernorm.weight"], layer["post_attention_layernorm.bias"] = t(H), t(H)
    rows = 2 * F if swiglu else F
    layer["mlp.dense_h_to_4h.weight"], layer["mlp.dense_h_to_4h.bias"] = t(rows, H), t(rows)
    layer["mlp.dense_4h_to_h.weight"], layer["mlp.dense_4h_to_h.bias"] = t(H, F), t(H)
    if unknown:
        layer["mlp.scale"] = t(4 * tp)
    return layer


embedding = OrderedDict([("word_embeddings.weight", t(V, H)), ("position_embeddings.weight", t(P, H))])
layers = [transformer_layer() for _ in range(LAYERS)]
final_norm = OrderedDict([("weight", t(H)), ("bias", t(H))])


def tp_slice(name, value, rank):
    if tp == 1:
        return value.clone()
    if name.endswith(("query_key_value.weight", "query_key_value.bias", "word_embeddings.weight", "mlp.scale")) or (
            name.endswith(("dense_h_to_4h.weight", "dense_h_to_4h.bias")) and not swiglu):
        return value.chunk(tp, 0)[rank].clone()
    if name.endswith(("dense_h_to_4h.weight", "dense_h_to_4h.bias")):
        gate, up = value.chunk(2, 0)
        return torch.cat([gate.chunk(tp, 0)[rank], up.chunk(tp, 0)[rank]]).clone()
    if name.endswith(("self_attention.dense.weight", "dense_4h_to_h.weight")):
        return value.chunk(tp, 1)[rank].clone()
    return value.clone()  # norms, row-parallel biases, position embeddings: replicated


def engine_state(module, model_rank, param_shapes=None):
    args = argparse.Namespace(tensor_model_parallel_size=tp, pipeline_model_parallel_size=pp, swiglu=swiglu,
                              hidden_size=H, num_layers=LAYERS)
    return dict(module=module, buffer_names=[], optimizer=None, param_shapes=param_shapes, frozen_param_shapes=None,
                shared_params=None, frozen_param_fragments=None, lr_scheduler=None, data_sampler=None, random_ltd=None,
                sparse_tensor_module_names=set(), skipped_steps=0, global_steps=10, global_samples=80,
                dp_world_size=DP if zero else 1, mp_world_size=tp * pp, ds_config={"train_batch_size": 8, "bf16": {"enabled": True}},
                ds_version="0.16.4", args=args, iteration=10)


from deepspeed_standins import DynamicLossScaler, ZeroStageEnum, fragment_address  # noqa: E402
optim_gen = torch.Generator().manual_seed(11)
masters, whole_shapes = {}, {}


def make_masters(reference):
    """Whole fp32 master weights near the bf16 model weights, and Adam moments (exp_avg_sq non-negative)."""
    for n, v in reference.items():
        whole_shapes[n] = tuple(v.shape)
        masters.setdefault("fp32", OrderedDict())[n] = v.float() + 1e-3 * torch.randn(v.shape, generator=optim_gen)
        masters.setdefault("exp_avg", OrderedDict())[n] = 1e-2 * torch.randn(v.shape, generator=optim_gen)
        masters.setdefault("exp_avg_sq", OrderedDict())[n] = 1e-4 * torch.rand(v.shape, generator=optim_gen)


def zero_groups(names):
    """Megatron's param groups: weight-decayed 2-D weights, then biases and norms, each in module order."""
    return [[n for n in names if len(whole_shapes[n]) >= 2], [n for n in names if len(whole_shapes[n]) < 2]]


def zero_param_shapes(names, rank):
    if not zero:
        return None
    return [OrderedDict((n, tp_slice(n, masters["fp32"][n], rank).shape) for n in group) for group in zero_groups(names)]


def write_zero_partitions(reference, stages):
    for slot in ("fp32", "exp_avg", "exp_avg_sq"):
        for n, v in masters[slot].items():
            reference[f"optimizer.state.{n}.{slot}"] = v
    align = 2 * DP
    for p, names in enumerate(stages):
        for r in range(tp):
            model_rank = p * tp + r
            parts = {}  # (dp, group) -> dict of flat partitions, padding, mapping
            groups = zero_groups(names)
            for g, group in enumerate(groups):
                flat = {k: torch.cat([tp_slice(n, masters[k][n], r).reshape(-1) for n in group]) for k in masters}
                total = flat["fp32"].numel()
                padded = align * math.ceil(total / align)
                size = padded // DP
                flat = {k: torch.cat([v, torch.zeros(padded - total)]) for k, v in flat.items()}
                for d in range(DP):
                    padding = padded - total if d == DP - 1 else 0
                    mapping, offset = OrderedDict(), 0
                    for n in group:
                        numel = tp_slice(n, masters["fp32"][n], r).numel()
                        lo, hi = max(offset, d * size), min(offset + numel, (d + 1) * size)
                        if lo < hi:
                            mapping[n] = fragment_address(numel=hi - lo, start=lo - d * size)
                        offset += numel
                    part = {k: v[d * size:(d + 1) * size].clone() for k, v in flat.items()}
                    # ZeRO-1/2 strip the last rank's padding (a view); BF16_Optimizer keeps it
                    fp32 = part["fp32"][:size - padding] if zero == 2 else part["fp32"]
                    parts[d, g] = (fp32, part["exp_avg"], part["exp_avg_sq"], padding, mapping)
            for d in range(DP):
                gs = range(len(groups))
                base = {"state": {g: {"step": torch.tensor(10.0), "exp_avg": parts[d, g][1], "exp_avg_sq": parts[d, g][2]} for g in gs},
                        "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.1 if g == 0 else 0.0,
                                          "amsgrad": False, "params": [g]} for g in gs]}
                osd = {"clip_grad": 1.0, "base_optimizer_state": base,
                       "single_partition_of_fp32_groups": [parts[d, g][0] for g in gs],
                       "group_paddings": [parts[d, g][3] for g in gs], "partition_count": [DP for _ in gs],
                       "ds_version": "0.16.4", "param_slice_mappings": [parts[d, g][4] for g in gs]}
                if zero == 2:
                    osd.update({"loss_scaler": DynamicLossScaler(1.0), "dynamic_loss_scale": False, "overflow": False,
                                "zero_stage": ZeroStageEnum(2)})
                torch.save({"optimizer_state_dict": osd, "ds_config": {"train_batch_size": 8, "bf16": {"enabled": True},
                                                                       "zero_optimization": {"stage": zero}},
                            "ds_version": "0.16.4"},
                           os.path.join(tag, f"bf16_zero_pp_rank_{d}_mp_rank_{model_rank:02d}_optim_states.pt"))


def write_zero3_partitions(reference, names):
    """ZeRO-3 (pp 1 only): per (dp, model rank) model states with empty bf16 placeholders and optimizer states whose
    fp32_flat_groups hold each slice's ceil(numel / dp) partition, zero padded, back to back (stage3.py)."""
    reference.clear()
    for n in names:
        reference[n] = masters["fp32"][n]
    for slot in ("exp_avg", "exp_avg_sq"):
        for n in names:
            reference[f"optimizer.state.{n}.{slot}"] = masters[slot][n]

    def partition(t, d):
        p = math.ceil(t.numel() / DP)
        flat = torch.cat([t.reshape(-1), torch.zeros(DP * p - t.numel(), dtype=t.dtype)])
        return flat[d * p:(d + 1) * p].clone()

    groups = zero_groups(names)
    for r in range(tp):
        for d in range(DP):
            module = OrderedDict((n, torch.empty(0, dtype=dtype)) for n in names)
            sd = engine_state(module, r, zero_param_shapes(names, r))
            sd.update(frozen_param_shapes=OrderedDict(), frozen_param_fragments=OrderedDict())
            torch.save(sd, os.path.join(tag, f"zero_pp_rank_{d}_mp_rank_{r:02d}_model_states.pt"))
            flat = {k: [torch.cat([partition(tp_slice(n, masters[k][n], r), d) for n in g]) for g in groups] for k in masters}
            osd = {"zero_stage": ZeroStageEnum.weights, "loss_scaler": DynamicLossScaler(1.0), "dynamic_loss_scale": False,
                   "overflow": False, "partition_count": DP,
                   "optimizer_state_dict": {
                       "state": {g: {"step": torch.tensor(10.0), "exp_avg": flat["exp_avg"][g], "exp_avg_sq": flat["exp_avg_sq"][g]}
                                 for g in range(len(groups))},
                       "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.1 if g == 0 else 0.0,
                                         "amsgrad": False, "params": [g]} for g in range(len(groups))]},
                   "fp32_flat_groups": flat["fp32"]}
            torch.save({"optimizer_state_dict": osd, "ds_config": {"train_batch_size": 8, "bf16": {"enabled": True},
                                                                   "zero_optimization": {"stage": 3}}, "ds_version": "0.16.4"},
                       os.path.join(tag, f"bf16_zero_pp_rank_{d}_mp_rank_{r:02d}_optim_states.pt"))


tag = os.path.join(out, "global_step10")
os.makedirs(tag, exist_ok=True)
with open(os.path.join(out, "latest"), "w") as f:
    f.write("global_step10")
reference = OrderedDict()
if pp == 1:
    whole = OrderedDict()
    for k, v in embedding.items():
        whole["language_model.embedding." + k] = v
    for i, layer in enumerate(layers):
        for k, v in layer.items():
            whole[f"language_model.encoder.layers.{i}.{k}"] = v
    for k, v in final_norm.items():
        whole["language_model.encoder.final_layernorm." + k] = v
    reference.update(whole)
    stages = [list(whole)]
    make_masters(reference)
    for r in range(tp if zero != 3 else 0):
        shard = OrderedDict((k, tp_slice(k, v, r)) for k, v in whole.items())
        torch.save(engine_state(shard, r, zero_param_shapes(stages[0], r)), os.path.join(tag, f"mp_rank_{r:02d}_model_states.pt"))
else:
    pipeline = {1: embedding, 3: layers[0], 4: layers[1], 6: final_norm}
    for idx, state in pipeline.items():
        for k, v in state.items():
            reference[f"{idx}.{k}"] = v
        for r in range(tp):
            name = f"layer_{idx:02d}" + (f"-model_{r:02d}" if tp > 1 else "") + "-model_states.pt"
            torch.save(OrderedDict((k, tp_slice(k, v, r)) for k, v in state.items()), os.path.join(tag, name))
    per_stage = len(pipeline) // pp
    stages = [[n for idx in list(pipeline)[p * per_stage:(p + 1) * per_stage] for n in reference if n.startswith(f"{idx}.")]
              for p in range(pp)]
    make_masters(reference)
    for model_rank in range(pp * tp):
        torch.save(engine_state(None, model_rank, zero_param_shapes(stages[model_rank // tp], model_rank % tp)),
                   os.path.join(tag, f"mp_rank_{model_rank:02d}_model_states.pt"))
if zero == 3:
    write_zero3_partitions(reference, stages[0])
elif zero:
    write_zero_partitions(reference, stages)
torch.save(reference, os.path.join(out, "reference.pt"))
