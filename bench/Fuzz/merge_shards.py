#!/usr/bin/env python3
"""Adds up the --out summaries of shards of one fuzz campaign (same seed and count, disjoint --range).

Usage: merge_shards.py shard.json... > merged.json
"""
import json, sys
from collections import Counter

shards = [json.load(open(p)) for p in sys.argv[1:]]
assert len({(s["seed"], s["perReader"]) for s in shards}) == 1, "shards of different campaigns"
merged = {"seed": shards[0]["seed"], "perReader": shards[0]["perReader"],
          "ranges": [[s["first"], s["first"] + max(r["mutations"] for r in s["readers"].values())] for s in shards],
          "timeoutRetries": shards[0]["timeoutRetries"], "processors": shards[0]["processors"],
          "shardSeconds": [s["seconds"] for s in shards], "readers": {}}
for name in sorted({n for s in shards for n in s["readers"]}):
    parts = [s["readers"][name] for s in shards if name in s["readers"]]
    outcomes, refused = Counter(), Counter()
    for p in parts:
        outcomes.update(p["outcomes"])
        refused.update(p["refusedBy"])
    merged["readers"][name] = {
        "mutations": sum(p["mutations"] for p in parts),
        "seconds": round(sum(p["seconds"] for p in parts), 1),
        "mutationsRetriedAfterTimeout": sum(p["mutationsRetriedAfterTimeout"] for p in parts),
        "outcomes": dict(outcomes.most_common()),
        "refusedBy": dict(refused.most_common()),
        "findings": [f for p in parts for f in p["findings"]],
    }
json.dump(merged, sys.stdout, indent=2)
print()
