#!/usr/bin/env bash
# Load benchmark: `ckpt bench load` against `cat > /dev/null` of the same files, warm page cache, same run.
# Usage: bench/load.sh [size=1GB] [shards=8] [workdir=$TMPDIR/ckpt-bench-load]
set -euo pipefail
size=${1:-1GB}; shards=${2:-8}; work=${3:-${TMPDIR:-/tmp}/ckpt-bench-load}
root=$(cd "$(dirname "$0")/.." && pwd)
dotnet build "$root/src/Cli" -c Release -v q -nologo >/dev/null
ckpt="$root/src/Cli/bin/Release/net10.0/ckpt"
rm -rf "$work"; mkdir -p "$work"
"$ckpt" bench generate --out "$work" --size "$size" --shards "$shards" >&2
files=("$work"/*.safetensors)
bytes=$(cat "${files[@]}" | wc -c)
cat "${files[@]}" > /dev/null; cat "${files[@]}" > /dev/null   # warm the page cache
best_cat=0; best_ckpt=0; json=""
for i in 1 2 3; do
  t0=$(date +%s.%N); cat "${files[@]}" > /dev/null; t1=$(date +%s.%N)
  r=$(python3 -c "print($bytes/($t1-$t0)/1e9)")
  best_cat=$(python3 -c "print(max($best_cat,$r))")
  out=$("$ckpt" bench load "$work" --json)
  r2=$(python3 -c "import json,sys;print(json.loads(sys.argv[1])['gbPerSecond'])" "$out")
  if python3 -c "import sys;sys.exit(0 if $r2>$best_ckpt else 1)"; then best_ckpt=$r2; json=$out; fi
done
python3 - "$bytes" "$best_cat" "$best_ckpt" "$json" "$shards" <<'PY'
import json, sys
b, cat, ck, out, shards = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
print(json.dumps({"checkpointBytes": b, "shards": shards, "catGbPerSecond": round(cat, 3), "ckptGbPerSecond": round(ck, 3),
                  "ratioToCat": round(ck / cat, 3), "peakMemoryBytes": out["peakMemoryBytes"],
                  "peakMemoryToCheckpoint": round(out["peakMemoryBytes"] / b, 3), "tensors": out["tensors"]}, indent=1))
PY
