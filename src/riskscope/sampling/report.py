"""What a resampler did: rows before and after, added and removed per class."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ClassCounts", "ResampleReport"]


def _plain(label: Any) -> Any:
    """A label as a JSON-able Python scalar (numpy ints and strings unwrapped)."""
    return label.item() if isinstance(label, np.generic) else label


@dataclass(frozen=True)
class ClassCounts:
    """Rows of one class before and after resampling.

    ``after == before + added - removed`` always holds; a composite sampler (SMOTE-ENN)
    counts the rows its first stage added and its second stage removed, so a synthetic
    row that was added and then removed appears in both.
    """

    label: Any
    before: int
    added: int
    removed: int
    after: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": _plain(self.label),
            "before": self.before,
            "added": self.added,
            "removed": self.removed,
            "after": self.after,
        }


@dataclass(frozen=True)
class ResampleReport:
    """Rows before and after one ``fit_resample`` call, per class and in total.

    Every riskscope sampler sets ``report_`` to one of these. Composite samplers list
    their stages' reports in ``stages`` (SMOTE-ENN: the SMOTE report, then the ENN one).
    ``weights`` holds the class weights a weighting strategy would use (``"class_weight"``),
    else ``None``. ``seconds`` is wall time, the only field that differs between two runs
    with the same seed.

    Examples
    --------
    >>> from riskscope.sampling import ResampleReport
    >>> r = ResampleReport.from_labels("smote", [0, 0, 0, 1], [0, 0, 0, 1, 1, 1])
    >>> r.rows_added, r.rows_removed
    (2, 0)
    >>> ResampleReport.from_dict(r.to_dict()) == r
    True
    """

    sampler: str
    rows_before: int
    rows_after: int
    classes: tuple[ClassCounts, ...]
    stages: tuple[ResampleReport, ...] = ()
    weights: Mapping[Any, float] | None = None
    seconds: float | None = field(default=None, compare=False)

    @property
    def rows_added(self) -> int:
        return sum(c.added for c in self.classes)

    @property
    def rows_removed(self) -> int:
        return sum(c.removed for c in self.classes)

    @classmethod
    def from_labels(
        cls,
        sampler: str,
        y_before: Sequence[Any] | np.ndarray,
        y_after: Sequence[Any] | np.ndarray,
        *,
        stages: Sequence[ResampleReport] = (),
        weights: Mapping[Any, float] | None = None,
        seconds: float | None = None,
    ) -> ResampleReport:
        """Count classes in the labels before and after.

        Without ``stages`` a class's growth counts as added rows and its shrinkage as
        removed rows (each riskscope sampler only adds or only removes); with stages the
        stages' added and removed counts are summed.
        """
        yb, ya = np.asarray(y_before), np.asarray(y_after)
        labels, before = np.unique(yb, return_counts=True)
        after_labels, after = np.unique(ya, return_counts=True)
        all_labels = np.union1d(labels, after_labels)
        nb = dict(zip(labels.tolist(), before.tolist(), strict=True))
        na = dict(zip(after_labels.tolist(), after.tolist(), strict=True))
        staged = [{c.label: c for c in s.classes} for s in stages]
        rows = []
        for label in all_labels.tolist():
            b, a = int(nb.get(label, 0)), int(na.get(label, 0))
            if stages:
                added = sum(s[label].added for s in staged if label in s)
                removed = sum(s[label].removed for s in staged if label in s)
            else:
                added, removed = max(a - b, 0), max(b - a, 0)
            rows.append(ClassCounts(_plain(label), b, int(added), int(removed), a))
        w = None if weights is None else {_plain(k): float(v) for k, v in weights.items()}
        return cls(sampler, len(yb), len(ya), tuple(rows), tuple(stages), w, seconds)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (``from_dict`` rebuilds an equal report)."""
        return {
            "sampler": self.sampler,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "classes": [c.to_dict() for c in self.classes],
            "stages": [s.to_dict() for s in self.stages],
            "weights": None
            if self.weights is None
            else [{"label": _plain(k), "weight": v} for k, v in self.weights.items()],
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResampleReport:
        weights = data.get("weights")
        return cls(
            sampler=data["sampler"],
            rows_before=int(data["rows_before"]),
            rows_after=int(data["rows_after"]),
            classes=tuple(ClassCounts(**c) for c in data["classes"]),
            stages=tuple(cls.from_dict(s) for s in data.get("stages", ())),
            weights=None if weights is None else {w["label"]: w["weight"] for w in weights},
            seconds=data.get("seconds"),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per class: before, added, removed, after."""
        frame = pd.DataFrame([c.to_dict() for c in self.classes])
        return frame.set_index("label")
