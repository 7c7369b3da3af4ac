"""A plain-torch reference for the LLaMA-style decoder families Ckpt builds (Debian's torch 1.13, no transformers):
LLaMA with rope_scaling llama3 / linear / dynamic, Qwen2, Qwen3, Phi-3. Written independently from transformers'
modeling files (transformers 4.5x: models/llama/modeling_llama.py, models/qwen2/modeling_qwen2.py,
models/qwen3/modeling_qwen3.py, models/phi3/modeling_phi3.py, models/gemma2/modeling_gemma2.py) and
modeling_rope_utils.py (read at commit 0044e3b):
  - Qwen2: q/k/v projections biased, o_proj not; rope_theta 1e6 as Qwen2.5 ships it; tied head.
  - Qwen3: q_norm/k_norm, RMSNorm over head_dim applied per head before RoPE; head_dim independent of hidden/heads.
  - Phi-3: qkv_proj rows [q; k; v], gate_up_proj rows [gate; up]; RoPE over the first head_dim·partial_rotary_factor.
  - Gemma 2: embeddings × √hidden rounded to the embedding dtype; RMSNorm x̂·(1 + w) in fp32; norms before and after
    both attention and MLP; scores × query_pre_attn_scalar^−½, then cap·tanh(scores/cap) (attn_logit_softcapping);
    GeGLU with the tanh GELU; final logits cap·tanh(logits/cap) (final_logit_softcapping).
  - rope_scaling llama3: wavelengths above original_max/low_freq_factor divided by factor, below original_max/
    high_freq_factor kept, smoothly blended between; linear: inv_freq/factor; dynamic: θ·(factor·L/max − (factor−1))^(d/(d−2))
    once the length L exceeds max_position_embeddings.

make FAMILY DIR: writes DIR/config.json, DIR/model.safetensors (seeded random weights) and DIR/reference_logits.safetensors
    (input_ids [2, T], this reference's fp32 logits), FAMILY one of the keys of CONFIGS.
"""
import json, math, os, struct, sys
import torch
import torch.nn.functional as F

from causal_lm_reference import read_model, read_safetensors

