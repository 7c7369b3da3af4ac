"""The PyTorch baseline for `ckpt finetune` on the CPU (bench/finetune-vs-torch-cpu.sh): the same LLaMA (read from
the same safetensors), the same pre-tokenized data and batch, LoRA on the same projections (PEFT's init: A
Kaiming-uniform with a=sqrt(5), B zero, scale alpha/r), completion-only SFT loss or TRL's sigmoid DPO loss with the
adapter-off reference, global-norm clipping at 1.0 and AdamW on the adapters, all in f32. Written against plain
torch because this machine has Debian's torch 1.13 and no transformers or peft; the model follows HF's
LlamaForCausalLM (RMSNorm, rotate_half RoPE with rope_theta, GQA, SwiGLU, tied or untied head).

Tokens/s counts the real (non-pad) tokens of each step's forward batch, as the C# trainer does, over the steps after
the first `warm`. With as many examples as the batch, every step sees the whole set, so step 1's loss is the base
model's (B is zero) and must equal ckpt's whatever the data order: printed as `losses[0]` for the comparison.
Usage: finetune_torch_cpu.py MODEL DATA.jsonl RECIPE STEPS BATCH THREADS"""
import json, math, os, sys, time
import torch
import torch.nn.functional as F

# The safetensors reader of the test suite's plain-torch reference (tests/python/causal_lm_reference.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
from causal_lm_reference import read_model  # noqa: E402


