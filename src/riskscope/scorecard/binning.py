"""Optimal binning and WOE/IV: :class:`WoeBinner` fits, :class:`BinningTable` keeps the result.

Bins are found by optbinning's ``OptimalBinning`` (decision-tree prebinning on Gini, then
an exact solver that merges prebins under the size and trend constraints). The result of
each feature is copied into a plain :class:`BinningTable` (split points or category groups
plus event/non-event counts per bin), so a fitted binner is JSON data and transforms new
rows without optbinning installed.

Conventions (those of optbinning, kept everywhere here):

* The *event* is the bad outcome (default, ``y == 1``); the non-event is the good one.
* ``WOE_i = ln(share of non-events in bin i / share of events in bin i)``: a positive
  WOE means fewer bads than average. A bin lacking events or non-events gets WOE 0.
* ``IV = sum_i (non-event share_i - event share_i) * WOE_i`` (always >= 0).
* Numerical bins are ``(-inf, s1), [s1, s2), ..., [sk, inf)``; every table ends with a
  ``Special`` bin (the user's special codes) and a ``Missing`` bin (NaN/None).
"""

from __future__ import annotations

import logging
import math
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from riskscope.exceptions import NotFittedError, ParameterError, SchemaError

__all__ = ["BinningTable", "WoeBinner"]

_KINDS = ("numerical", "categorical")
_METRICS = ("woe", "event_rate", "index", "bin")
_TRENDS = (None, "auto", "auto_heuristic", "auto_asc_desc", "ascending", "descending",
           "concave", "convex", "peak", "valley", "peak_heuristic", "valley_heuristic")
_PREBINNING = ("cart", "quantile", "uniform", "mdlp")
_SOLVERS = ("cp", "mip")


def _not_highs(record: logging.LogRecord) -> bool:
    return "importing solver HIGHS" not in record.getMessage()


def _quiet_highs() -> None:
    """Drop cvxpy's log line about its optional HiGHS build (broken in this wheel set).

    optbinning imports cvxpy, which logs that failure in every process; the solvers used
    here do not need HiGHS. A filter survives cvxpy resetting its logger's level.
    """
    logger = logging.getLogger("__cvxpy__")
    if _not_highs not in logger.filters:
        logger.addFilter(_not_highs)


def _plain(value: Any) -> Any:
    """A value as a JSON-able Python scalar (numpy scalars unwrapped)."""
    return value.item() if isinstance(value, np.generic) else value


def _rows(mask: np.ndarray) -> str:
    pos = np.flatnonzero(mask)
    return ", ".join(map(str, pos[:3])) + (", ..." if pos.size > 3 else "")


