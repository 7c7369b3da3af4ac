import glob, json, sys, torch
from safetensors.torch import load_file
ref = load_file(sys.argv[2])
files = sorted(glob.glob(sys.argv[1] + "/*.pt") + glob.glob(sys.argv[1] + "/*.bin"))
got = {}
for f in files:
    got.update(torch.load(f, weights_only=True))
bad = [k for k in ref if k not in got or not torch.equal(ref[k], got[k])]
print(json.dumps({"torch": torch.__version__, "files": len(files), "tensors": len(got), "mismatched": bad[:5], "ok": not bad and len(got) == len(ref)}))
sys.exit(1 if bad else 0)
