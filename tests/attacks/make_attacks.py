#!/usr/bin/env python3
"""Writes the hostile-checkpoint corpus (run from this folder; stdlib only, no torch needed).

Each file is an attack a checkpoint from the internet could carry. `expected.json` maps each file to
the reasons a safe reader may give (or "load" where an inert load is acceptable). Every command
they would run only creates the marker file; tests assert it never appears.
"""
import copyreg, io, json, os, pickle, shutil, struct, sys, types, zipfile, zlib

MARKER = "/tmp/ckpt-attack-marker"
CMD = f"touch {MARKER}"
here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "fixtures")
expected = {}

def su(s):  # SHORT_BINUNICODE
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b

def torch_zip(name, pkl, members=None, folder="archive", compress=False):
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as z:
        def write(member, data):  # a fixed timestamp, so regenerating gives the same bytes
            z.writestr(zipfile.ZipInfo(member, date_time=(2026, 1, 1, 0, 0, 0)), data, compress_type=method)
        write(f"{folder}/data.pkl", pkl)
        write(f"{folder}/byteorder", "little")
        for k, v in (members or {}).items():
            write(k if "/" in k else f"{folder}/data/{k}", v)
        write(f"{folder}/version", "3\n")
    return buf.getvalue()

# Pickles naming torch's classes without torch: every global the stub unpickler meets becomes a class of that
# module and name in a stand-in module, so a real DCP .metadata loads, can be edited, and pickles back
# byte for byte (checked below); calls (REDUCE) and objects (NEWOBJ + BUILD) are kept as they were written.
class Call:
    def __init__(self, fn, args): self.fn, self.args = fn, args
    def __reduce__(self): return (self.fn, self.args)

class StubType(type):
    def __call__(cls, *args): return Call(cls, args)

class Stub(metaclass=StubType):
    def __setstate__(self, state): self.state = state
    def __reduce_ex__(self, protocol):
        return (copyreg.__newobj__, (type(self),)) + ((self.state,) if hasattr(self, "state") else ())

def stub_global(module, name):
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    m = sys.modules[module]
    if not hasattr(m, name):
        setattr(m, name, StubType(name, (Stub,), {"__module__": module, "__qualname__": name}))
    return getattr(m, name)

class StubUnpickler(pickle.Unpickler):
    def find_class(self, module, name): return stub_global(module, name)

class Persistent:
    def __init__(self, key): self.key = key

class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj): return obj.key if isinstance(obj, Persistent) else None

def torch_pickle(obj, protocol=2):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=protocol).dump(obj)
    return buf.getvalue()

def tensor_zip(size, stride, storage_offset=0, storage_numel=4):
    """A torch.save archive of {'w': a float tensor} with the given geometry over a float storage of storage_numel."""
    storage = Persistent(("storage", stub_global("torch", "FloatStorage"), "0", "cpu", storage_numel))
    rebuild = stub_global("torch._utils", "_rebuild_tensor_v2")
    from collections import OrderedDict
    w = rebuild(storage, storage_offset, tuple(size), tuple(stride), False, Call(OrderedDict, ()))
    return torch_zip("a", torch_pickle({"w": w}), {"0": b"\0" * 4 * min(storage_numel, 1024)})

def put(path, data, reasons):
    full = os.path.join(here, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)
    expected[path] = reasons

P2 = b"\x80\x02"
FORBID = ["ForbiddenPickleGlobal"]

