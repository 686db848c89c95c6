"""Feature selection for scorecards: IV filter, WOE correlation filter, XGBoost stepwise count.

The three steps of the IV-XGBoost-RF method (seed 001) as scikit-learn transformers. Each
fits its own :class:`~riskscope.scorecard.WoeBinner` on the rows given to ``fit`` and
nothing else, so inside a :class:`~sklearn.pipeline.Pipeline` evaluated by an outer CV
every bin, IV, correlation, ranking and chosen count is learned from the training fold only.

``transform`` returns the kept *raw* columns (not WOE), so the steps compose in any order
and the model step after them bins the survivors itself::

    make_pipeline(WoeCorrelationFilter(), IVFilter(), XGBStepwiseSelector(),
                  WoeBinner(), RandomForestClassifier())

The order above is the paper's: correlation first, then IV < 0.02, then XGBoost ranking.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import StratifiedKFold, cross_val_score

from riskscope.exceptions import NotFittedError, ParameterError, SchemaError
from riskscope.scorecard.binning import WoeBinner, _as_frame

__all__ = ["IVFilter", "WoeCorrelationFilter", "XGBStepwiseSelector"]

Rule = tuple[Callable[[Any], bool], str]
_IMPORTANCE = ("gain", "total_gain", "weight", "cover", "total_cover")


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_binner(v: Any) -> bool:
    return v is None or isinstance(v, WoeBinner)


def _is_scoring(v: Any) -> bool:
    if callable(v):
        return True
    try:
        get_scorer(v)
    except (ValueError, TypeError):
        return False
    return True


class _BinnedSelector(TransformerMixin, BaseEstimator):
    """Base: validation, the binner, bookkeeping and ``transform``; subclasses ``_fit``."""

    _rules: ClassVar[dict[str, Rule]] = {
        "binner": (_is_binner, "None or a WoeBinner"),
        "prefit": (lambda v: isinstance(v, bool), "True or False"),
    }

    def _check_params(self) -> None:
        owner = type(self).__name__
        for name, (ok, rule) in {**_BinnedSelector._rules, **self._rules}.items():
            value = getattr(self, name)
            if not ok(value):
                raise ParameterError(f"`{name}` of {owner} must be {rule}; got {value!r}.")

    def fit(self, X: Any, y: Any) -> _BinnedSelector:
        """Learn which columns to keep from ``X`` and the binary target ``y``; returns self.

        ``y`` is 0/1 with 1 the bad outcome, or any two labels with ``binner``'s ``event=``
        naming the bad one.
        """
        self._check_params()
        X = _as_frame(X)
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise SchemaError(f"X has {X.shape[0]} row(s) and {X.shape[1]} feature(s); "
                              f"{type(self).__name__} needs at least one of each.")
        if self.prefit:
            binner = self.binner
            if binner is None or not hasattr(binner, "tables_"):
                raise ParameterError(f"`prefit=True` of {type(self).__name__} needs a "
                                     "fitted WoeBinner as `binner`; fit it or use prefit=False.")
            unknown = [c for c in X.columns if c not in set(binner.feature_names_in_)]
            if unknown:
                raise SchemaError(f"X has {len(unknown)} column(s) the prefit binner was not "
                                  f"fitted on ({', '.join(map(repr, unknown[:5]))}); refit it.")
        else:
            binner = clone(self.binner if self.binner is not None else WoeBinner()).fit(X, y)
        target = binner._target(y, X.shape[0])  # the binner's own label check and mapping
        self.binner_ = binner
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.support_ = self._fit(X, target)
        return self

    def _fit(self, X: pd.DataFrame, y: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    @staticmethod
    def _check_columns(X: pd.DataFrame, names: Any, what: str) -> None:
        absent = [c for c in names if c not in X.columns]
        if absent:
            raise SchemaError(f"X lacks {len(absent)} column(s) {what} "
                              f"({', '.join(map(repr, absent[:5]))}); pass the same columns.")

    def _check_fitted(self) -> None:
        if not hasattr(self, "support_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(X, y) first.")

    @property
    def iv_(self) -> pd.Series:
        """IV per input column from the fitted binner, highest first."""
        self._check_fitted()
        return self.binner_.iv_.loc[[c for c in self.binner_.iv_.index
                                     if c in set(self.feature_names_in_)]]

    def _woe(self, X: pd.DataFrame) -> pd.DataFrame:
        # per table: a prefit binner may know more columns than X holds
        return pd.DataFrame({c: self.binner_.tables_[c].transform(X[c]) for c in X.columns},
                            index=X.index, columns=list(X.columns))

    def transform(self, X: Any) -> pd.DataFrame:
        """The kept columns of ``X`` with their raw values (not WOE), in fit order."""
        self._check_fitted()
        X = _as_frame(X)
        self._check_columns(X, self.feature_names_in_, f"{type(self).__name__} was fitted on")
        return X.loc[:, list(self.get_feature_names_out())]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the kept columns."""
        self._check_fitted()
        return self.feature_names_in_[self.support_].copy()

    def get_support(self, indices: bool = False) -> np.ndarray:
        """The boolean ``support_`` mask over the input columns (or the kept indices)."""
        self._check_fitted()
        return np.flatnonzero(self.support_) if indices else self.support_.copy()


