#!/usr/bin/env bash
# Gradient checkpointing figures for bench/RESULTS-finetune.md: peak resident memory and tokens/s of `ckpt finetune`
# with and without --gradient-checkpointing, same run, rounds alternating, on a generated LLaMA (hidden 512, 9 layers,
# vocab 32000: 93.6M parameters, f32), SFT batch 4 x 512 tokens (256 prompt + 256 completion), LoRA r16 on all seven
# projections, 3 steps each. Peak memory is the process's maximum RSS (GNU time), which includes the weights (374 MB)
# and LibTorch itself; tokens/s is over steps 2-3. Usage: bench/checkpointing-cpu.sh [rounds] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
THREADS=${2:-2}
PY=${PYTHON:-/usr/bin/python3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
dotnet build src/Cli -c Release -v q -nologo > /dev/null
CK=src/Cli/bin/Release/net10.0/ckpt
"$CK" bench generate --out "$T/mid" --size 120MB --hidden 512 --shards 1 > /dev/null
"$PY" scripts/device/finetune_data.py "$T" 32000 256 256 4
LORA=(--lora-r 16 --lora-alpha 32 --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)
for round in $(seq "$ROUNDS"); do
  for mode in plain checkpointed; do
    flag=(); [ "$mode" = checkpointed ] && flag=(--gradient-checkpointing)
    /usr/bin/time -f "%M" -o "$T/rss" "$CK" finetune --recipe sft --model "$T/mid" --data "$T/sft.jsonl" --steps 3 --batch 4 --dtype f32 \
      "${flag[@]}" "${LORA[@]}" --threads "$THREADS" --out "$T/out" --json > "$T/run.jsonl"
    rm -rf "$T/out"
    "$PY" - "$T/run.jsonl" "$T/rss" "$mode" "$round" <<'PYEOF'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]; s = [x for x in s if "step" in x]; t = s[1:]
rate = sum(x["tokens"] for x in t) / sum(x["tokens"] / x["tokensPerSecond"] for x in t)
print(json.dumps({"mode": sys.argv[3], "round": int(sys.argv[4]), "peak_rss_mb": round(int(open(sys.argv[2]).read().split()[-1]) / 1024),
                  "tokens_per_second": round(rate, 1), "losses": [round(x["loss"], 6) for x in s]}))
PYEOF
  done
done
