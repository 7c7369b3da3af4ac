import json, sys, time, torch
from transformers import LlamaConfig, LlamaForCausalLM
from peft import LoraConfig, get_peft_model
out = sys.argv[1]
res = {}
cfg = LlamaConfig(vocab_size=32000, hidden_size=1024, num_hidden_layers=16, num_attention_heads=16, num_key_value_heads=8,
                  head_dim=64, intermediate_size=2816, rms_norm_eps=1e-6, tie_word_embeddings=False)
torch.manual_seed(0)
model = LlamaForCausalLM(cfg).to(torch.bfloat16).cuda()
res["bench_parameters"] = sum(p.numel() for p in model.parameters())
model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj","k_proj","v_proj","o_proj","gate_proj","up_proj","down_proj"]))
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
batch, seq, warm, steps = 8, 512, 3, 10
ids = torch.randint(0, 32000, (batch, seq), device="cuda")
model.train()
for s in range(warm + steps):
    if s == warm:
        torch.cuda.synchronize(); t0 = time.time()
    opt.zero_grad()
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    opt.step()
torch.cuda.synchronize()
el = time.time() - t0
res["bench_tokens_per_s"] = batch * seq * steps / el
res["bench_step_ms"] = el * 1000 / steps
res["lora_param_dtype"] = str(next(p for n, p in model.named_parameters() if "lora_A" in n).dtype)
res["attn_impl"] = model.config._attn_implementation
try:
    import bitsandbytes
    res["bitsandbytes"] = bitsandbytes.__version__
except Exception as e:
    res["bitsandbytes"] = "absent: " + str(e)[:80]
json.dump(res, open(out + "/pytorch.json", "w"), indent=1)
print(json.dumps(res))
