"""What every split function shares: the :class:`Split` result and the checks of its
inputs (split sizes, labels) and outputs (classes a split could not place everywhere).
Used by :mod:`riskscope.features.splits` and :mod:`riskscope.features.conversations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskscope.exceptions import ParameterError, SchemaError

SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class Split:
    """Row positions of the training, validation and test splits.

    Attributes
    ----------
    train, val, test : ndarray of int64
        Sorted row positions (``iloc`` positions, not index labels); disjoint.
    method : str
        ``"stratified"``, ``"day"`` or ``"conversation"``.
    class_counts : dict
        ``{split: {class: rows}}`` for the three splits (classes as strings).
    warnings : tuple of str
        What the split could not do as asked (classes missing from a split, rows left
        out, stratification given up); empty when all went as planned.
    params : dict
        The settings used (sizes, seed, days, grouping key ...), JSON-ready.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    method: str
    class_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        """Rows per split: ``{"train": ..., "val": ..., "test": ...}``."""
        return {name: int(getattr(self, name).size) for name in SPLIT_NAMES}

    def parts(self) -> dict[str, np.ndarray]:
        """``{"train": positions, "val": positions, "test": positions}``."""
        return {name: getattr(self, name) for name in SPLIT_NAMES}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: method, sizes, shares, per-class counts, warnings, params.

        The row positions themselves are not included (millions of integers); save them
        with the run's data files if needed.
        """
        sizes = self.sizes()
        total = sum(sizes.values())
        return {
            "method": self.method,
            "sizes": sizes,
            "shares": {k: (v / total if total else 0.0) for k, v in sizes.items()},
            "class_counts": self.class_counts,
            "warnings": list(self.warnings),
            "params": self.params,
        }


def _make_split(
    method: str,
    parts: Sequence[np.ndarray],
    codes: np.ndarray,
    classes: Sequence[Any],
    warnings: list[str],
    params: dict[str, Any],
) -> Split:
    parts = [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]
    counts = {}
    for name, idx in zip(SPLIT_NAMES, parts, strict=True):
        per_class = np.bincount(codes[idx], minlength=len(classes))
        counts[name] = {str(c): int(k) for c, k in zip(classes, per_class, strict=True)}
    warnings = list(warnings) + _coverage_warnings(counts, [str(c) for c in classes])
    return Split(
        *parts, method=method, class_counts=counts, warnings=tuple(warnings), params=params
    )


def _coverage_warnings(counts: dict[str, dict[str, int]], classes: list[str]) -> list[str]:
    out = []
    for name in SPLIT_NAMES:
        if not any(counts[name].values()):
            out.append(f"The {name} split is empty.")
            continue
        absent = [c for c in classes if counts[name][c] == 0]
        if absent:
            what = "cannot be learned" if name == "train" else "cannot be evaluated there"
            out.append(f"{len(absent)} classes have no rows in {name} ({what}): {_names(absent)}.")
    return out


def _names(items: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _check_sizes(sizes: Any, owner: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(s) for s in sizes)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 3 or min(values) <= 0 or abs(sum(values) - 1) > 1e-6:
        raise ParameterError(
            f"`sizes` of {owner} must be three positive shares (train, val, test) summing "
            f"to 1; got {sizes!r}."
        )
    return values  # type: ignore[return-value]


def _encode_labels(y: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ParameterError(f"`y` of {owner} must be one-dimensional; got shape {arr.shape}.")
    if arr.shape[0] < 3:
        raise SchemaError(
            f"{owner} needs at least 3 rows to make three splits; got {arr.shape[0]}."
        )
    codes, classes = pd.factorize(arr, sort=True)
    n_missing = int((codes < 0).sum())
    if n_missing:
        rows = np.flatnonzero(codes < 0)[:5].tolist()
        raise SchemaError(
            f"y has {n_missing} missing labels (rows {rows}, ...); {owner} needs every row "
            "labelled: drop the unlabelled rows first."
        )
    return codes.astype(np.intp), np.asarray(classes, dtype=object)


# ------------------------------------------------------------------------- stratified