BASE = {"vocab_size": 512, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "max_position_embeddings": 64, "tie_word_embeddings": False}
CONFIGS = {
    "llama3": dict(BASE, model_type="llama", rope_theta=10000.0, rope_scaling={
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
    "llama-linear": dict(BASE, model_type="llama", rope_scaling={"type": "linear", "factor": 4.0}),
    # max_position_embeddings below the 12 tokens of the reference input, so NTK stretches θ.
    "llama-dynamic": dict(BASE, model_type="llama", max_position_embeddings=8, rope_scaling={"type": "dynamic", "factor": 2.0}),
    "qwen2": dict(BASE, model_type="qwen2", rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False,
                  sliding_window=4096, max_window_layers=2),
    "qwen3": dict(BASE, model_type="qwen3", head_dim=24, rope_theta=1000000.0, attention_bias=False, tie_word_embeddings=True,
                  use_sliding_window=False),
    # Soft caps small enough to bite on a tiny model's scores and logits; query_pre_attn_scalar ≠ head_dim so it shows.
    "gemma2": dict(BASE, model_type="gemma2", head_dim=16, hidden_activation="gelu_pytorch_tanh", hidden_act="gelu_pytorch_tanh",
                   query_pre_attn_scalar=24, attn_logit_softcapping=4.0, final_logit_softcapping=8.0, sliding_window=4096,
                   rope_theta=10000.0, tie_word_embeddings=True, attention_bias=False),
    "phi3": dict(BASE, model_type="phi3", num_key_value_heads=4, partial_rotary_factor=0.5, rope_theta=10000.0,
                 sliding_window=2047, hidden_act="silu"),
}
SEQ = 12


def inv_freq(c, dim, length):
    theta = c.get("rope_theta", 10000.0)
    scaling = c.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind == "dynamic" and length > c["max_position_embeddings"]:
        f = scaling["factor"]
        theta = theta * ((f * length / c["max_position_embeddings"]) - (f - 1)) ** (dim / (dim - 2))
    inv = 1.0 / (theta ** (torch.arange(0, dim, 2).float() / dim))
    if kind == "linear":
        return inv / scaling["factor"]
    if kind == "llama3":
        f, low, high, old = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"], scaling["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        out = torch.where(wavelen > old / low, inv / f, inv)
        smooth = (old / wavelen - low) / (high - low)
        blended = (1 - smooth) * out / f + smooth * out
        medium = (wavelen >= old / high) & (wavelen <= old / low)
        return torch.where(medium, blended, out)
    return inv


def decoder(c, w, ids):
    kind = c["model_type"]
    heads, kv = c["num_attention_heads"], c.get("num_key_value_heads") or c["num_attention_heads"]
    dim = c.get("head_dim") or c["hidden_size"] // heads
    rot = int(dim * c.get("partial_rotary_factor", 1.0))
    eps, t = c["rms_norm_eps"], ids.shape[1]
    angles = torch.outer(torch.arange(t).float(), inv_freq(c, rot, t))
    cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()

    def rope(v):
        r, rest = v[..., :rot], v[..., rot:]
        half = torch.cat((-r[..., rot // 2:], r[..., : rot // 2]), -1)
        return torch.cat((r * cos + half * sin, rest), -1)

    gemma = kind == "gemma2"
    normed = lambda x: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    rms = (lambda x, g: normed(x) * (1 + g)) if gemma else (lambda x, g: g * normed(x))
    cap = lambda v, c: torch.tanh(v / c) * c if c else v
    act = (lambda v: F.gelu(v, approximate="tanh")) if gemma else F.silu
    scale = c["query_pre_attn_scalar"] ** -0.5 if gemma else 1 / math.sqrt(dim)
    causal = torch.full((t, t), float("-inf")).triu(1)
    x = F.embedding(ids, w["model.embed_tokens.weight"])
    if gemma:
        x = x * torch.tensor(c["hidden_size"] ** 0.5, dtype=x.dtype)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = p + "self_attn."
        h = rms(x, w[p + "input_layernorm.weight"])
        if kind == "phi3":
            q, k, v = F.linear(h, w[a + "qkv_proj.weight"]).split([heads * dim, kv * dim, kv * dim], -1)
        else:
            q, k, v = (F.linear(h, w[a + n + "_proj.weight"], w.get(a + n + "_proj.bias")) for n in "qkv")
        q, k, v = q.view(1, t, heads, dim), k.view(1, t, kv, dim), v.view(1, t, kv, dim)
        if kind == "qwen3":
            q, k = rms(q, w[a + "q_norm.weight"]), rms(k, w[a + "k_norm.weight"])
        q, k, v = rope(q.transpose(1, 2)), rope(k.transpose(1, 2)), v.transpose(1, 2)
        k, v = k.repeat_interleave(heads // kv, 1), v.repeat_interleave(heads // kv, 1)
        att = torch.softmax(cap(q @ k.transpose(-1, -2) * scale, c.get("attn_logit_softcapping")) + causal, -1)
        o = F.linear((att @ v).transpose(1, 2).reshape(1, t, -1), w[a + "o_proj.weight"], w.get(a + "o_proj.bias"))
        x = x + (rms(o, w[p + "post_attention_layernorm.weight"]) if gemma else o)
        h = rms(x, w[p + ("pre_feedforward_layernorm.weight" if gemma else "post_attention_layernorm.weight")])
        if kind == "phi3":
            gate, up = F.linear(h, w[p + "mlp.gate_up_proj.weight"]).chunk(2, -1)
        else:
            gate, up = F.linear(h, w[p + "mlp.gate_proj.weight"]), F.linear(h, w[p + "mlp.up_proj.weight"])
        m = F.linear(act(gate) * up, w[p + "mlp.down_proj.weight"])
        x = x + (rms(m, w[p + "post_feedforward_layernorm.weight"]) if gemma else m)
    logits = F.linear(rms(x, w["model.norm.weight"]), w.get("lm_head.weight", w["model.embed_tokens.weight"]))
    return cap(logits, c.get("final_logit_softcapping"))


def shapes(c):
    """The HF parameter names and shapes of one family's checkpoint."""
    kind, e, n = c["model_type"], c["hidden_size"], c["intermediate_size"]
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    dim = c.get("head_dim") or e // heads
    out = {"model.embed_tokens.weight": [c["vocab_size"], e], "model.norm.weight": [e]}
    if not c["tie_word_embeddings"]:
        out["lm_head.weight"] = [c["vocab_size"], e]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out.update({p + "input_layernorm.weight": [e], p + "post_attention_layernorm.weight": [e],
                    p + "self_attn.o_proj.weight": [e, heads * dim], p + "mlp.down_proj.weight": [e, n]})
        if kind == "phi3":
            out.update({p + "self_attn.qkv_proj.weight": [(heads + 2 * kv) * dim, e], p + "mlp.gate_up_proj.weight": [2 * n, e]})
        else:
            out.update({p + "self_attn.q_proj.weight": [heads * dim, e], p + "self_attn.k_proj.weight": [kv * dim, e],
                        p + "self_attn.v_proj.weight": [kv * dim, e], p + "mlp.gate_proj.weight": [n, e], p + "mlp.up_proj.weight": [n, e]})
        if kind == "qwen2":
            out.update({p + "self_attn.q_proj.bias": [heads * dim], p + "self_attn.k_proj.bias": [kv * dim], p + "self_attn.v_proj.bias": [kv * dim]})
        if kind == "gemma2":
            out.update({p + "pre_feedforward_layernorm.weight": [e], p + "post_feedforward_layernorm.weight": [e]})
        if kind == "qwen3":
            out.update({p + "self_attn.q_norm.weight": [dim], p + "self_attn.k_norm.weight": [dim]})
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = tensor.contiguous().numpy().tobytes()
        header[name] = {"dtype": {torch.float32: "F32", torch.int64: "I64"}[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def make(family, folder):
    c = CONFIGS[family]
    torch.manual_seed(5)
    weights = {}
    for name, shape in shapes(c).items():
        if name.endswith("norm.weight"):
            # away from the identity (1, or 0 for Gemma's 1 + w), so a dropped or misread norm shows
            weights[name] = (0 if c["model_type"] == "gemma2" else 1) + 0.2 * torch.randn(shape)
        elif name.endswith(".bias"):
            weights[name] = 0.5 * torch.randn(shape)
        elif "embed_tokens" in name:
            weights[name] = 0.5 * torch.randn(shape)
        else:
            weights[name] = torch.randn(shape) / math.sqrt(shape[1])
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(c, f, indent=1)
    write_safetensors(os.path.join(folder, "model.safetensors"), weights)
    ids = torch.randint(0, c["vocab_size"], (2, SEQ))
    c, w = read_model(folder)  # what was written, read back as Ckpt will read it
    with torch.no_grad():
        logits = torch.cat([decoder(c, w, ids[r:r + 1]) for r in range(ids.shape[0])])
    write_safetensors(os.path.join(folder, "reference_logits.safetensors"), {"input_ids": ids, "logits": logits})
    return {"logits_abs_max": float(logits.abs().max())}


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(json.dumps(make(sys.argv[2], sys.argv[3])))