class IVFilter(_BinnedSelector):
    """Keep the columns whose information value is at least ``threshold``.

    Bins every column with a clone of ``binner`` fitted on the fit data, then keeps the
    columns with ``IV >= threshold``. :meth:`transform` returns the kept raw columns (not
    their WOE), so later steps see the same kind of input.

    Parameters
    ----------
    threshold : float, default 0.02
        The conventional "useless predictor" cut (Siddiqi): IV < 0.02 carries almost no
        information; the paper drops job, telephone, residence time and dependents by it.
    binner : WoeBinner or None, default None
        Binning settings (cloned and fitted in ``fit``); None: ``WoeBinner()``, which needs
        a 0/1 target. Use ``WoeBinner(event="bad")`` for labelled targets.
    prefit : bool, default False
        Use ``binner`` as already fitted, without refitting. Only leakage-free if it was
        fitted on the same training rows as this filter.

    Attributes
    ----------
    iv_ : pandas.Series
        IV per input column, highest first.
    dropped_ : list of str
        Columns with IV below ``threshold``, in input order.
    support_ : ndarray of bool
    binner_ : WoeBinner
    feature_names_in_ : ndarray of object
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.scorecard.selection import IVFilter
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=400), "coin": rng.choice(["h", "t"], 400)})
    >>> y = (X["x"] + rng.normal(size=400) > 1).astype(int)
    >>> f = IVFilter().fit(X, y)
    >>> f.get_feature_names_out().tolist(), f.dropped_
    (['x'], ['coin'])
    """

    _rules: ClassVar[dict[str, Rule]] = {
        "threshold": (lambda v: _is_real(v) and v >= 0, "a finite number >= 0")}

    def __init__(self, *, threshold: float = 0.02, binner: WoeBinner | None = None,
                 prefit: bool = False) -> None:
        self.threshold = threshold
        self.binner = binner
        self.prefit = prefit

    def _fit(self, X: pd.DataFrame, y: np.ndarray) -> np.ndarray:
        iv = self.binner_.iv_.reindex(X.columns).to_numpy(np.float64)
        keep = iv >= self.threshold
        self.dropped_ = [c for c, k in zip(X.columns, keep, strict=True) if not k]
        return keep


