#!/usr/bin/env python3
"""Writes the hostile-checkpoint corpus (run from this folder; stdlib only, no torch needed).

Each file is an attack a checkpoint from the internet could carry. `expected.json` maps each file to
the reasons a safe reader may give (or "load" where an inert load is acceptable). Every command
they would run only creates the marker file; tests assert it never appears.
"""
import io, json, os, shutil, struct, zipfile, zlib

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
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        z.writestr(f"{folder}/data.pkl", pkl)
        z.writestr(f"{folder}/byteorder", "little")
        for k, v in (members or {}).items():
            z.writestr(k if "/" in k else f"{folder}/data/{k}", v)
        z.writestr(f"{folder}/version", "3\n")
    return buf.getvalue()

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
put("pickle/binunicode_past_end.pt", torch_zip("a", P2 + b"X" + struct.pack("<I", 0x7FFFFFF0) + b"abc."), ["PickleInvalid"])

# 3. torch.save archives pointing outside themselves.
rebuild = (P2 + b"ctorch._utils\n_rebuild_tensor_v2\n(" + b"(" + su("storage") + b"ctorch\nFloatStorage\n"
           + su("../../../../etc/passwd") + su("cpu") + b"K\x04tQ" + b"K\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR.")
put("zip/persistent_id_escapes_archive.pt", torch_zip("a", rebuild), ["PathEscapesCheckpoint", "ZipInvalid", "MissingFile", "PickleInvalid"])
put("zip/member_named_dotdot.pt", torch_zip("a", P2 + b"N.", {"../evil": b"x" * 16}), ["ZipInvalid", "PathEscapesCheckpoint"])
bomb_member = zlib.compress(b"\0" * (64 << 20))
put("zip/deflated_storage_bomb.pt", torch_zip("a", P2 + b"ctorch._utils\n_rebuild_tensor_v2\n((" + su("storage") + b"ctorch\nFloatStorage\n" + su("0") + su("cpu")
                                              + b"J\x00\x00\x00\x01tQK\x00J\x00\x00\x00\x01\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR.",
                                              {"0": b"\0" * (64 << 20)}, compress=True), ["ZipInvalid", "Unsupported"])

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

with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump(dict(sorted(expected.items())), f, indent=1)
print(f"{len(expected)} attack files")
