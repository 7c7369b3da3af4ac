#!/usr/bin/env python3
"""Build a Megatron-LM legacy (--ckpt-format torch) checkpoint from the documented layout, with real torch.save.

usage: make_megatron_legacy.py <out_dir> <tp> <pp>

No Megatron-LM install exists here, so the test builds the layout that megatron/training/checkpointing.py
writes (formats.md §5.1): <out>/latest_checkpointed_iteration.txt = "10", <out>/iter_0000010/mp_rank_TT[_PPP]/
model_optim_rng.pt holding {"args": argparse.Namespace, "checkpoint_version": 3.0, "iteration": 10, "model":
OrderedDict, "rng_state": [...]}. Parameters use mcore names; TP splits follow tools/checkpoint: column-parallel
(linear_qkv, linear_fc1 as SwiGLU [gate; up] halves, word_embeddings, output_layer) on dim 0, row-parallel
(linear_proj, linear_fc2 weights) on dim 1, norms replicated; layer numbers are local to each PP stage; a TE
`_extra_state` blob is added to every layer. The full tensors go to <out>/reference.pt.
"""
import argparse
import os
import sys
from collections import OrderedDict

import torch

out, tp, pp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(1234)
layers, hidden, ffn, heads, groups, vocab = 4, 16, 24, 4, 2, 64
head_dim = hidden // heads
qkv_rows = (heads + 2 * groups) * head_dim
full = OrderedDict()
full["embedding.word_embeddings.weight"] = torch.randn(vocab, hidden)
for i in range(layers):
    p = f"decoder.layers.{i}."
    full[p + "self_attention.linear_qkv.layer_norm_weight"] = torch.randn(hidden)
    full[p + "self_attention.linear_qkv.weight"] = torch.randn(qkv_rows, hidden)
    full[p + "self_attention.linear_qkv.bias"] = torch.randn(qkv_rows)
    full[p + "self_attention.linear_proj.weight"] = torch.randn(hidden, hidden)
    full[p + "self_attention.linear_proj.bias"] = torch.randn(hidden)
    full[p + "mlp.linear_fc1.layer_norm_weight"] = torch.randn(hidden)
    full[p + "mlp.linear_fc1.weight"] = torch.randn(2 * ffn, hidden)
    full[p + "mlp.linear_fc2.weight"] = torch.randn(hidden, ffn)
full["decoder.final_layernorm.weight"] = torch.randn(hidden)
full["output_layer.weight"] = torch.randn(vocab, hidden).to(torch.bfloat16)


def split(name, t, r):
    if name.endswith(("linear_qkv.weight", "linear_qkv.bias", "word_embeddings.weight", "output_layer.weight")):
        return t.chunk(tp, 0)[r].clone()
    if name.endswith("linear_fc1.weight"):
        gate, up = t.chunk(2, 0)
        return torch.cat([gate.chunk(tp, 0)[r], up.chunk(tp, 0)[r]], 0).clone()
    if name.endswith(("linear_proj.weight", "linear_fc2.weight")):
        return t.chunk(tp, 1)[r].clone()
    return t.clone()


per_stage = layers // pp
args = argparse.Namespace(tensor_model_parallel_size=tp, pipeline_model_parallel_size=pp, num_layers=layers,
                          hidden_size=hidden, ffn_hidden_size=ffn, num_attention_heads=heads, num_query_groups=groups,
                          swiglu=True, padded_vocab_size=vocab)
it = os.path.join(out, "iter_0000010")
for s in range(pp):
    for r in range(tp):
        model = OrderedDict()
        for name, t in full.items():
            if name.startswith("decoder.layers."):
                i = int(name.split(".")[2])
                if i // per_stage != s:
                    continue
                local = f"decoder.layers.{i - s * per_stage}." + name.split(".", 3)[3]
                model[local] = split(name, t, r)
                if name.endswith("linear_fc2.weight"):
                    model[f"decoder.layers.{i - s * per_stage}.mlp.linear_fc2._extra_state"] = None
            elif name.startswith("embedding.") and s == 0:
                model[name] = split(name, t, r)
            elif (name.startswith("output_layer") or name.startswith("decoder.final_layernorm")) and s == pp - 1:
                model[name] = split(name, t, r)
        folder = f"mp_rank_{r:02d}" if pp == 1 else f"mp_rank_{r:02d}_{s:03d}"
        os.makedirs(os.path.join(it, folder), exist_ok=True)
        torch.save({"args": args, "checkpoint_version": 3.0, "iteration": 10, "model": model,
                    "rng_state": [{"random_rng_state": 1}]}, os.path.join(it, folder, "model_optim_rng.pt"))
with open(os.path.join(out, "latest_checkpointed_iteration.txt"), "w") as f:
    f.write("10")
torch.save(full, os.path.join(out, "reference.pt"))
