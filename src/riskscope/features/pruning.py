"""Feature pruning: constant, near-constant and correlated columns, as sklearn selectors.

Three transformers that learn which columns to keep from the training split and then
select them from any frame. A DataFrame in gives a DataFrame out with the kept columns
(their dtypes untouched: float32 stays float32, no copy of the values), an ndarray in gives
an ndarray out; ``set_output(transform="pandas")`` works as everywhere in scikit-learn.

- :class:`ConstantFilter` drops columns that hold a single value in the fit data.
- :class:`NearConstantFilter` reports columns dominated by one value (and drops them only
  when asked).
- :class:`CorrelationFilter` drops one member of every pair with ``|r| > threshold``,
  keeping the member that carries more information about the label.

Missing values (NaN) are allowed; infinite values are not (read flows with an Inf policy
first).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import _check_feature_names_in, validate_data
from threadpoolctl import threadpool_limits

from riskscope.exceptions import NotFittedError, ParameterError, SchemaError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ConstantFilter", "NearConstantFilter", "CorrelationFilter"]

# Rows per block when accumulating the Gram matrix: 32k x 80 float64 is ~20 MB, small
# enough to stay in cache-friendly territory and large enough for BLAS to be efficient.
_BLOCK_ROWS = 1 << 15

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


class ConstantFilter(_ColumnFilter):
    """Drop the columns that hold a single value in the fit data.

    NaN counts as a value: an all-NaN column is constant, a column of 1.0 and NaN is not.
    On CICIDS2017 this removes the notebook's 8 constant features (the bulk-rate columns,
    ``Bwd PSH Flags``, ``Bwd URG Flags``).

    Attributes
    ----------
    support_ : ndarray of bool, shape (n_features_in_,)
        True for the kept columns.
    constant_ : DataFrame
        One row per dropped column: ``feature`` and its single ``value`` (NaN for an
        all-NaN column).
    dropped_ : list of str
        Names of the dropped columns, in input order.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscope.features.pruning import ConstantFilter
    >>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 0.0, 0.0]})
    >>> ConstantFilter().fit_transform(X).columns.tolist()
    ['a']
    >>> ConstantFilter().fit(X).constant_
      feature  value
    0       b    0.0
    """

    def __init__(self) -> None:
        pass

    def _fit(self, data: _Columns, y: Any) -> None:
        support = np.ones(len(data.arrays), dtype=bool)
        rows = []
        for j, (arr, has_nan) in enumerate(zip(data.arrays, data.has_nan, strict=True)):
            if has_nan:
                constant = bool(np.isnan(arr).all())
                value = np.nan
            else:
                value = float(arr[0])
                constant = bool(arr.min() == arr.max())
            if constant:
                support[j] = False
                rows.append((str(data.names[j]), value))
        self.support_ = support
        self.constant_ = pd.DataFrame(rows, columns=["feature", "value"])


class NearConstantFilter(_ColumnFilter):
    """Report (and optionally drop) columns dominated by one value.

    **Definition.** A column is near-constant when its most frequent value, NaN counted
    as a value, covers at least ``threshold`` of the fit rows. This share is scale-free
    (unlike a variance cut, which depends on units) and reads directly: 0.99 means "all but
    1% of flows have the same value". The notebook counted columns with at most 2 distinct
    values instead; the ``n_unique`` column of the table gives that count too.

    ``threshold`` must exceed 0.5: a value covering more than half of the rows is the
    median, and one covering ``threshold`` of them is the median of a small strided sample,
    so the filter costs about one pass per column instead of a sort or a hash table.

    Parameters
    ----------
    threshold : float, default 0.99
        Minimum share of the most frequent value, in (0.5, 1].
    drop : bool, default False
        Drop the near-constant columns. By default they are only reported in
        ``near_constant_`` and every column is kept.

    Attributes
    ----------
    support_ : ndarray of bool, shape (n_features_in_,)
    near_constant_ : DataFrame
        One row per near-constant column, most dominated first: ``feature``,
        ``top_value`` (NaN when the dominant value is missing), ``top_share``,
        ``n_unique`` (distinct values, NaN included) and ``dropped``.
    dropped_ : list of str
        Names of the dropped columns (empty when ``drop=False``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.features.pruning import NearConstantFilter
    >>> X = pd.DataFrame({"flag": [0.0] * 199 + [1.0], "size": np.arange(200.0)})
    >>> f = NearConstantFilter(threshold=0.99).fit(X)
    >>> f.near_constant_[["feature", "top_value", "top_share", "n_unique"]]
      feature  top_value  top_share  n_unique
    0    flag        0.0      0.995         2
    >>> f.transform(X).shape  # reported, not dropped
    (200, 2)
    >>> NearConstantFilter(drop=True).fit_transform(X).columns.tolist()
    ['size']
    """

    _rules: ClassVar[dict[str, Rule]] = {
        "threshold": (lambda v: _is_real(v) and 0.5 < v <= 1, "a float in (0.5, 1]"),
        "drop": (lambda v: isinstance(v, bool | np.bool_), "True or False"),
    }

    def __init__(self, *, threshold: float = 0.99, drop: bool = False) -> None:
        self.threshold = threshold
        self.drop = drop

    def _fit(self, data: _Columns, y: Any) -> None:
        n = data.n_rows
        rows = []
        need = _min_count(self.threshold, n)
        for j, (arr, has_nan) in enumerate(zip(data.arrays, data.has_nan, strict=True)):
            top, count = _dominant_value(arr, has_nan, need)
            if count >= need:  # i.e. count / n >= threshold
                # The other values are at most 1 - threshold of the rows: cheap to count.
                others = arr[~np.isnan(arr)] if np.isnan(top) else arr[arr != top]
                others_nan = np.isnan(others)
                n_unique = 1 + np.unique(others[~others_nan]).size + int(others_nan.any())
                rows.append((j, str(data.names[j]), top, count / n, n_unique))
        rows.sort(key=lambda r: (-r[3], r[1]))
        self.support_ = np.ones(len(data.arrays), dtype=bool)
        if self.drop:
            self.support_[[r[0] for r in rows]] = False
        self.near_constant_ = pd.DataFrame(
            [r[1:] for r in rows], columns=["feature", "top_value", "top_share", "n_unique"]
        ).astype({"top_value": float, "top_share": float, "n_unique": np.int64})
        self.near_constant_["dropped"] = bool(self.drop)


def _min_count(threshold: float, n: int) -> int:
    """The smallest count ``k`` with ``k / n >= threshold`` (as the float test reads it)."""
    k = min(max(math.ceil(threshold * n), 0), n + 1)
    while k > 0 and (k - 1) / n >= threshold:
        k -= 1
    while k <= n and k / n < threshold:
        k += 1
    return k


def _dominant_value(arr: np.ndarray, has_nan: bool, need: int) -> tuple[float, int]:
    """The value that ``need`` or more rows of ``arr`` hold (NaN counts), and its count.

    ``need`` must exceed half the length, so at most one value qualifies. When none does,
    some value is returned with a count below ``need``: all the caller needs to know.

    A qualifying value is then the majority of any ``2 * (n - need) + 1`` distinct rows
    (the other values fill at most ``n - need`` of them), so the median of an evenly
    strided sample of that size is the only candidate; one exact count over the column
    settles it. At the default 0.999 that is a sample of ~0.2 % of the rows instead of a
    partition of the whole column (~15x faster over 73 columns of 124k flows). A loose
    threshold needs a large sample: the median of the whole column is taken instead.
    """
    n = arr.size
    n_nan = int(np.count_nonzero(np.isnan(arr))) if has_nan else 0
    if n_nan >= need:
        return math.nan, n_nan
    sample_size = 2 * (n - need) + 1
    sample = arr[:: n // sample_size] if 4 * sample_size <= n else arr
    if has_nan:
        sample = sample[~np.isnan(sample)]
    if sample.size == 0:  # only NaN sampled, and NaN is not dominant: nothing is
        return math.nan, n_nan
    # A value held by more than half of the sample sits in its middle once sorted.
    mid = sample.size // 2
    candidate = float(np.partition(sample, mid)[mid])
    return candidate, int(np.count_nonzero(arr == candidate))


class CorrelationFilter(_ColumnFilter):
    """Drop one member of every strongly correlated pair, keeping the more informative one.

    Pairs are the column pairs with ``|r| > threshold`` in the fit data. They are visited
    from the strongest ``|r|`` down (ties by column names); when both members are still
    kept, the one with less mutual information with the label is dropped (``keep=
    "label_information"``), or the later one in input order (``keep="first"``). Pairs whose
    member was already dropped need nothing more. The kept columns then have no pair above
    the threshold, and with ``keep="label_information"`` the result does not depend on the
    column order.

    **Correlation** is computed on all columns (not just the top-variance ones the notebook
    used) in one pass of blocked float64 Gram-matrix accumulation, centred on the column
    means; with missing values it is the pairwise-complete coefficient, as
    :meth:`pandas.DataFrame.corr`. A column that is constant (over the rows it shares with
    another) has no defined ``r``: its entries are NaN and it is never part of a pair (use
    :class:`ConstantFilter` to drop it). ``method="spearman"`` correlates ranks (average
    ranks for ties, each column ranked over its non-missing values); it sorts every column
    and holds the ranks as float32, so it is several times slower than Pearson.

    **Mutual information** with the label is the plug-in estimate (in nats) on quantile
    bins: ``mi_bins`` equal-frequency bins per column (fewer when values tie, NaN in its
    own bin) crossed with the classes, on at most ``mi_max_rows`` rows drawn without
    replacement with ``seed``. It is computed only for columns that are part of a pair.
    Measured on 2M bootstrap-expanded CICIDS2017 rows (2 shared cores): scikit-learn's
    ``mutual_info_classif`` (k-NN estimator) takes ~5 s for 20 columns on a 50k-row
    subsample, the binned estimate ~20 ms a column on 500k rows, and the two rank the
    columns alike (Spearman 0.90 over 20 columns). The whole fit on 2M x 80 float32
    (correlation, 49 columns' information, 84 pairs) took 1.7 s there.

    Parameters
    ----------
    threshold : float, default 0.9
        Pairs with ``|r|`` strictly above it are pruned; in (0, 1].
    method : {"pearson", "spearman"}, default "pearson"
    keep : {"label_information", "first"}, default "label_information"
        Which member of a pair to keep. ``"label_information"`` needs ``y`` in ``fit``.
    n_heatmap_features : int, default 30
        Size of ``correlation_``: the highest-variance columns, as in the notebook.
    mi_bins : int, default 64
        Equal-frequency bins per column for the mutual information, >= 2.
    mi_max_rows : int, default 500_000
        Rows used for the mutual information (a seeded sample when there are more).
    seed : int, default 42
        Seed of that row sample.

    Attributes
    ----------
    support_ : ndarray of bool, shape (n_features_in_,)
    pairs_ : DataFrame
        One row per pair above the threshold, in the order visited: ``a``, ``b`` (input
        order), ``r``, ``mi_a``, ``mi_b`` (NaN with ``keep="first"``), ``kept`` (the member
        still kept after this pair, None when both went earlier) and ``dropped`` (the member
        this pair dropped, None when an earlier pair had already resolved it).
    dropped_ : list of str
        Names of the dropped columns, in input order.
    mutual_info_ : Series
        Mutual information with the label of every column that is part of a pair.
    correlation_ : DataFrame
        Correlation matrix of the ``n_heatmap_features`` highest-variance columns, in
        decreasing variance; see :meth:`heatmap`.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.features.pruning import CorrelationFilter
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 1000)
    >>> signal = y + rng.normal(0, 0.3, 1000)
    >>> X = pd.DataFrame({"noisy": signal + rng.normal(0, 0.1, 1000), "clean": signal,
    ...                   "other": rng.normal(size=1000)})
    >>> f = CorrelationFilter(threshold=0.9).fit(X, y)
    >>> f.dropped_
    ['noisy']
    >>> f.pairs_[["a", "b", "kept", "dropped"]]
           a      b   kept dropped
    0  noisy  clean  clean   noisy
    >>> f.transform(X).columns.tolist()
    ['clean', 'other']
    """

    _rules: ClassVar[dict[str, Rule]] = {
        "threshold": (lambda v: _is_real(v) and 0 < v <= 1, "a float in (0, 1]"),
        "method": (lambda v: v in ("pearson", "spearman"), "'pearson' or 'spearman'"),
        "keep": (lambda v: v in ("label_information", "first"), "'label_information' or 'first'"),
        "n_heatmap_features": (lambda v: _is_int(v) and v >= 2, "an int >= 2"),
        "mi_bins": (lambda v: _is_int(v) and 2 <= v <= 4096, "an int in [2, 4096]"),
        "mi_max_rows": (lambda v: _is_int(v) and v >= 100, "an int >= 100"),
        "seed": (lambda v: v is None or _is_int(v), "an int or None"),
    }

    def __init__(
        self,
        *,
        threshold: float = 0.9,
        method: str = "pearson",
        keep: str = "label_information",
        n_heatmap_features: int = 30,
        mi_bins: int = 64,
        mi_max_rows: int = 500_000,
        seed: int | None = 42,
    ) -> None:
        self.threshold = threshold
        self.method = method
        self.keep = keep
        self.n_heatmap_features = n_heatmap_features
        self.mi_bins = mi_bins
        self.mi_max_rows = mi_max_rows
        self.seed = seed

    def _fit(self, data: _Columns, y: Any) -> None:
        codes = self._label_codes(y, data.n_rows)
        names = [str(n) for n in data.names]
        arrays = data.arrays
        if self.method == "spearman":
            arrays = [_ranks(a, h) for a, h in zip(arrays, data.has_nan, strict=True)]
        corr, var = _correlation(arrays, data.has_nan)

        top = np.argsort(-np.nan_to_num(var, nan=-np.inf), kind="stable")
        top = top[: self.n_heatmap_features]
        self.correlation_ = pd.DataFrame(
            corr[np.ix_(top, top)], index=[names[i] for i in top], columns=[names[i] for i in top]
        )

        ii, jj = np.nonzero(np.triu(np.abs(np.nan_to_num(corr)) > self.threshold, k=1))
        involved = np.unique(np.concatenate([ii, jj]))
        mi = np.full(len(names), np.nan)
        if codes is not None and involved.size:
            mi[involved] = self._mutual_info(data, involved, codes)
        self.mutual_info_ = pd.Series(
            mi[involved], index=[names[i] for i in involved], name="mutual_info", dtype=float
        )

        # Strongest pairs first; |r| rounded so float noise cannot reorder equal pairs.
        order = sorted(
            range(ii.size),
            key=lambda k: (
                -round(abs(float(corr[ii[k], jj[k]])), 10),
                min(names[ii[k]], names[jj[k]]),
                max(names[ii[k]], names[jj[k]]),
            ),
        )
        support = np.ones(len(names), dtype=bool)
        rows = []
        for k in order:
            a, b = int(ii[k]), int(jj[k])
            dropped = None
            if support[a] and support[b]:
                loser = self._loser(a, b, names, mi)
                support[loser] = False
                dropped = names[loser]
            alive = [m for m in (a, b) if support[m]]
            rows.append(
                (
                    names[a],
                    names[b],
                    float(corr[a, b]),
                    mi[a],
                    mi[b],
                    names[alive[0]] if alive else None,
                    dropped,
                )
            )
        self.support_ = support
        self.pairs_ = pd.DataFrame(
            rows, columns=["a", "b", "r", "mi_a", "mi_b", "kept", "dropped"]
        ).astype({"r": float, "mi_a": float, "mi_b": float, "kept": object, "dropped": object})

    def _loser(self, a: int, b: int, names: list[str], mi: np.ndarray) -> int:
        if self.keep == "first":
            return b  # a < b: b comes later in input order
        if mi[a] != mi[b]:
            return a if mi[a] < mi[b] else b
        # A tie loses the later name, so the choice does not depend on the column order.
        return a if names[a] > names[b] else b

    def _label_codes(self, y: Any, n_rows: int) -> np.ndarray | None:
        if self.keep != "label_information":
            return None
        if y is None:
            raise ParameterError(
                "CorrelationFilter requires y to be passed, but the target y is None; pass "
                "the training labels to fit, or use keep='first'."
            )
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != n_rows:
            raise SchemaError(
                f"CorrelationFilter needs one label per row: y has shape {y.shape}, X has "
                f"{n_rows} rows; pass a 1-D y aligned with X."
            )
        codes, _ = pd.factorize(y, sort=True)
        n_missing = int((codes < 0).sum())
        if n_missing:
            raise SchemaError(
                f"y has {n_missing} missing labels; CorrelationFilter needs every training "
                "row labelled: drop the unlabelled rows first."
            )
        return codes

    def _mutual_info(self, data: _Columns, columns: np.ndarray, codes: np.ndarray) -> np.ndarray:
        rows = None
        if data.n_rows > self.mi_max_rows:
            rng = np.random.default_rng(self.seed)
            rows = np.sort(rng.choice(data.n_rows, size=self.mi_max_rows, replace=False))
            codes = codes[rows]
        n_classes = int(codes.max()) + 1
        out = np.empty(len(columns))
        for k, j in enumerate(columns):
            arr = data.arrays[j] if rows is None else data.arrays[j][rows]
            out[k] = _binned_mutual_info(arr, codes, n_classes, self.mi_bins)
        return out

    def heatmap(self, *, title: str | None = None) -> Figure:
        """Heat map of ``correlation_`` (the highest-variance columns), as a Figure.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from riskscope.features.pruning import CorrelationFilter
        >>> X = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 3)), columns=list("abc"))
        >>> CorrelationFilter(keep="first").fit(X).heatmap().axes[0].get_title(loc="left")
        'Feature correlation (3 highest-variance features)'
        """
        self._check_fitted()
        # Imported here: plotting (matplotlib) must not load with the filters.
        from riskscope.plotting import correlation_heatmap

        return correlation_heatmap(self.correlation_, title=title)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = self.keep == "label_information"
        return tags


def _ranks(arr: np.ndarray, has_nan: bool) -> np.ndarray:
    from scipy.stats import rankdata

    if has_nan:
        out = np.full(arr.shape, np.nan, dtype=np.float32)
        ok = ~np.isnan(arr)
        out[ok] = rankdata(arr[ok], method="average")
        return out
    return rankdata(arr, method="average").astype(np.float32)


def _correlation(arrays: list[np.ndarray], has_nan: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation matrix and per-column variance of the column arrays.

    Values are centred on the column means (in float64, so large offsets cannot cost
    precision), then the Gram matrix is accumulated block by block in float64. With
    missing values the sums are restricted, for each pair, to the rows both observe.
    """
    p = len(arrays)
    n = arrays[0].shape[0]
    means = np.zeros(p)
    for j, a in enumerate(arrays):
        if has_nan[j]:
            ok = ~np.isnan(a)
            means[j] = a[ok].mean(dtype=np.float64) if ok.any() else 0.0
        else:
            means[j] = a.mean(dtype=np.float64)
    any_nan = bool(has_nan.any())
    gram = np.zeros((p, p))
    sums = np.zeros(p)
    if any_nan:
        pair_n = np.zeros((p, p))
        pair_sum = np.zeros((p, p))  # [i, j]: sum of centred x_i over rows where i, j observed
        pair_sq = np.zeros((p, p))
    buf = np.empty((min(n, _BLOCK_ROWS), p), order="F")
    # One BLAS thread: each block is a small product, and with more threads than free
    # cores OpenBLAS spends its time waiting on descheduled peers (2M x 80 on 2 busy
    # cores: 1.5 s with one thread, 7-40 s with two).
    with threadpool_limits(limits=1, user_api="blas"):
        for start in range(0, n, _BLOCK_ROWS):
            stop = min(n, start + _BLOCK_ROWS)
            block = buf[: stop - start]
            for j, a in enumerate(arrays):
                block[:, j] = a[start:stop]
            block -= means
            if any_nan:
                observed = ~np.isnan(block)
                block[~observed] = 0.0
                mask = observed.astype(np.float64)
                pair_n += mask.T @ mask
                pair_sum += block.T @ mask
                pair_sq += (block * block).T @ mask
            gram += block.T @ block
            sums += block.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if any_nan:
            cov = gram - pair_sum * pair_sum.T / pair_n
            var_i = pair_sq - pair_sum**2 / pair_n
            denom = np.sqrt(var_i * var_i.T)
            corr = np.where(pair_n >= 2, cov / denom, np.nan)
            n_obs = np.diag(pair_n)
            var = np.where(n_obs >= 2, np.diag(var_i) / (n_obs - 1), np.nan)
        else:
            cov = gram - np.outer(sums, sums) / n
            var = np.diag(cov).copy()
            denom = np.sqrt(np.outer(var, var))
            corr = cov / denom
            var /= n - 1
    # Constant columns (zero spread over the shared rows) have no defined correlation.
    corr[~np.isfinite(corr) | ~(denom > 0)] = np.nan
    np.clip(corr, -1.0, 1.0, out=corr)
    diag = np.isfinite(np.diag(corr))
    corr[np.diag_indices(p)] = np.where(diag, 1.0, np.nan)
    return corr, var


