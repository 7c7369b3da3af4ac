import json, sys
from safetensors.torch import load_file
ref, got = load_file(sys.argv[1]), load_file(sys.argv[2])
d = (ref["logits"].float() - got["logits"].float()).abs()
print(json.dumps({"maxAbs": d.max().item(), "meanAbs": d.mean().item(), "shape": list(got["logits"].shape)}))
