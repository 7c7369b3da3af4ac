#!/usr/bin/env bash
# Object-storage figures on loopback: generates a synthetic checkpoint (4 safetensors shards), uploads it to local
# Azurite and s3rver, and per server measures in one run: inspect of the 4-rank DCP fixture (bytes fetched), the
# SDK's own parallel download of the same objects (TransferUtility / BlobClient.DownloadToAsync), Ckpt's planned
# ranged GETs of every target rank's shards, and `ckpt reshard` bucket -> bucket; prints bytes fetched / needed,
# the throughputs and their ratios, and writes bench/results/objstore-<scheme>-loopback.json.
# Usage: [CONFIG=Release] bench/objstore.sh [bytes=1073741824] [schemes=az,s3]   (needs node; runs npm ci in tests/servers)
set -euo pipefail
bytes=${1:-1073741824}; schemes=${2:-az,s3}
root=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$root/tests/servers/node_modules/.bin/s3rver" ] || (cd "$root/tests/servers" && npm ci --no-audit --no-fund >&2)
CKPT_OBJSTORE_FIGURES=1 CKPT_OBJSTORE_FIGURES_BYTES=$bytes CKPT_OBJSTORE_FIGURES_SCHEMES=$schemes \
  dotnet test "$root/tests/Ckpt.Kernel.Tests" -c "${CONFIG:-Debug}" --filter "FullyQualifiedName~ObjectStoreFigures" \
  --logger "console;verbosity=detailed" >&2
for s in ${schemes//,/ }; do
  python3 - "$root/bench/results/objstore-$s-loopback.json" "$s" <<'PY'
import json, sys
r, s = json.load(open(sys.argv[1])), sys.argv[2]
i, sdk, rd, rs = r["inspectDcp4Rank"], r["sdkDownload"], r["readEveryRank"], r["reshardBucketToBucket"]
print(f"{s}: {r['machine']}")
print(f"  inspect 4-rank DCP: {i['metadataBytesFetched']:,} metadata bytes, {i['tensorBytesFetched']:,} tensor bytes, {i['requests']} GETs")
print(f"  SDK download      : {sdk['bytes']:,} B in {sdk['seconds']} s = {sdk['MBps']} MB/s")
print(f"  Ckpt read, one rank at a time: fetched/needed {rd['fetchedToNeeded']:.4f}, {rd['MBps']} MB/s = {rd['toSdk']:.2f}x SDK, {rd['gets']} requests")
print(f"  reshard b->b       : fetched/needed {rs['fetchedToNeeded']:.4f}, {rs['MBps']} MB/s = {rs['toSdk']:.2f}x SDK ({rs['seconds']} s end to end); its read phase {rs['loadMBps']} MB/s = {rs['loadToSdk']:.2f}x SDK")
PY
done
