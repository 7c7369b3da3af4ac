#!/usr/bin/env bash
# The pinned .NET Interactive tool (.config/dotnet-tools.json) and its Jupyter kernelspec, local to this checkout
# (.jupyter/kernels; point JUPYTER_PATH at .jupyter). Used by scripts/test.sh and scripts/notebook.sh.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
dotnet tool restore >/dev/null
mkdir -p "$repo/.jupyter/kernels"
dotnet interactive jupyter install --path "$repo/.jupyter/kernels" >/dev/null
# The kernel serves HTTP for browser frontends; bind it to loopback only.
/usr/bin/python3 - "$repo/.jupyter/kernels/.net-csharp/kernel.json" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
if "--http-local-only" not in spec["argv"]:
    spec["argv"].append("--http-local-only")
json.dump(spec, open(path, "w"), indent=2)
PY