# 1. Code execution through every opcode that can call something.
put("pickle/global_reduce_os_system.pt", torch_zip("a", P2 + b"cos\nsystem\n" + b"X" + struct.pack("<I", len(CMD)) + CMD.encode() + b"\x85R."), FORBID)
put("pickle/stack_global_posix_system.pt", torch_zip("a", b"\x80\x04" + su("posix") + su("system") + b"\x93" + su(CMD) + b"\x85R."), FORBID)
put("pickle/builtins_exec.pt", torch_zip("a", P2 + b"cbuiltins\nexec\n" + b"X" + struct.pack("<I", 30) + b"open('/tmp/ckpt-attack-marker','w')"[:30] + b"\x85R."), FORBID)
put("pickle/builtins_eval.pt", torch_zip("a", P2 + b"c__builtin__\neval\n" + su("__import__('os').system('" + CMD + "')") + b"\x85R."), FORBID)
put("pickle/subprocess_popen_newobj.pt", torch_zip("a", P2 + b"csubprocess\nPopen\n" + b"]" + b"(" + su("touch") + su(MARKER) + b"e\x85\x81."), FORBID)
put("pickle/import_then_getattr.pt", torch_zip("a", P2 + b"cbuiltins\ngetattr\n" + b"cbuiltins\n__import__\n" + su("os") + b"\x85R" + su("system") + b"\x86R" + su(CMD) + b"\x85R."), FORBID)
put("pickle/inst_opcode.pt", torch_zip("a", b"(S'" + CMD.encode() + b"'\nios\nsystem\n."), FORBID)
put("pickle/obj_opcode.pt", torch_zip("a", b"(cos\nsystem\nS'" + CMD.encode() + b"'\no."), FORBID)
put("pickle/nt_system.pt", torch_zip("a", P2 + b"cnt\nsystem\n" + su(CMD) + b"\x85R."), FORBID)
put("pickle/build_setstate_gadget.pt", torch_zip("a", P2 + b"ccollections\nOrderedDict\n)R" + b"}" + su("__setstate__") + b"cos\nsystem\ns" + b"b."), FORBID + ["PickleInvalid"])
import pickle
legacy_header = (pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2) + pickle.dumps(1001, protocol=2)
                 + pickle.dumps({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2))
put("pickle/legacy_os_system.pt", legacy_header + P2 + b"cos\nsystem\n" + su(CMD) + b"\x85R.", FORBID)
put("pickle/raw_pickle_not_torch.pkl", P2 + b"cos\nsystem\n" + su(CMD) + b"\x85R.", FORBID + ["PickleInvalid", "UnknownFormat"])

# 2. Resource exhaustion through the pickle VM.
put("pickle/deep_nesting.pt", torch_zip("a", P2 + b"(" * 200_000 + b"]" * 10 + b"."), ["PickleInvalid"])
put("pickle/deep_lists.pt", torch_zip("a", P2 + b"]" * 500_000 + b"."), ["PickleInvalid"])
put("pickle/huge_memo_get.pt", torch_zip("a", P2 + b"j\xff\xff\xff\x7f."), ["PickleInvalid"])
put("pickle/huge_memo_put.pt", torch_zip("a", P2 + b"N" + b"r\xff\xff\xff\x7f" + b"."), ["PickleInvalid", "load"])
put("pickle/binbytes8_huge.pt", torch_zip("a", b"\x80\x04\x8e" + struct.pack("<Q", 1 << 62) + b"xx."), ["PickleInvalid"])
# MEMOIZE (protocol 4) stores at index len(memo): after a PUT at 2^31-1 a reader that sizes its memo by the
# largest index (CPython's C unpickler does) allocates gigabytes; a flood of MEMOIZE grows the memo by one entry
# per input byte.
put("pickle/memoize_after_huge_put.pt", torch_zip("a", b"\x80\x04N" + b"r\xff\xff\xff\x7f" + b"\x94" * 3 + b"0h\x02." ), ["PickleInvalid", "UnknownFormat", "load"])
put("pickle/memoize_flood.pt", torch_zip("a", b"\x80\x04N" + b"\x94" * 300_000 + b"0}."), ["PickleInvalid", "load"])
put("pickle/binunicode_past_end.pt", torch_zip("a", P2 + b"X" + struct.pack("<I", 0x7FFFFFF0) + b"abc."), ["PickleInvalid"])

# 3. torch.save archives pointing outside themselves.
rebuild = (P2 + b"ctorch._utils\n_rebuild_tensor_v2\n(" + b"(" + su("storage") + b"ctorch\nFloatStorage\n"
           + su("../../../../etc/passwd") + su("cpu") + b"K\x04tQ" + b"K\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR.")
put("zip/persistent_id_escapes_archive.pt", torch_zip("a", rebuild), ["PathEscapesCheckpoint", "ZipInvalid", "MissingFile", "PickleInvalid"])
put("zip/member_named_dotdot.pt", torch_zip("a", P2 + b"N.", {"../evil": b"x" * 16}), ["ZipInvalid", "PathEscapesCheckpoint"])
# A deflated storage whose zip entry lies about its inflated size: 1 GiB stated for 64 KiB of zeros deflated to ~100
# bytes, beyond deflate's 1032:1. A reader must refuse it from the sizes alone, before it sizes a buffer from them.
def state_inflated_size(data, member, size):
    out = bytearray(data)
    name = member.encode()
    for sig, name_at, size_at in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
        at = 0
        while (at := out.find(sig, at)) >= 0:
            if out[at + name_at:at + name_at + len(name)] == name:
                out[at + size_at:at + size_at + 4] = struct.pack("<I", size)
            at += 4
    return bytes(out)
