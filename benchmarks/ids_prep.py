"""Benchmark: the reference notebook's data preparation against ours, in the same run.

Both sides do the notebook's steps on the same CSV folder (MachineLearningCVE layout, from
``make_cicids_full.py``; "bootstrap-expanded real sample"):

load (+ downcast) -> labels (binary, 8-group taxonomy) -> correlation of the 30
highest-variance features -> constant features -> stratified 70/15/15 split (seed 42) ->
RobustScaler fitted on train -> SMOTE-ENN on the binary training split -> random
over-sampling of every group below 5,000 flows -> write splits, mapping, scaler, features.

* ``notebook``: the seed notebook's code (pandas, scikit-learn, imbalanced-learn's
  SMOTEENN and RandomOverSampler, joblib), transcribed cell by cell.
* ``ours``: riskscope's components (read_flows with dedup and label repair,
  stratified_split, LabelTaxonomy, FlowPreprocessor with the label-aware correlation
  filter, our SMOTE-ENN, random over-sampling; Parquet and JSON out).

Each side runs in a fresh child process (wall time and peak RSS of that process). Ours
also reports ``cpu_seconds`` and a per-step breakdown, ``steps`` (wall) and ``cpu_steps``
(process CPU: both threads), printed with each run.

Usage::

    python benchmarks/make_cicids_full.py --out /tmp/rs-200k --scale 0.0706531
    python benchmarks/ids_prep.py --data /tmp/rs-200k/csv --repeats 3
    python benchmarks/ids_prep.py --data /tmp/riskscope-bench/csv --no-anchor   # 2.83M rows
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, run_child  # noqa: E402


def run_ours(data: Path, out: Path, smoteenn: bool) -> dict:
    import numpy as np
    import orjson
    import pandas as pd

    # The two modules riskscope imports lazily on first use are imported here too, as the
    # notebook side imports its libraries before its clock starts. Only imported: numba
    # compiles (or loads from its cache) nothing before a kernel's first call, still timed.
    import riskscope.features.pruning  # noqa: F401 - FlowPreprocessor.fit's filters
    import riskscope.sampling._knn_kernels  # noqa: F401 - numba kernels of the samplers
    from riskscope.features.labels import LabelTaxonomy, binary_labels
    from riskscope.features.preprocess import FlowPreprocessor
    from riskscope.features.splits import stratified_split
    from riskscope.io.flows import read_flows
    from riskscope.report.atomic import write_parquet
    from riskscope.sampling import make_sampler

    steps: dict[str, float] = {}  # per-step breakdown for the JSON: wall and CPU seconds
    cpu_steps: dict[str, float] = {}
    c0, t0 = time.process_time(), time.perf_counter()
    last = [t0, c0]

    def mark(step: str) -> None:
        now = [time.perf_counter(), time.process_time()]
        steps[step] = round(now[0] - last[0], 4)
        cpu_steps[step] = round(now[1] - last[1], 4)
        last[:] = now

    flows = read_flows(data)
    mark("read_flows")
    y = flows.frame[flows.label_column].to_numpy()
    sp = stratified_split(y, seed=42)
    mark("split")
    tax = LabelTaxonomy().fit(y[sp.train])
    group = np.asarray(tax.transform(y), dtype=object)
    yb = binary_labels(y)
    mark("labels")
    X = flows.X
    rows = {p: getattr(sp, p) for p in ("train", "val", "test")}
    X_train = X.iloc[rows["train"]]
    pre = FlowPreprocessor(seed=42).fit(X_train, group[rows["train"]])
    mark("prune_scale_fit")
    parts = {p: pre.transform(X_train if p == "train" else X.iloc[r]) for p, r in rows.items()}
    mark("transform")
    t_prep = time.perf_counter() - t0
    xb, ybb = parts["train"].to_numpy(np.float32), yb[rows["train"]]
    t1 = time.perf_counter()
    if smoteenn:
        xb, ybb = make_sampler("smoteenn", seed=42).fit_resample(xb, ybb)
    t_smoteenn = time.perf_counter() - t1
    mark("smoteenn")
    names, gm = np.unique(group[rows["train"]].astype(str), return_inverse=True)
    xm, ym = make_sampler("random_over", seed=42, floor=5000).fit_resample(
        parts["train"].to_numpy(np.float32), gm)
    mark("random_over")
    cols = list(parts["train"].columns)
    tables = {"binary_train": pd.DataFrame(xb, columns=cols).assign(y=ybb),
              "multi_train": pd.DataFrame(xm, columns=cols).assign(y=ym)}
    for p in ("val", "test"):
        r = rows[p]
        tables[p] = parts[p].assign(y_binary=yb[r], y_group=group[r].astype(str))
    mark("tables")
    with ThreadPoolExecutor(max_workers=2) as pool:  # as the ids-prep pipeline writes
        list(pool.map(lambda kv: write_parquet(kv[1], out / f"{kv[0]}.parquet"),
                      tables.items()))
    (out / "preprocessor.json").write_bytes(orjson.dumps(pre.to_dict()))
    (out / "labels.json").write_bytes(orjson.dumps({"taxonomy": tax.to_dict(),
                                                    "groups": names.tolist()}))
    mark("write")
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "steps": steps, "cpu_steps": cpu_steps, "prep_seconds": t_prep,
            "smoteenn_seconds": t_smoteenn, "rows_in": flows.report.rows_read,
            "rows_out": len(flows.frame), "binary_train_rows": len(ybb),
            "multi_train_rows": len(ym), "features_kept": len(cols)}


def run_notebook(data: Path, out: Path, smoteenn: bool) -> dict:
    """The seed notebook's cells 2-8 (plots left out on both sides)."""
    import joblib
    import numpy as np
    import pandas as pd
    from imblearn.combine import SMOTEENN
    from imblearn.over_sampling import RandomOverSampler
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import RobustScaler

    t0 = time.perf_counter()
    files = sorted(data.glob("*.csv"))
    sample = pd.read_csv(files[0], nrows=10000)
    dtypes = {c: "float32" for c in sample.select_dtypes(include=["float64"]).columns}
    dtypes.update({c: "int32" for c in sample.select_dtypes(include=["int64"]).columns})
    chunks = []
    for f in files:
        chunks.extend(pd.read_csv(f, chunksize=500000, dtype=dtypes))
    df = pd.concat(chunks, ignore_index=True)
    df.columns = df.columns.str.strip()  # the merged file the notebook read had clean names
    df = df.replace([np.inf, -np.inf], np.nan).dropna()  # its "preprocessed" input had none
    df["Label"] = df["Label"].str.upper()
    label_counts = df["Label"].value_counts()
    df["binary_label"] = (df["Label"] != "BENIGN").astype(int)
    attack_counts = label_counts[label_counts.index != "BENIGN"]
    rare = set(attack_counts[attack_counts < 1000].index)

    def group(label: str) -> str:
        if label == "BENIGN":
            return "Normal"
        if label in rare:
            return "Other Attacks"
        if "DOS" in label:
            return "DOS"
        if "WEB ATTACK" in label:
            return "Web Attack"
        return label

    df["multiclass_label"] = df["Label"].map(group)
    mapping = {lab: i for i, lab in enumerate(df["multiclass_label"].unique())}
    df["multiclass_encoded"] = df["multiclass_label"].map(mapping)
    joblib.dump(mapping, out / "label_mapping.joblib")
    X = df.drop(columns=["Label", "binary_label", "multiclass_label", "multiclass_encoded"])
    y_binary, y_multi = df["binary_label"], df["multiclass_encoded"]
    numeric = X.select_dtypes(include=["float32", "float64", "int32", "int64"]).columns
    top = X[numeric].var().sort_values(ascending=False).index[:30].tolist()
    corr = X[top].corr()
    _pairs = [(a, b) for i, a in enumerate(top) for b in top[i + 1:] if abs(corr.loc[a, b]) > 0.9]
    const = [c for c in X.columns if X[c].nunique() <= 1]
    _near = [c for c in X.columns if 1 < X[c].nunique() <= 2]
    X = X.drop(columns=const)
    X_train, X_temp, yb_train, yb_temp, ym_train, ym_temp = train_test_split(
        X, y_binary, y_multi, test_size=0.3, stratify=y_multi, random_state=42)
    X_val, X_test, yb_val, yb_test, ym_val, ym_test = train_test_split(
        X_temp, yb_temp, ym_temp, test_size=0.5, stratify=ym_temp, random_state=42)
    scaler = RobustScaler()
    X_train_s = pd.DataFrame(scaler.fit_transform(X_train), columns=X.columns)
    X_val_s = pd.DataFrame(scaler.transform(X_val), columns=X.columns)
    X_test_s = pd.DataFrame(scaler.transform(X_test), columns=X.columns)
    joblib.dump(scaler, out / "robust_scaler.joblib")
    t_prep = time.perf_counter() - t0
    t1 = time.perf_counter()
    xb, ybb = X_train_s, yb_train
    if smoteenn:
        xb, ybb = SMOTEENN(random_state=42).fit_resample(X_train_s, yb_train)
    t_smoteenn = time.perf_counter() - t1
    counts = ym_train.value_counts()
    strategy = {c: 5000 for c, n in counts.items() if n < 5000}
    xm, ym = RandomOverSampler(sampling_strategy=strategy, random_state=42).fit_resample(
        X_train_s, ym_train)
    joblib.dump({"X": xb, "y": ybb}, out / "binary_train_balanced.joblib")
    joblib.dump({"X": X_val_s, "y": yb_val}, out / "binary_val.joblib")
    joblib.dump({"X": X_test_s, "y": yb_test}, out / "binary_test.joblib")
    joblib.dump({"X": xm, "y": ym}, out / "multi_train_balanced.joblib")
    joblib.dump({"X": X_val_s, "y": ym_val}, out / "multi_val.joblib")
    joblib.dump({"X": X_test_s, "y": ym_test}, out / "multi_test.joblib")
    joblib.dump(list(X.columns), out / "feature_list.joblib")
    return {"seconds": time.perf_counter() - t0, "prep_seconds": t_prep,
            "smoteenn_seconds": t_smoteenn, "rows_in": len(df), "rows_out": len(df),
            "binary_train_rows": len(ybb), "multi_train_rows": len(ym),
            "features_kept": X.shape[1]}


