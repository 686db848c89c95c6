"""Input checks and confusion counts shared by the metrics and the bootstrap.

Used by :mod:`riskscope.evaluation.metrics` and :mod:`riskscope.evaluation.bootstrap`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskscope.exceptions import ParameterError


def _as_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ParameterError(f"`{name}` must be one-dimensional; got shape {arr.shape}.")
    return arr


def _same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise ParameterError(
            f"`{name_a}` has {a.shape[0]} rows but `{name_b}` has {b.shape[0]}; pass values "
            "for the same rows."
        )


def _label_list(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[Any] | None) -> list:
    if labels is not None:
        labels = list(labels)
        if not labels:
            raise ParameterError("`labels` must name at least one class; got an empty list.")
        if len(set(labels)) != len(labels):
            raise ParameterError(f"`labels` must not repeat a class; got {labels}.")
        return labels
    seen = pd.unique(np.concatenate([pd.unique(y_true), pd.unique(y_pred)]))
    try:
        return sorted(seen.tolist())
    except TypeError:  # mixed types: keep first-seen order rather than fail
        return seen.tolist()


def _codes(values: np.ndarray, labels: list) -> np.ndarray:
    return pd.Categorical(values, categories=labels).codes.astype(np.intp)


def _confusion_counts(
    y_true: Any, y_pred: Any, labels: Sequence[Any] | None, *, strict: bool
) -> tuple[np.ndarray, list, list]:
    """Counts over ``all_labels`` (``labels`` plus any other value seen), and ``labels``."""
    y_true = _as_1d(y_true, "y_true")
    y_pred = _as_1d(y_pred, "y_pred")
    _same_length(y_true, y_pred, "y_true", "y_pred")
    wanted = _label_list(y_true, y_pred, labels)
    extra = [v for v in _label_list(y_true, y_pred, None) if v not in set(wanted)]
    if extra and strict:
        raise ParameterError(
            f"y_true/y_pred hold labels missing from `labels`: {extra[:5]}; add them to "
            "`labels` (or leave `labels` out to use every label seen)."
        )
    all_labels = wanted + extra
    k = len(all_labels)
    t = _codes(y_true, all_labels)
    p = _codes(y_pred, all_labels)
    cm = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    return cm, wanted, all_labels


def _per_class(cm: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support of the classes ``idx`` (zero where undefined).

    Works on a stack of confusion matrices too (leading axes are kept).
    """
    tp = np.take(np.diagonal(cm, axis1=-2, axis2=-1), idx, axis=-1).astype(float)
    pred = np.take(cm.sum(axis=-2), idx, axis=-1).astype(float)
    true = np.take(cm.sum(axis=-1), idx, axis=-1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(pred > 0, tp / pred, 0.0)
        recall = np.where(true > 0, tp / true, 0.0)
        denom = pred + true
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": true}


def _binary(y: Any, name: str) -> np.ndarray:
    arr = _as_1d(y, name)
    values = set(pd.unique(arr).tolist())
    if not values <= {0, 1}:  # True/False compare equal to 1/0
        raise ParameterError(
            f"`{name}` must hold 0 (benign) and 1 (attack); got values "
            f"{sorted(map(str, values))[:5]}."
        )
    return arr.astype(np.int8)


def _scores(score: Any, name: str) -> np.ndarray:
    arr = _as_1d(score, name).astype(np.float64)
    if not np.isfinite(arr).all():
        raise ParameterError(f"`{name}` has {int((~np.isfinite(arr)).sum())} non-finite scores.")
    return arr


def _need_both(y: np.ndarray, name: str) -> tuple[int, int]:
    n_pos = int(y.sum())
    n_neg = int(y.shape[0] - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise ParameterError(
            f"`{name}` must hold both benign (0) and attack (1) rows; got {n_neg} benign and "
            f"{n_pos} attack."
        )
    return n_pos, n_neg