put("zip/deflated_storage_bomb.pt", state_inflated_size(
    torch_zip("a", P2 + b"ctorch._utils\n_rebuild_tensor_v2\n((" + su("storage") + b"ctorch\nFloatStorage\n" + su("0") + su("cpu")
              + b"J\x00\x00\x00\x10tQK\x00J\x00\x00\x00\x10\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR.",
              {"0": b"\0" * (64 << 10)}, compress=True), "archive/data/0", 1 << 30), ["ZipInvalid"])

# data.pkl itself deflated from 64 MiB: the pickle is read before any tensor, so its size must be bounded first.
put("zip/deflated_pickle_bomb.pt", torch_zip("a", P2 + b"N." + b"\0" * (64 << 20), compress=True), ["ZipInvalid", "TooLarge"])

# Tensors whose geometry lies: the reader must refuse before it sizes a buffer from the shape.
put("zip/negative_shape.pt", tensor_zip([-1, 4], [4, 1]), ["InvalidShape", "PickleInvalid"])
put("zip/shape_product_overflows.pt", tensor_zip([1 << 32, 1 << 32, 4], [1, 1, 1]), ["InvalidShape", "TooLarge", "OffsetOutOfBounds", "PickleInvalid"])
put("zip/storage_offset_past_storage.pt", tensor_zip([4], [1], storage_offset=1 << 62), ["OffsetOutOfBounds", "InvalidShape"])
put("zip/strides_past_storage.pt", tensor_zip([4, 4], [1 << 40, 1]), ["OffsetOutOfBounds", "InvalidShape"])
put("zip/storage_larger_than_member.pt", tensor_zip([4], [1], storage_numel=1 << 40), ["ByteLengthMismatch", "Truncated", "TooLarge", "OffsetOutOfBounds"])

