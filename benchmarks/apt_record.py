"""Record the APT scenario suite under strace: benign training runs, benign + attack tests.

Runs every kind of ``benchmarks/apt_scenarios`` ``--runs`` times per split in a
sandbox (``DIR/sandbox``, wiped between runs, with a fake HOME) through
:func:`riskscope.io.provenance.record.record`, and writes::

    DIR/train/<benign kind>/<run>.log            strace log (``.log.gz`` with --gzip)
    DIR/train/<benign kind>/<run>.truth.json     kind, attack, processes, files, ...
    DIR/test/<any kind>/<run>.log, .truth.json
    DIR/manifest.json                            counts, seed, machine, date, strace

The same ``--seed`` gives the same names, sizes, steps and order; ports (free ones from
the kernel), pids and timing differ from one recording to the next. Attack kinds are harmless:
loopback only, fake credentials, nothing outside the sandbox; every process a run
started is killed at its end.

Usage::

    nice -n 5 python benchmarks/apt_record.py --out /tmp/apt-suite [--runs 20] [--seed 0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

from _common import machine
from apt_scenarios import ATTACKS, BENIGN, KINDS, Context
from apt_scenarios.common import TOOLS

from riskscope.io.provenance.record import record, strace_version

SPLITS = {"train": BENIGN, "test": BENIGN + ATTACKS}


def record_run(ctx: Context, kind: str, log: Path, *, timeout: float, seed: int, split: str,
               run: int) -> dict:
    """Plan, record and clean up one run; return its truth record."""
    plan_fn, _ = KINDS[kind]
    try:
        plan = plan_fn(ctx)
        run_sh = ctx.write(ctx.root / "run.sh", plan.script)
        command = ["/bin/sh", str(run_sh)]
        res = record(command, log, env=ctx.env(), cwd=ctx.work, timeout=timeout, quiet=True)
        if plan.attack:
            ctx.wait_infra(2.0)
    finally:
        ctx.close()
    return {
        "kind": kind, "attack": plan.attack, "split": split, "run": run, "seed": seed,
        "processes": plan.processes, "markers": plan.markers, "files": plan.files,
        "netflows": plan.netflows, "descendants": True, "command": command,
        "script": plan.script, "sandbox": str(ctx.root), "notes": plan.notes,
        "returncode": res.returncode, "timed_out": res.timed_out, "seconds": res.seconds,
        "lines": res.lines, "bytes": res.bytes,
    }  # fmt: skip


def _gzip(path: Path, level: int = 6) -> Path:
    out = path.with_name(path.name + ".gz")
    # mtime=0: the same log gives the same bytes (bundled files are checked by sha256)
    with open(path, "rb") as src, gzip.GzipFile(out, "wb", compresslevel=level,
                                                 mtime=0) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    path.unlink()
    return out


def _write_card(folder: Path, name: str, manifest: dict) -> None:
    """card.json of a bundled dataset (see riskscope.datasets), from the run truths."""
    files = sorted(p for p in folder.iterdir() if p.name != "card.json")
    truths = [json.loads(p.read_text()) for p in files if p.name.endswith(".truth.json")]
    kinds: dict[str, int] = {}
    for t in truths:
        kinds[f"{t['split']}/{t['kind']}"] = kinds.get(f"{t['split']}/{t['kind']}", 0) + 1
    card = {
        "name": name,
        "title": "Recorded strace provenance logs: benign work and two harmless attacks",
        "description": "strace -f -ttt -yy -s 256 logs (gzip) of scenario runs recorded in a "
                       "sandbox with a fake HOME: benign training runs and a test split with "
                       "a drive-by download and a reverse shell (loopback only, fake "
                       "credentials), each with its ground-truth JSON.",
        "source": {"recorded": "on this project's development machine with "
                               "benchmarks/apt_record.py", "command": manifest["command"],
                   "upstream": "none: recorded here"},
        "licence": "Apache-2.0 (riskscope's own recordings)",
        "citation": "riskscope developers, recorded APT scenario suite "
                    "(benchmarks/apt_scenarios), " + manifest["date"] + ".",
        "label_column": "attack",
        "label_counts": {"attack": sum(t["attack"] for t in truths),
                         "benign": sum(not t["attack"] for t in truths)},
        "kinds": kinds,
        "columns": {"truth": ["kind", "attack", "processes", "markers", "files", "netflows",
                              "command"]},
        "lines": manifest["log_lines"], "bytes": sum(p.stat().st_size for p in files),
        "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files},
        "built_by": "benchmarks/apt_record.py",
        "recorded": {k: manifest[k] for k in ("date", "machine", "strace_version", "seed")},
        "notes": [
            "Read a log with riskscope.io.provenance.strace.read (gzip is transparent) and "
            "label it with riskscope.io.provenance.scenario.label_graph(graph, "
            "read_truth(truth_path)).",
            "Paths in the logs and truths are those of the recording sandbox; the "
            "credentials, hosts and ports are fake or loopback.",
            "Runs of one kind differ by seed: names, sizes, order and timing.",
        ],
    }  # fmt: skip
    (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=20, help="runs per kind and split")
    ap.add_argument("--test-runs", type=int, default=None,
                    help="runs per kind in the test split (default: --runs)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kinds", default="", help="comma-separated subset of kinds")
    ap.add_argument("--splits", default="train,test")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per run")
    ap.add_argument("--gzip", action="store_true", help="compress each log (.log.gz)")
    ap.add_argument("--sandbox", type=Path, default=None,
                    help="where runs work (wiped between runs; default OUT/sandbox)")
    ap.add_argument("--keep-sandbox", action="store_true")
    ap.add_argument("--bundle", metavar="NAME", default="",
                    help="write a bundled dataset: flat file names SPLIT-KIND-RUN.log.gz, "
                         "truth JSON and card.json (riskscope.datasets)")
    args = ap.parse_args(argv)
    missing = [t for t in TOOLS if shutil.which(t, path="/usr/local/bin:/usr/bin:/bin") is None]
    if missing or shutil.which("strace") is None:
        sys.exit(f"error: the scenarios need {', '.join(missing or ['strace'])} on PATH; "
                 "install them (Debian: apt-get install strace curl gcc make git).")
    only = set(filter(None, args.kinds.split(",")))
    unknown = only - set(KINDS)
    if unknown:
        sys.exit(f"error: unknown kinds {sorted(unknown)}; choose from {list(KINDS)}")
    out = args.out.resolve()
    sandbox = (args.sandbox or out / "sandbox").resolve()
    flat = bool(args.bundle)
    if flat:
        args.gzip = True
    t0 = time.perf_counter()
    counts: dict[str, dict[str, int]] = {}
    failures: list[str] = []
    totals = {"bytes": 0, "lines": 0}
    for split in args.splits.split(","):
        for kind in SPLITS[split]:
            if only and kind not in only:
                continue
            folder = out if flat else out / split / kind
            folder.mkdir(parents=True, exist_ok=True)
            n_runs = args.runs if split == "train" or args.test_runs is None else args.test_runs
            for run in range(n_runs):
                rng = random.Random(f"{args.seed}/{split}/{kind}/{run}")
                stem = f"{split}-{kind}-{run:03d}" if flat else f"{run:03d}"
                log = folder / f"{stem}.log"
                try:
                    truth = record_run(Context(sandbox, rng), kind, log, timeout=args.timeout,
                                       seed=args.seed, split=split, run=run)
                except Exception as exc:  # one broken run must not lose the suite
                    failures.append(f"{split}/{kind}/{run:03d}: {type(exc).__name__}: {exc}")
                    print("FAILED", failures[-1], file=sys.stderr)
                    continue
                if args.gzip:
                    log = _gzip(log, level=9 if flat else 6)
                truth["log"] = log.name
                (folder / f"{stem}.truth.json").write_text(json.dumps(truth, indent=1))
                counts.setdefault(split, {}).setdefault(kind, 0)
                counts[split][kind] += 1
                totals["bytes"] += log.stat().st_size
                totals["lines"] += truth["lines"]
                print(f"{split}/{kind}/{run:03d}: {truth['lines']} lines, "
                      f"{truth['seconds']:.2f} s, rc {truth['returncode']}", flush=True)
    if not args.keep_sandbox:
        shutil.rmtree(sandbox, ignore_errors=True)
    manifest = {
        "command": "python benchmarks/apt_record.py " + " ".join(argv or sys.argv[1:]),
        "seed": args.seed, "runs_per_kind": args.runs, "counts": counts,
        "benign_kinds": list(BENIGN), "attack_kinds": list(ATTACKS),
        "machine": machine(), "date": dt.date.today().isoformat(),
        "strace_version": strace_version(), "seconds": round(time.perf_counter() - t0, 1),
        "log_bytes": totals["bytes"], "log_lines": totals["lines"], "gzip": args.gzip,
        "failures": failures, "load_avg_end": os.getloadavg()[0],
    }  # fmt: skip
    if args.bundle:
        _write_card(out, args.bundle, manifest)
    else:
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(json.dumps({k: manifest[k] for k in ("counts", "seconds", "log_bytes", "log_lines",
                                                "failures")}))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
