"""PyTorch + PEFT equivalent of `ckpt finetune` on the same model, data, LoRA settings and batch: SFT with
completion-only labels and DPO with TRL's sigmoid loss (reference = the same model with the adapter disabled),
AdamW on the adapter only, bf16 base, LoRA in fp32 (PEFT's autocast_adapter_dtype). Tokens/s counts the real
(non-pad) tokens of each step's forward batch, as the C# trainer does; the first `warm` steps are not timed.
Usage: finetune_peft_bench.py MODEL DATA_DIR RECIPE STEPS BATCH"""
import json, sys, time, torch, torch.nn.functional as F
from transformers import LlamaForCausalLM
from peft import LoraConfig, get_peft_model
path, data, recipe, steps, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
warm, beta = 2, 0.1
model = LlamaForCausalLM.from_pretrained(path, torch_dtype=torch.bfloat16, attn_implementation="sdpa").cuda()
model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4, weight_decay=0.0)
rows = [json.loads(l) for l in open(f"{data}/{recipe}.jsonl")]

def collate(pairs):
    width = max(len(p) + len(c) for p, c in pairs)
    ids = torch.zeros(len(pairs), width, dtype=torch.long); labels = torch.full_like(ids, -100); mask = torch.zeros_like(ids)
    for i, (p, c) in enumerate(pairs):
        s = p + c; ids[i, :len(s)] = torch.tensor(s); labels[i, len(p):len(s)] = torch.tensor(c); mask[i, :len(s)] = 1
    return ids.cuda(), labels.cuda(), mask.cuda(), int(mask.sum())

def summed_logps(logits, labels):
    logp = torch.log_softmax(logits[:, :-1].float(), -1); t = labels[:, 1:]
    return (logp.gather(2, t.clamp(min=0).unsqueeze(2)).squeeze(2) * (t != -100)).sum(1)

tokens = 0; elapsed = 0.0; losses = []
model.train() if recipe == "sft" else model.eval()
for step in range(steps):
    part = [rows[(step * batch + i) % len(rows)] for i in range(batch)]
    if recipe == "sft":
        ids, labels, mask, n = collate([(r["prompt_input_ids"], r["completion_input_ids"]) for r in part])
    else:
        ids, labels, mask, n = collate([(r["prompt_input_ids"], r["chosen_input_ids"]) for r in part] + [(r["prompt_input_ids"], r["rejected_input_ids"]) for r in part])
    torch.cuda.synchronize(); t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    if recipe == "sft":
        logits = model(input_ids=ids, attention_mask=mask).logits
        loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100)
    else:
        policy = summed_logps(model(input_ids=ids, attention_mask=mask).logits, labels)
        with torch.no_grad(), model.disable_adapter():
            ref = summed_logps(model(input_ids=ids, attention_mask=mask).logits, labels)
        ratio = policy - ref
        loss = -F.logsigmoid(beta * (ratio[:batch] - ratio[batch:])).mean()
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    opt.step(); torch.cuda.synchronize()
    losses.append(loss.item())
    if step >= warm: elapsed += time.perf_counter() - t0; tokens += n
print(json.dumps({"recipe": recipe, "tokens_per_second": tokens / elapsed, "steps_timed": steps - warm, "losses": losses,
                  "peak_memory_gb": torch.cuda.max_memory_allocated() / 1e9, "torch": torch.__version__}))
