#!/usr/bin/env bash
# CPU figures for `ckpt finetune` (bench/RESULTS-finetune.md): tokens/s of SFT, DPO and QLoRA SFT on the tiny
# fixtures, and the training-loop stall of an async --save-every save against a synchronous save of the same state
# (the final save is synchronous) on a generated 231.5M LLaMA. Usage: bench/finetune-cpu.sh [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-1}
T=$(mktemp -d)
dotnet build src/Cli -c Release -v q -nologo > /dev/null
CK=src/Cli/bin/Release/net10.0/ckpt
mean() { python3 -c 'import json,sys
r=[json.loads(l) for l in open(sys.argv[1])]; s=[x for x in r if "step" in x]; d=r[-1]; t=s[2:]
print(json.dumps({"run": sys.argv[2], "tokens_per_second_after_2_steps": round(sum(x["tokens"] for x in t)/sum(x["tokens"]/x["tokensPerSecond"] for x in t)),
  "first_loss": round(s[0]["loss"], 4), "last_loss": round(s[-1]["loss"], 4), "saves": d["saves"], "async_save_stall_ms": d["asyncSaveStallMs"],
  "sync_save_ms": d["syncSaveMs"], "save_bytes": d["saveBytes"], "nf4_bytes_per_param": d["quantizedBytesPerParameter"]}))' "$1" "$2"; }
LORA=(--lora-r 16 --lora-alpha 32 --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)

python3 scripts/device/finetune_data.py $T 512 32 32 64
for run in "sft" "dpo" "sft --qlora"; do
  name=$(echo "$run" | tr -d ' -')
  $CK finetune --recipe $run --model tests/fixtures/hf-llama-tiny-sharded --data $T/${run%% *}.jsonl --steps 20 --batch 8 "${LORA[@]}" \
    --threads $THREADS --out $T/o-$name --json > $T/res-$name.jsonl
  mean $T/res-$name.jsonl "llama-tiny $run, batch 8 x 64 tokens, threads $THREADS"
done
$CK finetune --recipe sft --model tests/fixtures/hf-gpt2-tiny --data $T/sft.jsonl --steps 20 --batch 8 --lora-r 16 --lora-alpha 32 --lora-targets c_attn,c_proj,c_fc \
  --threads $THREADS --out $T/o-gpt2 --json > $T/gpt2.jsonl
mean $T/gpt2.jsonl "gpt2-tiny sft, batch 8 x 64 tokens, threads $THREADS"

$CK bench generate --out $T/big --size 400MB --shards 1 > /dev/null
python3 scripts/device/finetune_data.py $T 32000 8 8 16
$CK finetune --recipe sft --model $T/big --data $T/sft.jsonl --steps 6 --batch 2 --dtype f32 "${LORA[@]}" --save-every 2 \
  --threads $THREADS --out $T/o-big --json > $T/big.jsonl
mean $T/big.jsonl "generated LLaMA (hidden 2048, 2 layers, vocab 32000: 231.5M params, f32), LoRA r16 all-linear, --save-every 2, threads $THREADS"
rm -rf "$T"
