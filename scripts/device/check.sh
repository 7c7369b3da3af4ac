#!/usr/bin/env bash
# Runs on the GPU machine (PyTorch with CUDA, no .NET): parity and throughput checks that need CUDA or a
# current torch, each against PyTorch in the same run. Results go to $OUT/*.json.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
T=$(mktemp -d)
mkdir -p /tmp/dn && tar -C /tmp/dn -xJf .gpu/dotnet-rt.tar.xz
TL=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__)+"/lib")')
export LD_LIBRARY_PATH=$TL:$PWD/.gpu/app/runtimes/linux-x64/native DOTNET_ROOT=/tmp/dn DOTNET_NOLOGO=1
ck() { /tmp/dn/dotnet .gpu/app/ckpt.dll "$@"; }
step() { echo "== $1 $(date +%T)"; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > "$OUT/gpu.txt"
python3 -c 'import torch,transformers,sys;print(torch.__version__,transformers.__version__,sys.version.split()[0])' > "$OUT/versions.txt" 2>&1

step "forward parity on CUDA"
for m in hf-llama-tiny-sharded hf-gpt2-tiny; do
  ck forward tests/fixtures/$m --input-ids tests/fixtures/$m/reference_logits.safetensors --out $T/$m.safetensors --device cuda > "$OUT/forward-$m.txt" 2>&1
  python3 scripts/device/compare_logits.py tests/fixtures/$m/reference_logits.safetensors $T/$m.safetensors > "$OUT/parity-$m.json" 2>&1
done

step "decoder families: the plain-torch references and ckpt against transformers (scripts/device/families_transformers.py)"
python3 scripts/device/families_transformers.py $T/fam > "$OUT/families-reference.jsonl" 2>&1
mkdir -p $T/famck
for d in $T/fam/*/; do
  f=$(basename "$d")
  ck forward "$d" --input-ids "$d/reference_logits.safetensors" --out "$T/famck/$f.safetensors" --device cuda >> "$OUT/families-forward.txt" 2>&1
done
python3 scripts/device/families_transformers.py $T/fam $T/famck > "$OUT/families.jsonl" 2>&1
mkdir -p "$OUT/families" && for d in $T/fam/*/; do mkdir -p "$OUT/families/$(basename "$d")" && cp "$d"/config.json "$d"/transformers_logits.safetensors "$OUT/families/$(basename "$d")/" 2>/dev/null; done

step "DCP and torch.save writers read by torch"
ck reshard tests/fixtures/dcp-dtensor1d-4rank --world-size 3 --out $T/r3 > "$OUT/reshard.txt" 2>&1
python3 tests/python/dcp_load_check.py $T/r3 tests/fixtures/dcp-dtensor1d-4rank/reference_full_model.safetensors > "$OUT/dcp-reshard3.json" 2>&1
ck reshard tests/fixtures/dcp-dtensor1d-4rank --mesh 2x2 --placements "Shard(0),Shard(1)" --out $T/m22 >> "$OUT/reshard.txt" 2>&1
python3 tests/python/dcp_load_check.py $T/m22 tests/fixtures/dcp-dtensor1d-4rank/reference_full_model.safetensors > "$OUT/dcp-mesh2x2.json" 2>&1
ck convert tests/fixtures/hf-llama-tiny-sharded --to dcp --out $T/cdcp > "$OUT/convert-dcp.txt" 2>&1
python3 tests/python/dcp_load_check.py $T/cdcp tests/fixtures/dcp-dtensor1d-4rank/reference_full_model.safetensors > "$OUT/dcp-convert.json" 2>&1
ck convert tests/fixtures/hf-llama-tiny-sharded --to torch --out $T/ct > "$OUT/convert-torch.txt" 2>&1
python3 scripts/device/torch_load_check.py $T/ct tests/fixtures/dcp-dtensor1d-4rank/reference_full_model.safetensors > "$OUT/torch-load.json" 2>&1

step "load benchmark: cat, ckpt, safetensors+torch on the same files"
ck bench generate --out $T/load --size 2GB --shards 8 > "$OUT/generate.txt" 2>&1
python3 scripts/device/load_bench.py $T/load ".gpu/app/ckpt.dll" > "$OUT/load-bench.json" 2> "$OUT/load-bench.err"

step "forward throughput: TorchSharp vs transformers, same weights, bf16"
ck bench generate --out $T/fwd --size 3GB --shards 2 > /dev/null 2>&1
ck bench forward $T/fwd --device cuda --dtype bf16 --batch 8 --seq 1024 --iters 20 > "$OUT/forward-torchsharp.json" 2>&1
python3 scripts/device/forward_bench.py $T/fwd 8 1024 20 > "$OUT/forward-pytorch.json" 2>&1
step done
