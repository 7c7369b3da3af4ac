#!/usr/bin/env bash
# Builds TorchSharp 0.107.0's native shim (libLibTorchSharp.so) against the GPU machine's own PyTorch, on that machine,
# and puts it in place of the NuGet build in .gpu/app. Why: the shim NuGet serves is built against libtorch 2.10 and
# catches c10::Error by value with its own inlined copy constructor (Utils.h, CATCH); on the machine's torch 2.11 a
# LibTorch error may then crash the process instead of becoming a .NET exception (bench/results/finetune-h200-2026-11-27.md).
#
# Prepare on the build machine: fetch dotnet/TorchSharp (the search tool's fetch gives a git dir), then
#   TORCHSHARP_GIT=<that git dir> bash scripts/device/prepare.sh
# which exports its src/Native (checked to be 0.107.0) into .gpu/torchsharp/. Never commit that source.
# Run on the GPU machine with carry [".gpu"]:  bash scripts/device/build_shim.sh
# It reports what the machine has first (compilers, cmake, torch, its C++ ABI), compiles with the compiler alone (no
# cmake needed: the shim is one folder of .cpp files), checks that every symbol the NuGet shim exports is exported by
# the new one, and writes $OUT/shim-build.txt. Exit codes: 0 built and installed; 3 no C++ compiler; 4 torch headers
# missing; 5 the compile or link failed (first errors in $OUT/shim-build.txt); 6 symbols missing against the NuGet shim.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
LOG="$OUT/shim-build.txt"; : > "$LOG"
say() { echo "$*" | tee -a "$LOG"; }
SRC=.gpu/torchsharp/src/Native
APP_NATIVE=.gpu/app/runtimes/linux-x64/native
[ -d "$SRC/LibTorchSharp" ] || { say "no TorchSharp source in $SRC: run prepare.sh with TORCHSHARP_GIT set"; exit 4; }

say "== what this machine has"
CXX=${CXX:-$(command -v g++ || command -v c++ || command -v clang++ || true)}
CC=${CC:-$(command -v gcc || command -v cc || command -v clang || true)}
say "c++: ${CXX:-none} $( [ -n "$CXX" ] && "$CXX" --version | head -1)"
say "cc: ${CC:-none}"
say "cmake: $(command -v cmake || echo none)   ninja: $(command -v ninja || echo none)   make: $(command -v make || echo none)"
say "cores: $(nproc)"
read -r TORCH_DIR TORCH_VERSION ABI CUDA <<<"$(python3 -c 'import torch,os; print(os.path.dirname(torch.__file__), torch.__version__, int(torch._C._GLIBCXX_USE_CXX11_ABI), torch.version.cuda)')"
say "torch: $TORCH_VERSION at $TORCH_DIR, CUDA $CUDA, _GLIBCXX_USE_CXX11_ABI=$ABI"
INC="$TORCH_DIR/include"; TL="$TORCH_DIR/lib"
command -v nm >/dev/null || say "nm (binutils) is missing: the export check will fail"
[ -n "$CXX" ] || { say "no C++ compiler on this machine: the shim cannot be built here"; exit 3; }
[ -f "$INC/torch/csrc/api/include/torch/torch.h" ] || { say "torch's C++ headers are not in $INC (the wheel ships them; this install does not)"; exit 4; }

say "== compiling $(ls "$SRC"/LibTorchSharp/*.cpp | wc -l) files"
B=$(mktemp -d)
# The flags of TorchSharp's own Linux build (src/Native/CMakeLists.txt), with the ABI the machine's torch was built with.
FLAGS=(-std=c++17 -O2 -fPIC -fvisibility=hidden -fstack-protector-strong -D__LINUX__ -D_NO_ASYNCRTIMP -D_NO_PPLXIMP
  "-D_GLIBCXX_USE_CXX11_ABI=$ABI" -I"$SRC" -I"$SRC/LibTorchSharp" -I"$INC" -I"$INC/torch/csrc/api/include" -w)
for f in "$SRC"/LibTorchSharp/*.cpp; do
  "$CXX" "${FLAGS[@]}" -c "$f" -o "$B/$(basename "$f").o" 2>>"$B/errors-$(basename "$f").txt" &
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n; done
done
wait
[ -n "$CC" ] && "$CC" -O2 -fPIC -fvisibility=hidden -c "$SRC/LibTorchSharp/crc32c.c" -o "$B/crc32c.o" 2>>"$B/errors-crc32c.txt"
built=$(ls "$B"/*.o 2>/dev/null | wc -l); wanted=$(( $(ls "$SRC"/LibTorchSharp/*.cpp | wc -l) + 1 ))
if [ "$built" -ne "$wanted" ]; then
  say "compile failed: $built of $wanted objects built; the first errors:"
  cat "$B"/errors-*.txt | grep -m 20 'error' | tee -a "$LOG"; exit 5
fi
LIBS=(-ltorch -ltorch_cpu -lc10)
for cuda_lib in torch_cuda c10_cuda; do [ -f "$TL/lib$cuda_lib.so" ] && LIBS+=("-l$cuda_lib"); done
# --no-as-needed: libtorch_cuda registers the CUDA kernels when it loads, though the shim calls none of its symbols.
"$CXX" -shared -o "$B/libLibTorchSharp.so" "$B"/*.o -Wl,-Bsymbolic -Wl,-Bsymbolic-functions -Wl,--build-id=sha1 \
  -L"$TL" -Wl,--no-as-needed "${LIBS[@]}" -Wl,--as-needed 2>"$B/errors-link.txt" \
  || { say "link failed:"; grep -m 20 -E 'error|undefined' "$B/errors-link.txt" | tee -a "$LOG"; exit 5; }
say "built $(stat -c %s "$B/libLibTorchSharp.so") bytes, linked to: $(ldd "$B/libLibTorchSharp.so" | grep -oE 'lib(torch|c10)[a-z_]*\.so' | sort -u | tr '\n' ' ')"

say "== exports against the NuGet shim"
exports() { nm -D --defined-only "$1" | awk '$2 == "T" { print $3 }' | sort -u; }
NUGET="$APP_NATIVE/libLibTorchSharp.so.nuget"
[ -f "$NUGET" ] || cp "$APP_NATIVE/libLibTorchSharp.so" "$NUGET"
missing=$(comm -23 <(exports "$NUGET") <(exports "$B/libLibTorchSharp.so") | wc -l)
say "NuGet shim exports $(exports "$NUGET" | wc -l) functions; the new one $(exports "$B/libLibTorchSharp.so" | wc -l); missing $missing"
if [ "$missing" -ne 0 ]; then comm -23 <(exports "$NUGET") <(exports "$B/libLibTorchSharp.so") | head -20 | tee -a "$LOG"; exit 6; fi
install -m 755 "$B/libLibTorchSharp.so" "$APP_NATIVE/libLibTorchSharp.so"
say "installed over $APP_NATIVE/libLibTorchSharp.so (the NuGet build kept as libLibTorchSharp.so.nuget)"
