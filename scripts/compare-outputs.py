#!/usr/bin/env python3
"""Checks that two icmbench output folders hold the same results.

Usage: scripts/compare-outputs.py BEFORE AFTER

BEFORE and AFTER are output folders of the same config (e.g. `results/demo` of two builds,
each after `icmbench run` and `icmbench report`). Compared:

- `results.csv`: the same columns and the same rows in the same order, every cell equal,
  except the timing columns (`encode_ms`, `decode_ms`) and `provenance` (host, job ids,
  start and end times), which differ from run to run (a folder written before the
  `provenance` column existed compares equal with one written after);
- `report/points.csv`: the same way (its `encode_ms` and `decode_ms` are mean times);
- `report/report.md`, `report/bd.csv` and `report/ll-icm.csv` (where present in BEFORE):
  byte for byte.

Exit status 0 when everything matches, 1 with one line per difference otherwise. Used to
show that a restructuring changed no result (issue 14): run `make demo` and `make ll-icm`
before and after, keep a copy of the first outputs, and compare; and that a sharded run
merged with `icmbench merge` equals an unsharded one (issue 15).
"""

import csv
import sys
from pathlib import Path

TIMING = {"encode_ms", "decode_ms", "provenance"}
TABLES = ["results.csv", "report/points.csv"]
REPORT_FILES = ["report/report.md", "report/bd.csv", "report/ll-icm.csv"]
MAX_SHOWN = 20


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise SystemExit(f"{path}: empty file")
    return rows[0], rows[1:]


def compare_table(before, after, name):
    """Cell by cell, the timing columns aside."""
    if not (before / name).exists():
        return []
    if not (after / name).exists():
        return [f"{name}: missing in {after}"]
    problems = []
    h1, r1 = read_csv(before / name)
    h2, r2 = read_csv(after / name)
    c1 = [c for c in h1 if c not in TIMING]
    c2 = [c for c in h2 if c not in TIMING]
    if c1 != c2:
        return [f"{name}: columns differ:\n  before {c1}\n  after  {c2}"]
    if len(r1) != len(r2):
        problems.append(f"{name}: {len(r1)} rows before, {len(r2)} after")
    for n, (a, b) in enumerate(zip(r1, r2), start=2):
        for column in c1:
            x, y = a[h1.index(column)], b[h2.index(column)]
            if x != y:
                problems.append(f"{name}:{n}: column `{column}`: {x!r} -> {y!r}")
    return problems


def compare_bytes(before, after, name):
    a, b = before / name, after / name
    if not a.exists():
        return []
    if not b.exists():
        return [f"{name}: missing in {after}"]
    ta, tb = a.read_bytes(), b.read_bytes()
    if ta == tb:
        return []
    la, lb = ta.decode("utf-8", "replace").splitlines(), tb.decode("utf-8", "replace").splitlines()
    for n, (x, y) in enumerate(zip(la, lb), start=1):
        if x != y:
            return [f"{name}:{n}: differs:\n  before {x}\n  after  {y}"]
    return [f"{name}: {len(la)} lines before, {len(lb)} after"]


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    before, after = Path(argv[1]), Path(argv[2])
    problems = []
    for name in TABLES:
        problems += compare_table(before, after, name)
    for name in REPORT_FILES:
        problems += compare_bytes(before, after, name)
    for p in problems[:MAX_SHOWN]:
        print(p)
    if len(problems) > MAX_SHOWN:
        print(f"... and {len(problems) - MAX_SHOWN} more")
    if problems:
        return 1
    rows = len(read_csv(before / "results.csv")[1])
    print(f"same results: {rows} rows (timing columns aside) and the report files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
