#!/usr/bin/env bash
# Read-ahead figures on loopback: per server (Azurite, s3rver), a checkpoint of 500 tensors of 4-64 KiB and one of
# 8 tensors of 16 MiB are uploaded, then in three rounds the SDK's own parallel download of the object and Ckpt's
# in-order read of every tensor (read-ahead off, on) are timed; the best round of each, the GET counts and the bytes
# fetched / needed are printed and written to bench/results/readahead-<scheme>-loopback.json. The same filter runs
# VerbReadAheadFigures: convert, diff and a linear merge of 500 small tensors, read-ahead off and on
# (bench/results/readahead-verbs-<scheme>-loopback.json).
# Usage: [CONFIG=Release] bench/readahead.sh [schemes=az,s3]   (needs node; runs npm ci in tests/servers)
set -euo pipefail
schemes=${1:-az,s3}
root=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$root/tests/servers/node_modules/.bin/s3rver" ] || (cd "$root/tests/servers" && npm ci --no-audit --no-fund >&2)
CKPT_OBJSTORE_FIGURES=1 CKPT_OBJSTORE_FIGURES_SCHEMES=$schemes \
  dotnet test "$root/tests/Ckpt.Kernel.Tests" -c "${CONFIG:-Debug}" --filter "FullyQualifiedName~ReadAheadFigures" \
  --logger "console;verbosity=detailed" >&2
for s in ${schemes//,/ }; do
  python3 - "$root/bench/results/readahead-$s-loopback.json" "$s" <<'PY'
import json, sys
r, s = json.load(open(sys.argv[1])), sys.argv[2]
print(f"{s}: {r['machine']}")
for case in ("manySmall", "fewLarge"):
    c = r[case]; sdk = c["sdkDownload"]
    print(f"  {case}: {c['objectBytes']:,} B object; SDK download {sdk['MBps']} MB/s")
    for mode in ("perTensor", "readAhead"):
        if mode in c:
            m = c[mode]
            print(f"    {mode:9}: {m['gets']} GETs, fetched/needed {m['fetchedToNeeded']:.4f}, {m['MBps']} MB/s = {m['toSdk']:.2f}x SDK, peak in flight {m['peakBytesInFlight']:,} B")
PY
  python3 - "$root/bench/results/readahead-verbs-$s-loopback.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for verb in ("convert", "diff", "mergeLinear"):
    for mode in ("perTensor", "readAhead"):
        if verb in r:
            m = r[verb][mode]
            print(f"  {verb:11} {mode:9}: {m['gets']} GETs, {m['seconds']} s, fetched/needed {m['fetchedToNeeded']:.4f}")
PY
done