# 4. safetensors headers that lie.
def st(header, data=b"", n=None):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h) if n is None else n) + h + data
put("safetensors/header_2_63.safetensors", st({}, n=1 << 63), ["HeaderTooLarge"])
put("safetensors/negative_shape.safetensors", st({"w": {"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 16]}}, b"\0" * 16), ["InvalidShape"])
put("safetensors/shape_product_overflows.safetensors", st({"w": {"dtype": "F32", "shape": [1 << 32, 1 << 32, 4], "data_offsets": [0, 16]}}, b"\0" * 16), ["InvalidShape"])
put("safetensors/offsets_past_end.safetensors", st({"w": {"dtype": "F32", "shape": [1 << 28], "data_offsets": [0, 1 << 30]}}, b"\0" * 16), ["Truncated"])
put("safetensors/overlapping_data.safetensors", st({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, b"\0" * 24), ["OverlappingData"])
put("safetensors/deep_json.safetensors", struct.pack("<Q", 20002) + b"[" * 10001 + b"]" * 10001, ["HeaderInvalid"])

# 5. Index files naming files outside the checkpoint.
for name, shard in [("index_absolute", "/etc/passwd"), ("index_dotdot", "../../outside.safetensors")]:
    put(f"index/{name}/model.safetensors.index.json", json.dumps({"metadata": {}, "weight_map": {"w": shard}}).encode(), ["PathEscapesCheckpoint"])
    put(f"index/{name}_bin/pytorch_model.bin.index.json", json.dumps({"metadata": {}, "weight_map": {"w": shard}}).encode(), ["PathEscapesCheckpoint"])
put("index/index_deep_json/model.safetensors.index.json", b'{"weight_map": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", ["HeaderInvalid", "MetadataInvalid"])

# 6. DCP metadata naming data files outside the folder (same-length byte replacement in a real .metadata).
src = os.path.join(fixtures, "dcp-dtensor1d-4rank")
meta = open(os.path.join(src, ".metadata"), "rb").read()
for name, repl in [("dcp_absolute_path", b"/etc/passwd0"), ("dcp_dotdot_path", b"../__0_0.dcp")]:
    d = f"dcp/{name}"
    os.makedirs(os.path.join(here, d), exist_ok=True)
    for f in os.listdir(src):
        if f.endswith(".distcp"):
            shutil.copy(os.path.join(src, f), os.path.join(here, d, f))
    assert meta.count(b"__0_0.distcp") > 0
    put(f"{d}/.metadata", meta.replace(b"__0_0.distcp", repl), ["PathEscapesCheckpoint"])

# 7. DCP .metadata that lies, edited through the stub unpickler from the real fixture (which it pickles back
# byte for byte), with the fixture's data files beside it.
assert pickle.dumps(StubUnpickler(io.BytesIO(meta)).load(), protocol=4) == meta, "the stub round trip must be exact"

def dcp(name, edit=None, metadata=None, data_edit=None):
    """Copies the fixture to dcp/<name>, applies edit(metadata object, files) and writes .metadata."""
    d = os.path.join(here, "dcp", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    files = {f: open(os.path.join(src, f), "rb").read() for f in sorted(os.listdir(src)) if f.endswith(".distcp")}
    m = StubUnpickler(io.BytesIO(meta)).load()
    if edit: edit(m, files)
    for f, b in files.items():
        with open(os.path.join(d, f), "wb") as out:
            out.write(b)
    return f"dcp/{name}/.metadata", metadata if metadata is not None else pickle.dumps(m, protocol=4)

def tensor_meta(m, fqn): return m.state["state_dict_metadata"][fqn].state
def storage(m, fqn, offsets):
    return next(v.state for k, v in m.state["storage_data"].items() if k.state["fqn"] == fqn and k.state["offset"].args[0] == offsets)

def chunk_outside(m, files):
    # the last row block of k_proj [32, 64] (rows 24..31) claims rows 28..35; the data file keeps its bytes
    c = tensor_meta(m, "model.layers.0.self_attn.k_proj.weight")["chunks"][3].state
    assert c["offsets"].args[0] == (24, 0)
    c["offsets"] = Call(c["offsets"].fn, ((28, 0),))
def negative_shape(m, files):
    t = tensor_meta(m, "model.norm.weight")
    t["size"] = Call(t["size"].fn, ((-64,),))
def shape_overflows(m, files):
    t = tensor_meta(m, "model.embed_tokens.weight")
    t["size"] = Call(t["size"].fn, ((1 << 40, 1 << 40),))
def chunk_size_overflows(m, files):
    c = tensor_meta(m, "model.embed_tokens.weight")["chunks"][0].state
    c["sizes"] = Call(c["sizes"].fn, ((1 << 62, 64),))
def storage_past_end(m, files):
    storage(m, "model.norm.weight", (0,))["offset"] = 1 << 40
def zstd_rle_frame(mib):
    """A hand-written zstandard frame of RLE blocks (RFC 8878 3.1.1): 4 bytes per 128 KiB of zeros, no content size."""
    frame = struct.pack("<I", 0xFD2FB528) + bytes([0x00, 7 << 3])  # no flags; window 2^17
    blocks = mib * 8
    for i in range(blocks):
        frame += ((128 << 10) << 3 | 1 << 1 | (i == blocks - 1)).to_bytes(3, "little") + b"\0"
    return frame
def bomb(info, files, frame):
    info["offset"], info["length"] = len(files[info["relative_path"]]), len(frame)
    info["transform_descriptors"] = ["stream.zstd/1"]
    files[info["relative_path"]] += frame
def zstd_bomb(m, files):
    # 512 MiB of zeros in 16 KiB, for an item that only needs 16 floats; the item says it is `stream.zstd/1` encoded
    bomb(storage(m, "model.norm.weight", (0,)), files, zstd_rle_frame(512))
def zstd_bomb_bytes_item(m, files):
    # a bytes item (torch.save of a Python object) is decoded when the checkpoint opens
    info = next(v.state for k, v in m.state["storage_data"].items() if k.state["fqn"] == "scalar_meta.note")
    bomb(info, files, zstd_rle_frame(64))
def zstd_bomb_small(m, files):
    # the whole checkpoint is one 64-float tensor in one chunk and 2 KiB of zstd: the bound must hold for a tiny file
    t = tensor_meta(m, "model.norm.weight")
    chunk = t["chunks"][0]
    chunk.state["sizes"] = Call(chunk.state["sizes"].fn, ((64,),))
    t["chunks"] = [chunk]
    m.state["state_dict_metadata"] = {"model.norm.weight": m.state["state_dict_metadata"]["model.norm.weight"]}
    m.state["planner_data"] = {"model.norm.weight": m.state["planner_data"]["model.norm.weight"]}
    key, info = next((k, v) for k, v in m.state["storage_data"].items() if k.state["fqn"] == "model.norm.weight" and k.state["offset"].args[0] == (0,))
    m.state["storage_data"] = {key: info}
    files.clear()
    files[info.state["relative_path"]] = b""
    bomb(info.state, files, zstd_rle_frame(64))
def overlapping_chunks(m, files):
    # k_proj's second row block (rows 8..15) claims rows 4..11: rows 4..7 written twice, rows 12..15 never
    c = tensor_meta(m, "model.layers.0.self_attn.k_proj.weight")["chunks"][1].state
    assert c["offsets"].args[0] == (8, 0)
    c["offsets"] = Call(c["offsets"].fn, ((4, 0),))

for name, edit, reasons in [
    ("chunk_outside_tensor", chunk_outside, ["ChunksDoNotCoverTensor", "OffsetOutOfBounds"]),
    ("negative_shape", negative_shape, ["InvalidShape"]),
    ("shape_product_overflows", shape_overflows, ["InvalidShape", "TooLarge"]),
    ("chunk_size_overflows", chunk_size_overflows, ["InvalidShape", "OffsetOutOfBounds"]),
    ("storage_past_end", storage_past_end, ["Truncated", "OffsetOutOfBounds"]),
    ("zstd_bomb", zstd_bomb, ["TooLarge"]),
    ("zstd_bomb_bytes_item", zstd_bomb_bytes_item, ["TooLarge"]),
    ("zstd_bomb_small", zstd_bomb_small, ["TooLarge"]),
    ("overlapping_chunks", overlapping_chunks, ["OverlappingData", "ChunksDoNotCoverTensor"]),
]:
    put(*dcp(name, edit), reasons)
# .metadata is a pickle torch.distributed.checkpoint loads with pickle.load, so it is a code-execution vector too.
put(*dcp("metadata_os_system", metadata=P2 + b"cos\nsystem\n" + su(CMD) + b"\x85R."), FORBID)
put(*dcp("metadata_deep_nesting", metadata=P2 + b"(" * 200_000 + b"."), ["PickleInvalid"])


# 8. Cost linear in the input (issue 13). Each file is small; the work a naive reader does on it is not.
def memo_dag(fanout, levels):
    """A dict whose every level holds the level below `fanout` times through memo GETs: fanout^levels leaves."""
    out = P2 + b"}r" + struct.pack("<I", 0)
    for i in range(1, levels + 1):
        out += b"}(" + b"".join(su(f"k{k}") + b"j" + struct.pack("<I", i - 1) for k in range(fanout)) + b"ur" + struct.pack("<I", i)
    return out + b"."
put("pickle/memo_dag_x2.pt", torch_zip("a", memo_dag(2, 60)), ["TooLarge"])
put("pickle/memo_dag_x16.pt", torch_zip("a", memo_dag(16, 10)), ["TooLarge"])

# LONG4 of 256 KiB, deflated to a few hundred bytes (under the 1 MiB a deflated data.pkl may claim): building the
# int is linear, printing it quadratic. The 1 MiB case is built by UnpicklerTests, as a file it would be 1 MiB.
put("pickle/long4_256k.pt", torch_zip("a", P2 + b"\x8b" + struct.pack("<i", 256 << 10) + b"\x01" * (256 << 10) + b".", compress=True), ["PickleInvalid"])

def dict_pickle(keys, protocol_header=P2):
    """{key: None for key in keys}, keys given as pickled bytes, in SETITEMS batches of 1000 like pickle writes.
    The dict is the BUILD state of an inert object, which the flattener keeps as one value: the file then measures
    the dict, not the 16,000 entry names any dict that size would cost."""
    out = protocol_header + b"cattack\nHolder\n)\x81}"
    for i in range(0, len(keys), 1000):
        out += b"(" + b"".join(k + b"N" for k in keys[i:i + 1000]) + b"u"
    return out + b"b."
def long1(v): return b"\x8a\x08" + struct.pack("<q", v)
# k·(2^32+1) folds to hash 0 under .NET's long hash (the halves XORed): 16,000 keys in one bucket.
colliding_ints = [long1(k * ((1 << 32) + 1)) for k in range(1, 16_001)]
put("pickle/colliding_int_keys.pt", torch_zip("a", dict_pickle(colliding_ints)), ["load"])
# frozenset({i, i ^ C}): an XOR of item hashes gives every one of them the same hash.
C = 1 << 20
colliding_sets = [b"(" + long1(i) + long1(i ^ C) + b"\x91" for i in range(8_000)]
put("pickle/colliding_frozenset_keys.pt", torch_zip("a", dict_pickle(colliding_sets, b"\x80\x04")), ["load"])

# Copies by allowed callables: one memoized 16 KiB value given to _codecs.encode / bytes 3,000 times (48 MB).
def copies(value, callable_):
    out = P2 + value + b"q\x00" + callable_ + b"q\x01]q\x02("
    for _ in range(3000):
        out += b"h\x01h\x00" + (su("latin1") + b"\x86" if b"encode" in callable_ else b"\x85") + b"R"
    return out + b"e."
put("pickle/codecs_encode_copies.pt", torch_zip("a", copies(b"X" + struct.pack("<I", 16 << 10) + b"a" * (16 << 10), b"c_codecs\nencode\n")), ["TooLarge"])
put("pickle/bytes_copies.pt", torch_zip("a", copies(b"B" + struct.pack("<I", 16 << 10) + b"\0" * (16 << 10), b"c__builtin__\nbytes\n")), ["TooLarge"])

def colliding_metadata(m, files):
    # one tensor in one chunk, with an extra attribute holding 16,000 colliding int keys; its data stays valid
    t = tensor_meta(m, "model.norm.weight")
    chunk = t["chunks"][0]
    t["chunks"] = [chunk]
    m.state["state_dict_metadata"] = {"model.norm.weight": m.state["state_dict_metadata"]["model.norm.weight"]}
    m.state["planner_data"] = {"model.norm.weight": m.state["planner_data"]["model.norm.weight"]}
    key, info = next((k, v) for k, v in m.state["storage_data"].items() if k.state["fqn"] == "model.norm.weight" and k.state["offset"].args[0] == (0,))
    m.state["storage_data"] = {key: info}
    t["size"] = Call(t["size"].fn, ((16,),))
    chunk.state["sizes"] = Call(chunk.state["sizes"].fn, ((16,),))
    path, offset, length = info.state["relative_path"], info.state["offset"], info.state["length"]
    item = files[path][offset:offset + length]
    files.clear()
    files[path] = item
    info.state["offset"] = 0
    m.state["colliding"] = {k * ((1 << 32) + 1): None for k in range(1, 16_001)}
put(*dcp("colliding_int_keys", colliding_metadata), ["load"])

# JSON: a lone UTF-16 surrogate escape, in a safetensors header and in an index; a config.json nested 100,000
# deep beside good weights (config.json is optional, so a bad one is ignored).
lone = b'{"\\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
put("safetensors/lone_surrogate.safetensors", struct.pack("<Q", len(lone)) + lone + b"\0" * 4, ["HeaderInvalid"])
put("index/index_lone_surrogate/model.safetensors.index.json", b'{"metadata": {}, "weight_map": {"w\\udc00": "model.safetensors"}}', ["HeaderInvalid"])
os.makedirs(os.path.join(here, "json", "config_deep"), exist_ok=True)
with open(os.path.join(here, "json", "config_deep", "model.safetensors"), "wb") as f:
    f.write(st({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4))
put("json/config_deep/config.json", b"[" * 100_000 + b"]" * 100_000, ["load"])

# YAML for `ckpt merge --config`, nested 50,000 deep: not a checkpoint, so not in expected.json; HostileConfigTests
# runs it (refused with MergeConfigInvalid, where a recursive load overflowed the stack and killed the process).
os.makedirs(os.path.join(here, "config"), exist_ok=True)
with open(os.path.join(here, "config", "merge_nested_50000.yaml"), "w") as f:
    f.write("merge_method: linear\nmodels: " + "[" * 50_000 + "]" * 50_000 + "\n")

with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump(dict(sorted(expected.items())), f, indent=1)
print(f"{len(expected)} attack files")