class WoeCorrelationFilter(_BinnedSelector):
    """Drop the lower-IV member of every pair of columns whose WOE are strongly correlated.

    Columns are visited by IV, highest first (ties: input order); a column is kept unless
    its ``|r|`` with an already kept column exceeds ``threshold``. So every dropped column
    has a kept partner with higher IV (an equal IV: an earlier column), no kept pair is
    above the threshold, and a column whose only strong partner was itself dropped stays.
    A constant column (one bin) has no correlation (r taken as 0).

    Parameters
    ----------
    threshold : float, default 0.7
        Largest ``|r|`` allowed between kept columns. Scorecard practice uses 0.6-0.8;
        0.7 is its middle, where about half of one column's variance is explained by the
        other (r^2 = 0.49). On German credit all WOE ``|r|`` lie below 0.4 (the paper:
        0.01-0.4), so nothing is dropped there at any threshold in that range.
    method : {"pearson", "spearman", "kendall"}, default "pearson"
    on : {"woe", "raw"}, default "woe"
        Correlate the WOE encodings (every column, categorical included) or the raw
        values (numeric columns only).
    binner : WoeBinner or None, default None
        As in :class:`IVFilter`; gives the WOE and the IVs.
    prefit : bool, default False
        As in :class:`IVFilter`.

    Attributes
    ----------
    pairs_ : pandas.DataFrame
        Every pair above ``threshold``: ``a`` (higher IV), ``b``, ``r`` (signed) and
        ``dropped`` (whether ``b`` was dropped for it; False when ``a`` was already dropped).
    dropped_ : list of str
    iv_, support_, binner_, feature_names_in_, n_features_in_
        As in :class:`IVFilter`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.scorecard.selection import WoeCorrelationFilter
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=400)
    >>> X = pd.DataFrame({"x": x, "x_copy": x + rng.normal(scale=0.05, size=400)})
    >>> y = (x + rng.normal(size=400) > 1).astype(int)
    >>> f = WoeCorrelationFilter().fit(X, y)
    >>> len(f.dropped_), len(f.pairs_)
    (1, 1)
    """

    _rules: ClassVar[dict[str, Rule]] = {
        "threshold": (lambda v: _is_real(v) and 0 < v <= 1, "a number in (0, 1]"),
        "method": (lambda v: v in ("pearson", "spearman", "kendall"),
                   "'pearson', 'spearman' or 'kendall'"),
        "on": (lambda v: v in ("woe", "raw"), "'woe' or 'raw'"),
    }

    def __init__(self, *, threshold: float = 0.7, method: str = "pearson", on: str = "woe",
                 binner: WoeBinner | None = None, prefit: bool = False) -> None:
        self.threshold = threshold
        self.method = method
        self.on = on
        self.binner = binner
        self.prefit = prefit

    def _fit(self, X: pd.DataFrame, y: np.ndarray) -> np.ndarray:
        if self.on == "woe":
            values = self._woe(X)
        else:
            text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])
                    or pd.api.types.is_bool_dtype(X[c])]
            if text:
                raise SchemaError(f"on='raw' needs numeric columns; {len(text)} are not "
                                  f"({', '.join(map(repr, text[:5]))}); use on='woe'.")
            values = X.astype(np.float64)
        corr = values.corr(method=self.method).fillna(0.0).to_numpy()
        names = list(X.columns)
        iv = self.binner_.iv_.reindex(names).to_numpy(np.float64)
        order = sorted(range(len(names)), key=lambda i: (-iv[i], i))
        kept: list[int] = []
        pairs = []
        for j in order:
            partners = [i for i in kept if abs(corr[i, j]) > self.threshold]
            pairs += [(i, j, True) for i in partners]
            if not partners:
                kept.append(j)
        # pairs whose stronger member had already been dropped: recorded, resolved elsewhere
        dropped = set(order) - set(kept)
        for pos, i in enumerate(order):
            for j in order[pos + 1:]:
                if i in dropped and abs(corr[i, j]) > self.threshold:
                    pairs.append((i, j, False))
        self.pairs_ = pd.DataFrame(
            [(names[i], names[j], float(corr[i, j]), d) for i, j, d in pairs],
            columns=["a", "b", "r", "dropped"]).astype({"r": np.float64, "dropped": bool})
        support = np.zeros(len(names), dtype=bool)
        support[kept] = True
        self.dropped_ = [c for c, k in zip(names, support, strict=True) if not k]
        return support