def _binned_mutual_info(arr: np.ndarray, codes: np.ndarray, n_classes: int, n_bins: int) -> float:
    """Plug-in mutual information (nats) between quantile bins of ``arr`` and ``codes``."""
    nan = np.isnan(arr)
    finite = arr[~nan] if nan.any() else arr
    if finite.size == 0:
        return 0.0
    # Equal-frequency cut points read off one sort (np.quantile with 63 levels is ~8x
    # slower than the sort itself); tied values collapse into one edge.
    ordered = np.sort(finite)
    edges = np.unique(ordered[np.arange(1, n_bins) * ordered.size // n_bins])
    # Bin index = number of edges <= value. A comparison per edge is ~3x faster than
    # np.searchsorted's binary search on millions of rows (measured, 2M float32), and
    # adding each comparison's bytes into uint8 counts (no bool -> int16 cast per edge)
    # is ~2.5x faster again (124k float32 rows, 20 edges: 0.3 ms).
    small = len(edges) + 1 <= np.iinfo(np.uint8).max
    bins = np.zeros(arr.shape, dtype=np.uint8 if small else np.int16)
    hit = np.empty(arr.shape, dtype=bool)
    step = hit.view(np.uint8) if small else hit
    for edge in edges:
        np.greater_equal(arr, edge, out=hit)
        bins += step
    bins[nan] = len(edges) + 1
    joint = np.bincount(
        bins.astype(np.intp) * n_classes + codes, minlength=(len(edges) + 2) * n_classes
    )
    p = joint.reshape(-1, n_classes) / arr.size
    px = p.sum(axis=1, keepdims=True)
    py = p.sum(axis=0, keepdims=True)
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / (px @ py)[nz])))
