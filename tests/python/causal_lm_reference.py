"""An independent reference for `ckpt generate`, in plain torch (Debian's torch 1.13 has no transformers): HF's
LlamaForCausalLM (RMSNorm in fp32, rotate_half RoPE with rope_theta, GQA by repeat_interleave, SwiGLU, tied or untied
head) and GPT2LMHeadModel (learned positions, LayerNorm, Conv1D weights [in, out], gelu_new, tied head), read from a
folder's safetensors; greedy decoding re-runs the whole sequence for every token (no cache, so nothing is shared with
the cached path under test); and transformers' TopK/TopP logits warpers.

greedy MODEL_DIR IDS N: IDS comma-separated; prints {"tokens": [...], "gaps": [...]} where gaps[i] is step i's
    margin between the two largest logits (how far the argmax is from a tie).
check MODEL_DIR REFERENCE: prints {"max_abs_diff": d}, this model's logits against the reference_logits.safetensors
    transformers wrote for the same weights (proof that the reference is HF's model).
warp T K P: reads {"logits": [...]} (f32 values) on stdin; prints {"probs": [...]} after temperature, top-k, top-p
    (each skipped at its neutral value, as generate() does) and softmax."""
import json, math, os, struct, sys
import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"]).float()
    return out


def read_model(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    weights = {}
    for f in files:
        weights.update(read_safetensors(os.path.join(folder, f)))
    return json.load(open(os.path.join(folder, "config.json"))), weights


def llama(c, w, ids):
    heads = c["num_attention_heads"]
    kv = c.get("num_key_value_heads") or heads
    dim = c.get("head_dim") or c["hidden_size"] // heads
    eps = c.get("rms_norm_eps", 1e-6)
    theta = (c.get("rope_parameters") or {}).get("rope_theta", c.get("rope_theta", 10000.0))
    t = ids.shape[1]
    inv = 1.0 / (theta ** (torch.arange(0, dim, 2).float() / dim))
    freqs = torch.outer(torch.arange(t).float(), inv)
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos(), emb.sin()
    rot = lambda v: torch.cat((-v[..., dim // 2:], v[..., : dim // 2]), -1)
    rms = lambda x, g: g * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))
    bias = torch.full((t, t), float("-inf")).triu(1)
    x = F.embedding(ids, w["model.embed_tokens.weight"])
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms(x, w[p + "input_layernorm.weight"])
        q = F.linear(h, w[p + "self_attn.q_proj.weight"]).view(1, t, heads, dim).transpose(1, 2)
        k = F.linear(h, w[p + "self_attn.k_proj.weight"]).view(1, t, kv, dim).transpose(1, 2)
        v = F.linear(h, w[p + "self_attn.v_proj.weight"]).view(1, t, kv, dim).transpose(1, 2)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(heads // kv, 1), v.repeat_interleave(heads // kv, 1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dim) + bias, -1)
        x = x + F.linear((att @ v).transpose(1, 2).reshape(1, t, -1), w[p + "self_attn.o_proj.weight"])
        h = rms(x, w[p + "post_attention_layernorm.weight"])
        gate, up = F.linear(h, w[p + "mlp.gate_proj.weight"]), F.linear(h, w[p + "mlp.up_proj.weight"])
        x = x + F.linear(F.silu(gate) * up, w[p + "mlp.down_proj.weight"])
    return F.linear(rms(x, w["model.norm.weight"]), w.get("lm_head.weight", w["model.embed_tokens.weight"]))


def gpt2(c, w, ids):
    heads, e, eps = c["n_head"], c["n_embd"], c.get("layer_norm_epsilon", 1e-5)
    d, t = e // heads, ids.shape[1]
    gelu_new = lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    conv1d = lambda x, name: x @ w[name + ".weight"] + w[name + ".bias"]
    ln = lambda x, name: F.layer_norm(x, (e,), w[name + ".weight"], w[name + ".bias"], eps)
    bias = torch.full((t, t), float("-inf")).triu(1)
    x = F.embedding(ids, w["transformer.wte.weight"]) + w["transformer.wpe.weight"][:t]
    for i in range(c["n_layer"]):
        p = f"transformer.h.{i}."
        q, k, v = conv1d(ln(x, p + "ln_1"), p + "attn.c_attn").split(e, 2)
        q, k, v = (m.view(1, t, heads, d).transpose(1, 2) for m in (q, k, v))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, -1)
        x = x + conv1d((att @ v).transpose(1, 2).reshape(1, t, e), p + "attn.c_proj")
        x = x + conv1d(gelu_new(conv1d(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
    return F.linear(ln(x, "transformer.ln_f"), w.get("lm_head.weight", w["transformer.wte.weight"]))


def greedy(folder, ids, n):
    c, w = read_model(folder)
    forward = gpt2 if c["model_type"] == "gpt2" else llama
    seq, tokens, gaps = list(ids), [], []
    with torch.no_grad():
        for _ in range(n):
            last = forward(c, w, torch.tensor([seq]))[0, -1]
            top = last.topk(2).values
            nxt = int(last.argmax())
            tokens.append(nxt)
            gaps.append(float(top[0] - top[1]))
            seq.append(nxt)
    return {"tokens": tokens, "gaps": gaps}


def check(folder, reference):
    c, w = read_model(folder)
    forward = gpt2 if c["model_type"] == "gpt2" else llama
    ref = read_safetensors(reference)
    ids = ref["input_ids"].long()
    with torch.no_grad():
        diff = max(float((forward(c, w, ids[r:r + 1])[0] - ref["logits"][r]).abs().max()) for r in range(ids.shape[0]))
    return {"max_abs_diff": diff}


def top_k(scores, k):
    # transformers TopKLogitsWarper (min_tokens_to_keep=1)
    k = min(max(k, 1), scores.size(-1))
    remove = scores < torch.topk(scores, k)[0][..., -1, None]
    return scores.masked_fill(remove, -float("inf"))


def top_p(scores, p):
    # transformers TopPLogitsWarper (min_tokens_to_keep=1)
    sorted_logits, sorted_indices = torch.sort(scores, descending=False)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    sorted_remove = cumulative <= (1 - p)
    sorted_remove[..., -1:] = 0
    remove = sorted_remove.scatter(1, sorted_indices, sorted_remove)
    return scores.masked_fill(remove, -float("inf"))


def warp(temperature, k, p, logits):
    scores = torch.tensor([logits], dtype=torch.float32)
    if temperature != 1.0:
        scores = scores / temperature
    if k != 0:
        scores = top_k(scores, k)
    if p < 1.0:
        scores = top_p(scores, p)
    return {"probs": scores.softmax(-1)[0].tolist()}


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[1] == "greedy":
        out = greedy(sys.argv[2], [int(i) for i in sys.argv[3].split(",")], int(sys.argv[4]))
    elif sys.argv[1] == "check":
        out = check(sys.argv[2], sys.argv[3])
    else:
        out = warp(float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), json.load(sys.stdin)["logits"])
    print(json.dumps(out))
