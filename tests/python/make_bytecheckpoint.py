#!/usr/bin/env python3
"""Build a ByteCheckpoint (v0.0.3) FSDP checkpoint saved with save_decomposed_model_optimizer=True, with torch 1.13.

usage: make_bytecheckpoint.py <out_dir> <world_size> [--overlap] [--roles actor,critic [--no-step]]

No ByteCheckpoint (nor torch 2.x FSDP) is installed here, so this writes the layout its FSDP checkpointer produces
(formats.md §6; ByteDance-Seed/ByteCheckpoint bytecheckpoint/checkpointer/meta_type.py, engine/store_engine.py,
planner/fsdp/fsdp_hack.py, utilities/serialization.py), read from the repository, not copied:
<out>/latest_checkpointed_iteration.txt = "100"; <out>/global_step_100/{model,optimizer,extra_state}/.
- model/ and optimizer/ hold `.metadata` (pickle of bytecheckpoint.checkpointer.meta_type.Metadata: torch DCP
  state_dict_metadata, planner_data, storage_data MetadataIndex -> meta_type._StorageInfo, all_tensor_metadata
  MetadataIndex -> the tensor's pickle whose storage is the persistent id ('storage', type, key, location, numel),
  bytecheckpoint_version, user_defined_dict) and `__{rank}_0.distcp` files holding each chunk's raw storage bytes
  (bytes items are torch.save bytes). Stand-in classes under those module paths do the pickling.
- Each FSDP unit is one 1-D `<prefix>_flat_param` of its parameters in order with alignment padding entries between
  them, padded to a multiple of the world size and split evenly; rank r saves [r·shard, r·shard + valid), so shards
  cut parameters at arbitrary elements. user_defined_dict carries fsdp_flat_param_to_fqns / fsdp_is_padding_mask /
  fsdp_numels_with_padding / fsdp_shapes. Plain buffers are saved whole by rank 0.
- optimizer/ holds `state.<prefix>_flat_param.<exp_avg|exp_avg_sq>` with one chunk per (rank, parameter piece),
  padding not saved; per-parameter 0-d `state.<fqn>.step`; `state.<prefix>_flat_param.fsdp_optimizer_requires_grad_numel`;
  `param_groups` as a bytes item.
- extra_state/extra_state_rank_{r}.pt: torch.save protocol 4 of a dict.
<out>/reference.pt holds every tensor under the name a reader should give it: model parameters and buffers by their
names, optimizer states as `optimizer.<key>` with flat states split per parameter.
With --overlap, rank 1's model shard of the first flat parameter starts 3 elements early (and .metadata says so).

With --roles, one save per role as a multi-role run makes them (ByteCheckpoint v0.0.3 api/save.py and
checkpointer/*_checkpointer.py: `role` only names the engine's I/O resources, every save writes model/ optimizer/
extra_state/ under its own ckpt_path, the tracker in ckpt_path when global_steps is given): <out>/<role>/ holds
latest_checkpointed_iteration.txt and global_step_100/, or with --no-step (global_steps=None) the parts directly.
Each role has its own seed; <out>/reference.pt names every tensor `<role>/<name>`.
"""
import argparse
import ctypes
import io
import os
import pickle
from collections import OrderedDict

import torch

opts = argparse.ArgumentParser()
opts.add_argument("out")
opts.add_argument("world", type=int)
opts.add_argument("--overlap", action="store_true")
opts.add_argument("--roles", default="")
opts.add_argument("--no-step", action="store_true")
a = opts.parse_args()
world = a.world


from dcp_stand_ins import (BytesStorageMetadata, ChunkStorageMetadata, MetadataIndex, TensorProperties,
                           TensorStorageMetadata, module, new, stand_in)

bcp = module("bytecheckpoint.checkpointer.meta_type")
Metadata = stand_in(bcp, "Metadata")
StorageInfo = stand_in(bcp, "_StorageInfo")


def header(t):
    """The tensor's pickle with its storage as a persistent id, as ByteCheckpoint keeps it in all_tensor_metadata."""
    class HeaderPickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, torch.storage.TypedStorage):
                return ("storage", getattr(torch, obj.pickle_storage_type()), "0", "cpu", obj.size())
            return None
    buf = io.BytesIO()
    HeaderPickler(buf, protocol=2).dump(t)
    return buf.getvalue()


