"""Writes torch.distributed.checkpoint's Hugging Face layout the way torch >= 2.7 writes it, without torch 2.7.

A reproduction, not torch's own output: Debian's torch 1.13 has neither HuggingFaceStorageWriter nor the
`safetensors` package, so the files are laid out by hand from torch's source at commit
07a011f59747c79d1011e99e4e812ab4c3914923 (torch/distributed/checkpoint/hf_storage.py, _hf_utils.py and
filesystem.py `_write_files_from_queue`):
- every data file is a safetensors file whose `__metadata__` holds `DCP_SHARDING_INFO` (a JSON string mapping each
  tensor of the file to `{"saved_offsets": [...]}`, the chunk's offset in the global tensor), `DCP_VERSION` "1.0"
  and `format` "pt"; the tensor's shape in the header is the chunk's;
- `save_sharded=True`: one file per rank, `shard-{rank+1:05d}-model-{i:05d}-of-{n:05d}.safetensors`, no index;
- otherwise `model-{i:05d}-of-{n:05d}.safetensors` by `fqn_to_index_mapping` with whole tensors (offsets 0) and
  `model.safetensors.index.json` ({"metadata": {"total_size"}, "weight_map"}) written by `finish`.

usage: make_dcp_hf.py <out>   writes <out>/sharded/, <out>/full/ and <out>/reference.safetensors
"""
import json
import os
import struct
import sys

import torch

DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def save_safetensors(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def dcp_metadata(offsets):
    return {"DCP_SHARDING_INFO": json.dumps({k: {"saved_offsets": v} for k, v in offsets.items()}),
            "DCP_VERSION": "1.0", "format": "pt"}


def main(out):
    torch.manual_seed(0)
    full = {
        "model.embed.weight": torch.randn(6, 4),       # Shard(0) over 2: rows 0-2, 3-5
        "model.proj.weight": torch.randn(4, 6),        # Shard(1) over 2 (tensor parallel): columns 0-2, 3-5
        "model.norm.weight": torch.randn(5),           # uneven Shard(0), as FSDP2 pads: 3 and 2 elements
        "train.step": torch.tensor(40, dtype=torch.int64),  # replicated: deduplicated to rank 0
    }
    ranks = [
        ({"model.embed.weight": full["model.embed.weight"][0:3], "model.proj.weight": full["model.proj.weight"][:, 0:3],
          "model.norm.weight": full["model.norm.weight"][0:3], "train.step": full["train.step"]},
         {"model.embed.weight": [0, 0], "model.proj.weight": [0, 0], "model.norm.weight": [0], "train.step": []}),
        ({"model.embed.weight": full["model.embed.weight"][3:6], "model.proj.weight": full["model.proj.weight"][:, 3:6],
          "model.norm.weight": full["model.norm.weight"][3:5]},
         {"model.embed.weight": [3, 0], "model.proj.weight": [0, 3], "model.norm.weight": [3]}),
    ]
    os.makedirs(os.path.join(out, "sharded"), exist_ok=True)
    for rank, (tensors, offsets) in enumerate(ranks):
        save_safetensors(os.path.join(out, "sharded", f"shard-{rank + 1:05d}-model-00001-of-00001.safetensors"),
                         tensors, dcp_metadata(offsets))

    os.makedirs(os.path.join(out, "full"), exist_ok=True)
    mapping = {"model.embed.weight": 1, "model.proj.weight": 1, "model.norm.weight": 2, "train.step": 2}
    weight_map, total = {}, 0
    for index in (1, 2):
        name = f"model-{index:05d}-of-00002.safetensors"
        tensors = {k: v for k, v in full.items() if mapping[k] == index}
        save_safetensors(os.path.join(out, "full", name), tensors, dcp_metadata({k: [0] * v.dim() for k, v in tensors.items()}))
        for k, v in tensors.items():
            weight_map[k] = name
            total += v.numel() * v.element_size()
    with open(os.path.join(out, "full", "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)

    save_safetensors(os.path.join(out, "reference.safetensors"), full)


if __name__ == "__main__":
    main(sys.argv[1])
