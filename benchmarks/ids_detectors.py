"""Detector quality on the corrected CICIDS2017 sample (issue 3, item 6 targets).

Data: ../shared/data/cicids2017/improved_rnd5000 (43,419 flows, 16 labels, one CSV per
class). Identifiers are dropped, exact duplicates (features + label) removed, a stratified
70/15/15 split drawn with the seed, a RobustScaler fitted on the training rows. Each
supervised detector is fitted on train with validation rows for early stopping and
scored on test by macro-F1 over all 16 labels; the benign-only detectors are fitted on
benign training rows (validated on benign validation rows) and scored by binary ROC-AUC
on all test rows. The RandomForest (100 trees) is the anchor in the same run.

Targets: best macro-F1 >= 0.975 and >= the RandomForest's; autoencoder ROC-AUC >= 0.95.

Run::

    python benchmarks/ids_detectors.py                      # all detectors, seed 42
    python benchmarks/ids_detectors.py --detectors mlp,random_forest --n-jobs 2
    python benchmarks/ids_detectors.py --seeds 42,1,2     # spread over splits, medians
    python benchmarks/ids_detectors.py --params '{"mlp": {"dropout": 0.2}}' --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import IDENTIFIERS
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import RobustScaler

from riskscope.io.shared import shared_data_dir
from riskscope.models import BENIGN_ONLY, DETECTORS, load_detector, make_detector

TARGET_F1 = 0.975
TARGET_AUC = 0.95


def load_improved(folder: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """A tiny local loader for the corrected layout: features (float64) and labels.

    TODO: switch to riskscope.io.flows.read_flows once the ingest module lands.
    """
    files = sorted(folder.glob("*.csv"))
    if not files:
        sys.exit(f"error: no CSV files in {folder}")
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    labels = (
        frame["Label"]
        .astype(str)
        .str.strip()
        .str.replace("\ufffd", "-")
        .str.replace("\u2013", "-")
        .str.replace(r"\s+", " ", regex=True)
        .to_numpy(dtype=object)
    )
    features = frame.drop(columns=[*IDENTIFIERS, "Label"], errors="ignore").astype(np.float64)
    features = features.replace([np.inf, -np.inf], np.nan)
    keep = features.notna().all(axis=1).to_numpy()
    return features[keep].reset_index(drop=True), labels[keep]


def prepare(folder: Path, seed: int) -> dict:
    t0 = time.perf_counter()
    X, y = load_improved(folder)
    n_raw = len(X)
    dup = pd.concat([X, pd.Series(y, name="__label__")], axis=1).duplicated().to_numpy()
    X, y = X[~dup].reset_index(drop=True), y[~dup]
    # TODO: switch to riskscope.features.splits.stratified_split when it lands.
    idx = np.arange(len(y))
    train, rest = train_test_split(idx, test_size=0.30, stratify=y, random_state=seed)
    val, test = train_test_split(rest, test_size=0.50, stratify=y[rest], random_state=seed)
    constant = X.columns[X.iloc[train].nunique() <= 1]
    X = X.drop(columns=constant)
    scaler = RobustScaler().fit(X.iloc[train])
    Xs = pd.DataFrame(scaler.transform(X), columns=X.columns)
    return {
        "X": Xs,
        "y": y,
        "train": train,
        "val": val,
        "test": test,
        "n_raw": n_raw,
        "n_dedup": len(y),
        "n_constant_dropped": len(constant),
        "prep_s": time.perf_counter() - t0,
    }


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir())


def run_detector(name: str, data: dict, *, seed: int, n_jobs: int, params: dict) -> dict:
    X, y = data["X"], data["y"]
    tr, va, te = data["train"], data["val"], data["test"]
    det = make_detector(name, seed=seed, n_jobs=n_jobs, **params)
    t0 = time.perf_counter()
    det.fit(X.iloc[tr], y[tr], X_val=X.iloc[va], y_val=y[va])
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    proba = det.predict_proba(X.iloc[te])
    predict_s = time.perf_counter() - t0
    row: dict = {"detector": name, "fit_s": fit_s, "predict_s": predict_s}
    labels = np.unique(y)
    if name in BENIGN_ONLY:
        attack = y != "BENIGN"
        row["auc_test"] = roc_auc_score(attack[te], det.score_samples(X.iloc[te]))
        row["auc_val"] = roc_auc_score(attack[va], det.score_samples(X.iloc[va]))
    else:
        pred = det.classes_[proba.argmax(axis=1)]
        row["f1_test"] = f1_score(y[te], pred, labels=labels, average="macro", zero_division=0)
        pred_val = det.predict(X.iloc[va])
        row["f1_val"] = f1_score(y[va], pred_val, labels=labels, average="macro", zero_division=0)
        per_class = f1_score(y[te], pred, labels=labels, average=None, zero_division=0)
        row["weak_classes"] = {
            str(c): round(float(f), 3) for c, f in zip(labels, per_class, strict=True) if f < 0.99
        }
    for attr in ("best_epoch_", "n_epochs_", "best_iteration_"):
        if hasattr(det, attr):
            row[attr.rstrip("_")] = getattr(det, attr)
    folder = Path(tempfile.mkdtemp(prefix=f"ids_{name}_"))
    try:
        det.save(folder)
        row["size_kb"] = _dir_size(folder) / 1024
        t0 = time.perf_counter()
        back = load_detector(folder)
        row["load_s"] = time.perf_counter() - t0
        row["reload_identical"] = bool(np.array_equal(back.predict_proba(X.iloc[te]), proba))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return row


def markdown(rows: list[dict]) -> str:
    head = (
        "| detector | test macro-F1 | val macro-F1 | test ROC-AUC | fit s | predict s "
        "| model KiB | load s | reload identical | stopped at |"
    )
    lines = [head, "|" + "---|" * 10]

    def f(v, fmt):
        return "" if v is None else format(v, fmt)

    for r in rows:
        stop = r.get("best_epoch")
        stop = (
            f"epoch {stop}/{r['n_epochs']}"
            if stop is not None
            else (f"{r['best_iteration']} rounds" if "best_iteration" in r else "")
        )
        lines.append(
            f"| {r['detector']} | {f(r.get('f1_test'), '.4f')} | {f(r.get('f1_val'), '.4f')} "
            f"| {f(r.get('auc_test'), '.4f')} | {r['fit_s']:.1f} | {r['predict_s']:.2f} "
            f"| {r['size_kb']:.0f} | {r['load_s']:.2f} | {r['reload_identical']} | {stop} |"
        )
    return "\n".join(lines)


def verdicts(rows: list[dict]) -> list[str]:
    """The issue's targets, judged on one seed's rows."""
    out = []
    sup = [r for r in rows if "f1_test" in r]
    if sup:
        best = max(sup, key=lambda r: r["f1_test"])
        rf = next((r for r in sup if r["detector"] == "random_forest"), None)
        ok = best["f1_test"] >= TARGET_F1 and (rf is None or best["f1_test"] >= rf["f1_test"])
        out.append(
            f"best macro-F1 {best['f1_test']:.4f} ({best['detector']}) vs target {TARGET_F1}"
            + (f" and RF {rf['f1_test']:.4f}" if rf else "")
            + (": PASS" if ok and rf else (": FAIL" if not ok else ": (no RF anchor)"))
        )
    for r in rows:
        if r["detector"] == "autoencoder":
            ok = r["auc_test"] >= TARGET_AUC
            out.append(
                f"autoencoder ROC-AUC {r['auc_test']:.4f} vs target {TARGET_AUC}: "
                + ("PASS" if ok else "FAIL")
            )
    return out


def summary(rows: list[dict], seeds: list[int]) -> str:
    """Median (min-max) over seeds of each detector's test figure and fit time."""
    lines = [
        f"| detector | test figure, median over seeds {seeds} | min | max | fit s (median) |",
        "|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(r["detector"] for r in rows):
        mine = [r for r in rows if r["detector"] == name]
        key = "f1_test" if "f1_test" in mine[0] else "auc_test"
        vals = np.array([r[key] for r in mine])
        what = "macro-F1" if key == "f1_test" else "ROC-AUC"
        lines.append(
            f"| {name} | {what} {np.median(vals):.4f} | {vals.min():.4f} | {vals.max():.4f} "
            f"| {np.median([r['fit_s'] for r in mine]):.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="improved_rnd5000 folder")
    ap.add_argument("--detectors", default=",".join(DETECTORS))
    ap.add_argument(
        "--seeds",
        default="42",
        help="comma-separated split/model seeds; targets are judged on the first (42)",
    )
    ap.add_argument(
        "--n-jobs", type=int, default=1, help="threads per detector (1: no oversubscription)"
    )
    ap.add_argument("--params", default="{}", help="JSON: detector -> constructor arguments")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args(argv)

    folder = args.data
    if folder is None:
        shared = shared_data_dir()
        if shared is None:
            print("error: ../shared/data not found; pass --data", file=sys.stderr)
            return 1
        folder = shared / "cicids2017" / "improved_rnd5000"
    names = [n.strip() for n in args.detectors.split(",") if n.strip()]
    seeds = [int(s) for s in args.seeds.split(",")]
    overrides = json.loads(args.params)
    if "random_forest" not in names:
        print("note: the RandomForest anchor is not in this run; no target verdict.")

    all_rows: list[dict] = []
    for i, seed in enumerate(seeds):
        data = prepare(folder, seed)
        print(
            f"## seed {seed}: {data['n_raw']:,} flows -> {data['n_dedup']:,} after dedup; "
            f"split {len(data['train'])}/{len(data['val'])}/{len(data['test'])}; "
            f"{data['X'].shape[1]} features ({data['n_constant_dropped']} constant dropped); "
            f"n_jobs={args.n_jobs}; cpu_count={os.cpu_count()}; prep {data['prep_s']:.1f} s\n"
        )
        rows = []
        for name in names:
            row = run_detector(
                name, data, seed=seed, n_jobs=args.n_jobs, params=overrides.get(name, {})
            )
            row["seed"] = seed
            rows.append(row)
            print(f"done {name}: {json.dumps(row, default=float)}", file=sys.stderr, flush=True)
        print(markdown(rows))
        print("\n" + "\n".join(verdicts(rows)) + ("  <- the targets' run" if i == 0 else ""))
        print()
        all_rows.extend(rows)
    if len(seeds) > 1:
        print(summary(all_rows, seeds))
    if args.json:
        args.json.write_text(json.dumps(all_rows, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
