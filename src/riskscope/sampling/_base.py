"""Base class of every riskscope sampler: checks, bookkeeping and the report.

Subclasses declare their parameter rules in ``_param_rules`` and implement
``_resample(X, y) -> (X_res, y_res)`` on validated arrays; the base class checks the
parameters and the data (raising riskscope's one-line errors), computes imbalanced-learn's
``sampling_strategy_`` and builds ``report_``. ``fit_resample`` otherwise behaves exactly
as imbalanced-learn's (DataFrame in, DataFrame out; lists in, lists out), so every sampler
works inside :class:`imblearn.pipeline.Pipeline`, which applies samplers during ``fit``
only: validation and test rows are never resampled.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from imblearn.base import BaseSampler
from imblearn.utils import check_sampling_strategy, check_target_type
from sklearn.utils import check_random_state

from riskscope.exceptions import ParameterError, SchemaError
from riskscope.sampling.report import ResampleReport

__all__ = ["BaseResampler", "check_params", "take_rows"]


def take_rows(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``X[rows]`` in ``X``'s memory layout: column-major stays column-major.

    Column-major (pandas' own layout for a float block) is what
    :class:`pandas.DataFrame` adopts without a transposing copy, and gathering each
    column on its own reads contiguous memory; ``X[rows]`` would return row-major.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.flags.c_contiguous or not X.flags.f_contiguous:
        return X[rows]
    out = np.empty((len(rows), X.shape[1]), dtype=X.dtype, order="F")
    for j in range(X.shape[1]):
        np.take(X[:, j], rows, out=out[:, j])
    return out


def check_params(est: Any, rules: Mapping[str, tuple]) -> None:
    """Check an estimator's constructor arguments against declarative rules.

    A rule is ``("int", low)`` (an int >= low), ``("choice", values)``,
    ``("int_or_choice", low, values)``, ``("random_state",)`` or
    ``("jobs",)`` (None, -1 or an int >= 1) or ``("instance", classes, description)``
    (None or an instance of one of the classes).
    Raises one :class:`~riskscope.exceptions.ParameterError` naming the first bad value.
    """
    owner = type(est).__name__
    for param, rule in rules.items():
        value = getattr(est, param)
        kind = rule[0]
        if kind in ("int", "int_or_choice"):
            is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
            if is_int and value >= rule[1]:
                continue
            if kind == "int_or_choice" and isinstance(value, str) and value in rule[2]:
                continue
            also = f" or one of {', '.join(map(repr, rule[2]))}" if kind == "int_or_choice" else ""
            raise ParameterError(
                f"`{param}` of {owner} must be an int >= {rule[1]}{also}; got {value!r}."
            )
        if kind == "choice" and not any(
            value is c or (isinstance(c, str) and value == c) for c in rule[1]
        ):
            raise ParameterError(
                f"`{param}` of {owner} must be one of {', '.join(map(repr, rule[1]))}; "
                f"got {value!r}."
            )
        if kind == "random_state":
            try:
                check_random_state(value)
            except ValueError:
                raise ParameterError(
                    f"`{param}` of {owner} must be None, an int or a numpy RandomState; "
                    f"got {value!r}."
                ) from None
        if kind == "jobs" and not (
            value is None
            or (isinstance(value, numbers.Integral) and not isinstance(value, bool))
            and (value >= 1 or value == -1)
        ):
            raise ParameterError(
                f"`{param}` of {owner} must be None, -1 or an int >= 1; got {value!r}."
            )
        if kind == "instance" and value is not None and not isinstance(value, rule[1]):
            raise ParameterError(f"`{param}` of {owner} must be {rule[2]}; got {value!r}.")


class BaseResampler(BaseSampler):
    """imbalanced-learn sampler with riskscope's checks and a :class:`ResampleReport`.

    After ``fit_resample``: ``report_`` (rows before/after, added and removed per class),
    ``sampling_strategy_`` (imbalanced-learn's per-class targets), ``n_features_in_`` and,
    for DataFrame input, ``feature_names_in_``.
    """

    #: Rules for ``check_params``, declared by each subclass.
    _param_rules: ClassVar[dict[str, tuple]] = {}
    #: riskscope validates parameters itself, with one-line ParameterErrors.
    _parameter_constraints: ClassVar[dict] = {}

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        """Resample ``X`` and ``y``; call it on the training split only.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Numeric features with no NaN or infinity.
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).

        Returns
        -------
        X_resampled, y_resampled
            Same container types as the input.
        """
        check_params(self, self._param_rules)
        _check_data(X, y, type(self).__name__)
        if "sampling_strategy" in self.get_params(deep=False):
            try:
                labels, _ = check_target_type(y, indicate_one_vs_all=True)
            except ValueError:
                labels = None  # imbalanced-learn's own check says what is wrong with y
            if labels is not None and np.unique(labels).size > 1:
                self._strategy(labels, self.sampling_strategy, self._sampling_type)
        # what _resample leaves for the report: stage reports and class weights
        self._stages: list[ResampleReport] = []
        self._weights: dict | None = None
        start = time.perf_counter()
        try:
            out = super().fit_resample(X, y, **params)
            self.report_ = ResampleReport.from_labels(
                type(self).__name__,
                self._y_in,
                self._y_out,
                stages=self._stages,
                weights=self._weights,
                seconds=round(time.perf_counter() - start, 6),
            )
        finally:
            for name in ("_y_in", "_y_out", "_stages", "_weights"):
                self.__dict__.pop(name, None)
        return out

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X_res, y_res = self._resample(X, y)
        self._y_in, self._y_out = y, y_res
        return X_res, y_res

    def _resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError  # pragma: no cover

    def _check_X_y(self, X, y, accept_sparse=None):
        # dense numeric input only: every riskscope sampler measures distances or counts
        return super()._check_X_y(X, y, accept_sparse=False)

    def _strategy(self, y: np.ndarray, sampling_strategy: Any, sampling_type: str) -> dict:
        """imbalanced-learn's per-class targets, with its errors as ParameterErrors."""
        try:
            return dict(check_sampling_strategy(sampling_strategy, y, sampling_type))
        except ValueError as err:
            msg = " ".join(str(err).split())
            raise ParameterError(
                f"`sampling_strategy` of {type(self).__name__} is not usable here: {msg}"
            ) from None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags


