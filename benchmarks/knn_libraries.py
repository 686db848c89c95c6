"""Neighbour search for ENN: riskscope's compiled kd-tree against library kd-trees, one run.

Why riskscope carries its own exact neighbour search (the house rule: write your own only
where a benchmark shows the libraries are too slow). Data: the SMOTE output of
``benchmarks/smoteenn.py``'s training set (bootstrap-expanded real CICIDS2017 flows,
200,000 x 70 before SMOTE, 320,000 after). Measured, median of ``--runs``:

* scipy ``cKDTree`` (C++, ``workers`` = every core): build + all-rows 4-NN (each row's 3
  neighbours plus itself), which is what ENN needs;
* pykdtree (C, OpenMP), the same query, when installed (it is not a riskscope dependency);
* riskscope ``kneighbors_within(X, 3)``: the same exact 3-NN;
* riskscope ``edited_keep_mask``: ENN's answer itself (rows no other class can reach are
  certified, whole leaves at a time, and never searched).

    python benchmarks/knn_libraries.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402
from smoteenn import build_data  # noqa: E402


def timed(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main(argv: list[str] | None = None) -> None:
    from riskscope.sampling import SMOTE
    from riskscope.sampling._neighbors import edited_keep_mask, kneighbors_within

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    X0, y0, *_ = build_data(args.rows, args.rows // 4, 70, 0.2, 42)
    X, y = SMOTE(random_state=42).fit_resample(X0, y0)
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    # warm-up: the compiled kernels load from numba's cache once per process
    kneighbors_within(X[:2000], 3)
    edited_keep_mask(X[:2000], y[:2000], np.array([True, True]), 3, "all")
    rows = []

    from scipy.spatial import cKDTree

    def scipy_knn():
        cKDTree(X).query(X, k=4, workers=cores)

    rows.append(("scipy cKDTree, build + all-rows 4-NN", *timed(scipy_knn, args.runs)))
    try:
        from pykdtree.kdtree import KDTree as PyKDTree
    except ImportError:
        PyKDTree = None
    if PyKDTree is not None:
        rows.append(("pykdtree, build + all-rows 4-NN",
                     *timed(lambda: PyKDTree(X).query(X, k=4), args.runs)))
    rows.append(("riskscope kneighbors_within (exact 3-NN of every row)",
                 *timed(lambda: kneighbors_within(X, 3), args.runs)))
    stats: dict = {}
    rows.append(("riskscope edited_keep_mask (ENN's answer)",
                 *timed(lambda: edited_keep_mask(X, y, np.array([True, True]), 3, "all",
                                                 stats=stats), args.runs)))
    print(f"{machine()}; {dt.date.today().isoformat()}; {len(X):,} x {X.shape[1]}; "
          f"load {load:.2f} -> {os.getloadavg()[0]:.2f}")
    print(f"ENN: {stats}")
    print("| neighbour search | median | runs |")
    print("|---|---|---|")
    for name, med, times in rows:
        print(f"| {name} | {med:.2f} s | {', '.join(f'{t:.2f}' for t in times)} |")


if __name__ == "__main__":
    main()
