"""Rebalancing strategies by name, and resampling the training split of a split."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskscope.exceptions import ParameterError
from riskscope.sampling._base import BaseResampler
from riskscope.sampling.basic import FloorOverSampler, MajorityUnderSampler, NoResampling
from riskscope.sampling.smote import SMOTE, SMOTEENN, EditedNearestNeighbours

__all__ = ["SAMPLER_NAMES", "make_sampler", "resample_train"]

#: The rebalancing strategies of ``riskscope ids run --balance``.
SAMPLER_NAMES = ("none", "class_weight", "random_under", "random_over", "smote", "smoteenn")


def make_sampler(
    name: str,
    *,
    seed: int | None,
    floor: int = 5000,
    k_neighbors: int = 5,
    n_neighbors: int = 3,
    kind_sel: str = "all",
    under_target: int | str = "second_largest",
    weight_strategy: str = "balanced",
) -> BaseResampler:
    """The sampler for a rebalancing strategy, ready for an imblearn ``Pipeline``.

    Parameters
    ----------
    name : {"none", "class_weight", "random_under", "random_over", "smote", "smoteenn"}
        - ``"none"``: :class:`NoResampling`, rows unchanged (a real step, so every
          strategy has a ``report_``).
        - ``"class_weight"``: :class:`NoResampling` recording balanced class weights;
          rows are unchanged and the *pipeline* passes :func:`sample_weights` of the
          training labels to the detector's ``fit(sample_weight=)``.
        - ``"random_under"``: :class:`MajorityUnderSampler`, the largest class down to
          ``under_target`` rows (default: the second-largest class's size).
        - ``"random_over"``: :class:`FloorOverSampler`, every class below ``floor`` rows
          repeated up to ``floor`` (the reference notebook's 5,000); larger classes kept.
        - ``"smote"``: :class:`SMOTE` with ``k_neighbors``.
        - ``"smoteenn"``: :class:`SMOTEENN`: SMOTE with ``k_neighbors`` then ENN with
          ``n_neighbors`` and ``kind_sel`` cleaning every class (imbalanced-learn's
          defaults: 5, 3, "all").
    seed : int or None
        The run's seed (``random_state`` of the random samplers).

    Examples
    --------
    >>> from riskscope.sampling import make_sampler
    >>> make_sampler("random_over", seed=42, floor=5000)
    FloorOverSampler(random_state=42)
    >>> make_sampler("smoteenn", seed=42)
    SMOTEENN(enn=EditedNearestNeighbours(sampling_strategy='all'), random_state=42,
             smote=SMOTE(random_state=42))
    """
    if name == "none":
        return NoResampling()
    if name == "class_weight":
        return NoResampling(class_weight=weight_strategy)
    if name == "random_under":
        return MajorityUnderSampler(target=under_target, random_state=seed)
    if name == "random_over":
        return FloorOverSampler(floor=floor, random_state=seed)
    if name == "smote":
        return SMOTE(k_neighbors=k_neighbors, random_state=seed)
    if name == "smoteenn":
        return SMOTEENN(
            random_state=seed,
            smote=SMOTE(k_neighbors=k_neighbors, random_state=seed),
            enn=EditedNearestNeighbours(
                sampling_strategy="all", n_neighbors=n_neighbors, kind_sel=kind_sel
            ),
        )
    raise ParameterError(
        f"Unknown rebalancing strategy {name!r}; use one of {', '.join(SAMPLER_NAMES)}."
    )


def resample_train(sampler: BaseResampler, X: Any, y: Any, split: Any) -> tuple[Any, Any]:
    """Resample the training rows of ``split`` and nothing else.

    ``split`` has integer row positions ``train`` (and optionally ``val`` and ``test``,
    as :func:`riskscope.features.splits.stratified_split` returns them). The positions
    are checked (unique, in range, training rows disjoint from the others) before the
    sampler sees a row, so validation and test rows can never be resampled or leak into
    the training set.

    Returns
    -------
    X_train_resampled, y_train_resampled

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> from riskscope.sampling import make_sampler, resample_train
    >>> X, y = np.arange(20.0).reshape(10, 2), np.array([0] * 7 + [1] * 3)
    >>> split = SimpleNamespace(train=np.arange(8), val=np.array([8]), test=np.array([9]))
    >>> _, y_tr = resample_train(make_sampler("random_over", seed=0, floor=6), X, y, split)
    >>> np.bincount(y_tr).tolist()
    [7, 6]
    """
    n = len(X)
    train = _positions(getattr(split, "train", None), "train", n)
    for part in ("val", "test"):
        other = getattr(split, part, None)
        if other is None:
            continue
        other = _positions(other, part, n)
        shared = np.intersect1d(train, other)
        if len(shared):
            raise ParameterError(
                f"resample_train: {len(shared)} rows are in both train and {part} "
                f"(positions {', '.join(map(str, shared[:3].tolist()))}, ...); a sampler "
                "must only see training rows."
            )
    X_train = X.iloc[train] if isinstance(X, pd.DataFrame | pd.Series) else np.asarray(X)[train]
    y_train = y.iloc[train] if isinstance(y, pd.Series | pd.DataFrame) else np.asarray(y)[train]
    return sampler.fit_resample(X_train, y_train)


def _positions(values: Any, part: str, n: int) -> np.ndarray:
    if values is None:
        raise ParameterError(f"resample_train needs `split.{part}` row positions; got None.")
    pos = np.asarray(values)
    if pos.ndim != 1 or (len(pos) and pos.dtype.kind not in "iu"):
        raise ParameterError(
            f"resample_train: `split.{part}` must be a 1-D array of integer row positions; "
            f"got dtype {pos.dtype} and shape {pos.shape}."
        )
    if len(pos) and (pos.min() < 0 or pos.max() >= n):
        raise ParameterError(
            f"resample_train: `split.{part}` has positions outside 0..{n - 1} "
            f"(min {pos.min()}, max {pos.max()})."
        )
    if len(np.unique(pos)) != len(pos):
        raise ParameterError(f"resample_train: `split.{part}` repeats row positions.")
    return pos
