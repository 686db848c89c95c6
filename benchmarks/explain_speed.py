"""Per-record explanation latency (explain issue targets: TreeSHAP p95 < 20 ms per record).

TreeSHAP: exact per-feature contributions of one record, computed one record at a time
(as an analyst opening one decision would), by

* ours: the booster's own TreeSHAP (LightGBM ``pred_contrib``, XGBoost ``pred_contribs``),
  what :func:`riskscope.explain.alert_facts.tree_contributions` calls;
* anchor: ``shap.TreeExplainer(booster).shap_values(row)`` with the explainer built once.

Models: LightGBM multiclass on the bundled CICIDS2017 excerpt (ids), XGBoost binary on
German credit one-hot (credit). Both sides must agree (max abs difference reported).

Template report (target p95 < 50 ms per record): for one German credit applicant at a
time, the fact table (scorecard, Regulation B method 2 reasons), the template narrative
and the checker's pass over it -- everything ``explain credit`` does per decision before
writing files. No anchor tool writes grounded reports, so the figure stands alone.

    python benchmarks/explain_speed.py [--records 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from types import SimpleNamespace

import numpy as np
from _common import machine


def _lightgbm_ids(seed: int):
    import lightgbm as lgb

    from riskscope.datasets import load_cicids2017_excerpt
    from riskscope.io.flows import read_flows  # noqa: F401 - same reading rules as ids

    df = load_cicids2017_excerpt()
    y = df["Label"].astype("category").cat.codes.to_numpy()
    X = df.select_dtypes("number").replace([np.inf, -np.inf], np.nan).fillna(0)
    X = X.drop(columns=[c for c in X.columns if "Port" in c or c == "id"], errors="ignore")
    params = {"objective": "multiclass", "num_class": int(y.max()) + 1, "num_leaves": 31,
              "verbose": -1, "seed": seed, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(X.to_numpy(np.float64), y), num_boost_round=100)
    return booster, X.to_numpy(np.float64)


def _xgboost_credit(seed: int):
    import pandas as pd
    import xgboost as xgb

    from riskscope.datasets import load_german_credit

    df = load_german_credit()
    y = (df["class"].astype(str) == "bad").astype(int).to_numpy()
    X = pd.get_dummies(df.drop(columns=["class"]), dtype=float).to_numpy(np.float64)
    booster = xgb.train({"max_depth": 4, "eta": 0.1, "seed": seed, "nthread": 1},
                        xgb.DMatrix(X, y), num_boost_round=200)
    return booster, X


def _ours(booster, row: np.ndarray) -> np.ndarray:
    """What the fact builders call: (rows, classes, features + 1) flattened per row."""
    from riskscope.explain.alert_facts import tree_contributions

    phi = tree_contributions(SimpleNamespace(booster_=booster), row)
    return phi.reshape(len(row), -1)


def _latencies(fn, rows: np.ndarray) -> list[float]:
    out = []
    for i in range(len(rows)):
        t = time.perf_counter()
        fn(rows[i : i + 1])
        out.append((time.perf_counter() - t) * 1e3)
    return out


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def bench_shap(records: int, repeats: int, seed: int) -> list[dict]:
    import shap

    results = []
    for name, make in (("ids LightGBM, 12 classes", _lightgbm_ids),
                       ("credit XGBoost, binary", _xgboost_credit)):
        booster, X = make(seed)
        rows = X[np.random.default_rng(seed).choice(len(X), min(records, len(X)),
                                                    replace=False)]
        explainer = shap.TreeExplainer(booster)
        ours_p95, theirs_p95, ours_p50, theirs_p50 = [], [], [], []
        for _ in range(repeats):
            a = _latencies(lambda r, b=booster: _ours(b, r), rows)
            b = _latencies(explainer.shap_values, rows)
            ours_p95.append(_p(a, 95))
            theirs_p95.append(_p(b, 95))
            ours_p50.append(_p(a, 50))
            theirs_p50.append(_p(b, 50))
        # agreement on a few rows: shap returns per class (n, f, k) or (n, f)
        mine = _ours(booster, rows[:20])
        ref = np.asarray(explainer.shap_values(rows[:20]))
        f = X.shape[1]
        if mine.shape[1] > f + 1:  # LightGBM multiclass: (n, k*(f+1))
            mine = mine.reshape(len(mine), -1, f + 1)[:, :, :f].transpose(0, 2, 1)
        else:
            mine = mine[:, :f]
        diff = float(np.max(np.abs(mine - ref.reshape(mine.shape))))
        results.append({"model": name, "records": len(rows), "repeats": repeats,
                        "ours_p50_ms": statistics.median(ours_p50),
                        "ours_p95_ms": statistics.median(ours_p95),
                        "shap_p50_ms": statistics.median(theirs_p50),
                        "shap_p95_ms": statistics.median(theirs_p95),
                        "max_abs_diff": diff})
    return results


def bench_template(records: int, repeats: int) -> dict:
    from riskscope.datasets import load_german_credit
    from riskscope.evaluation.cutoff import choose_cutoff
    from riskscope.explain.checker import check
    from riskscope.explain.credit_facts import credit_fact_table
    from riskscope.explain.narrate import TemplateNarrator
    from riskscope.explain.reasons import ReasonCoder
    from riskscope.pipelines.credit_score import CreditModel
    from riskscope.scorecard import Scorecard

    df = load_german_credit()
    X = df.drop(columns="class")
    y = (df["class"] == "bad").astype(int).to_numpy()
    card = Scorecard().fit(X, y)
    model = CreditModel.build(card, choose_cutoff(y, card.predict_proba(X)[:, 1]), X,
                              categorical=[c for c in X.columns
                                           if X[c].dtype.name == "category"], meta={})
    X.index = np.arange(1, len(X) + 1)
    coder = ReasonCoder(model=model, method="reg_b_cutoff").fit(X)
    narrator = TemplateNarrator()
    ids = list(X.index[: min(records, len(X))])
    p50, p95, facts_p95 = [], [], []
    for _ in range(repeats):
        total, facts_only = [], []
        for i in ids:
            t0 = time.perf_counter()
            facts = credit_fact_table(model, X.loc[[i]], applicant_id=i, reasons=coder,
                                      top_n=8)
            t1 = time.perf_counter()
            n = narrator.narrate(facts)
            assert check(n.text, facts).ok
            total.append((time.perf_counter() - t0) * 1e3)
            facts_only.append((t1 - t0) * 1e3)
        p50.append(_p(total, 50))
        p95.append(_p(total, 95))
        facts_p95.append(_p(facts_only, 95))
    return {"records": len(ids), "repeats": repeats, "p50_ms": statistics.median(p50),
            "p95_ms": statistics.median(p95), "facts_p95_ms": statistics.median(facts_p95)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    res = bench_shap(args.records, args.repeats, args.seed)
    tpl = bench_template(args.records, args.repeats)
    for r in [*res, tpl]:
        print(json.dumps(r))
    print(f"\n{machine()}, {dt.date.today()}")
    print("| model | ours p50 / p95 (ms) | shap.TreeExplainer p50 / p95 (ms) | p95 ratio | "
          "max abs diff |")
    print("|---|---|---|---|---|")
    for r in res:
        print(f"| {r['model']} | {r['ours_p50_ms']:.2f} / {r['ours_p95_ms']:.2f} | "
              f"{r['shap_p50_ms']:.2f} / {r['shap_p95_ms']:.2f} | "
              f"{r['shap_p95_ms'] / r['ours_p95_ms']:.1f}x | {r['max_abs_diff']:.1e} |")
    print(f"\ntemplate report per German credit applicant ({tpl['records']} records, median "
          f"of {tpl['repeats']}): p50 {tpl['p50_ms']:.1f} ms, p95 {tpl['p95_ms']:.1f} ms "
          f"(of which the fact table p95 {tpl['facts_p95_ms']:.1f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
