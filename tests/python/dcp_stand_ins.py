"""Stand-in classes for torch 2.x DCP metadata under their real module paths.

Debian's torch 1.13 has none of torch 2.x's `torch.distributed.checkpoint.metadata` classes, so the fixture builders
(make_megatron_torch_dist.py, make_bytecheckpoint.py) pickle `.metadata` through these: plain classes whose
module and qualified names are the real ones, so the pickle names exactly what torch 2.x writes.
"""
import enum
import sys
import types

import torch


def module(name):
    """The module `name`, created empty (with its parents) unless already imported."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        n = ".".join(parts[:i])
        if n not in sys.modules:
            sys.modules[n] = types.ModuleType(n)
    return sys.modules[name]


def stand_in(mod, name, base=object, **members):
    cls = type(name, (base,), dict(members, __module__=mod.__name__, __qualname__=name))
    setattr(mod, name, cls)
    return cls


def new(cls, **fields):
    """An instance with these fields, without running __init__ (as unpickling builds it)."""
    o = cls.__new__(cls)
    o.__dict__.update(fields)
    return o


md = module("torch.distributed.checkpoint.metadata")
TensorStorageMetadata = stand_in(md, "TensorStorageMetadata")
ChunkStorageMetadata = stand_in(md, "ChunkStorageMetadata")
BytesStorageMetadata = stand_in(md, "BytesStorageMetadata")
MEM = enum.Enum("_MEM_FORMAT_ENCODING", {"TORCH_CONTIGUOUS_FORMAT": 0, "TORCH_CHANNELS_LAST": 1, "TORCH_PRESERVE_FORMAT": 2})
MEM.__module__ = md.__name__
md._MEM_FORMAT_ENCODING = MEM
TensorProperties = stand_in(md, "TensorProperties",
                            __getstate__=lambda self: (self.dtype, torch.strided, False, MEM.TORCH_CONTIGUOUS_FORMAT, False))
MetadataIndex = stand_in(md, "MetadataIndex", offset=None, index=None,
                         __hash__=lambda self: hash((self.fqn, self.offset)),
                         __eq__=lambda self, o: (self.fqn, self.offset) == (o.fqn, o.offset))