def storage_bytes(t):
    s = t.storage()
    return ctypes.string_at(s.data_ptr(), s.nbytes())


def write_save(root, seed, step_folder=True):
    """One bcp.save to ckpt_path=root (global_steps=100 unless not step_folder); returns its reference tensors."""
    torch.manual_seed(seed)
    base = os.path.join(root, "global_step_100") if step_folder else root
    units, buffers = model_layout()
    reference = OrderedDict()
    model, optim = Folder(base, "model"), Folder(base, "optimizer")
    write_parts(units, buffers, model, optim, reference)
    extra = os.path.join(base, "extra_state")
    os.makedirs(extra, exist_ok=True)
    for r in range(world):
        torch.save({"global_step": 100, "rank": r, "rng": torch.arange(4, dtype=torch.uint8) + r},
                   os.path.join(extra, f"extra_state_rank_{r}.pt"), pickle_protocol=4)
    if step_folder:
        with open(os.path.join(root, "latest_checkpointed_iteration.txt"), "w") as f:
            f.write("100")
    return reference


def model_layout():
    # FSDP units: prefix -> [(fqn relative to the unit's module, tensor) or padding numel]
    units = OrderedDict()
    units[""] = [("embed.weight", torch.randn(40, 12)), 3, ("head.weight", torch.randn(9, 12)), ("head.bias", torch.randn(9))]
    bf16 = torch.bfloat16
    units["layers.0."] = [("attn.weight", torch.randn(12, 12).to(bf16)), ("attn.bias", torch.randn(12).to(bf16)), 4,
                          ("mlp.weight", torch.randn(20, 12).to(bf16)), (".scale", torch.randn(12).to(bf16))]
    buffers = OrderedDict([("rotary.inv_freq", torch.arange(6, dtype=torch.float64) / 7)])
    return units, buffers


def full_name(prefix, fqn):
    # fsdp_ckpt_utils: the flat key without "_flat_param", then the fqn minus its longest overlap with that stem.
    overlap = max((i for i in range(len(prefix) + 1) if fqn.startswith(prefix[len(prefix) - i:])), default=0)
    return prefix + fqn[overlap:]


class Folder:
    def __init__(self, base, name):
        self.path = os.path.join(base, name)
        os.makedirs(self.path, exist_ok=True)
        self.files = {r: bytearray() for r in range(world)}
        self.sdm, self.storage, self.headers, self.planner = {}, {}, {}, {}

    def tensor(self, fqn, global_shape, dtype, pieces):
        """pieces: (rank, offsets, tensor) chunks of a global tensor."""
        chunks = []
        for rank, offsets, t in pieces:
            t = t.clone()
            index = new(MetadataIndex, fqn=fqn, offset=torch.Size(offsets), index=len(chunks))
            blob = storage_bytes(t)
            self.storage[index] = new(StorageInfo, relative_path=f"__{rank}_0.distcp", offset=len(self.files[rank]), length=len(blob))
            self.headers[index] = header(t)
            self.files[rank].extend(blob)
            chunks.append(new(ChunkStorageMetadata, offsets=torch.Size(offsets), sizes=t.shape))
        self.sdm[fqn] = new(TensorStorageMetadata, properties=new(TensorProperties, dtype=dtype), size=torch.Size(global_shape), chunks=chunks)
        self.planner[fqn] = (fqn,)

    def value(self, fqn, obj, rank=0):
        buf = io.BytesIO()
        torch.save(obj, buf)
        blob = buf.getvalue()
        index = new(MetadataIndex, fqn=fqn, index=None)
        self.storage[index] = new(StorageInfo, relative_path=f"__{rank}_0.distcp", offset=len(self.files[rank]), length=len(blob))
        self.headers[index] = None  # save_state_dict.finish records every write result, bytes items with no tensor pickle
        self.files[rank].extend(blob)
        self.sdm[fqn] = new(BytesStorageMetadata)
        self.planner[fqn] = (fqn,)

    def close(self, user_defined):
        meta = new(Metadata, state_dict_metadata=self.sdm, planner_data=self.planner, storage_data=self.storage,
                   all_tensor_metadata=self.headers, bytecheckpoint_version="0.0.3", user_defined_dict=user_defined)
        with open(os.path.join(self.path, ".metadata"), "wb") as f:
            pickle.dump(meta, f)
        for r, blob in self.files.items():
            if blob:
                with open(os.path.join(self.path, f"__{r}_0.distcp"), "wb") as f:
                    f.write(blob)


