#!/usr/bin/env python3
"""Build a tensor- and/or pipeline-parallel DeepSpeed checkpoint from the documented layout, with real torch.save.

usage: make_deepspeed_model_parallel.py <out_dir> <tp> <pp> [--swiglu] [--unknown]

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
"""
import argparse
import os
import sys
from collections import OrderedDict

import torch

out, tp, pp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
swiglu, unknown = "--swiglu" in sys.argv, "--unknown" in sys.argv
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


def engine_state(module, model_rank):
    args = argparse.Namespace(tensor_model_parallel_size=tp, pipeline_model_parallel_size=pp, swiglu=swiglu,
                              hidden_size=H, num_layers=LAYERS)
    return dict(module=module, buffer_names=[], optimizer=None, param_shapes=None, frozen_param_shapes=None,
                shared_params=None, frozen_param_fragments=None, lr_scheduler=None, data_sampler=None, random_ltd=None,
                sparse_tensor_module_names=set(), skipped_steps=0, global_steps=10, global_samples=80,
                dp_world_size=1, mp_world_size=tp * pp, ds_config={"train_batch_size": 8, "bf16": {"enabled": True}},
                ds_version="0.16.4", args=args, iteration=10)


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
    for r in range(tp):
        shard = OrderedDict((k, tp_slice(k, v, r)) for k, v in whole.items())
        torch.save(engine_state(shard, r), os.path.join(tag, f"mp_rank_{r:02d}_model_states.pt"))
else:
    pipeline = {1: embedding, 3: layers[0], 4: layers[1], 6: final_norm}
    for idx, state in pipeline.items():
        for k, v in state.items():
            reference[f"{idx}.{k}"] = v
        for r in range(tp):
            name = f"layer_{idx:02d}" + (f"-model_{r:02d}" if tp > 1 else "") + "-model_states.pt"
            torch.save(OrderedDict((k, tp_slice(k, v, r)) for k, v in state.items()), os.path.join(tag, name))
    for model_rank in range(pp * tp):
        torch.save(engine_state(None, model_rank), os.path.join(tag, f"mp_rank_{model_rank:02d}_model_states.pt"))
torch.save(reference, os.path.join(out, "reference.pt"))
