#!/usr/bin/env python3
"""Load a DCP folder written by ckpt with torch.distributed.checkpoint and compare it with a reference.

usage: dcp_load_check.py <dcp_dir> <reference.safetensors> [--prefix P] [--subset] [--expect-bytes NAME=JSON ...]

Needs torch >= 2.4 (no process group is created: a single-process load). Every tensor in the DCP
metadata is loaded into a zero tensor of its global shape and dtype through the public loader, then
compared bit for bit with the reference tensor of the same name (after removing --prefix from the DCP
name). Bytes items are loaded too and, with --expect-bytes, compared with the given JSON value.
Prints one JSON line; exits 1 on any mismatch or missing tensor, 2 on a loader error.
The reference safetensors is parsed here (json header + raw bytes) so the script needs only torch.
"""
import json
import struct
import sys
import warnings

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.metadata import BytesStorageMetadata, TensorStorageMetadata

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            f.seek(base + begin)
            raw = bytearray(f.read(end - begin))
            dtype = DTYPES[info["dtype"]]
            t = torch.frombuffer(raw, dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
            out[name] = t.view(dtype).reshape(info["shape"]).clone()
        return out


def load(path, state):
    reader = dcp.FileSystemReader(path)
    try:
        dcp.load(state, storage_reader=reader)
        return "dcp.load"
    except TypeError:
        from torch.distributed.checkpoint.state_dict_loader import _load_state_dict
        _load_state_dict(state, storage_reader=reader, no_dist=True)
        return "_load_state_dict"


def main(argv):
    args = argv[1:]
    prefix, expect, subset = "", {}, False
    positional = []
    i = 0
    while i < len(args):
        if args[i] == "--prefix":
            prefix = args[i + 1]; i += 2
        elif args[i] == "--subset":
            subset = True; i += 1
        elif args[i] == "--expect-bytes":
            k, v = args[i + 1].split("=", 1); expect[k] = json.loads(v); i += 2
        else:
            positional.append(args[i]); i += 1
    path, reference_path = positional
    report = {"torch": torch.__version__, "checkpoint": path, "ok": False}
    try:
        metadata = dcp.FileSystemReader(path).read_metadata()
        state = {}
        for fqn, md in metadata.state_dict_metadata.items():
            if isinstance(md, TensorStorageMetadata):
                state[fqn] = torch.zeros(md.size, dtype=md.properties.dtype)
            elif isinstance(md, BytesStorageMetadata):
                state[fqn] = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report["loader"] = load(path, state)
    except Exception as e:  # the point of the script is to report any loader failure as data
        report["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(report))
        return 2

    reference = read_safetensors(reference_path)
    mismatched, missing, compared = [], [], 0
    for fqn, value in state.items():
        if not isinstance(value, torch.Tensor):
            continue
        name = fqn[len(prefix):] if prefix and fqn.startswith(prefix) else fqn
        ref = reference.get(name)
        if ref is None:
            continue
        compared += 1
        if ref.dtype != value.dtype or tuple(ref.shape) != tuple(value.shape) or not torch.equal(ref, value):
            mismatched.append(fqn)
    names = {(f[len(prefix):] if prefix and f.startswith(prefix) else f) for f in state}
    missing = [] if subset else sorted(n for n in reference if n not in names)
    bytes_items = {k: repr(v)[:200] for k, v in state.items() if not isinstance(v, torch.Tensor)}
    wrong_bytes = [k for k, v in expect.items() if state.get(k) != v]
    report.update({
        "tensors": sum(isinstance(v, torch.Tensor) for v in state.values()),
        "compared": compared,
        "mismatched": mismatched,
        "missing": missing,
        "bytesItems": bytes_items,
        "wrongBytesItems": wrong_bytes,
        "chunks": sum(len(md.chunks) for md in metadata.state_dict_metadata.values() if isinstance(md, TensorStorageMetadata)),
        "version": getattr(metadata, "version", None),
    })
    report["ok"] = compared > 0 and not mismatched and not missing and not wrong_bytes
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
