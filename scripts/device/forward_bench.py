"""transformers LlamaForCausalLM forward on the same weights, dtype and shapes as `ckpt bench forward`."""
import json, sys, time, torch
from transformers import LlamaForCausalLM
path, batch, seq, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t = time.perf_counter()
model = LlamaForCausalLM.from_pretrained(path, torch_dtype=torch.bfloat16, attn_implementation="sdpa").cuda().eval()
load = time.perf_counter() - t
ids = torch.randint(0, model.config.vocab_size, (batch, seq), device="cuda")
with torch.no_grad():
    for _ in range(2): model(ids).logits[0, -1, 0].item()
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(iters): model(ids).logits[0, -1, 0].item()
    ms = (time.perf_counter() - t) * 1000 / iters
print(json.dumps({"device": "cuda", "loadSeconds": load, "millisecondsPerForward": ms, "tokensPerSecond": batch * seq / (ms / 1000),
                  "parameters": sum(p.numel() for p in model.parameters()), "torch": torch.__version__}))
