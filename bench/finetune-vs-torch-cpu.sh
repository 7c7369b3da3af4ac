#!/usr/bin/env bash
# `ckpt finetune` against PyTorch on the same CPU, same run: the same LLaMA, data, batch, LoRA (r 16, alpha 32, all
# seven projections), clipping and AdamW, f32, one thread each (bench/finetune_torch_cpu.py is the PyTorch side).
# Rounds alternate ckpt and torch so that load from other processes falls on both; the medians are compared.
# Debian's torch 1.13 is linked against the reference BLAS, which would make it several times slower than any
# PyTorch a user runs, so it is given OpenBLAS (Debian's libopenblas0-pthread, unpacked here, nothing installed).
# Writes bench/results/finetune-vs-torch-cpu.json. Usage: bench/finetune-vs-torch-cpu.sh [rounds] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
THREADS=${2:-1}
PY=${PYTHON:-/usr/bin/python3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
dotnet build src/Cli -c Release -v q -nologo > /dev/null
CK=src/Cli/bin/Release/net10.0/ckpt

(cd "$T" && apt-get download libopenblas0-pthread > /dev/null 2>&1 && dpkg -x libopenblas0-pthread_*.deb blas)
BLAS=$(dirname "$(find "$T/blas" -name libblas.so.3 | head -1)")
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
LORA=(--lora-r 16 --lora-alpha 32 --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)

# name model recipe batch prompt_len completion_len steps dtype_args
CASES=(
  "llama-tiny-sft|tests/fixtures/hf-llama-tiny-sharded|sft|8|32|32|12|"
  "llama-tiny-dpo|tests/fixtures/hf-llama-tiny-sharded|dpo|8|32|32|12|"
  "llama-94m-sft|$T/mid|sft|4|32|32|6|--dtype f32"
  "llama-231m-sft|$T/big|sft|2|16|16|6|--dtype f32"
)
"$CK" bench generate --out "$T/big" --size 400MB --shards 1 > /dev/null
"$CK" bench generate --out "$T/mid" --size 120MB --hidden 512 --shards 1 > /dev/null

ckpt_rate() { "$PY" -c 'import json,sys
s=[json.loads(l) for l in open(sys.argv[1])]; s=[x for x in s if "step" in x]; t=s[2:]
print(json.dumps({"tokens_per_second": sum(x["tokens"] for x in t)/sum(x["tokens"]/x["tokensPerSecond"] for x in t), "losses": [x["loss"] for x in s]}))' "$1"; }

: > "$T/all.jsonl"
for case in "${CASES[@]}"; do
  IFS='|' read -r name model recipe batch plen clen steps dtype <<< "$case"
  vocab=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]+"/config.json"))["vocab_size"])' "$model")
  mkdir -p "$T/$name"
  # As many examples as the batch: every step sees the whole set, so step 1's loss (B = 0) is the base model's on
  # both sides whatever order each trainer draws.
  "$PY" scripts/device/finetune_data.py "$T/$name" "$vocab" "$plen" "$clen" "$batch"
  for round in $(seq "$ROUNDS"); do
    # shellcheck disable=SC2086
    "$CK" finetune --recipe "$recipe" --model "$model" --data "$T/$name/$recipe.jsonl" --steps "$steps" --batch "$batch" "${LORA[@]}" \
      --threads "$THREADS" $dtype --out "$T/$name/out" --json > "$T/$name/ckpt.jsonl"
    echo "{\"case\": \"$name\", \"round\": $round, \"side\": \"ckpt\", \"result\": $(ckpt_rate "$T/$name/ckpt.jsonl")}" >> "$T/all.jsonl"
    rm -rf "$T/$name/out"
    echo "{\"case\": \"$name\", \"round\": $round, \"side\": \"torch\", \"result\": $(LD_LIBRARY_PATH=$BLAS "$PY" bench/finetune_torch_cpu.py "$model" "$T/$name/$recipe.jsonl" "$recipe" "$steps" "$batch" "$THREADS")}" >> "$T/all.jsonl"
  done
done

"$PY" - "$T/all.jsonl" "$THREADS" > bench/results/finetune-vs-torch-cpu.json <<'EOF'
import json, statistics, sys, platform, os
rows = [json.loads(l) for l in open(sys.argv[1])]
out = {"threads": int(sys.argv[2]), "cpu_count": os.cpu_count(), "load_average": os.getloadavg(), "cases": []}
for name in dict.fromkeys(r["case"] for r in rows):
    side = lambda s: [r["result"] for r in rows if r["case"] == name and r["side"] == s]
    ck, th = side("ckpt"), side("torch")
    c = statistics.median(x["tokens_per_second"] for x in ck)
    t = statistics.median(x["tokens_per_second"] for x in th)
    out["cases"].append({"case": name, "ckpt_tokens_per_second": round(c, 1), "torch_tokens_per_second": round(t, 1),
                         "ratio_ckpt_over_torch": round(c / t, 3),
                         "ckpt_rounds": [round(x["tokens_per_second"], 1) for x in ck],
                         "torch_rounds": [round(x["tokens_per_second"], 1) for x in th],
                         "step1_loss_ckpt": ck[0]["losses"][0], "step1_loss_torch": th[0]["losses"][0],
                         "step1_loss_abs_diff": abs(ck[0]["losses"][0] - th[0]["losses"][0]),
                         "torch": th[0]["torch"]})
print(json.dumps(out, indent=1))
EOF
cat bench/results/finetune-vs-torch-cpu.json