class XGBStepwiseSelector(_BinnedSelector):
    """Rank columns by XGBoost importance and keep the top count with the best CV score.

    In ``fit``: (1) WOE-encode with a binner fitted on the fit data; (2) fit an
    ``XGBClassifier`` on it and rank the columns by ``importance_type`` (default "gain":
    the average loss reduction of the splits on a column, XGBoost's default for
    ``feature_importances_``; unused columns get 0); (3) for the counts
    ``n, n - step, ..., min_features`` score the top-k columns by stratified ``cv``-fold CV
    of ``estimator`` and keep the count with the best mean (ties: fewer columns).

    Leakage: everything is learned from the rows given to ``fit`` only, so inside an outer
    CV no outer test row is seen. The inner CV reuses the one binner and ranking fitted on
    all fit rows (not refitted per inner fold, which would cost ``cv`` times more): its
    scores are slightly optimistic, alike for every count, and serve only to pick the count.

    Parameters
    ----------
    min_features : int, default 1
        Smallest count tried (always tried, even off the ``step`` grid).
    step : int, default 1
        Columns removed between two tried counts.
    cv : int, default 5
        Folds of the inner stratified CV (shuffled with ``random_state``).
    scoring : str or callable, default "accuracy"
        A scikit-learn scorer, as the paper chooses the count by accuracy.
    estimator : classifier or None, default None
        Scored on the top-k WOE columns (cloned per fold); None: an ``XGBClassifier`` with
        the ranking's parameters. The paper scores a random forest.
    xgb_params : dict or None, default None
        Overrides of the XGBoost defaults used here: ``n_estimators=100, max_depth=3,
        learning_rate=0.1, n_jobs=1, random_state=random_state``.
    importance_type : {"gain", "total_gain", "weight", "cover", "total_cover"}, default "gain"
    encode : {"woe", "none"}, default "woe"
        "none" ranks and scores the raw columns (all must be numeric).
    binner : WoeBinner or None, default None
        As in :class:`IVFilter` (also maps labelled targets to 0/1 with ``event=``).
    prefit : bool, default False
        As in :class:`IVFilter`.
    random_state : int, default 0

    Attributes
    ----------
    ranking_ : pandas.Series
        Importance per input column, highest first (ties: input order).
    scores_ : pandas.DataFrame
        One row per tried count: ``n_features``, ``mean``, ``std`` of the CV score.
    n_features_ : int
    selected_ : list of str
        The kept columns, by rank.
    iv_, support_, binner_, feature_names_in_, n_features_in_
        As in :class:`IVFilter`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.scorecard.selection import XGBStepwiseSelector
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    >>> y = (X["a"] + 0.5 * X["b"] + rng.normal(size=300) > 1).astype(int)
    >>> sel = XGBStepwiseSelector(cv=3, xgb_params={"n_estimators": 20}).fit(X, y)
    >>> sel.ranking_.index[0], sel.scores_["n_features"].tolist()
    ('a', [4, 3, 2, 1])
    """

    _rules: ClassVar[dict[str, Rule]] = {
        "min_features": (lambda v: _is_int(v) and v >= 1, "an int >= 1"),
        "step": (lambda v: _is_int(v) and v >= 1, "an int >= 1"),
        "cv": (lambda v: _is_int(v) and v >= 2, "an int >= 2"),
        "scoring": (_is_scoring, "a scikit-learn scorer name or a callable"),
        "estimator": (lambda v: v is None or hasattr(v, "fit"), "None or a classifier"),
        "xgb_params": (lambda v: v is None or isinstance(v, dict), "None or a dict"),
        "importance_type": (lambda v: v in _IMPORTANCE, "one of " + ", ".join(_IMPORTANCE)),
        "encode": (lambda v: v in ("woe", "none"), "'woe' or 'none'"),
        "random_state": (_is_int, "an int"),
    }

    def __init__(self, *, min_features: int = 1, step: int = 1, cv: int = 5,
                 scoring: str | Callable = "accuracy", estimator: Any = None,
                 xgb_params: dict | None = None, importance_type: str = "gain",
                 encode: str = "woe", binner: WoeBinner | None = None, prefit: bool = False,
                 random_state: int = 0) -> None:
        self.min_features = min_features
        self.step = step
        self.cv = cv
        self.scoring = scoring
        self.estimator = estimator
        self.xgb_params = xgb_params
        self.importance_type = importance_type
        self.encode = encode
        self.binner = binner
        self.prefit = prefit
        self.random_state = random_state

    def _xgb(self) -> Any:
        from xgboost import XGBClassifier

        params = {"n_estimators": 100, "max_depth": 3, "learning_rate": 0.1, "n_jobs": 1,
                  "random_state": self.random_state, "verbosity": 0}
        return XGBClassifier(**{**params, **(self.xgb_params or {})})

    def _fit(self, X: pd.DataFrame, y: np.ndarray) -> np.ndarray:
        n = X.shape[1]
        if self.min_features > n:
            raise ParameterError(f"`min_features` of XGBStepwiseSelector must be <= the "
                                 f"number of features ({n}); got {self.min_features}.")
        smallest = int(np.bincount(y, minlength=2).min())
        if smallest < self.cv:
            raise SchemaError(f"The rarer class has {smallest} rows, fewer than cv="
                              f"{self.cv} folds; lower `cv` or pass more rows.")
        if self.encode == "woe":
            values = self._woe(X).to_numpy(np.float64)
        else:
            text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])
                    or pd.api.types.is_bool_dtype(X[c])]
            if text:
                raise SchemaError(f"encode='none' needs numeric columns; {len(text)} are not "
                                  f"({', '.join(map(repr, text[:5]))}); use encode='woe'.")
            values = X.to_numpy(np.float64, na_value=np.nan)
        ranker = self._xgb().fit(values, y)  # plain array: XGBoost names the columns f0..
        score = ranker.get_booster().get_score(importance_type=self.importance_type)
        imp = np.array([score.get(f"f{i}", 0.0) for i in range(n)], dtype=np.float64)
        order = sorted(range(n), key=lambda i: (-imp[i], i))
        self.ranking_ = pd.Series(imp[order], index=[X.columns[i] for i in order],
                                  name=self.importance_type)
        counts = list(range(n, self.min_features - 1, -self.step))
        if counts[-1] != self.min_features:
            counts.append(self.min_features)
        folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        model = self.estimator if self.estimator is not None else self._xgb()
        rows = []
        for k in counts:
            s = cross_val_score(clone(model), values[:, order[:k]], y, cv=folds,
                                scoring=self.scoring, error_score="raise")
            rows.append((k, float(s.mean()), float(s.std())))
        self.scores_ = pd.DataFrame(rows, columns=["n_features", "mean", "std"])
        best = self.scores_["mean"].max()
        # float noise must not beat the tie rule: within 1e-12 of the best counts as a tie
        self.n_features_ = int(self.scores_.loc[self.scores_["mean"] >= best - 1e-12,
                                                "n_features"].min())
        self.selected_ = list(self.ranking_.index[:self.n_features_])
        support = np.zeros(n, dtype=bool)
        support[order[:self.n_features_]] = True
        return support