def _check_data(X: Any, y: Any, owner: str) -> None:
    """One-line SchemaErrors for the data mistakes a pipeline can make."""
    if sp.issparse(X):
        raise SchemaError(
            f"{owner}.fit_resample needs a dense feature matrix; got a sparse "
            f"{type(X).__name__}. Convert it with .toarray()."
        )
    n_x = X.shape[0] if hasattr(X, "shape") else len(X)
    n_y = y.shape[0] if hasattr(y, "shape") else len(y)
    if n_x != n_y:
        raise SchemaError(
            f"{owner}.fit_resample got {n_x} feature rows but {n_y} labels; pass the "
            "same rows of X and y."
        )
    if isinstance(X, pd.DataFrame):
        numeric = X.select_dtypes(include="number")
        bad = [c for c in X.columns if c not in numeric.columns]
        if bad:
            raise SchemaError(
                f"{owner}.fit_resample needs numeric features; column {bad[0]!r} has dtype "
                f"{X[bad[0]].dtype}. Encode or drop it first."
            )
        values = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
        names = list(X.columns)
    elif isinstance(X, np.ndarray) and X.dtype.kind == "f":
        values = X
        names = None
    else:
        try:
            values = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            raise SchemaError(
                f"{owner}.fit_resample needs numeric features; X holds non-numeric values."
            ) from None
        names = None
    if values.ndim == 2 and values.size:
        finite = np.isfinite(values)
        if not finite.all():
            cols = np.flatnonzero(~finite.all(axis=0))
            where = ", ".join(
                repr(names[c]) if names is not None else f"column {c}" for c in cols[:3]
            )
            more = ", ..." if len(cols) > 3 else ""
            raise SchemaError(
                f"{owner}.fit_resample: X has {int((~finite).sum())} NaN or infinite values "
                f"({where}{more}); impute or drop them before resampling."
            )
    labels = np.asarray(y)
    if labels.ndim == 1 and len(labels) and np.unique(labels).size < 2:
        raise SchemaError(
            f"{owner}.fit_resample needs at least two classes in y; got one class "
            f"({_plain_label(labels[0])!r})."
        )


def _plain_label(label: Any) -> Any:
    return label.item() if isinstance(label, np.generic) else label


class SampleIndicesMixin:
    """For samplers whose output rows are input rows: they set ``sample_indices_``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags
