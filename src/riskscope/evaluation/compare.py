"""Comparison tables: detectors x rebalancing strategies, and held-out attack families.

These are the ablations the reference notebook never ran: does rebalancing help at all,
and does a detector catch an attack family it never saw? Every table is computed the
same honest way: samplers see the training split only, model selection and thresholds
use the validation split only, and the test split is only ever scored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

__all__ = ["Trial", "Comparison", "compare_detectors", "held_out_family_table"]


@dataclass
class Trial:
    """One detector trained after one rebalancing strategy."""

    detector: str
    balance: str
    val_macro_f1: float
    test_macro_f1: float
    fit_s: float
    resample_s: float
    train_rows: int
    resample: dict[str, Any] = field(default_factory=dict)


@dataclass
class Comparison:
    """All trials, and the one chosen on validation macro-F1 (never on test)."""

    trials: list[Trial]
    best: Trial
    best_model: Any
    best_val_proba: np.ndarray
    best_test_proba: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per trial, sorted by validation macro-F1, best first."""
        rows = [{
            "detector": t.detector, "balance": t.balance,
            "val_macro_f1": t.val_macro_f1, "test_macro_f1": t.test_macro_f1,
            "train_rows": t.train_rows, "resample_s": t.resample_s, "fit_s": t.fit_s,
            "chosen": t is self.best,
        } for t in self.trials]
        return (pd.DataFrame(rows).sort_values("val_macro_f1", ascending=False, kind="stable")
                .reset_index(drop=True))

    def pivot(self, column: str = "test_macro_f1") -> pd.DataFrame:
        """Detectors as rows, balancing strategies as columns."""
        df = self.to_frame()
        return df.pivot(index="detector", columns="balance", values=column)


def _macro_f1(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    pred = classes[np.argmax(proba, axis=1)]
    return float(f1_score(y, pred, average="macro", labels=np.unique(y), zero_division=0))


def compare_detectors(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_val: pd.DataFrame,
    y_val: np.ndarray,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    *,
    detectors: Sequence[str],
    balances: Sequence[str],
    seed: int,
    floor: int = 5000,
    detector_params: dict[str, dict[str, Any]] | None = None,
    on_trial: Callable[[str, str], None] | None = None,
) -> Comparison:
    """Train every detector after every rebalancing strategy; pick the best on validation.

    Labels are integer codes. ``balance="class_weight"`` resamples nothing and weights the
    loss by the square root of the inverse class frequency instead (what validated best);
    every other strategy trains unweighted. Only the best model is kept in memory.

    Returns
    -------
    Comparison
    """
    from riskscope.models import make_detector

    trials: list[Trial] = []
    best: tuple[Trial, Any, np.ndarray, np.ndarray] | None = None
    cols = list(X_train.columns)
    for balance in balances:
        t0 = time.perf_counter()
        report: dict[str, Any] = {}
        # Detectors weight classes by default; every strategy but "class_weight" must
        # switch that off, or the comparison would measure two rebalancings at once.
        class_weight = "sqrt_balanced" if balance == "class_weight" else None
        if balance in ("none", "class_weight"):
            Xb, yb = X_train, y_train
        else:
            from riskscope.sampling import make_sampler

            sampler = make_sampler(balance, seed=seed, floor=floor)
            Xr, yb = sampler.fit_resample(X_train.to_numpy(np.float32), y_train)
            Xb = pd.DataFrame(np.asarray(Xr, dtype=np.float32), columns=cols)
            rep = getattr(sampler, "report_", None)
            report = rep.to_dict() if rep is not None else {}
        resample_s = time.perf_counter() - t0
        for name in detectors:
            if on_trial is not None:
                on_trial(name, balance)
            params = {"class_weight": class_weight, **(detector_params or {}).get(name, {})}
            model = make_detector(name, seed=seed, **params)
            t1 = time.perf_counter()
            model.fit(Xb, np.asarray(yb), X_val=X_val, y_val=y_val)
            fit_s = time.perf_counter() - t1
            classes = np.asarray(model.classes_)
            pv = model.predict_proba(X_val)
            pt = model.predict_proba(X_test)
            trial = Trial(detector=name, balance=balance,
                          val_macro_f1=_macro_f1(y_val, pv, classes),
                          test_macro_f1=_macro_f1(y_test, pt, classes),
                          fit_s=round(fit_s, 3), resample_s=round(resample_s, 3),
                          train_rows=len(yb), resample=report)
            trials.append(trial)
            if best is None or trial.val_macro_f1 > best[0].val_macro_f1:
                best = (trial, model, pv, pt)
    if best is None:
        raise ValueError("compare_detectors needs at least one detector and one balance.")
    return Comparison(trials=trials, best=best[0], best_model=best[1],
                      best_val_proba=best[2], best_test_proba=best[3])


def held_out_family_table(
    X_train: pd.DataFrame,
    family_train: np.ndarray,
    X_val: pd.DataFrame,
    family_val: np.ndarray,
    X_test: pd.DataFrame,
    family_test: np.ndarray,
    *,
    benign: str,
    anomaly_scores: tuple[np.ndarray, np.ndarray] | None,
    seed: int,
    fpr: float = 0.01,
    supervised: str = "lightgbm",
) -> pd.DataFrame:
    """Recall at a fixed false-positive rate on each attack family when it is unseen.

    For every attack family F: a binary ``supervised`` detector is trained on the training
    rows without F; its threshold is the ``1 - fpr`` quantile of its scores on the benign
    validation rows; its recall is measured on F's test rows. The benign-only detector
    (``anomaly_scores`` = its validation and test scores; it never saw any attack) is
    thresholded the same way, so the two columns compare like with like.
    """
    from riskscope.models import make_detector

    rows = []
    benign_val = family_val == benign
    if anomaly_scores is not None:
        a_val, a_test = anomaly_scores
        a_thr = float(np.quantile(a_val[benign_val], 1.0 - fpr))
    for fam in sorted(set(np.unique(family_test)) - {benign}):
        test_rows = family_test == fam
        keep = family_train != fam
        y_bin = (family_train[keep] != benign).astype(np.int64)
        row: dict[str, Any] = {"family": fam, "test_rows": int(test_rows.sum()),
                               "train_rows_removed": int((~keep).sum())}
        if len(np.unique(y_bin)) == 2:
            model = make_detector(supervised, seed=seed)
            vkeep = family_val != fam
            model.fit(X_train[keep], y_bin, X_val=X_val[vkeep],
                      y_val=(family_val[vkeep] != benign).astype(np.int64))
            s_val = model.predict_proba(X_val)[:, 1]
            thr = float(np.quantile(s_val[benign_val], 1.0 - fpr))
            s_test = model.predict_proba(X_test[test_rows])[:, 1]
            row[f"{supervised}_recall"] = float(np.mean(s_test > thr))
        if anomaly_scores is not None:
            row["benign_only_recall"] = float(np.mean(a_test[test_rows] > a_thr))
        rows.append(row)
    return pd.DataFrame(rows)
