"""Benchmark: strace log parsing speed, riskscope's parser vs reading and splitting lines.

Ours: :func:`riskscope.io.provenance.strace.read` (the whole job: parse, build and
validate the Arrow graph). Anchor, in the same run and on the same file: open it,
iterate its lines and ``str.split(None, 2)`` each (PID, time, rest), the least any
line-based Python parser does. Both are timed ``--repeats`` times after one warm-up
each; the row gives medians of wall and CPU time (CPU time is the per-core figure on a
shared machine). Target: >= 200k lines/s per core.

The log: ``--log PATH``; or ``--scenarios DIR``, the largest log (in lines) of a suite
written by ``benchmarks/apt_record.py``; by default a workload recorded here with the
recorder's default syscall set (tar + gzip of /usr/include, grep -r over it, a Python
start-up: ~110k lines, read/write/open heavy).

Usage::

    python benchmarks/apt_parse_strace.py [--log PATH | --scenarios DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import machine

WORKLOAD = ("tar cf - /usr/include 2>/dev/null | gzip -1 > inc.tgz; "
            "grep -r -l -s stdio /usr/include > /dev/null; "
            "python3 -c 'import json, email, http.client, urllib.request, xml.dom.minidom'")


def _lines(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        return sum(1 for _ in fh)


def largest_log(folder: Path) -> Path:
    logs = [*folder.glob("*/*/*.log"), *folder.glob("*/*/*.log.gz")]
    if not logs:
        sys.exit(f"error: no */*/*.log under {folder}; record one with benchmarks/apt_record.py")
    return max(logs, key=_lines)


def record_workload(folder: Path) -> Path:
    from riskscope.io.provenance.record import record

    res = record(["sh", "-c", WORKLOAD], folder / "workload.log", cwd=folder, quiet=True,
                 env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(folder)})
    return res.log


def ours(path: Path) -> int:
    from riskscope.io.provenance.strace import read

    return read(path)[0].meta["strace"]["lines"]


def anchor(path: Path) -> int:
    opener = gzip.open if path.suffix == ".gz" else open
    n = 0
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line.split(None, 2)
            n += 1
    return n


def measure(fn, path: Path, repeats: int) -> dict:
    fn(path)  # warm-up: imports, page cache
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        n = fn(path)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    w, c = statistics.median(wall), statistics.median(cpu)
    return {"lines": n, "wall_s": w, "cpu_s": c, "lines_per_s": n / w,
            "lines_per_cpu_s": n / c, "runs_s": [round(x, 4) for x in wall]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--log", type=Path)
    src.add_argument("--scenarios", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    tmp = None
    if args.log:
        log = args.log
    elif args.scenarios:
        log = largest_log(args.scenarios)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="rs-parse-bench-")
        log = record_workload(Path(tmp.name))
    load = os.getloadavg()[0]
    a = measure(anchor, log, args.repeats)
    o = measure(ours, log, args.repeats)
    cmd = "python benchmarks/apt_parse_strace.py " + " ".join(argv or sys.argv[1:])
    size = log.stat().st_size / 2**20
    print("| command | machine | date | log | ours lines/s (wall / CPU) | anchor read+split "
          "lines/s (wall / CPU) | ours / anchor (CPU) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| `{cmd.strip()}` | {machine()}, load avg {load:.1f} at start | "
          f"{dt.date.today().isoformat()} | {log.name}: {o['lines']:,} lines, {size:.1f} MiB | "
          f"**{o['lines_per_s']:,.0f}** / {o['lines_per_cpu_s']:,.0f} | "
          f"{a['lines_per_s']:,.0f} / {a['lines_per_cpu_s']:,.0f} | "
          f"{a['cpu_s'] / o['cpu_s']:.3f} |")
    print()
    print(f"median of {args.repeats}; ours runs (s): {o['runs_s']}; anchor runs (s): "
          f"{a['runs_s']}; target >= 200,000 lines/s per core: "
          f"{'met' if o['lines_per_cpu_s'] >= 200_000 else 'NOT met'} (CPU time)")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
