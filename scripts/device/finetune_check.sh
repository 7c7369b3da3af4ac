#!/usr/bin/env bash
# Fine-tuning on the GPU machine (PyTorch with CUDA, no .NET): `ckpt finetune --device cuda` SFT, DPO and QLoRA SFT
# for a few steps on a 332M-parameter LLaMA generated from config (`ckpt bench generate --size 600MB`: hidden 2048,
# 16 heads, 4 layers, intermediate 5440, vocab 32000, untied, bf16), then the same runs in PyTorch + PEFT when peft imports, all on the same
# model, data (pre-tokenized, prompt 128 + completion 384 tokens) and batch. Prepare on the build machine with
# scripts/device/prepare.sh, then run with carry [".gpu"]. Results: $OUT/finetune-*.jsonl|json and a summary line each.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
T=$(mktemp -d)
mkdir -p /tmp/dn && tar -C /tmp/dn -xJf .gpu/dotnet-rt.tar.xz
TL=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__)+"/lib")')
export LD_LIBRARY_PATH=$TL:$PWD/.gpu/app/runtimes/linux-x64/native DOTNET_ROOT=/tmp/dn DOTNET_NOLOGO=1
# A native crash (the first CUDA run segfaulted with nothing on stderr) leaves the runtime's crash report: the
# crashing thread's frames, native ones named by module and exported symbol (scripts/device/crash_frames.py).
export DOTNET_DbgEnableMiniDump=1 DOTNET_DbgMiniDumpType=1 DOTNET_EnableCrashReport=1 DOTNET_DbgMiniDumpName=$T/dump.%p
crash_frames() { for r in $T/dump.*.crashreport.json; do [ -f "$r" ] || continue; python3 scripts/device/crash_frames.py "$r" | tee "$OUT/crash-$1.txt"; done; rm -f $T/dump.*; }
CK=(/tmp/dn/dotnet .gpu/app/ckpt.dll)  # an array, not a function: `timeout` runs commands only
ck() { "${CK[@]}" "$@"; }
step() { echo "== $1 $(date +%T)"; }
STEPS=${STEPS:-8}; BATCH=${BATCH:-8}
LORA=(--lora-r 16 --lora-alpha 32 --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > "$OUT/gpu.txt"
# Which shim runs: NuGet's, or one that build_shim.sh built here (then the NuGet one sits beside it as .so.nuget).
md5sum .gpu/app/runtimes/linux-x64/native/libLibTorchSharp.so* | tee "$OUT/shim.txt"

step "model and data"
ck bench generate --out $T/model --size 600MB --shards 1 > "$OUT/finetune-generate.txt" 2>&1
python3 scripts/device/finetune_data.py $T 32000 128 384 64

# Probe: does an error LibTorch raises (a device ordinal this 1-GPU machine lacks) reach .NET as an exception, or does
# the process die? TorchSharp 0.107's native shim is built against libtorch 2.10 and catches c10::Error by value, so if
# 2.11's c10::Error has another layout, any LibTorch error here is a segfault (the suspected cause of the first crash:
# LoRA's init asked CUDA to draw with a CPU generator, which LibTorch refuses with an error).
step "probe: a LibTorch error on this machine"
timeout 60 "${CK[@]}" finetune --recipe sft --model $T/model --data $T/sft.jsonl --steps 1 --batch 1 --device cuda:7 --out $T/probe \
  --trace > "$OUT/probe.out" 2> "$OUT/probe.err"
echo "probe rc=$? (1 or 2: a clean error; 139: segfault)"; tail -2 "$OUT/probe.err"; crash_frames probe

# Generation on CUDA: greedy with the KV cache against the full re-forward, 32 new tokens (ids must agree).
step "ckpt generate --device cuda"
python3 -c 'import torch,sys; from safetensors.torch import save_file; g=torch.Generator().manual_seed(0); save_file({"input_ids": torch.randint(3, 32000, (1, 16), generator=g)}, sys.argv[1])' $T/ids.safetensors
for cache in "" "--no-cache"; do
  timeout 60 "${CK[@]}" generate $T/model --input-ids $T/ids.safetensors --greedy --max-new-tokens 32 --device cuda --dtype bf16 $cache --json \
    > "$OUT/generate${cache}.json" 2> "$OUT/generate${cache}.err"
  echo "generate $cache rc=$?"; tail -c 400 "$OUT/generate${cache}.json"; tail -2 "$OUT/generate${cache}.err"; crash_frames generate$cache
done

# Tokens/s per step is in each JSON line; the summary line's mean includes the first (warm-up) steps, so the
# reported figure is the mean over steps 3.. computed here, matching the PyTorch script.
mean_after_warmup() { python3 -c 'import json,sys
r=[json.loads(l) for l in open(sys.argv[1]) if l.startswith("{\"step\"")]
t=r[2:]; print(json.dumps({"file": sys.argv[1].split("/")[-1], "tokens_per_second": sum(x["tokens"] for x in t)/sum(x["tokens"]/x["tokensPerSecond"] for x in t), "losses": [x["loss"] for x in r]}))' "$1"; }

# Each ckpt run is followed at once by its PyTorch + PEFT twin, so a run cut short by the device's time limit still
# leaves a ratio measured on the same machine. QLoRA (no PyTorch twin: bitsandbytes is not on the machine) goes last.
if [ -z "${HAVE_PEFT:-}" ]; then HAVE_PEFT=0; python3 -c 'import peft' 2>/dev/null && HAVE_PEFT=1; fi
[ $HAVE_PEFT = 1 ] || echo "peft is not importable here: no PyTorch reference" | tee "$OUT/finetune-peft.txt"
LIMIT=${LIMIT:-120}
for recipe in sft dpo; do
  step "ckpt finetune $recipe (bf16 base, LoRA fp32)"
  timeout $LIMIT "${CK[@]}" finetune --recipe $recipe --model $T/model --data $T/$recipe.jsonl --steps $STEPS --batch $BATCH "${LORA[@]}" \
    --device cuda --dtype bf16 --out $T/out-$recipe --json --trace > "$OUT/finetune-ckpt-$recipe.jsonl" 2> "$OUT/finetune-ckpt-$recipe.err"
  echo "ckpt rc=$?"; tail -3 "$OUT/finetune-ckpt-$recipe.err"; crash_frames $recipe; mean_after_warmup "$OUT/finetune-ckpt-$recipe.jsonl" | tee "$OUT/finetune-ckpt-$recipe.json"
  if [ $HAVE_PEFT = 1 ]; then
    step "PyTorch + PEFT $recipe"
    timeout $LIMIT python3 scripts/device/finetune_peft_bench.py $T/model $T $recipe $STEPS $BATCH > "$OUT/finetune-peft-$recipe.json" 2> "$OUT/finetune-peft-$recipe.err"
    echo "peft rc=$?"; cat "$OUT/finetune-peft-$recipe.json"
  fi
done
# As QLoRA trains: NF4 base, LoRA dropout 0.1 and gradient checkpointing (whose recompute reseeds CUDA's generator
# to replay the dropout masks: the one path of the checkpointing that the CPU tests cannot reach).
step "ckpt finetune sft --qlora --gradient-checkpointing --lora-dropout 0.1, with --save-every 4"
timeout $LIMIT "${CK[@]}" finetune --recipe sft --qlora --gradient-checkpointing --model $T/model --data $T/sft.jsonl --steps $STEPS --batch $BATCH "${LORA[@]}" \
  --lora-dropout 0.1 --device cuda --dtype bf16 --out $T/out-qlora --save-every 4 --json --trace > "$OUT/finetune-ckpt-qlora.jsonl" 2> "$OUT/finetune-ckpt-qlora.err"
echo "ckpt rc=$?"; tail -3 "$OUT/finetune-ckpt-qlora.err"; crash_frames qlora; mean_after_warmup "$OUT/finetune-ckpt-qlora.jsonl" | tee "$OUT/finetune-ckpt-qlora.json"; tail -1 "$OUT/finetune-ckpt-qlora.jsonl"
step done