def child(which: str, data: Path, smoteenn: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fn = run_ours if which == "ours" else run_notebook
        res = fn(data, Path(tmp), smoteenn)
    res["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps(res))


def measure(which: str, data: Path, smoteenn: bool) -> dict:
    args = ["--child", which, "--data", str(data)]
    return run_child(__file__, args if smoteenn else [*args, "--no-smoteenn"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="folder of CSV files")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--anchor-repeats", type=int, default=1,
                    help="runs of the notebook's procedure (SMOTEENN makes it slow)")
    ap.add_argument("--no-anchor", action="store_true")
    ap.add_argument("--no-smoteenn", action="store_true", help="skip SMOTE-ENN on both sides")
    ap.add_argument("--child", choices=("ours", "notebook"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    smoteenn = not args.no_smoteenn
    if args.child:
        child(args.child, args.data, smoteenn)
        return 0
    ours = [measure("ours", args.data, smoteenn) for _ in range(args.repeats)]
    for r in ours:
        print("ours", json.dumps(r), file=sys.stderr)
    med = statistics.median(r["seconds"] for r in ours)
    rss = max(r["peak_rss_gib"] for r in ours)
    row = (f"| `python benchmarks/ids_prep.py --data {args.data}` | {machine()} | "
           f"{dt.date.today()} | ours median {med:.1f} s (n={len(ours)}), "
           f"peak RSS {rss:.2f} GiB, rows in {ours[0]['rows_in']:,}")
    if not args.no_anchor:
        nb = [measure("notebook", args.data, smoteenn) for _ in range(args.anchor_repeats)]
        for r in nb:
            print("notebook", json.dumps(r), file=sys.stderr)
        nmed = statistics.median(r["seconds"] for r in nb)
        row += (f" | notebook median {nmed:.1f} s (n={len(nb)}), peak RSS "
                f"{max(r['peak_rss_gib'] for r in nb):.2f} GiB | ratio {nmed / med:.1f}x |")
    else:
        row += " | no anchor | |"
    print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
