#!/usr/bin/env bash
# The project's test command. On a fresh Debian 12 machine with the .NET 10 SDK it installs what is missing,
# runs every test project (the notebooks through real Jupyter included) and ends with one line: `N passed, N failed`.
# `--fast` runs all but the slow tests (see below).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# --fast leaves out the tests marked [Trait("Category", "slow")]: the notebooks run by real Jupyter (and in the browser),
# LCSC searches, long training runs, kill and fuzz campaigns. A quick loop while working (docs/testing.md gives its
# budget); CI (.ci/run) runs everything.
fast=""
case "${1:-}" in
  "") ;;
  --fast) fast=1 ;;
  *) echo "usage: bash scripts/test.sh [--fast]" >&2; exit 2 ;;
esac

# System packages: patchelf (see build/LibTorchSharpGlibcFix.targets), Jupyter's notebook runner, and PyTorch 1.13
# (the parity tests write torch.save files and read what ckpt writes with it), and jinja2 (chat templates are
# rendered by it and by ckpt's interpreter and compared).
# chromium: the chart HTML is rendered headless and judged from its screenshot (tests/Ckpt.Kernel.Tests/Charts).
# jupyter-notebook, node, npm: notebook 02 is run from the classic Notebook's UI in Chromium (NotebookInBrowserTests).
# slurm-wlm: scripts/cluster/slurm-reshard.sh runs as a 4-task job array on a one-node cluster the test starts
# (tests/Ckpt.Kernel.Tests/Cluster/SlurmCluster.cs: slurmctld and slurmd, auth/none, no munge daemon).
missing=()
for pkg in patchelf python3-nbconvert python3-nbclient python3-ipykernel python3-torch python3-jinja2 chromium jupyter-notebook slurm-wlm; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# node and npm, from Debian unless some node (with its npm) is installed already.
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "Installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The S3 and Azure Blob servers, pinned by tests/servers/package-lock.json; the tests start them on 127.0.0.1
# (tests/Ckpt.Kernel.Tests/ObjectStores/ObjectStoreServers.cs). Reinstalled only when the lock file changed.
servers="$repo/tests/servers"
if ! cmp -s "$servers/package-lock.json" "$servers/node_modules/.ckpt-installed-lock" 2>/dev/null; then
  (cd "$servers" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$servers/package-lock.json" "$servers/node_modules/.ckpt-installed-lock"
fi

# Only the notebook tests (all slow) use these two, so --fast skips them.
if [ -z "$fast" ]; then
  # The .NET Interactive tool and its Jupyter kernelspec, local to this checkout.
  bash scripts/jupyter-kernelspec.sh

  # The browser test's driver: playwright-core from npm, pinned by tests/browser/package-lock.json. It drives Debian's
  # Chromium (above); it never downloads a browser.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund >/dev/null
fi

# The notebooks load the extension from the local feed artifacts/feed (their NuGet.config names it). The notebook
# tests pack it from the build under test and evict the fixed version from the global package cache first
# (tests/Ckpt.Extension.Tests/LocalFeed.cs), so a plain `dotnet test` does the same.

filter=()
[ -z "$fast" ] || filter=(--filter "Category!=slow")

results="$repo/artifacts/test-results"
rm -rf "$results"
status=0
dotnet test Extension.sln -c Debug "${filter[@]}" --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" || status=$?

# Sum the counters of every project's TRX file.
/usr/bin/python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = 0
failures = []
for trx in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    root = ET.parse(trx).getroot()
    for result in root.iter("{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}UnitTestResult"):
        if result.get("outcome") not in ("Passed", "NotExecuted"):
            message = result.find(".//{*}Message")
            first = (message.text or "").strip().splitlines()[0][:300] if message is not None and message.text else ""
            failures.append(f"FAILED {result.get('testName')}: {first}")
    counters = root.find(".//{*}ResultSummary/{*}Counters")
    if counters is not None:
        passed += int(counters.get("passed", 0))
        failed += int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) + int(counters.get("aborted", 0))
# The failures' names last but one, so a log that keeps only its tail still says which tests failed.
for line in failures:
    print(line)
print(f"{passed} passed, {failed} failed")
PY
exit "$status"
