#!/usr/bin/env bash
# Opens the notebooks: installs Debian's classic Jupyter Notebook (package jupyter-notebook) when it is missing, the
# pinned .NET Interactive kernelspec (scripts/jupyter-kernelspec.sh), packs the extension into the local feed
# artifacts/feed that notebooks/NuGet.config names, then serves this checkout on 127.0.0.1 with a token and prints
# the URL to open. Ctrl-C stops the server.
#   bash scripts/notebook.sh [--port N] [--no-pack]
# --no-pack serves the feed as it is (the browser test packs it itself). JUPYTER_TOKEN sets the token; by default
# a fresh random one.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

port=8888 pack=1
while (($#)); do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --no-pack) pack=0; shift ;;
    *) echo "usage: bash scripts/notebook.sh [--port N] [--no-pack]" >&2; exit 2 ;;
  esac
done

if ! dpkg-query -W -f='${Status}' jupyter-notebook 2>/dev/null | grep -q "install ok installed"; then
  echo "Installing jupyter-notebook" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends jupyter-notebook >/dev/null
fi
bash scripts/jupyter-kernelspec.sh

if ((pack)); then
  # The notebooks restore Ckpt.Extension 0.1.0 from artifacts/feed; the global package cache keeps the first
  # extract of a fixed version, so this build's packages replace it there too (as tests/Ckpt.Extension.Tests/LocalFeed.cs does).
  echo "Packing the extension into artifacts/feed" >&2
  dotnet build src/Extension -c Debug -v quiet --nologo >/dev/null
  for project in src/Kernel src/Extension; do
    dotnet pack "$project" --no-build -c Debug -o artifacts/feed -v quiet --nologo >/dev/null
  done
  cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
  rm -rf "$cache/ckpt.kernel" "$cache/ckpt.extension"
fi

token="${JUPYTER_TOKEN:-$(/usr/bin/python3 -c 'import secrets; print(secrets.token_hex(24))')}"
echo "Open http://127.0.0.1:$port/tree/notebooks?token=$token"
export JUPYTER_PATH="$repo/.jupyter" JUPYTER_TOKEN="$token"
root=(); [ "$(id -u)" -ne 0 ] || root=(--allow-root) # CI containers run as root
exec /usr/bin/jupyter-notebook --no-browser --ip=127.0.0.1 --port="$port" --port-retries=0 --notebook-dir="$repo" "${root[@]}"