@dataclass(frozen=True, eq=False)
class BinningTable:
    """The bins of one feature with their event/non-event counts, WOE and IV.

    Counts are the only learned numbers stored; WOE, event rate and IV are derived from
    them, so a table read back from JSON cannot disagree with itself.

    Parameters
    ----------
    name : str
    kind : {"numerical", "categorical"}
    splits : list of float
        Numerical: strictly increasing split points; bin ``i`` is ``[s_i, s_{i+1})`` with
        ``s_0 = -inf``, ``s_{k+1} = inf``. Empty for a categorical feature.
    groups : list of list
        Categorical: the category groups, one per bin. Empty for a numerical feature.
    n_event, n_nonevent : list of int
        Counts per bin: the regular bins, then ``Special``, then ``Missing``.
    special_codes : list, default []
        Values sent to the ``Special`` bin.

    Notes
    -----
    :meth:`transform` sends NaN/None to the ``Missing`` bin and special codes to the
    ``Special`` bin, whose WOE are those observed in training (0 when the bin was empty or
    lacked a class). A category never seen in training gets WOE 0 (event rate: the overall
    rate, index -1, bin ``"Unknown"``): no evidence either way. It is *not* put in the
    ``Missing`` bin, whose WOE describes applicants who left the field blank, a population
    that may be far riskier or safer than a new category.

    Examples
    --------
    >>> from riskscope.scorecard import BinningTable
    >>> t = BinningTable(name="age", kind="numerical", splits=[30.0],
    ...                  n_event=[60, 40, 0, 0], n_nonevent=[40, 60, 0, 0])
    >>> t.woe.round(3).tolist()
    [-0.405, 0.405, 0.0, 0.0]
    >>> round(t.iv, 4)
    0.1622
    >>> t.transform([25, 30, None], metric="bin").tolist()
    ['(-inf, 30)', '[30, inf)', 'Missing']
    >>> BinningTable.from_dict(t.to_dict()).transform([25]).round(3).tolist()
    [-0.405]
    """

    name: str
    kind: str
    splits: list[float] = field(default_factory=list)
    groups: list[list[Any]] = field(default_factory=list)
    n_event: list[int] = field(default_factory=list)
    n_nonevent: list[int] = field(default_factory=list)
    special_codes: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        where = f"Binning table {self.name!r}"
        if self.kind not in _KINDS:
            raise SchemaError(f"{where} has kind {self.kind!r}; use 'numerical' or "
                              "'categorical'.")
        n_bins = len(self.splits) + 1 if self.kind == "numerical" else len(self.groups)
        ev, nev = np.asarray(self.n_event), np.asarray(self.n_nonevent)
        if ev.shape != (n_bins + 2,) or nev.shape != (n_bins + 2,):
            raise SchemaError(f"{where} needs {n_bins + 2} counts per class ({n_bins} bins, "
                              f"Special, Missing); got {ev.shape} and {nev.shape}.")
        if not all(isinstance(v, numbers.Integral) and v >= 0 for v in [*ev, *nev]):
            raise SchemaError(f"{where} has counts that are not non-negative integers.")
        if ev.sum() == 0 or nev.sum() == 0:
            raise SchemaError(f"{where} has no events or no non-events; WOE is undefined.")
        s = np.asarray(self.splits, dtype=np.float64)
        if s.size and (not np.isfinite(s).all() or (np.diff(s) <= 0).any()):
            raise SchemaError(f"{where} has splits that are not finite and increasing.")
        seen = [c for g in self.groups for c in g]
        if len(set(seen)) != len(seen):
            raise SchemaError(f"{where} has a category in more than one group.")

    # --- derived statistics -------------------------------------------------------------
    @property
    def n_bins(self) -> int:
        """Number of regular bins (without ``Special`` and ``Missing``)."""
        return len(self.n_event) - 2

    @property
    def labels(self) -> list[str]:
        """One label per bin, ``Special`` and ``Missing`` last."""
        if self.kind == "numerical":
            edges = [-math.inf, *self.splits, math.inf]
            fmt = [f"{e:g}" for e in edges]
            out = [f"[{a}, {b})" for a, b in zip(fmt[:-1], fmt[1:], strict=True)]
            out[0] = "(" + out[0][1:]
        else:
            out = [str(list(g)) for g in self.groups]
        return [*out, "Special", "Missing"]

    def _shares(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ev, nev = np.asarray(self.n_event, float), np.asarray(self.n_nonevent, float)
        return ev / ev.sum(), nev / nev.sum(), (ev > 0) & (nev > 0)

    @property
    def woe(self) -> np.ndarray:
        """``ln(non-event share / event share)`` per bin; 0 where a class is absent."""
        p_ev, p_nev, ok = self._shares()
        out = np.zeros(p_ev.size)
        out[ok] = np.log(p_nev[ok] / p_ev[ok])
        return out

    @property
    def iv_bins(self) -> np.ndarray:
        """IV contribution per bin: ``(non-event share - event share) * WOE``."""
        p_ev, p_nev, _ = self._shares()
        return (p_nev - p_ev) * self.woe

    @property
    def iv(self) -> float:
        """Information value: the sum of :attr:`iv_bins`."""
        return float(self.iv_bins.sum())

    @property
    def event_rate(self) -> np.ndarray:
        """Events / rows per bin; the overall rate for an empty bin (as its WOE 0 says)."""
        ev, nev = np.asarray(self.n_event, float), np.asarray(self.n_nonevent, float)
        n = ev + nev
        return np.divide(ev, n, out=np.full(n.size, ev.sum() / n.sum()), where=n > 0)

    def to_frame(self, *, totals: bool = True) -> pd.DataFrame:
        """One row per bin (``Special`` and ``Missing`` included), and a ``Totals`` row."""
        ev, nev = np.asarray(self.n_event), np.asarray(self.n_nonevent)
        n = ev + nev
        df = pd.DataFrame({"bin": self.labels, "count": n, "count_share": n / n.sum(),
                           "non_event": nev, "event": ev, "event_rate": self.event_rate,
                           "woe": self.woe, "iv": self.iv_bins})
        if totals:
            df.loc[len(df)] = ["Totals", n.sum(), 1.0, nev.sum(), ev.sum(),
                               ev.sum() / n.sum(), np.nan, self.iv]
        return df

    def plot(self, *, metric: str = "woe", ax: Any = None) -> Any:
        """Bars of the row share per bin with the WOE (or event rate) as a line.

        Returns the :class:`matplotlib.figure.Figure` drawn on (``ax``'s, if given).
        """
        from riskscope.plotting import STYLE, figure, set_title, short

        if metric not in ("woe", "event_rate"):
            raise ParameterError(f"`metric` of BinningTable.plot must be 'woe' or "
                                 f"'event_rate'; got {metric!r}.")
        if ax is None:
            fig, ax = figure(STYLE["width"], 3.6)
        df = self.to_frame(totals=False)
        pos = np.arange(len(df))
        ax.bar(pos, df["count_share"], color=STYLE["primary"], alpha=0.8)
        ax.set_ylabel("share of rows", fontsize=STYLE["font_size"])
        ax.set_xticks(pos, [short(b) for b in df["bin"]], rotation=45, ha="right",
                      fontsize=STYLE["font_size"] - 1)
        line = ax.twinx()
        line.plot(pos, df[metric], color=STYLE["secondary"], marker="o")
        line.set_ylabel(metric.replace("_", " ").upper() if metric == "woe" else "event rate",
                        fontsize=STYLE["font_size"])
        set_title(ax, f"{short(self.name)}: IV {self.iv:.3f}")
        return ax.figure

    # --- mapping new values -----------------------------------------------------------
    def bin_index(self, values: Any) -> np.ndarray:
        """Bin index per value: ``0..n_bins-1``, ``n_bins`` Special, ``n_bins+1`` Missing,
        ``-1`` for a category not seen in training."""
        # numpy arrays throughout: one applicant at a time (explanations) must not pay for
        # pandas objects per column; the rules are those of the pandas calls they replace
        if isinstance(values, pd.Series):
            if self.kind == "numerical" and pd.api.types.is_numeric_dtype(values) \
                    and not pd.api.types.is_bool_dtype(values):
                arr = values.to_numpy(np.float64, na_value=np.nan)  # fast path, no objects
            else:
                arr = values.astype(object).to_numpy()
        else:
            arr = np.asarray(values, object)
        special = (pd.Series(arr).isin(self.special_codes).to_numpy() if len(self.special_codes)
                   else np.zeros(len(arr), dtype=bool))
        missing = pd.isna(arr) & ~special
        clean = ~special & ~missing
        idx = np.full(len(arr), -1, dtype=np.int64)
        if self.kind == "numerical":
            x = np.asarray(pd.to_numeric(arr[clean], errors="coerce"), dtype=np.float64)
            if np.isnan(x).any():
                bad = arr[clean][np.isnan(x)][0]
                raise SchemaError(f"Column {self.name!r} is numerical but holds non-numeric "
                                  f"values (e.g. {bad!r}); clean it or bin it as categorical.")
            idx[clean] = np.searchsorted(np.asarray(self.splits, float), x, side="right")
        else:
            lookup = {c: i for i, g in enumerate(self.groups) for c in g}
            idx[clean] = [lookup.get(v, -1) for v in arr[clean]]
        idx[special] = self.n_bins
        idx[missing] = self.n_bins + 1
        return idx

    def transform(self, values: Any, *, metric: str = "woe") -> np.ndarray:
        """Map raw values to their bin's WOE, event rate, index or label.

        Uses only the stored splits/groups and counts (see the class Notes for NaN,
        special codes and unseen categories).

        Parameters
        ----------
        values : array-like of shape (n_samples,)
        metric : {"woe", "event_rate", "index", "bin"}, default "woe"
        """
        if metric not in _METRICS:
            raise ParameterError(f"`metric` of BinningTable.transform must be one of "
                                 f"{', '.join(map(repr, _METRICS))}; got {metric!r}.")
        idx = self.bin_index(values)
        if metric == "index":
            return idx
        if metric == "bin":  # index -1 (unseen category) picks the trailing "Unknown"
            return np.asarray(self.labels + ["Unknown"], dtype=object)[idx]
        unseen = idx < 0
        table = self.woe if metric == "woe" else self.event_rate
        neutral = 0.0 if metric == "woe" else sum(self.n_event) / (
            sum(self.n_event) + sum(self.n_nonevent))
        return np.where(unseen, neutral, table[np.where(unseen, 0, idx)])

    # --- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The table as JSON-able data (counts, splits/groups, special codes)."""
        return {"name": _plain(self.name), "kind": self.kind,
                "splits": [float(v) for v in self.splits],
                "groups": [[_plain(c) for c in g] for g in self.groups],
                "n_event": [int(v) for v in self.n_event],
                "n_nonevent": [int(v) for v in self.n_nonevent],
                "special_codes": [_plain(c) for c in self.special_codes]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BinningTable:
        """Rebuild a table from :meth:`to_dict` output; bad data raises SchemaError."""
        try:
            return cls(name=data["name"], kind=data["kind"],
                       splits=[float(v) for v in data["splits"]],
                       groups=[list(g) for g in data["groups"]],
                       n_event=list(data["n_event"]), n_nonevent=list(data["n_nonevent"]),
                       special_codes=list(data.get("special_codes", [])))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, SchemaError):
                raise
            raise SchemaError(f"Binning table JSON is incomplete or malformed ({exc!r}); "
                              "re-save it from a fitted WoeBinner.") from None


class WoeBinner(TransformerMixin, BaseEstimator):
    """Optimal binning of every column and WOE encoding (a scikit-learn transformer).

    Each column is binned by optbinning's ``OptimalBinning`` with these settings; the
    result is kept as a :class:`BinningTable` per column, so :meth:`transform` and
    :meth:`from_dict` need no optbinning. See the module docstring for WOE's sign.

    Parameters
    ----------
    max_n_prebins : int, default 20
        Most prebins the decision tree may cut before the solver merges them.
    min_prebin_size : float, default 0.05
        Smallest share of rows in a prebin (a tree leaf).
    max_n_bins : int or None, default None
        Most bins after optimisation (None: no limit).
    min_bin_size : float or None, default 0.05
        Smallest share of rows in a final bin.
    monotonic_trend : str or None, default None
        Trend of the *event rate* over numerical bins, passed to optbinning: None (no
        constraint), "auto", "ascending", "descending", "peak", "valley", ...
        "ascending" event rate means descending WOE.
    special_codes : list or None, default None
        Values (e.g. ``-999``) that get their own ``Special`` bin in every column.
    categorical : list of str or None, default None
        Columns binned as categories although numeric. Other non-numeric columns
        (category, object, string, bool) are always categorical.
    prebinning_method : {"cart", "quantile", "uniform", "mdlp"}, default "cart"
        "cart" is the decision tree on Gini impurity.
    solver : {"cp", "mip"}, default "cp"
    event : scalar or None, default None
        The label of the event (bad) class in ``y``. None: ``y`` must be 0/1 and 1 is
        the event.

    Notes
    -----
    optbinning merges prebins that hold no events or no non-events before optimising, so
    a column that separates the classes perfectly ends up in one bin with IV 0.

    Attributes
    ----------
    tables_ : dict of str to BinningTable
    iv_ : pandas.Series
        IV per column, highest first.
    feature_names_in_ : ndarray of object
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.scorecard import WoeBinner
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(list("ab"), 400)})
    >>> y = np.where(X["x"] + rng.normal(size=400) > 1, "bad", "good")
    >>> binner = WoeBinner(event="bad").fit(X, y)
    >>> binner.iv_.index.tolist()
    ['x', 'c']
    >>> back = WoeBinner.from_dict(binner.to_dict())
    >>> bool(back.transform(X).equals(binner.transform(X)))
    True
    """

    def __init__(self, *, max_n_prebins: int = 20, min_prebin_size: float = 0.05,
                 max_n_bins: int | None = None, min_bin_size: float | None = 0.05,
                 monotonic_trend: str | None = None, special_codes: list | None = None,
                 categorical: list[str] | None = None, prebinning_method: str = "cart",
                 solver: str = "cp", event: Any = None) -> None:
        self.max_n_prebins = max_n_prebins
        self.min_prebin_size = min_prebin_size
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.monotonic_trend = monotonic_trend
        self.special_codes = special_codes
        self.categorical = categorical
        self.prebinning_method = prebinning_method
        self.solver = solver
        self.event = event

    def _check_params(self) -> None:
        def bad(param: str, rule: str) -> ParameterError:
            return ParameterError(f"`{param}` of WoeBinner must be {rule}; "
                                  f"got {getattr(self, param)!r}.")

        def is_int(v: Any) -> bool:
            return isinstance(v, numbers.Integral) and not isinstance(v, bool)

        def is_share(v: Any) -> bool:
            return isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 < v <= 0.5

        for param, choices in (("monotonic_trend", _TRENDS),
                               ("prebinning_method", _PREBINNING), ("solver", _SOLVERS)):
            if not any(getattr(self, param) == c for c in choices):
                raise bad(param, "one of " + ", ".join(map(repr, choices)))
        if not (is_int(self.max_n_prebins) and self.max_n_prebins >= 2):
            raise bad("max_n_prebins", "an int >= 2")
        if self.max_n_bins is not None and not (is_int(self.max_n_bins)
                                                and self.max_n_bins >= 1):
            raise bad("max_n_bins", "None or an int >= 1")
        if not is_share(self.min_prebin_size):
            raise bad("min_prebin_size", "a share in (0, 0.5]")
        if self.min_bin_size is not None and not is_share(self.min_bin_size):
            raise bad("min_bin_size", "None or a share in (0, 0.5]")
        for param in ("special_codes", "categorical"):
            if getattr(self, param) is not None and not isinstance(getattr(self, param),
                                                                    list | tuple):
                raise bad(param, "None or a list")

    def _target(self, y: Any, n_rows: int) -> np.ndarray:
        y = pd.Series(np.asarray(y, dtype=object) if not isinstance(y, pd.Series)
                      else y.astype(object).to_numpy())
        if len(y) != n_rows:
            raise SchemaError(f"y has {len(y)} labels but X has {n_rows} rows; pass one "
                              "label per row.")
        if y.isna().any():
            raise SchemaError(f"Target has {int(y.isna().sum())} missing labels (rows "
                              f"{_rows(y.isna().to_numpy())}); drop those rows or fill them.")
        classes = sorted(y.unique().tolist(), key=str)
        if len(classes) > 2:
            raise SchemaError(f"Target has {len(classes)} classes ({classes[:5]}); WOE "
                              "needs two, the event (bad) and the non-event (good).")
        if len(classes) < 2:
            raise SchemaError(f"Target has one class only ({classes[0]!r}, {len(y)} rows); "
                              "WOE needs both events and non-events.")
        event = self.event
        if event is None:
            if not set(classes) <= {0, 1}:
                raise SchemaError(f"Target values are {classes}, not 0/1; pass "
                                  f"event=<the bad label>, e.g. WoeBinner(event={classes[0]!r}).")
            event = 1
        elif event not in classes:
            raise SchemaError(f"event={event!r} is not a target value (found {classes}); "
                              "pass the label of the bad class.")
        return (y == event).to_numpy(np.int64)

    def fit(self, X: pd.DataFrame, y: Any) -> WoeBinner:
        """Bin every column of ``X`` against the binary target ``y``; returns self."""
        self._check_params()
        X = _as_frame(X)
        if X.shape[0] == 0 or X.shape[1] == 0:  # worded as sklearn's own check says it
            raise SchemaError(f"X has {X.shape[0]} row(s) and {X.shape[1]} feature(s) "
                              f"(shape={X.shape}) while a minimum of 1 is required.")
        target = self._target(y, X.shape[0])
        forced = list(self.categorical or [])
        absent = [c for c in forced if c not in X.columns]
        if absent:
            raise SchemaError(f"`categorical` of WoeBinner names columns not in X "
                              f"({', '.join(map(repr, absent[:5]))}); check the names.")
        tables = {}
        for col in X.columns:
            if X[col].isna().all():
                raise SchemaError(f"Column {col!r} is all missing ({len(X)} of {len(X)} "
                                  "rows); drop it before binning.")
            kind = "categorical" if col in forced or _is_categorical(X[col]) else "numerical"
            tables[col] = self._fit_column(col, X[col], target, kind)
        self._set_fitted(X.columns, tables)
        return self

    def _fit_column(self, col: Any, x: pd.Series, y: np.ndarray, kind: str) -> BinningTable:
        _quiet_highs()
        from optbinning import OptimalBinning

        codes = list(self.special_codes or [])
        if kind == "numerical":  # string codes cannot occur in a numeric column
            codes = [c for c in codes if isinstance(c, numbers.Real)]
            values = x.to_numpy(np.float64, na_value=np.nan)
        else:
            values = x.astype(object).to_numpy()
        optb = OptimalBinning(
            name=str(col), dtype=kind, prebinning_method=self.prebinning_method,
            solver=self.solver, max_n_prebins=self.max_n_prebins,
            min_prebin_size=self.min_prebin_size, max_n_bins=self.max_n_bins,
            min_bin_size=self.min_bin_size, monotonic_trend=self.monotonic_trend,
            special_codes=codes or None)
        with warnings.catch_warnings():
            # optbinning 1.0.0 uses pandas idioms pandas 3 deprecates; not ours to fix.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="optbinning")
            optb.fit(values, y)
        bt = optb.binning_table
        splits, groups = [], []
        if kind == "numerical":
            splits = [float(s) for s in optb.splits]
        else:
            groups = [[_plain(c) for c in g] for g in optb.splits]
        return BinningTable(name=col, kind=kind, splits=splits, groups=groups,
                            n_event=[int(v) for v in bt.n_event],
                            n_nonevent=[int(v) for v in bt.n_nonevent],
                            special_codes=[_plain(c) for c in codes])

    def _set_fitted(self, columns: Any, tables: dict[Any, BinningTable]) -> None:
        self.feature_names_in_ = np.asarray(list(columns), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.tables_ = tables
        iv = pd.Series({c: t.iv for c, t in tables.items()}, dtype=np.float64, name="iv")
        self.iv_ = iv.sort_values(ascending=False, kind="stable")

    def _check_fitted(self) -> None:
        if not hasattr(self, "tables_"):
            raise NotFittedError("WoeBinner is not fitted; call fit(X, y) first.")

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """WOE of every value: a float DataFrame with the input's columns and index."""
        self._check_fitted()
        X = _as_frame(X)
        absent = [c for c in self.feature_names_in_ if c not in X.columns]
        if absent:
            raise SchemaError(f"X lacks {len(absent)} column(s) the binner was fitted on "
                              f"({', '.join(map(repr, absent[:5]))}); pass the same columns.")
        return pd.DataFrame({c: self.tables_[c].transform(X[c]) for c in self.feature_names_in_},
                            index=X.index, columns=list(self.feature_names_in_))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The input column names (one WOE column each)."""
        self._check_fitted()
        return self.feature_names_in_.copy()

    def to_dict(self) -> dict[str, Any]:
        """The fitted binner as JSON-able data: parameters and one table per column."""
        self._check_fitted()
        params = {k: ([_plain(c) for c in v] if isinstance(v, list | tuple) else _plain(v))
                  for k, v in self.get_params().items()}
        return {"kind": "WoeBinner", "params": params,
                "tables": [self.tables_[c].to_dict() for c in self.feature_names_in_]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WoeBinner:
        """Rebuild a fitted binner from :meth:`to_dict` output; needs no optbinning."""
        try:
            if data["kind"] != "WoeBinner":
                raise ValueError(f"kind is {data['kind']!r}")
            binner = cls(**data["params"])
            tables = [BinningTable.from_dict(t) for t in data["tables"]]
        except SchemaError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"WoeBinner JSON is incomplete or malformed ({exc!r}); re-save "
                              "it from a fitted WoeBinner.") from None
        binner._set_fitted([t.name for t in tables], {t.name: t for t in tables})
        return binner


def _is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _as_frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    if hasattr(X, "toarray"):  # scipy.sparse: bins need each column's values, not nonzeros
        raise SchemaError("X is a sparse matrix; sparse input is not supported by "
                          "WoeBinner: pass a dense array or DataFrame.")
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise SchemaError(f"X must be 2-D (rows x columns); got shape {arr.shape}.")
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
