#!/usr/bin/env bash
# Packing figures for bench/RESULTS-finetune.md: one epoch of SFT on 512 examples of widely varied length
# (prompt + completion 8..120 tokens), --max-length 128, --batch 8, unpacked against --packing, on the tiny LLaMA
# fixture, CPU, --threads 1. The two alternate ROUNDS times (default 3: U P U P U P) in one run, so both see the same load.
# Reports rows per epoch, the padding fraction of the rows trained on, real tokens, and tokens/s = real tokens /
# summed step time. Usage: bench/packing-cpu.sh [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-1}
T=$(mktemp -d)
dotnet build src/Cli -c Release -v q -nologo > /dev/null
CK=src/Cli/bin/Release/net10.0/ckpt
python3 - "$T/varied.jsonl" <<'PY'
import json, random, sys
rng = random.Random(3)
with open(sys.argv[1], "w") as f:
    for _ in range(512):
        total = rng.randint(8, 120); p = rng.randint(1, max(1, total * 3 // 4))
        prompt = [1] + [rng.randint(4, 503) for _ in range(p - 1)]
        completion = [rng.randint(4, 503) for _ in range(total - p - 1)] + [2]
        f.write(json.dumps({"prompt_input_ids": prompt, "completion_input_ids": completion}) + "\n")
PY
LORA=(--lora-r 16 --lora-alpha 32 --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)
for round in $(seq 1 "${ROUNDS:-3}"); do
  for mode in unpacked packed; do
    flag=(); [ "$mode" = packed ] && flag=(--packing)
    $CK finetune --recipe sft --model tests/fixtures/hf-llama-tiny-sharded --data $T/varied.jsonl --epochs 1 --batch 8 --max-length 128 \
      "${flag[@]}" "${LORA[@]}" --threads $THREADS --out $T/o-$mode-$round --json > $T/$mode-$round.jsonl
    python3 - "$T/$mode-$round.jsonl" "$mode, round $round" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]; s = [x for x in r if "step" in x]; d = r[-1]
tokens = sum(x["tokens"] for x in s); pad = sum(x["paddingTokens"] for x in s); secs = sum(x["tokens"] / x["tokensPerSecond"] for x in s)
print(json.dumps({"run": sys.argv[2], "rows_per_epoch": d["packedRows"] or d["examples"], "steps": len(s), "real_tokens": int(tokens),
  "padding_fraction": round(pad / (tokens + pad), 4), "step_seconds": round(secs, 2), "tokens_per_second": round(tokens / secs),
  "loss_first": round(s[0]["loss"], 4), "loss_last": round(s[-1]["loss"], 4)}))
PY
  done
done
rm -rf "$T"
