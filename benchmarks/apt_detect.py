"""Benchmark: end-to-end apt detection speed with a trained model, in events per second.

End to end means what ``riskscope apt detect`` does per log
(:func:`riskscope.pipelines.apt.detect_logs`): parse (strace here), prune, Word2Vec +
RoPE encoding, GraphSAGE, LightGBM, alerts. The model is trained once on the suite's
benign training runs (not timed); then every test log is detected ``--repeats`` times.
Events are the parsed graph's edges before pruning. The anchor in the same run is
parsing alone (the least any detector reading these logs must do), so the row also says
how much of the time the detector itself adds. Target: >= 100k events/s on 2 cores.

Usage::

    python benchmarks/apt_record.py --out /tmp/apt-suite          # the recorded suite
    python benchmarks/apt_detect.py --data /tmp/apt-suite [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

from _common import machine


def _logs(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*/*.log"), *folder.glob("*/*.log.gz")])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="suite folder (train/, test/)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from riskscope.graph.model import AptDetector
    from riskscope.io.provenance import read_provenance
    from riskscope.pipelines.apt import _split_graphs, detect_logs, load_graphs

    train = load_graphs([str(args.data / "train")])
    tr, va = _split_graphs(train, 0.2, args.seed)
    t0 = time.perf_counter()
    det = AptDetector(seed=args.seed).fit([g.graph for g in tr], [g.graph for g in va])
    fit_s = time.perf_counter() - t0
    logs = _logs(args.data / "test")
    if not logs:
        sys.exit(f"error: no test logs under {args.data / 'test'}")

    def parse_only() -> int:
        return sum(g.n_edges for f in logs for g in read_provenance(f, format="strace"))

    def detect() -> tuple[int, int]:
        pairs = detect_logs(det, [str(args.data / "test")], format="strace")
        return sum(lg.graph.n_edges for lg, _ in pairs), sum(r.n_alerts for _, r in pairs)

    parse_only()
    detect()  # warm-up: imports, caches
    p_times, d_times = [], []
    for _ in range(args.repeats):  # interleaved, so a busy spell hits both
        t = time.perf_counter()
        events = parse_only()
        p_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        ev2, alerts = detect()
        d_times.append(time.perf_counter() - t)
    assert ev2 == events
    pm, dm = statistics.median(p_times), statistics.median(d_times)
    print(f"# {len(logs)} test logs, {events:,} events; model fitted in {fit_s:.1f} s on "
          f"{len(tr)} + {len(va)} benign graphs; {alerts} alerts; prediction early "
          f"stopping margin {det.detector_.early_stop_margin_}", file=sys.stderr)
    print(f"| `python benchmarks/apt_detect.py --data {args.data}` | {machine()} | "
          f"{dt.date.today()} | end to end median {dm:.2f} s = {events / dm:,.0f} events/s "
          f"(n={args.repeats}) | parse only (anchor) {pm:.2f} s = {events / pm:,.0f} "
          f"events/s | {dm / pm:.2f}x parsing |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
