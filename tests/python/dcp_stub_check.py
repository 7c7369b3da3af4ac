#!/usr/bin/env python3
"""Check a DCP folder chunk by chunk with an old torch (1.13) that predates torch 2.x's DCP classes.

usage: dcp_stub_check.py <dcp_dir> <reference.safetensors>

Stand-in classes under the real module paths let plain pickle.load rebuild `.metadata` exactly as written
(NEWOBJ, BUILD, REDUCE); nothing else is executed. Every storage item is then loaded with
torch.load(weights_only=True) from its byte range and compared with the reference slice at the chunk's
offsets; the chunks must cover every reference tensor. Prints one JSON line; exit 1 on mismatch.
The full check with torch >= 2.4's own loader is dcp_load_check.py.
"""
import sys, types, pickle, io, json, struct, enum, dataclasses, torch
# torch 1.13 predates torch 2.x's DCP metadata classes: stand-ins with the same module paths let plain
# pickle.load rebuild the object graph exactly as written (NEWOBJ, BUILD, REDUCE), without executing anything else.
def module(name):
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        n = ".".join(parts[:i])
        if n not in sys.modules:
            sys.modules[n] = types.ModuleType(n)
    return sys.modules[name]
md = module("torch.distributed.checkpoint.metadata")
class Plain:
    def __repr__(self): return f"{type(self).__name__}({self.__dict__})"
for n in ["Metadata", "TensorStorageMetadata", "ChunkStorageMetadata", "BytesStorageMetadata", "StorageMeta"]:
    setattr(md, n, type(n, (Plain,), {}))
class MetadataIndex(Plain):
    offset = None
    index = None
    def __hash__(self): return hash((self.fqn, tuple(self.offset) if self.offset is not None else None))
    def __eq__(self, o): return (self.fqn, self.offset) == (o.fqn, o.offset)
md.MetadataIndex = MetadataIndex
class TensorProperties(Plain):
    def __setstate__(self, s): self.dtype, self.layout, self.requires_grad, self.memory_format, self.pin_memory = s
md.TensorProperties = TensorProperties
class _MEM_FORMAT_ENCODING(enum.Enum):
    TORCH_CONTIGUOUS_FORMAT = 0
md._MEM_FORMAT_ENCODING = _MEM_FORMAT_ENCODING
fs = module("torch.distributed.checkpoint.filesystem")
fs._StorageInfo = type("_StorageInfo", (Plain,), {})
import torch.serialization
if not hasattr(torch.serialization, "_get_layout"):
    torch.serialization._get_layout = lambda name: getattr(torch, name.split(".")[-1])
path, ref = sys.argv[1], sys.argv[2]
m = pickle.load(open(path + "/.metadata", "rb"))
def read_st(p):
    f = open(p, "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); base = 8 + n; out = {}
    D = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}
    for k, v in h.items():
        if k == "__metadata__": continue
        f.seek(base + v["data_offsets"][0]); raw = bytearray(f.read(v["data_offsets"][1] - v["data_offsets"][0]))
        out[k] = torch.frombuffer(raw, dtype=torch.uint8).view(D[v["dtype"]]).reshape(v["shape"]).clone()
    return out
reference = read_st(ref)
bad, checked, volume = [], 0, {}
for idx, info in m.storage_data.items():
    blob = open(path + "/" + info.relative_path, "rb").read()[info.offset: info.offset + info.length]
    obj = torch.load(io.BytesIO(blob), weights_only=True)
    meta = m.state_dict_metadata[idx.fqn]
    if type(meta).__name__ == "BytesStorageMetadata": continue
    chunk = meta.chunks[idx.index]
    assert tuple(chunk.offsets) == tuple(idx.offset), (idx, chunk)
    full = reference[idx.fqn]
    assert meta.properties.dtype == full.dtype and tuple(meta.size) == tuple(full.shape)
    sl = full
    for d, (o, s) in enumerate(zip(chunk.offsets, chunk.sizes)): sl = sl.narrow(d, o, s)
    checked += 1
    volume[idx.fqn] = volume.get(idx.fqn, 0) + obj.numel()
    if not torch.equal(sl, obj): bad.append(idx.fqn)
covered = all(volume.get(k, 0) == v.numel() for k, v in reference.items())
print(json.dumps({"chunks": checked, "bad": bad, "covered": covered, "version": m.version, "planner": len(m.planner_data)}))
sys.exit(0 if not bad and covered and checked else 1)
