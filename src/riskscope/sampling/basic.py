"""Doing nothing, class weights, and random under- and over-sampling.

Random under- and over-sampling are imbalanced-learn's own samplers, given the
per-class targets the ids pipeline asks for: the majority class down to the second
largest, every class below a floor (the reference notebook's 5,000 flows) up to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler

from riskscope.exceptions import ParameterError
from riskscope.sampling._base import BaseResampler, SampleIndicesMixin, take_rows

__all__ = [
    "WEIGHT_STRATEGIES",
    "FloorOverSampler",
    "MajorityUnderSampler",
    "NoResampling",
    "class_weights",
    "sample_weights",
]

#: Class-weight strategies (the same formulas as the detectors' ``class_weight``).
WEIGHT_STRATEGIES = ("balanced", "sqrt_balanced")


def class_weights(
    y: Any, *, strategy: str = "balanced", clip: float | None = None
) -> dict[Any, float]:
    """Per-class weights that balance the classes of ``y`` (the training labels).

    ``"balanced"`` is scikit-learn's ``n / (n_classes * n_c)``; ``"sqrt_balanced"`` its
    square root, a milder push towards rare classes. Weights are then clipped to at most
    ``clip`` times the smallest weight (when given) and scaled so that the mean weight
    over the rows of ``y`` is 1, which keeps a loss on its usual scale.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Training labels.
    strategy : {"balanced", "sqrt_balanced"}, default="balanced"
    clip : float >= 1, optional
        Largest ratio between two classes' weights.

    Returns
    -------
    dict
        Label -> weight, labels in sorted order.

    Examples
    --------
    >>> from riskscope.sampling import class_weights
    >>> w = class_weights(["a", "a", "a", "b"])
    >>> {k: round(v, 3) for k, v in w.items()}
    {'a': 0.667, 'b': 2.0}
    """
    if strategy not in WEIGHT_STRATEGIES:
        raise ParameterError(
            f"`strategy` of class_weights must be one of "
            f"{', '.join(map(repr, WEIGHT_STRATEGIES))}; got {strategy!r}."
        )
    if clip is not None and not (isinstance(clip, int | float) and clip >= 1):
        raise ParameterError(f"`clip` of class_weights must be a number >= 1; got {clip!r}.")
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    if len(labels) == 0:
        raise ParameterError("class_weights needs at least one label; got an empty y.")
    w = counts.sum() / (len(labels) * counts.astype(np.float64))
    if strategy == "sqrt_balanced":
        w = np.sqrt(w)
    if clip is not None:
        w = np.minimum(w, w.min() * clip)
    w = w / ((w * counts).sum() / counts.sum())
    return {
        lab.item() if isinstance(lab, np.generic) else lab: float(v)
        for lab, v in zip(labels, w, strict=True)
    }


def sample_weights(y: Any, *, strategy: str = "balanced", clip: float | None = None) -> np.ndarray:
    """Row weights from :func:`class_weights`, for a detector's ``fit(sample_weight=)``.

    Examples
    --------
    >>> from riskscope.sampling import sample_weights
    >>> sample_weights([0, 0, 0, 1]).round(3).tolist()
    [0.667, 0.667, 0.667, 2.0]
    """
    labels = np.asarray(y)
    weights = class_weights(labels, strategy=strategy, clip=clip)
    keys, inverse = np.unique(labels, return_inverse=True)
    table = np.array([weights[k.item() if isinstance(k, np.generic) else k] for k in keys])
    return table[inverse.reshape(-1)]


class NoResampling(SampleIndicesMixin, BaseResampler):
    """Leave the training rows as they are (the baseline every strategy is compared with).

    With ``class_weight`` set it still changes no row, but records the class weights the
    detectors should use (``report_.weights``, ``class_weights_``): the pipeline passes
    :func:`sample_weights` of the training labels to the detector's ``fit``.

    Parameters
    ----------
    class_weight : {None, "balanced", "sqrt_balanced"}, default=None

    Examples
    --------
    >>> from riskscope.sampling import NoResampling
    >>> s = NoResampling()
    >>> X_res, y_res = s.fit_resample([[0.0], [1.0], [2.0]], [0, 0, 1])
    >>> s.report_.rows_before == s.report_.rows_after == 3
    True
    """

    _sampling_type = "bypass"
    _param_rules = {"class_weight": ("choice", (None, *WEIGHT_STRATEGIES))}
    sampling_strategy = "auto"

    def __init__(self, *, class_weight: str | None = None):
        self.class_weight = class_weight

    def _resample(self, X, y):
        self.sampling_strategy_ = {}
        self.sample_indices_ = np.arange(len(y))
        self.class_weights_ = (
            None if self.class_weight is None else class_weights(y, strategy=self.class_weight)
        )
        self._weights = self.class_weights_
        return X, y


class MajorityUnderSampler(SampleIndicesMixin, BaseResampler):
    """Randomly drop rows of the largest class only.

    Parameters
    ----------
    target : "second_largest" or int, default="second_largest"
        Rows the majority class keeps: as many as the second-largest class, or a number.
        A majority already at or below the target is left alone.
    random_state : None, int or RandomState, default=None

    Attributes
    ----------
    sample_indices_ : ndarray
        Input rows kept, grouped by class as imbalanced-learn returns them.

    Examples
    --------
    >>> from riskscope.sampling import MajorityUnderSampler
    >>> import numpy as np
    >>> s = MajorityUnderSampler(random_state=0)
    >>> _, y_res = s.fit_resample(np.arange(7.0).reshape(-1, 1), np.array([0, 0, 0, 0, 0, 1, 1]))
    >>> y_res.tolist()
    [0, 0, 1, 1]
    """

    _sampling_type = "under-sampling"
    _param_rules = {
        "target": ("int_or_choice", 1, ("second_largest",)),
        "random_state": ("random_state",),
    }
    sampling_strategy = "auto"

    def __init__(self, *, target: int | str = "second_largest", random_state: Any = None):
        self.target = target
        self.random_state = random_state

    def _resample(self, X, y):
        labels, counts = np.unique(y, return_counts=True)
        order = np.argsort(-counts, kind="stable")
        major = labels[order[0]]
        keep = counts[order[1]] if self.target == "second_largest" else int(self.target)
        keep = min(int(keep), int(counts[order[0]]))
        self.sampling_strategy_ = {_item(major): keep}
        sampler = RandomUnderSampler(
            sampling_strategy=self.sampling_strategy_, random_state=self.random_state
        )
        X_res, y_res = sampler.fit_resample(X, y)
        self.sample_indices_ = sampler.sample_indices_
        return X_res, y_res


class FloorOverSampler(SampleIndicesMixin, BaseResampler):
    """Randomly repeat rows of every class below ``floor`` until it has ``floor`` rows.

    Classes at or above the floor are untouched, and every original row is kept (they
    are the first rows of the output, in their input order). The reference notebook
    instead *replaced* each small class by 5,000 draws with replacement, which could
    leave some of its original flows out.

    Parameters
    ----------
    floor : int, default=5000
    random_state : None, int or RandomState, default=None

    Attributes
    ----------
    sample_indices_ : ndarray
        Input row of each output row.

    Examples
    --------
    >>> from riskscope.sampling import FloorOverSampler
    >>> import numpy as np
    >>> s = FloorOverSampler(floor=4, random_state=0)
    >>> _, y_res = s.fit_resample(np.arange(7.0).reshape(-1, 1), np.array([0, 0, 0, 0, 0, 1, 1]))
    >>> y_res.tolist()
    [0, 0, 0, 0, 0, 1, 1, 1, 1]
    """

    _sampling_type = "over-sampling"
    _param_rules = {"floor": ("int", 1), "random_state": ("random_state",)}
    sampling_strategy = "auto"

    def __init__(self, *, floor: int = 5000, random_state: Any = None):
        self.floor = floor
        self.random_state = random_state

    def _resample(self, X, y):
        labels, counts = np.unique(y, return_counts=True)
        targets = {
            _item(c): int(self.floor) for c, n in zip(labels, counts, strict=True) if n < self.floor
        }
        self.sampling_strategy_ = {
            c: self.floor - int(n)
            for c, n in zip(labels.tolist(), counts.tolist(), strict=True)
            if n < self.floor
        }
        if not targets:
            self.sample_indices_ = np.arange(len(y))
            return X, y
        # imbalanced-learn draws the rows (its draws do not depend on X: a one-column
        # stand-in gives the same indices); the rows are then gathered here, in X's own
        # memory layout, instead of by its row-major vstack
        sampler = RandomOverSampler(sampling_strategy=targets, random_state=self.random_state)
        _, y_res = sampler.fit_resample(np.zeros((len(y), 1), dtype=np.float32), y)
        self.sample_indices_ = sampler.sample_indices_
        return take_rows(X, self.sample_indices_), y_res


def _item(label: Any) -> Any:
    return label.item() if isinstance(label, np.generic) else label
