"""cat > /dev/null, ckpt bench load and safetensors.torch.load_file on the same warm files; best of 3 each."""
import glob, json, os, subprocess, sys, time
d, dll = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(d + "/*.safetensors"))
total = sum(os.path.getsize(f) for f in files)
def best(fn):
    out = []
    for _ in range(3):
        t = time.perf_counter(); r = fn(); out.append((time.perf_counter() - t, r))
    return min(out, key=lambda x: x[0])
subprocess.run(["cat"] + files, stdout=subprocess.DEVNULL)
cat_s, _ = best(lambda: subprocess.run(["cat"] + files, stdout=subprocess.DEVNULL))
def ck():
    r = subprocess.run(["/tmp/dn/dotnet", dll, "bench", "load", d, "--json"], capture_output=True, text=True)
    return json.loads(r.stdout)
runs = [ck() for _ in range(3)]
ckr = max(runs, key=lambda r: r["gbPerSecond"])
from safetensors.torch import load
# load_file maps the file and touches nothing; reading the bytes and building tensors from them is the
# like-for-like baseline for a loader that materialises every tensor in memory.
def st():
    n = 0
    for f in files:
        with open(f, "rb") as fh:
            sd = load(fh.read())
        n += sum(t.numel() * t.element_size() for t in sd.values()); del sd
    return n
st_s, _ = best(st)
print(json.dumps({"bytes": total, "files": len(files), "cores": os.cpu_count(),
                  "catGbPerSecond": total / cat_s / 1e9, "ckptGbPerSecond": ckr["gbPerSecond"],
                  "safetensorsTorchGbPerSecond": total / st_s / 1e9,
                  "ratioToCat": ckr["gbPerSecond"] / (total / cat_s / 1e9),
                  "ratioToSafetensorsTorch": ckr["gbPerSecond"] / (total / st_s / 1e9),
                  "ckptPeakMemoryBytes": ckr["peakMemoryBytes"], "peakToCheckpoint": ckr["peakMemoryBytes"] / total}))
