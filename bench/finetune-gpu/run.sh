#!/bin/bash
# GPU check for the fine-tuning stack (see /shared GPU.md recipe). Prepare on the dotnet machine:
#   dotnet publish bench/finetune-gpu/FinetuneGpuProbe.csproj -c Release -o .gpu/app
#   rm -rf .gpu/app/runtimes/{osx,osx-arm64,win-arm64,win-x64,win-x86}     # keep linux-x64/native/libLibTorchSharp.so only
#   tar -C /usr/share/dotnet -cJf .gpu/dotnet-rt.tar.xz dotnet host shared/Microsoft.NETCore.App
# then run `bash bench/finetune-gpu/run.sh` on the device machine with carry [".gpu"]. Results land in $OUT:
# dotnet.json (CUDA parity figures, TorchSharp tokens/s) and pytorch.json (transformers+PEFT tokens/s, same model and batch).
set -x
mkdir -p /tmp/dn && tar -C /tmp/dn -xJf .gpu/dotnet-rt.tar.xz
TL=$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__)+"/lib")')
nvidia-smi --query-gpu=name,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
LD_LIBRARY_PATH=$TL:$PWD/.gpu/app/runtimes/linux-x64/native timeout 300 /tmp/dn/dotnet .gpu/app/FinetuneGpuProbe.dll "$PWD" "$OUT" > "$OUT/dotnet.log" 2>&1
echo "dotnet rc=$?"
tail -5 "$OUT/dotnet.log"
timeout 200 python3 bench/finetune-gpu/bench_peft.py "$OUT" > "$OUT/python.log" 2>&1
echo "python rc=$?"
tail -3 "$OUT/python.log"
