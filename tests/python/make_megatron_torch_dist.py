#!/usr/bin/env python3
"""Build a Megatron-Core `--ckpt-format torch_dist` checkpoint from the documented layout, with real torch.save.

usage: make_megatron_torch_dist.py <out_dir> [--args-num-layers N] [--backend NAME] [--no-metadata-json]

No Megatron-Core (and no torch 2.x DCP) exists here, so this writes what megatron/core/dist_checkpointing writes
(formats.md §1, §5.2): <out>/latest_checkpointed_iteration.txt = "10" and <out>/iter_0000010/ holding
- metadata.json {"sharded_backend": "torch_dist", "sharded_backend_version": 1, ...} (core.py),
- common.pt, torch.save of the non-sharded common state (args, checkpoint_version, iteration, ...),
- a DCP: `.metadata` pickled with the torch 2.x class paths (torch.distributed.checkpoint.metadata.*,
  filesystem._StorageInfo; stand-in classes under those names, since torch 1.13 has none) plus Megatron's
  extra `mcore_data` attribute, and `__{rank}_0.distcp` files in which every item is a complete torch.save zip.
Layers are stacked: `decoder.layers.<param>` has global shape [num_layers, ...] and one chunk per (layer, TP rank)
with a length-1 layer axis, as ShardedTensors with a prepended axis produce. TP = 2: linear_qkv, word_embeddings,
output_layer split on their first local dim, linear_proj/linear_fc2 on their last; SwiGLU fc1 is two chunks per rank
(gate rows, then up rows, of the global [gate; up]); norms are replicated and written once by rank 0, and
`mlp.linear_fc1.layer_norm_weight` is one chunk spanning every layer (as a DCP resave writes it). One optimizer
state (`optimizer.state.exp_avg.decoder.layers.self_attention.linear_proj.weight`) and per-rank RNG ShardedObjects
(`rng_state/shard_0.<r>_1.2`) are included. <out>/reference.pt holds every tensor under its per-layer name.
"""
import argparse
import io
import json
import os
import pickle
from collections import OrderedDict

import torch

opts = argparse.ArgumentParser()
opts.add_argument("out")
opts.add_argument("--args-num-layers", type=int, default=None)
opts.add_argument("--backend", default="torch_dist")
opts.add_argument("--no-metadata-json", action="store_true")
a = opts.parse_args()


from dcp_stand_ins import (BytesStorageMetadata, ChunkStorageMetadata, MetadataIndex, TensorProperties,
                           TensorStorageMetadata, md, module, new, stand_in)

fs = module("torch.distributed.checkpoint.filesystem")
Metadata = stand_in(md, "Metadata")
StorageInfo = stand_in(fs, "_StorageInfo")


