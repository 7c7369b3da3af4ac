#!/usr/bin/env python3
"""What a test run costs, from its TRX files rather than from the wall clock of a shared machine.

Usage: python3 scripts/test-budget.py [results-dir] [--only names.txt] [--top N]
  results-dir  where `dotnet test --logger trx` wrote (default artifacts/test-results, as scripts/test.sh does)
  --only       a file of test names, one a line (`dotnet test --list-tests --filter "Category!=slow"` prints them):
               count only those, e.g. to price --fast from the TRX of a full run (no wall time then)
Prints, per test project, the tests, the sum of their durations, the wall time between its first start and last end,
and their ratio (the parallelism xunit got); then the most expensive tests and test classes. A class fixture's time is
in no test's duration: a class whose wall time is much above its tests' sum builds something large once.
"""
import collections
import glob
import sys
import xml.etree.ElementTree as ET
from datetime import datetime

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"


def seconds(duration):
    h, m, s = duration.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def moment(text):
    # 2026-12-06T02:45:38.8051437+00:00: keep microseconds
    head, _, zone = text.partition("+")
    if "." in head:
        base, frac = head.split(".")
        head = base + "." + frac[:6]
    return datetime.fromisoformat(head + "+" + zone if zone else head)


def main(argv):
    top = 25
    only = None
    folder = "artifacts/test-results"
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--top":
            top = int(args.pop(0))
        elif a == "--only":
            only = {line.strip() for line in open(args.pop(0)) if line.strip()}
        else:
            folder = a
    rows = []
    total_sum = 0.0
    for trx in sorted(glob.glob(folder + "/**/*.trx", recursive=True)):
        root = ET.parse(trx).getroot()
        classes = {ut.get("id"): ut.find(NS + "TestMethod").get("className") for ut in root.iter(NS + "UnitTest")}
        storage = next((ut.get("storage") for ut in root.iter(NS + "UnitTest")), trx)
        results = [r for r in root.iter(NS + "UnitTestResult") if only is None or r.get("testName") in only]
        if not results:
            continue
        project_sum = sum(seconds(r.get("duration", "0:0:0")) for r in results)
        starts = [moment(r.get("startTime")) for r in results if r.get("startTime")]
        ends = [moment(r.get("endTime")) for r in results if r.get("endTime")]
        wall = (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0
        name = storage.replace("\\", "/").split("/")[-1]
        if only is None:
            print(f"{name}: {len(results)} tests, sum {project_sum:.1f} s, wall {wall:.1f} s, "
                  f"parallelism {project_sum / wall if wall else 0:.2f}")
        else:  # the selected tests ran among others: their first start and last end say nothing
            print(f"{name}: {len(results)} tests, sum {project_sum:.1f} s")
        total_sum += project_sum
        for r in results:
            rows.append((seconds(r.get("duration", "0:0:0")), r.get("testName"), classes[r.get("testId")]))
    print(f"all: {len(rows)} tests, sum {total_sum:.1f} s")
    print(f"most expensive tests:")
    for d, name, _ in sorted(rows, reverse=True)[:top]:
        print(f"  {d:7.1f}  {name[:160]}")
    by_class = collections.Counter()
    count = collections.Counter()
    for d, _, cls in rows:
        by_class[cls] += d
        count[cls] += 1
    print("most expensive classes (sum of their tests, count):")
    for cls, d in by_class.most_common(top):
        print(f"  {d:7.1f}  {count[cls]:4d}  {cls}")


if __name__ == "__main__":
    main(sys.argv[1:])
