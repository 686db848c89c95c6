"""Benchmark: ingest of full-size CICIDS2017 flows, read_flows vs the notebook's load.

Times :func:`riskscope.io.flows.read_flows` on the bootstrap-expanded real sample built
by ``benchmarks/make_cicids_full.py`` (2,830,743 flows, MachineLearningCVE layout, 8 day
files) against the reference notebook's procedure in the same run: dtypes from the first
10,000 rows, then ``pandas.read_csv(chunksize=500_000, dtype=...)`` with float64 ->
float32 and int64 -> int32, chunks concatenated. Each measurement runs in a fresh
process, so its peak RSS is its own. Prints one markdown row for BENCHMARKS.md (median of
``--repeats`` runs each) and the single runs.

Note the two do different amounts of work: read_flows also maps columns, repairs labels,
treats Inf/NaN, deduplicates and reports; the notebook's load only parses.

Usage::

    python benchmarks/make_cicids_full.py --out /tmp/riskscope-bench   # once, ~1 min
    python benchmarks/ids_ingest.py --data /tmp/riskscope-bench [--repeats 3] [--format csv]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from _common import machine, run_child

HERE = Path(__file__).resolve().parent


def run_ours(data: Path) -> dict:
    from riskscope.io.flows import read_flows

    t0, c0 = time.perf_counter(), time.process_time()
    flows = read_flows(data)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    report = flows.report
    return {
        "seconds": seconds, "cpu_seconds": cpu, "rows_in": report.rows_read,
        "rows_out": report.rows_out, "duplicates": report.duplicate_rows,
        "memory_bytes": report.memory_bytes,
    }  # fmt: skip


def run_notebook(data: Path) -> dict:
    """The seed notebook's cell 2, applied to every file of the folder."""
    import pandas as pd

    files = sorted(data.glob("*.csv"))
    t0, c0 = time.perf_counter(), time.process_time()
    sample = pd.read_csv(files[0], nrows=10_000)
    dtypes = {c: "float32" for c in sample.select_dtypes(include=["float64"]).columns}
    dtypes.update({c: "int32" for c in sample.select_dtypes(include=["int64"]).columns})
    chunks = []
    for f in files:
        chunks.extend(pd.read_csv(f, chunksize=500_000, dtype=dtypes))
    df = pd.concat(chunks, ignore_index=True)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"seconds": seconds, "cpu_seconds": cpu, "rows_in": len(df), "rows_out": len(df),
            "memory_bytes": int(df.memory_usage().sum())}  # fmt: skip


def child(which: str, data: Path) -> None:
    out = run_ours(data) if which == "ours" else run_notebook(data)
    out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(out))


def measure(which: str, data: Path) -> dict:
    return run_child(__file__, ["--child", which, "--data", str(data)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/riskscope-bench"))
    ap.add_argument("--format", choices=("csv", "parquet"), default="csv")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-anchor", action="store_true", help="skip the notebook's procedure")
    ap.add_argument("--child", choices=("ours", "notebook"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.data)
        return 0
    folder = args.data / args.format
    if not folder.is_dir():
        sys.exit(
            f"error: {folder} not found; build it with "
            f"`python benchmarks/make_cicids_full.py --out {args.data}`"
        )
    load_before = os.getloadavg()[0]
    ours = [measure("ours", folder) for _ in range(args.repeats)]
    anchor = [] if args.no_anchor or args.format != "csv" else [
        measure("notebook", folder) for _ in range(args.repeats)
    ]  # fmt: skip
    med = statistics.median(r["seconds"] for r in ours)
    peak = max(r["peak_rss_bytes"] for r in ours) / 2**30
    row = {
        "command": f"python benchmarks/ids_ingest.py --data {args.data} --format {args.format} "
                   f"--repeats {args.repeats}",
        "machine": f"{machine()}, load avg {load_before:.1f} at start",
        "date": dt.date.today().isoformat(),
        "median_s": round(med, 2),
        "cpu_s": round(statistics.median(r["cpu_seconds"] for r in ours), 2),
        "peak_rss_gib": round(peak, 2),
    }  # fmt: skip
    if anchor:
        a_med = statistics.median(r["seconds"] for r in anchor)
        row["anchor"] = "notebook load (pandas chunked read_csv + downcast)"
        row["anchor_median_s"] = round(a_med, 2)
        row["anchor_cpu_s"] = round(statistics.median(r["cpu_seconds"] for r in anchor), 2)
        row["anchor_peak_rss_gib"] = round(max(r["peak_rss_bytes"] for r in anchor) / 2**30, 2)
        row["ratio"] = round(a_med / med, 2)
    # CPU seconds are printed too: on a shared machine wall time also measures the others.
    print("| command | machine | date | median (s) | anchor | anchor median (s) | ratio | "
          "CPU (s) ours / anchor | peak RSS (GiB) ours / anchor |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    anchor_rss = row.get("anchor_peak_rss_gib", "-")
    print(
        f"| `{row['command']}` | {row['machine']} | {row['date']} | {row['median_s']} | "
        f"{row.get('anchor', '-')} | {row.get('anchor_median_s', '-')} | "
        f"{str(row['ratio']) + 'x' if 'ratio' in row else '-'} | {row['cpu_s']} / "
        f"{row.get('anchor_cpu_s', '-')} | {row['peak_rss_gib']} / {anchor_rss} |"
    )
    print()
    print("Data: bootstrap-expanded real sample (benchmarks/make_cicids_full.py).")
    print("runs (ours):", json.dumps(ours))
    if anchor:
        print("runs (anchor):", json.dumps(anchor))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