torch.manual_seed(4321)
layers, hidden, ffn, heads, groups, vocab, tp = 4, 64, 128, 4, 2, 256, 2
qkv_rows = (heads + 2 * groups) * (hidden // heads)
L = "decoder.layers."
full = OrderedDict()  # DCP key -> global tensor
full["embedding.word_embeddings.weight"] = torch.randn(vocab, hidden)
full[L + "self_attention.linear_qkv.layer_norm_weight"] = torch.randn(layers, hidden)
full[L + "self_attention.linear_qkv.weight"] = torch.randn(layers, qkv_rows, hidden)
full[L + "self_attention.linear_qkv.bias"] = torch.randn(layers, qkv_rows)
full[L + "self_attention.linear_proj.weight"] = torch.randn(layers, hidden, hidden)
full[L + "self_attention.linear_proj.bias"] = torch.randn(layers, hidden)
full[L + "mlp.linear_fc1.layer_norm_weight"] = torch.randn(layers, hidden)
full[L + "mlp.linear_fc1.weight"] = torch.randn(layers, 2 * ffn, hidden).to(torch.bfloat16)
full[L + "mlp.linear_fc2.weight"] = torch.randn(layers, hidden, ffn).to(torch.bfloat16)
full["decoder.final_layernorm.weight"] = torch.randn(hidden)
full["output_layer.weight"] = torch.randn(vocab, hidden).to(torch.bfloat16)
full["optimizer.state.exp_avg." + L + "self_attention.linear_proj.weight"] = torch.randn(layers, hidden, hidden)


def chunks(name, t):
    """(rank, offsets, sizes) of every saved box of a global tensor."""
    shape = list(t.shape)
    stacked = L in name
    if name.endswith("mlp.linear_fc1.layer_norm_weight"):
        return [(0, [0] * len(shape), shape)]
    result = []
    for layer in range(layers if stacked else 1):
        lead_o, lead_s = ([layer], [1]) if stacked else ([], [])
        inner = shape[1:] if stacked else shape
        for r in range(tp):
            if name.endswith(("linear_qkv.weight", "linear_qkv.bias", "word_embeddings.weight", "output_layer.weight")):
                n = inner[0] // tp
                result.append((r, lead_o + [r * n] + [0] * (len(inner) - 1), lead_s + [n] + inner[1:]))
            elif name.endswith("linear_fc1.weight"):
                n = inner[0] // 2 // tp
                for half in (0, inner[0] // 2):
                    result.append((r, lead_o + [half + r * n, 0], lead_s + [n, inner[1]]))
            elif name.endswith(("linear_proj.weight", "linear_fc2.weight")):
                n = inner[-1] // tp
                result.append((r, lead_o + [0] * (len(inner) - 1) + [r * n], lead_s + inner[:-1] + [n]))
            elif r == 0:
                result.append((0, lead_o + [0] * len(inner), lead_s + inner))
    return result


def saved(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


it = os.path.join(a.out, "iter_0000010")
os.makedirs(it, exist_ok=True)
files = {r: bytearray() for r in range(tp)}
state_dict_metadata, storage_data, planner_data = {}, {}, {}


def put(rank, index, blob):
    storage_data[index] = new(StorageInfo, relative_path=f"__{rank}_0.distcp", offset=len(files[rank]), length=len(blob))
    files[rank].extend(blob)


for name, t in full.items():
    boxes = chunks(name, t)
    meta = []
    for rank, offsets, sizes in boxes:
        piece = t
        for d, (o, s) in enumerate(zip(offsets, sizes)):
            piece = piece.narrow(d, o, s)
        meta.append(new(ChunkStorageMetadata, offsets=torch.Size(offsets), sizes=torch.Size(sizes)))
        index = new(MetadataIndex, fqn=name, offset=torch.Size(offsets), index=len(meta) - 1)
        put(rank, index, saved(piece.clone()))
    state_dict_metadata[name] = new(TensorStorageMetadata, properties=new(TensorProperties, dtype=t.dtype),
                                    size=t.shape, chunks=meta)
    planner_data[name] = (name,)
for r in range(tp):
    key = f"rng_state/shard_0.{r}_1.{tp}"
    state_dict_metadata[key] = new(BytesStorageMetadata)
    put(r, new(MetadataIndex, fqn=key, index=None), saved({"random_rng_state": r, "tp_rank": r}))
    planner_data[key] = (key,)

metadata = new(Metadata, state_dict_metadata=state_dict_metadata, planner_data=planner_data, storage_data=storage_data,
               storage_meta=None, version="1.0.0", mcore_data={k: {} for k in full})
with open(os.path.join(it, ".metadata"), "wb") as f:
    pickle.dump(metadata, f)
for r, blob in files.items():
    with open(os.path.join(it, f"__{r}_0.distcp"), "wb") as f:
        f.write(blob)

if not a.no_metadata_json:
    with open(os.path.join(it, "metadata.json"), "w") as f:
        json.dump({"sharded_backend": a.backend, "sharded_backend_version": 1,
                   "common_backend": "torch", "common_backend_version": 1}, f)
args = argparse.Namespace(num_layers=a.args_num_layers or layers, hidden_size=hidden, ffn_hidden_size=ffn,
                          num_attention_heads=heads, num_query_groups=groups, swiglu=True, padded_vocab_size=vocab,
                          tensor_model_parallel_size=tp, pipeline_model_parallel_size=1, ckpt_format="torch_dist")
torch.save({"args": args, "checkpoint_version": 3.0, "iteration": 10, "num_floating_point_operations_so_far": 1234,
            "optimizer": {"param_groups": [{"lr": 3e-4, "weight_decay": 0.1, "params": list(range(12))}]}},
           os.path.join(it, "common.pt"))
with open(os.path.join(a.out, "latest_checkpointed_iteration.txt"), "w") as f:
    f.write("10")

reference = OrderedDict()
for name, t in full.items():
    if L in name:
        head, tail = name.split(L, 1)
        for i in range(layers):
            reference[f"{head}{L}{i}.{tail}"] = t[i].clone()
    else:
        reference[name] = t.clone()
torch.save(reference, os.path.join(a.out, "reference.pt"))
