"""Parse throughput: the CDM JSON-lines and StreamSpot readers against their raw floors.

The input is synthetic: the hand-written CDM records of ``tests/data/provenance/cdm``
(CADETS- and THEIA-style, the well-formed ones only) replicated with fresh UUIDs and
increasing timestamps to ``--records`` lines, and the real StreamSpot example
(``../shared/data/provenance/streamspot_example/data.txt``, 100 edges; a built-in copy
of its first lines when the shared data is absent) replicated over fresh graph and node
ids. Files go to a temporary folder (or ``--data``) and are reused when present.

Plain replication (``--event-repeat 1``) makes 40% of the records entities and creates a
node every three records. Real engagement data is mostly events on known entities
(CADETS E3: ~29.7M events on ~0.6M entities), so ``--event-repeat R`` also writes each
event line R times in a row (fresh event UUID and time stamp, same subject and objects);
R=10 gives ~94% events. The CDM target is stated for both.

Each measurement runs in a fresh process (one core). Imports are done before the clock
starts (building any Arrow array imports pandas, ~1 s once a process, in every reader of
the project). The anchor for CDM is the floor of any orjson-based reader, ``orjson.loads``
on every line of the same file (``for line in file``), measured in the same run; for
StreamSpot it is ``bytes.split(b"\\t")`` on every line. CPU-time rates are printed too: on
a shared machine wall time also measures the others. Prints markdown rows for
BENCHMARKS.md (median of ``--repeats`` runs) and the single runs.

Usage::

    python benchmarks/apt_parse_cdm.py                      # 2,000,000 records each
    python benchmarks/apt_parse_cdm.py --records 500000 --repeats 5 --event-repeat 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, run_child

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = [ROOT / "tests/data/provenance/cdm/cadets.json",
            ROOT / "tests/data/provenance/cdm/theia.json"]
TARGET = 200_000  # CDM records/s per core (issue target)
_UUID = re.compile(rb"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")
_TS = re.compile(rb'("(?:timestampNanos|startTimestampNanos|tsNanos)":)(\d+)')
_NULL = b"00000000-0000-0000-0000-000000000000"
_STREAMSPOT_FALLBACK = b"".join(
    b"4\ta\t%d\tc\t%s\t0\n" % (i % 34 + 5, b"uvqCjntp"[i % 8:i % 8 + 1]) for i in range(100))


# --- building the inputs ------------------------------------------------------------------
def _cdm_template() -> tuple[list[bytes], list[tuple[str, bytes | int]], int, int]:
    """The fixtures' well-formed CDM lines as literal pieces and slots (uuid / time).

    Times become offsets from each fixture's first one (the two performers' clocks are
    days apart), so one copy spans milliseconds and two million records stay in int64.
    """
    import orjson

    pieces, slots, n_lines, span = [], [], 0, 0
    for f in FIXTURES:
        lines = []
        for line in f.read_bytes().splitlines():
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("datum"), dict) and any(
                    k.startswith("com.bbn.tc.schema.avro") for k in rec["datum"]):
                lines.append(line)
        text = b"\n".join(lines) + b"\n"
        stamps = [int(m.group(2)) for m in _TS.finditer(text) if int(m.group(2)) > 0]
        t0 = min(stamps)
        span = max(span, max(stamps) - t0 + 1)
        marks = [(m.start(), m.end(), "uuid", m.group()) for m in _UUID.finditer(text)
                 if m.group() != _NULL]
        marks += [(m.start(2), m.end(2), "ts", max(0, int(m.group(2)) - t0))
                  for m in _TS.finditer(text) if int(m.group(2)) > 0]  # 0: CADETS "unknown"
        pos = 0
        for start, end, kind, value in sorted(marks):
            if pieces and len(pieces) > len(slots):
                pieces[-1] += text[pos:start]
            else:
                pieces.append(text[pos:start])
            slots.append((kind, value))
            pos = end
        pieces.append(text[pos:])
        n_lines += len(lines)
    return pieces, slots, n_lines, span


def build_cdm(path: Path, records: int, event_repeat: int = 1) -> None:
    pieces, slots, per_copy, span = _cdm_template()
    span *= event_repeat
    uuids = {v for k, v in slots if k == "uuid"}
    index = {u: j for j, u in enumerate(sorted(uuids))}
    t0 = 1_522_706_861_813_350_340
    written = 0
    with open(path, "wb") as out:
        copy = 0
        while written < records:
            base = t0 + copy * span
            parts = [pieces[0]]
            for (kind, value), piece in zip(slots, pieces[1:], strict=True):
                if kind == "uuid":  # fresh per copy, references within a copy kept
                    parts.append(b"%08X-%04X-4000-8000-000000000000" % (copy, index[value]))
                else:
                    parts.append(b"%d" % (base + value))
                parts.append(piece)
            lines = b"".join(parts).splitlines(keepends=True)
            if event_repeat > 1:
                lines = [x for line in lines for x in _repeat(line, event_repeat)]
            lines = lines[: records - written]
            out.write(b"".join(lines))
            written += len(lines)
            copy += 1


_EVENT_HEAD = re.compile(rb'^(\{"datum":\{"[^"]+\.Event":\{"uuid":"[0-9A-F-]{24})([0-9A-F]{12})')


def _repeat(line: bytes, r: int) -> list[bytes]:
    """An event line and r-1 copies with their own event UUID and later time stamps."""
    m = _EVENT_HEAD.match(line)
    if m is None:
        return [line]
    out = [line]
    for k in range(1, r):
        copy = b"%s%012X%s" % (m.group(1), k, line[m.end():])
        out.append(_TS.sub(lambda t, k=k: t.group(1) + b"%d" % (int(t.group(2)) + k), copy))
    return out


def build_streamspot(path: Path, records: int) -> None:
    src = ROOT.parent / "shared/data/provenance/streamspot_example/data.txt"
    lines = (src.read_bytes() if src.is_file() else _STREAMSPOT_FALLBACK).splitlines()
    per_graph = 20_000  # edges a graph, about the size of StreamSpot's smaller graphs
    with open(path, "wb") as out:
        for k in range(records):
            s, st, d, dt_, et, _ = lines[k % len(lines)].split(b"\t")
            copy = k // len(lines)
            # fresh node ids per copy so graphs grow; graph id every per_graph edges
            out.write(b"%d\t%s\t%d\t%s\t%s\t%d\n" % (
                int(s) + 1000 * copy, st, int(d) + 1000 * copy, dt_, et, k // per_graph))


# --- measurements ---------------------------------------------------------------------------
def run_ours(fmt: str, path: Path) -> dict:
    import pandas  # noqa: F401 - imported by pyarrow at the first array; not parse time
    import pyarrow  # noqa: F401

    from riskscope.io.provenance import cdm, streamspot

    t0, c0 = time.perf_counter(), time.process_time()
    graphs = (cdm if fmt == "cdm" else streamspot).read(path)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    records = sum(g.meta["parse"]["records"] for g in graphs)
    return {"seconds": seconds, "cpu_seconds": cpu, "records": records,
            "graphs": len(graphs), "nodes": sum(g.n_nodes for g in graphs),
            "edges": sum(g.n_edges for g in graphs)}


def run_anchor(fmt: str, path: Path) -> dict:
    import orjson

    loads = orjson.loads
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    with open(path, "rb", buffering=1 << 16) as fh:
        if fmt == "cdm":
            for line in fh:
                loads(line)
                n += 1
        else:
            for line in fh:
                line.split(b"\t")
                n += 1
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"seconds": seconds, "cpu_seconds": cpu, "records": n}


def child(which: str, fmt: str, path: Path) -> None:
    out = run_ours(fmt, path) if which == "ours" else run_anchor(fmt, path)
    out["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(out))


def measure(which: str, fmt: str, path: Path) -> dict:
    return run_child(__file__, ["--child", which, "--format", fmt, "--file", str(path)])


def _rate(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(r["records"] / r[key] for r in runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--event-repeat", type=int, default=1,
                    help="write each CDM event line this many times (see above)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", type=Path, default=None, help="folder for the generated files")
    ap.add_argument("--only", choices=("cdm", "streamspot"), default=None)
    ap.add_argument("--child", choices=("ours", "anchor"), help=argparse.SUPPRESS)
    ap.add_argument("--format", choices=("cdm", "streamspot"), help=argparse.SUPPRESS)
    ap.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.format, args.file)
        return 0
    folder = args.data or Path(tempfile.gettempdir()) / "riskscope-bench-apt"
    folder.mkdir(parents=True, exist_ok=True)
    rows, runs = [], {}
    for fmt in ("cdm", "streamspot"):
        if args.only not in (None, fmt):
            continue
        path = folder / (f"cdm_{args.records}_r{args.event_repeat}.json" if fmt == "cdm"
                         else f"streamspot_{args.records}.tsv")
        if not path.is_file():
            print(f"building {path} ...", file=sys.stderr)
            if fmt == "cdm":
                build_cdm(path, args.records, args.event_repeat)
            else:
                build_streamspot(path, args.records)
        load = os.getloadavg()[0]
        ours = [measure("ours", fmt, path) for _ in range(args.repeats)]
        anchor = [measure("anchor", fmt, path) for _ in range(args.repeats)]
        runs[fmt] = {"ours": ours, "anchor": anchor}
        rate, a_rate = _rate(ours), _rate(anchor)
        rows.append({
            "command": f"python benchmarks/apt_parse_cdm.py --records {args.records} "
                       f"--repeats {args.repeats}"
                       + (f" --event-repeat {args.event_repeat}" if fmt == "cdm" else ""),
            "input": f"{fmt}, {ours[0]['records']:,} records ({ours[0]['nodes']:,} nodes, "
                     f"{ours[0]['edges']:,} edges), {path.stat().st_size / 2**20:.0f} MiB",
            "machine": f"{machine()}, load avg {load:.1f} at start",
            "date": dt.date.today().isoformat(),
            "median": rate, "cpu_rate": _rate(ours, "cpu_seconds"),
            "anchor": ("orjson.loads per line" if fmt == "cdm" else "bytes.split per line"),
            "anchor_median": a_rate, "ratio": rate / a_rate,
            "target": (f">= {TARGET:,} ({'met' if rate >= TARGET else 'NOT met'})"
                       if fmt == "cdm" else "none"),
            "peak_rss_gib": max(r["peak_rss_bytes"] for r in ours) / 2**30,
        })  # fmt: skip
    # CPU-time rates are printed too: on a shared machine wall time also measures the others
    print("| command | input | machine | date | median (records/s) | CPU-time rate | anchor | "
          "anchor median (records/s) | ratio | target | peak RSS (GiB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| `{r['command']}` | {r['input']} | {r['machine']} | {r['date']} | "
              f"{r['median']:,.0f} | {r['cpu_rate']:,.0f} | {r['anchor']} | "
              f"{r['anchor_median']:,.0f} | {r['ratio']:.2f} | {r['target']} | "
              f"{r['peak_rss_gib']:.2f} |")
    print()
    print("Data: fixture records replicated with fresh UUIDs (synthetic); see the docstring.")
    print("runs:", json.dumps(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
