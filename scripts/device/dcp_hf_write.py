"""Writes torch's own Hugging Face DCP layout (torch >= 2.7) for a later session to commit beside the reproduction
in tests/fixtures/dcp-hf-2rank (written by tests/python/make_dcp_hf.py without torch 2.7).

  python3 scripts/device/dcp_hf_write.py $OUT/dcp-hf-real/full                       # whole tensors + index
  torchrun --nproc-per-node 2 scripts/device/dcp_hf_write.py $OUT/dcp-hf-real/sharded  # per-rank files, gloo, CPU

Same tensors as make_dcp_hf.py (seed 0); both modes also write reference.safetensors beside them.
"""
import os
import sys

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from safetensors.torch import save_file
from torch.distributed.checkpoint import HuggingFaceStorageWriter


def tensors():
    torch.manual_seed(0)
    return {"model.embed.weight": torch.randn(6, 4), "model.proj.weight": torch.randn(4, 6),
            "model.norm.weight": torch.randn(5), "train.step": torch.tensor(40, dtype=torch.int64)}


def main(out):
    full = tensors()
    if "RANK" not in os.environ:
        os.makedirs(out, exist_ok=True)
        mapping = {"model.embed.weight": 1, "model.proj.weight": 1, "model.norm.weight": 2, "train.step": 2}
        dcp.save(full, storage_writer=HuggingFaceStorageWriter(out, fqn_to_index_mapping=mapping), no_dist=True)
    else:
        from torch.distributed.tensor import Replicate, Shard, distribute_tensor, init_device_mesh
        dist.init_process_group("gloo")
        mesh = init_device_mesh("cpu", (dist.get_world_size(),))
        placements = {"model.embed.weight": Shard(0), "model.proj.weight": Shard(1), "model.norm.weight": Shard(0),
                      "train.step": Replicate()}
        state = {k: distribute_tensor(v, mesh, [placements[k]]) for k, v in full.items()}
        dcp.save(state, storage_writer=HuggingFaceStorageWriter(out, save_sharded=True))
        dist.barrier()
        if dist.get_rank() != 0:
            return
    save_file({k: v.contiguous() for k, v in full.items()}, os.path.join(os.path.dirname(out.rstrip("/")), "reference.safetensors"))
    print(sorted(os.listdir(out)))


if __name__ == "__main__":
    main(sys.argv[1])
