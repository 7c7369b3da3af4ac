#!/usr/bin/env bash
# CPU figure for `ckpt generate` (bench/RESULTS-finetune.md): tokens/s of KV-cached decoding against re-running the
# whole sequence per token (--no-cache), greedy, same prompt, same process settings, one after the other, on the tiny
# LLaMA fixture, the tiny GPT-2 fixture and a generated LLaMA (`ckpt bench generate --size 120MB --hidden 512`,
# computed in f32). Both runs choose the same tokens (checked). Usage: bench/generate-cpu.sh [threads] [prompt] [new]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-1}
PROMPT=${2:-32}
NEW=${3:-128}
T=$(mktemp -d)
dotnet build src/Cli -c Release -v q -nologo > /dev/null
CK=src/Cli/bin/Release/net10.0/ckpt
# input_ids [1, PROMPT] (I64) as a safetensors file, ids 3.. below the tiny fixtures' vocab of 512.
python3 - "$T/ids.safetensors" "$PROMPT" <<'PY'
import json, struct, sys
n = int(sys.argv[2]); ids = [1] + [3 + (i * 37) % 500 for i in range(n - 1)]
header = json.dumps({"input_ids": {"dtype": "I64", "shape": [1, n], "data_offsets": [0, 8 * n]}}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(header)) + header + struct.pack(f"<{n}q", *ids))
PY
run() { # name model extra-args...
  local name=$1 model=$2; shift 2
  $CK generate "$model" --input-ids $T/ids.safetensors --max-new-tokens $NEW --greedy --threads $THREADS --json "$@" > $T/cached.json
  $CK generate "$model" --input-ids $T/ids.safetensors --max-new-tokens $NEW --greedy --threads $THREADS --json --no-cache "$@" > $T/full.json
  python3 - "$name" $T/cached.json $T/full.json "$THREADS" <<'PY'
import json, sys
c, f = (json.loads(open(p).read()) for p in sys.argv[2:4])
assert c["generatedIds"] == f["generatedIds"], "cached and full decoding chose different tokens"
print(json.dumps({"model": sys.argv[1], "prompt": len(c["promptIds"]), "new_tokens": c["newTokens"], "threads": int(sys.argv[4]),
  "cached_tokens_per_second": round(c["tokensPerSecond"], 1), "full_forward_tokens_per_second": round(f["tokensPerSecond"], 1),
  "speedup": round(c["tokensPerSecond"] / f["tokensPerSecond"], 2), "same_tokens": True}))
PY
}
run "llama-tiny fixture (4 layers, hidden 64, GQA 4/2, f32)" tests/fixtures/hf-llama-tiny-sharded
run "gpt2-tiny fixture (2 layers, hidden 64, f32)" tests/fixtures/hf-gpt2-tiny
$CK bench generate --out $T/big --size 120MB --hidden 512 --shards 1 > /dev/null
run "generated LLaMA (--size 120MB --hidden 512, vocab 32000, computed in f32)" $T/big --dtype f32
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print("generated model:", c["num_hidden_layers"], "layers, hidden", c["hidden_size"], "ffn", c["intermediate_size"])' $T/big/config.json
rm -rf "$T"