class Frozen(torch.nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.weight = torch.nn.Parameter(weight, requires_grad=False)

    def forward(self, x):
        return F.linear(x, self.weight)


class LoraLinear(torch.nn.Module):
    def __init__(self, weight, r, alpha):
        super().__init__()
        self.weight = torch.nn.Parameter(weight, requires_grad=False)
        self.lora_A = torch.nn.Parameter(torch.empty(r, weight.shape[1]))
        self.lora_B = torch.nn.Parameter(torch.zeros(weight.shape[0], r))
        torch.nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scale, self.enabled = alpha / r, True

    def forward(self, x):
        y = F.linear(x, self.weight)
        return y + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scale if self.enabled else y


class Llama(torch.nn.Module):
    def __init__(self, config, w, r, alpha, targets):
        super().__init__()
        self.c = config
        self.heads = config["num_attention_heads"]
        self.kv = config.get("num_key_value_heads", self.heads)
        self.dim = config.get("head_dim") or config["hidden_size"] // self.heads
        self.eps = config.get("rms_norm_eps", 1e-6)
        lin = lambda name, short: LoraLinear(w[name], r, alpha) if short in targets else Frozen(w[name])
        self.embed = torch.nn.Parameter(w["model.embed_tokens.weight"], requires_grad=False)
        self.layers = torch.nn.ModuleList()
        for i in range(config["num_hidden_layers"]):
            p = f"model.layers.{i}."
            layer = torch.nn.Module()
            for short in ("q_proj", "k_proj", "v_proj", "o_proj"):
                layer.add_module(short, lin(p + "self_attn." + short + ".weight", short))
            for short in ("gate_proj", "up_proj", "down_proj"):
                layer.add_module(short, lin(p + "mlp." + short + ".weight", short))
            layer.ln1 = torch.nn.Parameter(w[p + "input_layernorm.weight"], requires_grad=False)
            layer.ln2 = torch.nn.Parameter(w[p + "post_attention_layernorm.weight"], requires_grad=False)
            self.layers.append(layer)
        self.norm = torch.nn.Parameter(w["model.norm.weight"], requires_grad=False)
        self.head = torch.nn.Parameter(w.get("lm_head.weight", w["model.embed_tokens.weight"]), requires_grad=False)
        inv = 1.0 / (config.get("rope_theta", 10000.0) ** (torch.arange(0, self.dim, 2).float() / self.dim))
        self.register_buffer("inv_freq", inv)

    def rms(self, x, g):
        return g * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    def forward(self, ids, mask):
        b, t = ids.shape
        x = F.embedding(ids, self.embed)
        freqs = torch.outer(torch.arange(t).float(), self.inv_freq)
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos(), emb.sin()
        rot = lambda v: torch.cat((-v[..., v.shape[-1] // 2:], v[..., : v.shape[-1] // 2]), -1)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        allowed = causal[None, None] & mask[:, None, None, :].bool()
        bias = torch.zeros(b, 1, t, t).masked_fill(~allowed, float("-inf"))
        for L in self.layers:
            h = self.rms(x, L.ln1)
            q = L.q_proj(h).view(b, t, self.heads, self.dim).transpose(1, 2)
            k = L.k_proj(h).view(b, t, self.kv, self.dim).transpose(1, 2)
            v = L.v_proj(h).view(b, t, self.kv, self.dim).transpose(1, 2)
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            if self.kv != self.heads:
                k = k.repeat_interleave(self.heads // self.kv, 1)
                v = v.repeat_interleave(self.heads // self.kv, 1)
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.dim) + bias, -1)
            x = x + L.o_proj((att @ v).transpose(1, 2).reshape(b, t, -1))
            h = self.rms(x, L.ln2)
            x = x + L.down_proj(F.silu(L.gate_proj(h)) * L.up_proj(h))
        return F.linear(self.rms(x, self.norm), self.head)

    def adapters(self, on):
        for m in self.modules():
            if isinstance(m, LoraLinear):
                m.enabled = on


def collate(pairs):
    width = max(len(p) + len(c) for p, c in pairs)
    ids = torch.zeros(len(pairs), width, dtype=torch.long)
    labels = torch.full_like(ids, -100)
    mask = torch.zeros_like(ids)
    for i, (p, c) in enumerate(pairs):
        s = p + c
        ids[i, : len(s)] = torch.tensor(s)
        labels[i, len(p): len(s)] = torch.tensor(c)
        mask[i, : len(s)] = 1
    return ids, labels, mask, int(mask.sum())


def summed_logps(logits, labels):
    logp = torch.log_softmax(logits[:, :-1], -1)
    t = labels[:, 1:]
    return (logp.gather(2, t.clamp(min=0).unsqueeze(2)).squeeze(2) * (t != -100)).sum(1)


def main():
    path, data, recipe, steps, batch, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    warm, beta = 2, 0.1
    targets = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    config, weights = read_model(path)
    model = Llama(config, weights, 16, 32, targets)
    del weights
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=2e-4, weight_decay=0.0)
    rows = [json.loads(l) for l in open(data)]
    tokens, elapsed, losses = 0, 0.0, []
    for step in range(steps):
        part = [rows[(step * batch + i) % len(rows)] for i in range(batch)]
        if recipe == "sft":
            ids, labels, mask, n = collate([(r["prompt_input_ids"], r["completion_input_ids"]) for r in part])
        else:
            ids, labels, mask, n = collate([(r["prompt_input_ids"], r["chosen_input_ids"]) for r in part]
                                           + [(r["prompt_input_ids"], r["rejected_input_ids"]) for r in part])
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        if recipe == "sft":
            logits = model(ids, mask)
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)
        else:
            policy = summed_logps(model(ids, mask), labels)
            with torch.no_grad():
                model.adapters(False)
                reference = summed_logps(model(ids, mask), labels)
                model.adapters(True)
            ratio = policy - reference
            loss = -F.logsigmoid(beta * (ratio[:batch] - ratio[batch:])).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        losses.append(loss.item())
        if step >= warm:
            elapsed += time.perf_counter() - t0
            tokens += n
    print(json.dumps({"run": "torch", "recipe": recipe, "tokens_per_second": tokens / elapsed, "steps_timed": steps - warm,
                      "losses": losses, "torch": torch.__version__, "threads": threads}))


if __name__ == "__main__":
    main()
