"""The column-selector base the pruning filters share (:mod:`riskscope.features.pruning`,
:mod:`riskscope.features.correlation`): the fit data as per-column float arrays, parameter
rules, and scikit-learn's selector plumbing (feature names, ``get_support``, pandas
output).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import _check_feature_names_in, validate_data

from riskscope.exceptions import NotFittedError, ParameterError, SchemaError

Rule = tuple[Callable[[Any], bool], str]


def _is_real(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


class _Columns:
    """The fit data as one 1-D float array per column (views of the input where possible)."""

    def __init__(
        self,
        arrays: list[np.ndarray],
        names: np.ndarray,
        n_rows: int,
        has_nan: np.ndarray | None = None,
        *,
        named: bool = False,
    ) -> None:
        self.arrays = arrays
        self.names = names
        self.n_rows = n_rows
        if has_nan is None:
            has_nan = np.array([bool(np.isnan(a).any()) for a in arrays], dtype=bool)
        self.has_nan = has_nan
        self.named = named  # names are a frame's string columns (sklearn's feature_names_in_)

    @classmethod
    def from_frame(cls, X: pd.DataFrame, owner: str) -> _Columns:
        """Validate a frame's columns once (numeric, no Infinity) and note their NaN."""
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise SchemaError(
                f"{owner} got a frame of shape {X.shape}; it needs at least one row "
                "and one feature column."
            )
        arrays, has_nan = [], np.zeros(X.shape[1], dtype=bool)
        for j in range(X.shape[1]):
            arr, has_nan[j] = _numeric_column(X.iloc[:, j], str(X.columns[j]), owner)
            arrays.append(arr)
        named = all(isinstance(c, str) for c in X.columns)
        names = np.asarray([str(c) for c in X.columns], dtype=object)
        return cls(arrays, names, X.shape[0], has_nan, named=named)

    def subset(self, keep: np.ndarray) -> _Columns:
        """The columns where the boolean mask ``keep`` holds (no data copied)."""
        idx = np.flatnonzero(keep)
        return _Columns([self.arrays[j] for j in idx], self.names[idx], self.n_rows,
                        self.has_nan[idx], named=self.named)


class _ColumnFilter(SelectorMixin, BaseEstimator):
    """Validation and bookkeeping shared by the filters; subclasses implement ``_fit``.

    ``_fit(data, y)`` sets ``support_`` (boolean mask over the input columns) and whatever
    tables the filter reports.
    """

    #: Parameter rules, declared once: name -> (check, what the value must be).
    _rules: ClassVar[dict[str, Rule]] = {}

    def fit(self, X: Any, y: Any = None) -> _ColumnFilter:
        """Learn which columns to keep from ``X`` (the training split).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Numeric features; NaN allowed, infinite values not.
        y : array-like of shape (n_samples,), optional
            Class labels (required by :class:`CorrelationFilter` with
            ``keep="label_information"``; ignored by the other filters).

        Returns
        -------
        self
        """
        self._check_params()
        data = self._validate_fit_input(X)
        self._fit(data, y)
        self.dropped_ = [str(n) for n in data.names[~self.support_]]
        return self

    def _fit_columns(self, data: _Columns, y: Any = None) -> _ColumnFilter:
        """:meth:`fit` on columns already validated by :meth:`_Columns.from_frame`.

        :class:`~riskscope.features.preprocess.FlowPreprocessor` runs three filters on one
        training frame; validating and extracting its columns once, and handing each
        filter the surviving ones, saves two copies of the frame (``X[cols]``) and two
        validation passes. The fitted state is the same as ``fit`` on that frame.
        """
        self._check_params()
        self.n_features_in_ = len(data.arrays)
        if data.named:
            self.feature_names_in_ = data.names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self._fit(data, y)
        self.dropped_ = [str(n) for n in data.names[~self.support_]]
        return self

    def _fit(self, data: _Columns, y: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def transform(self, X: Any) -> Any:
        """Keep the selected columns of ``X``.

        A DataFrame keeps its index, column names and dtypes; other inputs become an
        ndarray of the kept columns.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        DataFrame or ndarray of shape (n_samples, n_kept)
        """
        self._check_fitted()
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=False, skip_check_array=True)
            return X.iloc[:, np.flatnonzero(self.support_)]
        return super().transform(X)

    def _get_support_mask(self) -> np.ndarray:
        self._check_fitted()
        return self.support_

    def _check_fitted(self) -> None:
        if not hasattr(self, "support_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y) on the "
                "training split first."
            )

    def _check_params(self) -> None:
        owner = type(self).__name__
        for name, (ok, rule) in self._rules.items():
            value = getattr(self, name)
            if not ok(value):
                raise ParameterError(f"`{name}` of {owner} must be {rule}; got {value!r}.")

    def _validate_fit_input(self, X: Any) -> _Columns:
        owner = type(self).__name__
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=True, skip_check_array=True)
            data = _Columns.from_frame(X, owner)
            data.names = _check_feature_names_in(self, None)
            return data
        X = validate_data(self, X, reset=True, dtype="numeric", ensure_all_finite="allow-nan")
        if X.dtype.kind != "f":
            X = X.astype(np.float64)
        arrays = [X[:, j] for j in range(X.shape[1])]
        return _Columns(arrays, _check_feature_names_in(self, None), X.shape[0])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _numeric_column(s: pd.Series, name: str, owner: str) -> tuple[np.ndarray, bool]:
    """The column as a float array, and whether it holds NaN; Infinity is a SchemaError."""
    dtype = s.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        arr = s.to_numpy()
    elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        raise SchemaError(
            f"Feature column {name!r} has dtype {dtype}, not numeric; {owner} needs numeric "
            "features: drop the column or encode it first."
        )
    if np.isfinite(arr).all():  # one pass for the usual case; NaN and Inf told apart below
        return arr, False
    n_inf = int(np.isinf(arr).sum())
    if n_inf:
        raise SchemaError(
            f"Feature column {name!r} has {n_inf} infinite values; {owner} needs finite "
            "values: read the flows with inf_policy='nan' or 'drop' first."
        )
    return arr, True
