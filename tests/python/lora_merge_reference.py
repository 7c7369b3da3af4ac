"""PEFT's LoRA merge in torch, for one weight: W += transpose(B @ A, fan_in_fan_out) * scaling (the delta computed in
the adapter's dtype, in fp32 for half adapters on CPU; added in place to the weight, which rounds once to its dtype).
Reads safetensors with a few lines of its documented layout (Debian's torch 1.13 has no safetensors package).
Usage: lora_merge_reference.py <base.safetensors> <weight name> <adapter folder> <module path> <out.bin>
Writes the merged weight's raw bytes (little-endian, the base's dtype) to <out.bin>."""
import json, struct, sys
import torch

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}

def read(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        entry = header[name]
        start, end = entry["data_offsets"]
        f.seek(8 + n + start)
        data = bytearray(f.read(end - start))
    return torch.frombuffer(data, dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"]).clone()

base, weight_name, adapter, module, out = sys.argv[1:6]
config = json.load(open(f"{adapter}/adapter_config.json"))
scaling = config["lora_alpha"] / (config["r"] ** 0.5 if config.get("use_rslora") else config["r"])
a = read(f"{adapter}/adapter_model.safetensors", f"base_model.model.{module}.lora_A.weight")
b = read(f"{adapter}/adapter_model.safetensors", f"base_model.model.{module}.lora_B.weight")
half = b.dtype in (torch.float16, torch.bfloat16)
delta = b.float() @ a.float() if half else b @ a
if config.get("fan_in_fan_out"):
    delta = delta.T
delta = delta * scaling
if half:
    delta = delta.to(b.dtype)
w = read(base, weight_name)
w += delta
open(out, "wb").write(w.contiguous().view(torch.uint8).numpy().tobytes())
print(w.dtype, tuple(w.shape))