def write_parts(units, buffers, model, optim, reference):
    meta = {"fsdp_flat_param_to_fqns": {}, "fsdp_is_padding_mask": {}, "fsdp_numels_with_padding": {}, "fsdp_shapes": {}}
    states = {"exp_avg": 0.1, "exp_avg_sq": 0.01}
    for prefix, entries in units.items():
        key = prefix + "_flat_param"
        params = [e for e in entries if not isinstance(e, int)]
        dtype = params[0][1].dtype
        flat_parts, ranges, at = [], [], 0
        for e in entries:
            if isinstance(e, int):
                flat_parts.append(torch.zeros(e, dtype=dtype))
                at += e
            else:
                flat_parts.append(e[1].to(dtype).reshape(-1))
                ranges.append((at, e[1].numel()))
                at += e[1].numel()
        flat = torch.cat(flat_parts)
        full = flat.numel()
        shard = -(-full // world)
        meta["fsdp_flat_param_to_fqns"][key] = [fqn for fqn, _ in params]
        meta["fsdp_is_padding_mask"][key] = [isinstance(e, int) for e in entries]
        meta["fsdp_numels_with_padding"][key] = tuple(e if isinstance(e, int) else e[1].numel() for e in entries)
        meta["fsdp_shapes"][key] = [t.shape for _, t in params]
        pieces = []
        for r in range(world):
            start, end = r * shard, min((r + 1) * shard, full)
            if a.overlap and r == 1 and prefix == "":
                start -= 3
            if end > start:
                pieces.append((r, [start], flat[start:end]))
        model.tensor(key, [full], dtype, pieces)
        for fqn, t in params:
            reference[full_name(prefix, fqn)] = t.clone()
        # Optimizer states: one chunk per (rank, parameter piece), padding left out; a 0-d step per parameter.
        for state, scale in states.items():
            values = (flat.float() * scale).to(dtype)
            opt_pieces = []
            for r in range(world):
                lo, hi = r * shard, min((r + 1) * shard, full)
                for p_at, n in ranges:
                    s, e = max(lo, p_at), min(hi, p_at + n)
                    if e > s:
                        opt_pieces.append((r, [s], values[s:e]))
            optim.tensor(f"state.{key}.{state}", [full], dtype, opt_pieces)
            for (fqn, t), (p_at, n) in zip(params, ranges):
                reference[f"optimizer.state.{full_name(prefix, fqn)}.{state}"] = values[p_at:p_at + n].reshape(t.shape).clone()
        for i, (fqn, _) in enumerate(params):
            name = full_name(prefix, fqn)
            step = torch.tensor(7.0)
            optim.tensor(f"state.{name}.step", [], torch.float32, [(i % world, [], step)])
            reference[f"optimizer.state.{name}.step"] = step.clone()
        numel = torch.tensor(sum(n for _, n in ranges))
        optim.tensor(f"state.{key}.fsdp_optimizer_requires_grad_numel", [], torch.int64, [(0, [], numel)])
        reference[f"optimizer.state.{key}.fsdp_optimizer_requires_grad_numel"] = numel.clone()
    for name, t in buffers.items():
        model.tensor(name, list(t.shape), t.dtype, [(0, [0], t)])
        reference[name] = t.clone()
    optim.value("param_groups", [{"lr": 1e-3, "betas": (0.9, 0.95), "weight_decay": 0.0, "params": [0, 1, 2, 3, 4, 5, 6]}])
    model.close(meta)
    optim.close({})


if a.roles:
    reference = OrderedDict()
    for n, role in enumerate(a.roles.split(",")):
        for name, t in write_save(os.path.join(a.out, role), 99 + n, step_folder=not a.no_step).items():
            reference[f"{role}/{name}"] = t
else:
    reference = write_save(a.out, 99)
torch.save(reference, os.path.join(a.out, "reference.pt"))
