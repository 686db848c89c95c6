"""The report of an ids run, built from the pipeline's state.

Sections follow the pipeline: summary, data, ingest, split, labels, pruning,
rebalancing, the detector x rebalancing comparison, the chosen detector on the test
split, the benign-only detector, held-out attack families, and the saved model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskscope.io.profile import profile_frame
from riskscope.report.html import Report
from riskscope.report.sections import add_profile_section

__all__ = ["build_ids_report"]

_HONESTY = (
    "Exact duplicates were removed before the split. Pruning, scaling, the label taxonomy "
    "and every sampler were fitted on the training split only. The detector and its alert "
    "threshold were chosen on the validation split; the test split was only scored, once."
)


def _counts_frame(d: dict[str, Any], name: str) -> pd.DataFrame:
    return pd.DataFrame({"class": list(d), name: list(d.values())})


def _summary(rep: Report, s: dict[str, Any]) -> None:
    m = s["run"].metrics
    sec = rep.section("Summary", intro=_HONESTY)
    kv = {
        "flows after ingest": m.get("rows"),
        "duplicates removed": m.get("duplicates_removed"),
        "train / validation / test rows": f"{m.get('train_rows'):,} / {m.get('val_rows'):,} / "
                                          f"{m.get('test_rows'):,}",
        "target": f"{s['config'].target} ({len(s['classes'])} classes)",
        "chosen detector": f"{m.get('best_detector')} after {m.get('best_balance')} "
                           "(best validation macro-F1)",
        "test macro-F1": m.get("test_macro_f1"),
    }
    ci = m.get("test_macro_f1_ci95")
    if ci:
        kv["test macro-F1, 95% bootstrap interval"] = f"{ci[0]:.4f} to {ci[1]:.4f}"
    if "binary_roc_auc" in m:
        kv["attack vs benign ROC-AUC (test)"] = m["binary_roc_auc"]
        kv["alert threshold (validation, best F1)"] = m.get("alert_threshold")
        kv["test recall / FPR at that threshold"] = (
            f"{m.get('binary_test_recall_at_threshold', float('nan')):.4f} / "
            f"{m.get('binary_test_fpr_at_threshold', float('nan')):.4f}")
    if "benign_only_roc_auc" in m:
        kv["benign-only detector ROC-AUC (test)"] = m["benign_only_roc_auc"]
    sec.kv(kv)


def _ingest(rep: Report, s: dict[str, Any]) -> None:
    ing = s["ingest"]
    sec = rep.section("Ingest", intro=(
        "Files read, their layout, how infinite and missing values were treated, label "
        "spellings repaired, and exact duplicates removed per class."))
    files = pd.DataFrame(ing.get("files", []))
    if not files.empty:
        sec.table(files, caption="Files")
    sec.kv({"policies": ing.get("policies", {}), "rows read": ing.get("rows_read"),
            "rows kept": ing.get("rows_out"), "duplicate rows removed": ing.get("duplicate_rows"),
            "conflicting duplicates": ing.get("conflicting_duplicates")})
    infs, nans = ing.get("inf_counts", {}), ing.get("nan_counts", {})
    bad = {c: {"inf": infs.get(c, 0), "nan": nans.get(c, 0)} for c in set(infs) | set(nans)}
    if bad:
        sec.table(pd.DataFrame(bad).T.rename_axis("column").sort_index(),
                  caption="Infinite and missing values per column, before the policy")
    if ing.get("duplicates_by_class"):
        sec.table(_counts_frame(ing["duplicates_by_class"], "duplicates removed"),
                  caption="Exact duplicates removed, per class")
    if ing.get("label_repairs"):
        sec.table(pd.DataFrame(ing["label_repairs"]), caption="Label spellings repaired")
    if ing.get("unknown_labels"):
        sec.note("Labels not in the known CICIDS2017 set were kept as they are: "
                 + ", ".join(f"{k} ({v})" for k, v in ing["unknown_labels"].items()),
                 level="warn")
    for note in ing.get("notes", []):
        sec.note(note)


def _split_labels(rep: Report, s: dict[str, Any]) -> None:
    sp, fine = s["split"], s["fine"]
    counts = pd.DataFrame({part: pd.Series(fine[getattr(sp, part)]).value_counts()
                           for part in ("train", "val", "test")}).fillna(0).astype(int)
    sec = rep.section("Split", intro=f"{s['config'].split} split of the deduplicated flows.")
    sec.table(counts.rename_axis("label").sort_values("train", ascending=False))
    for w in getattr(sp, "warnings", []) or []:
        sec.note(str(w), level="warn")
    tax = s["taxonomy"]
    mapping = pd.DataFrame({"label": list(tax.mapping_), "group": list(tax.mapping_.values())})
    rep.section("Labels", intro=(
        "Binary label: BENIGN = 0, every attack = 1. Grouped taxonomy fitted on the training "
        "labels (rules in order; attacks rarer than the minimum count go to the 'other' "
        f"group). The detectors learn the '{s['config'].target}' target.")).table(mapping)


def _pruning(rep: Report, s: dict[str, Any]) -> None:
    pre = s["pre"]
    sec = rep.section("Pruning and scaling", intro=(
        f"{pre.n_features_in_} features in; {len(pre.features_)} kept. Scaler: {pre.scaler}, "
        "fitted on the training split."))
    sec.kv({"constant (dropped)": ", ".join(pre.constant_) or "none"})
    near = getattr(pre, "near_constant_", None)
    if isinstance(near, pd.DataFrame) and not near.empty:
        sec.table(near, caption="Near-constant columns (reported, kept)", collapsed=True)
    cf = pre.correlation_
    if cf is not None:
        sec.table(cf.pairs_, caption=f"Pairs with |r| > {cf.threshold}: the member with less "
                  "mutual information with the label is dropped", collapsed=True)
        sec.figure(cf.heatmap(), name="correlation_heatmap",
                   caption="Correlation of the highest-variance features (training split)")


def _rebalancing(rep: Report, s: dict[str, Any]) -> None:
    cmp = s["comparison"]
    rows = []
    seen = set()
    for t in cmp.trials:
        if t.balance in seen or not t.resample:
            continue
        seen.add(t.balance)
        for c in t.resample.get("classes", []):
            label = c.get("label")
            name = s["classes"][label] if isinstance(label, int) else label
            rows.append({"balance": t.balance, "class": name,
                         **{k: c[k] for k in ("before", "added", "removed", "after") if k in c}})
    sec = rep.section("Rebalancing", intro=(
        "Samplers ran on the training split only; validation and test keep the real mix. "
        "'class_weight' resamples nothing and weights the loss instead."))
    if rows:
        sec.table(pd.DataFrame(rows), caption="Rows per class before and after", max_rows=200)


def _comparison(rep: Report, s: dict[str, Any]) -> None:
    cmp = s["comparison"]
    sec = rep.section("Detectors x rebalancing", intro=(
        "Every detector after every rebalancing strategy. The chosen model has the best "
        "validation macro-F1; the test column is shown for the record, not used to choose."))
    sec.table(cmp.pivot("test_macro_f1"), caption="Test macro-F1", index=True)
    sec.table(cmp.pivot("val_macro_f1"), caption="Validation macro-F1", index=True)
    sec.table(cmp.to_frame(), caption="All trials", collapsed=True)


def _evaluation(rep: Report, s: dict[str, Any]) -> None:
    from riskscope.evaluation import metrics, plots

    cmp = s["comparison"]
    sec = rep.section("Chosen detector on the test split", intro=(
        f"{cmp.best.detector} after {cmp.best.balance}."))
    sec.table(s["eval_table"], caption="Per-class precision, recall, F1 and support",
              index=True, max_rows=60)
    sec.figure(plots.confusion_heatmap(s["confusion"]), name="confusion",
               caption="Confusion matrix (rows: true class, normalised by row)")
    names = np.asarray(s["classes"], dtype=object)
    mcls = np.asarray(cmp.best_model.classes_)
    curves = metrics.pr_curves(s["truth"], cmp.best_test_proba, list(names[mcls]))
    sec.figure(curves.plot(), name="pr_curves", caption="Precision-recall, one class vs rest")
    curves_roc = {}
    if s.get("binary") is not None:
        curves_roc[f"{cmp.best.detector}: 1 - P(benign)"] = s["binary"]
    an = s.get("anomaly")
    if an is not None and an.get("binary") is not None:
        curves_roc[f"{an['result']['detector']} (benign-only)"] = an["binary"]
    if curves_roc:
        sec.figure(plots.roc_curve_plot(curves_roc, title="Attack vs benign"),
                   name="roc_binary", caption="Binary ROC on the test split")


def _benign_only(rep: Report, s: dict[str, Any]) -> None:
    an = s.get("anomaly")
    ho = s.get("held_out")
    if an is None and ho is None:
        return
    sec = rep.section("Attacks never seen in training", intro=(
        "The benign-only detector learns benign traffic alone; its threshold is the "
        f"{100 * (1 - s['config'].fpr):g}th percentile of its scores on benign validation "
        "flows. The held-out table retrains a supervised detector without each attack family "
        "and thresholds it the same way, so both recall columns are at the same "
        "false-positive rate on benign validation flows."))
    if an is not None:
        sec.kv(an["result"], caption="Benign-only detector on the test split")
    if ho is not None and not ho.empty:
        sec.table(ho, caption="Recall on each attack family when it is absent from training")


def build_ids_report(s: dict[str, Any]) -> Report:
    """Assemble the HTML report of an ids run from the pipeline state ``s``."""
    cfg = s["config"]
    rep = Report(title="Intrusion detection on flow records", subtitle=f"data: {cfg.data}")
    _summary(rep, s)
    fl = s["flows"]
    prof = profile_frame(fl.frame[fl.feature_columns + [fl.label_column]],
                         label=fl.label_column, name=str(cfg.data))
    add_profile_section(rep, prof, title="Data after ingest")
    _ingest(rep, s)
    _split_labels(rep, s)
    _pruning(rep, s)
    _rebalancing(rep, s)
    _comparison(rep, s)
    _evaluation(rep, s)
    _benign_only(rep, s)
    rep.section("Saved model", intro=(
        "model/ holds preprocessor.json (kept columns and scaling), labels.json, the chosen "
        "detector and the benign-only detector in their libraries' own formats. Score new "
        f"flows with: riskscope ids score --model {s['run'].run_id} --data FLOWS --out "
        "predictions.parquet")).text("No pickle or joblib file is written or read.")
    return rep
