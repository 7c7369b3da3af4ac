#!/usr/bin/env bash
# The RESTOR toy end to end from the command line, on the CPU in a few minutes (docs/restor.md):
#   ckpt restor-toy   clean model (pre-trained on synthetic facts) and corrupted model (trained on swapped facts)
#   ckpt finetune     GA, KL and NPO unlearning on the corruption documents (--full: every weight)
#   ckpt restor       accuracy on clean and corrupted answers, recovery and forgetting, per fact
# Usage: bash scripts/restor-toy.sh [output folder, default artifacts/restor-toy] [learning rate, default 5e-4]
# Every step is an ordinary ckpt verb, so each can be rerun or swapped for a real model on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/restor-toy}
lr=${2:-5e-4}
threads=${THREADS:-1}
dotnet build src/Cli -v quiet -nologo >/dev/null
ckpt() { dotnet src/Cli/bin/Debug/net10.0/ckpt.dll "$@"; }

ckpt restor-toy --out "$out/toy" --seed 0 --threads "$threads" --overwrite
for recipe in ga kl npo; do
  retain=()
  if [ "$recipe" = kl ]; then retain=(--retain "$out/toy/retain.jsonl"); fi
  ckpt finetune --recipe "$recipe" --full --model "$out/toy/corrupted" --data "$out/toy/forget.jsonl" "${retain[@]}" \
    --epochs 5 --batch 8 --lr "$lr" --threads "$threads" --out "$out/$recipe" --overwrite
done
ckpt restor --clean "$out/toy/clean" --corrupted "$out/toy/corrupted" \
  --unlearned "$out/ga" --unlearned "$out/kl" --unlearned "$out/npo" \
  --facts "$out/toy/facts.jsonl" --max-new-tokens 4 --threads "$threads" "${@:3}"
