#!/usr/bin/env bash
# Builds what the GPU machine runs (see shared GPU notes): the CLI published framework-dependent without the
# CPU libtorch (the machine's PyTorch provides libtorch with CUDA), and the .NET runtime as a tarball.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .gpu/app && mkdir -p .gpu
dotnet publish src/Cli -c Release -o .gpu/app -v q -nologo >/dev/null
find .gpu/app/runtimes -type f \( -name 'lib*.so*' -o -name '*.dll' \) ! -name 'libLibTorchSharp.so' ! -name 'libhf_tokenizers.so' -path '*native*' -delete
rm -rf .gpu/app/runtimes/{win,osx}* 2>/dev/null || true
# Charts are not drawn there: dropping Plotly.NET and its F# dependencies keeps the carried tree under 64 MiB.
rm -f .gpu/app/{Plotly.NET,FSharp.Core,Fable,Giraffe,DynamicObj,SkiaSharp}*.{dll,pdb} 2>/dev/null || true
[ -f .gpu/dotnet-rt.tar.xz ] || tar -C /usr/share/dotnet -cJf .gpu/dotnet-rt.tar.xz dotnet host shared/Microsoft.NETCore.App
# TorchSharp 0.107.0's native source, for scripts/device/build_shim.sh on the GPU machine (git-ignored, never committed).
if [ -n "${TORCHSHARP_GIT:-}" ]; then
  version=$(git --git-dir="$TORCHSHARP_GIT" show HEAD:build/BranchInfo.props | tr -d ' \n' | grep -oE '<MinorVersion>[0-9]+</MinorVersion><PatchVersion>[0-9]+' | grep -oE '[0-9]+' | paste -sd.)
  [ "$version" = "107.0" ] || { echo "TORCHSHARP_GIT holds TorchSharp 0.$version, not the 0.107.0 the project references"; exit 1; }
  rm -rf .gpu/torchsharp && mkdir -p .gpu/torchsharp
  git --git-dir="$TORCHSHARP_GIT" archive HEAD src/Native | tar -x -C .gpu/torchsharp
fi
du -sh .gpu/*
