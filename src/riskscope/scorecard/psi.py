"""Population stability index (PSI): how far a new sample's distribution moved from a reference.

``PSI = sum_b (actual share_b - expected share_b) * ln(actual share_b / expected share_b)``
over bands ``b``. :func:`psi` bands a score (or any number) by the quantiles of the
expected sample; :func:`feature_psi` bands each feature by a fitted :class:`WoeBinner`'s
bins, ``Special`` and ``Missing`` included. Reading (the industry rule of thumb; Siddiqi,
*Credit Risk Scorecards*, 2006, ch. 8): PSI < 0.10 ``"stable"``, 0.10 <= PSI <= 0.25
``"moderate"``, PSI > 0.25 ``"shift"``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskscope.exceptions import NotFittedError, ParameterError, SchemaError
from riskscope.scorecard.binning import WoeBinner, _as_frame

__all__ = ["BandReference", "PSIResult", "feature_psi", "plot_psi_summary", "psi", "psi_status",
           "summarize_psi"]

#: Upper bounds of the "stable" and "moderate" readings (a PSI above 0.25 is a "shift").
PSI_THRESHOLDS = (0.10, 0.25)


def psi_status(value: float) -> str:
    """``"stable"`` (< 0.10), ``"moderate"`` (0.10 to 0.25) or ``"shift"`` (> 0.25)."""
    low, high = PSI_THRESHOLDS
    return "stable" if value < low else "moderate" if value <= high else "shift"


@dataclass(frozen=True, eq=False)
class PSIResult:
    """Band counts of an expected and an actual sample, and the PSI they give.

    Counts are the only stored numbers; shares, contributions and the total are derived,
    so a result read back from JSON cannot disagree with itself.

    Parameters
    ----------
    name : str
    bands : list of str
        One label per band.
    n_expected, n_actual : list of int
        Rows per band in each sample.
    eps : float, default 1e-4
        Floor of a share inside the logarithm, so an empty band gives a large but finite
        contribution instead of infinity.

    Examples
    --------
    >>> from riskscope.scorecard.psi import PSIResult
    >>> r = PSIResult(name="score", bands=["low", "high"], n_expected=[50, 50],
    ...               n_actual=[30, 70])
    >>> round(r.psi, 4), r.status
    (0.1695, 'moderate')
    """

    name: str
    bands: list[str]
    n_expected: list[int]
    n_actual: list[int]
    eps: float = 1e-4

    def __post_init__(self) -> None:
        k = len(self.bands)
        if len(self.n_expected) != k or len(self.n_actual) != k or k == 0:
            raise SchemaError(f"PSI result {self.name!r} needs one count per band in each "
                              f"sample ({k} bands); got {len(self.n_expected)} and "
                              f"{len(self.n_actual)}.")
        if sum(self.n_expected) == 0 or sum(self.n_actual) == 0:
            raise SchemaError(f"PSI result {self.name!r} has an empty sample; both need rows.")

    @property
    def shares(self) -> tuple[np.ndarray, np.ndarray]:
        """Share of rows per band: expected, actual."""
        e, a = np.asarray(self.n_expected, float), np.asarray(self.n_actual, float)
        return e / e.sum(), a / a.sum()

    @property
    def contributions(self) -> np.ndarray:
        """``(a - e) * ln(a / e)`` per band, shares floored at ``eps`` (each >= 0)."""
        e, a = self.shares
        e_, a_ = np.maximum(e, self.eps), np.maximum(a, self.eps)
        return (a_ - e_) * np.log(a_ / e_)

    @property
    def psi(self) -> float:
        """Total PSI: the sum of :attr:`contributions`."""
        return float(self.contributions.sum())

    @property
    def status(self) -> str:
        """:func:`psi_status` of the total."""
        return psi_status(self.psi)

    def to_frame(self) -> pd.DataFrame:
        """One row per band: ``band``, ``expected_share``, ``actual_share``, ``contribution``."""
        e, a = self.shares
        return pd.DataFrame({"band": self.bands, "expected_share": e, "actual_share": a,
                             "contribution": self.contributions})

    def plot(self, *, ax: Any = None) -> Any:
        """Paired bars of the expected and actual share per band; returns the Figure."""
        from riskscope.plotting import STYLE, figure, set_title, short

        if ax is None:
            _, ax = figure(STYLE["width"], 3.6)
        e, a = self.shares
        pos, w = np.arange(len(self.bands)), 0.4
        ax.bar(pos - w / 2, e, w, color=STYLE["primary"], label="expected")
        ax.bar(pos + w / 2, a, w, color=STYLE["secondary"], label="actual")
        ax.set_xticks(pos, [short(b) for b in self.bands], rotation=45, ha="right",
                      fontsize=STYLE["font_size"] - 1)
        ax.set_ylabel("share of rows", fontsize=STYLE["font_size"])
        ax.legend(fontsize=STYLE["font_size"])
        set_title(ax, f"{short(self.name)}: PSI {self.psi:.3f} ({self.status})")
        return ax.figure

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-able data (labels, counts, eps)."""
        return {"name": str(self.name), "bands": [str(b) for b in self.bands],
                "n_expected": [int(v) for v in self.n_expected],
                "n_actual": [int(v) for v in self.n_actual], "eps": float(self.eps)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PSIResult:
        """Rebuild a result from :meth:`to_dict` output; bad data raises SchemaError."""
        try:
            return cls(name=data["name"], bands=list(data["bands"]),
                       n_expected=[int(v) for v in data["n_expected"]],
                       n_actual=[int(v) for v in data["n_actual"]], eps=float(data["eps"]))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, SchemaError):
                raise
            raise SchemaError(f"PSI result JSON is incomplete or malformed ({exc!r}).") from None


def _check_eps(eps: Any, owner: str) -> None:
    if not (isinstance(eps, numbers.Real) and not isinstance(eps, bool) and 0 < eps < 0.1):
        raise ParameterError(f"`eps` of {owner} must be a number in (0, 0.1); got {eps!r}.")


def _numeric(values: Any, which: str) -> np.ndarray:
    if isinstance(values, pd.Series) and pd.api.types.is_numeric_dtype(values) \
            and not pd.api.types.is_bool_dtype(values):  # nullable Int64/Float64: NA -> NaN
        values = values.to_numpy(np.float64, na_value=np.nan)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise SchemaError(f"The {which} sample must be 1-D; got shape {arr.shape}.")
    try:
        x = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise SchemaError(f"The {which} sample holds non-numeric values; PSI by quantile "
                          "bands needs numbers (use feature_psi for categories).") from None
    if x.size == 0:
        raise SchemaError(f"The {which} sample is empty (0 values); pass at least one.")
    if np.isnan(x).all():
        raise SchemaError(f"The {which} sample is all missing ({x.size} of {x.size} "
                          "values); pass observed values.")
    if np.isinf(x).any():
        raise SchemaError(f"The {which} sample has {int(np.isinf(x).sum())} infinite "
                          "values; drop or clip them.")
    return x


def _cuts(expected: np.ndarray, bins: Any) -> np.ndarray:
    """Interior cut points: quantiles of ``expected`` (int ``bins``) or the given edges."""
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        if bins < 2:
            raise ParameterError(f"`bins` of psi must be an int >= 2 or a list of edges; "
                                 f"got {bins!r}.")
        x = expected[~np.isnan(expected)]
        # observed values as cuts ("higher"): a band [c_i, c_i+1) then always holds c_i, so
        # no expected band is empty; ties in a discrete score merge bands
        q = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1], method="higher"))
        return q[q > x.min()]  # a cut at the minimum would leave the first band empty
    try:
        edges = np.asarray(bins, dtype=np.float64)
    except (TypeError, ValueError):
        edges = np.empty(0)
    finite = edges[np.isfinite(edges)] if edges.ndim == 1 else edges
    if edges.ndim != 1 or finite.size == 0 or (np.diff(edges) <= 0).any():
        raise ParameterError(f"`bins` of psi must be an int >= 2 or increasing edges with "
                             f"at least one finite value; got {bins!r}.")
    return finite  # outer bands are open: values beyond the edges are still counted


def psi(expected: Any, actual: Any, *, bins: Any = 10, eps: float = 1e-4,
        name: str = "score") -> PSIResult:
    """PSI of ``actual`` against ``expected`` over bands of ``expected``'s quantiles.

    Parameters
    ----------
    expected, actual : array-like of shape (n,)
        Numbers, e.g. credit scores at development and in production.
    bins : int or array-like, default 10
        An int: that many quantile bands of ``expected`` (fewer when quantiles tie).
        Edges: the finite ones are the cut points, and values beyond the first or last
        fall in open outer bands (``-inf``/``inf`` edges may be given; they add nothing).
        A band is ``[c_i, c_{i+1})``; NaN gets a ``Missing`` band when either sample has it.
    eps : float, default 1e-4
        Floor of a share inside the logarithm (an empty band gives no infinity).
    name : str, default "score"

    Returns
    -------
    PSIResult

    See Also
    --------
    BandReference : the same bands and expected counts kept (as JSON) for later samples.

    Examples
    --------
    >>> import numpy as np
    >>> from riskscope.scorecard.psi import psi
    >>> rng = np.random.default_rng(0)
    >>> dev = rng.normal(600, 50, 2000)
    >>> psi(dev, dev).psi
    0.0
    >>> psi(dev, rng.normal(650, 50, 2000)).status
    'shift'
    """
    _check_eps(eps, "psi")
    return BandReference.fit(expected, bins=bins, name=name).compare(actual, eps=eps)


def _band_counts(x: np.ndarray, cuts: np.ndarray) -> tuple[list[int], int]:
    """Rows per band ``(-inf, c_1), [c_1, c_2), ..., [c_k, inf)`` and the NaN count."""
    nan = np.isnan(x)
    c = np.bincount(np.searchsorted(cuts, x[~nan], side="right"), minlength=cuts.size + 1)
    return [int(v) for v in c], int(nan.sum())


@dataclass(frozen=True, eq=False)
class BandReference:
    """The expected side of a score PSI kept as band cut points and counts.

    :func:`psi` needs both samples at once; a model in production keeps only this: the
    development sample's quantile cuts and rows per band, so a later sample is compared
    with :meth:`compare` without the development rows. ``BandReference.fit(e,
    bins=b).compare(a)`` equals ``psi(e, a, bins=b)``.

    Parameters
    ----------
    name : str
    cuts : list of float
        Interior cut points; band ``i`` is ``[cuts[i-1], cuts[i])``, outer bands open.
    n_expected : list of int
        Rows per band of the expected sample (``len(cuts) + 1`` of them).
    n_missing : int, default 0
        Expected rows with a missing value.

    Examples
    --------
    >>> import numpy as np
    >>> from riskscope.scorecard.psi import BandReference, psi
    >>> rng = np.random.default_rng(0)
    >>> dev, new = rng.normal(600, 50, 2000), rng.normal(610, 50, 500)
    >>> ref = BandReference.fit(dev, bins=10)
    >>> back = BandReference.from_dict(ref.to_dict())
    >>> bool(back.compare(new).psi == psi(dev, new).psi)
    True
    """

    name: str
    cuts: list[float]
    n_expected: list[int]
    n_missing: int = 0

    def __post_init__(self) -> None:
        c = np.asarray(self.cuts, dtype=np.float64)
        if c.ndim != 1 or not np.isfinite(c).all() or (np.diff(c) <= 0).any():
            raise SchemaError(f"Band reference {self.name!r} needs finite, increasing cut "
                              f"points; got {list(self.cuts)[:5]}.")
        if len(self.n_expected) != c.size + 1:
            raise SchemaError(f"Band reference {self.name!r} needs {c.size + 1} counts for "
                              f"{c.size} cut points; got {len(self.n_expected)}.")

    @classmethod
    def fit(cls, expected: Any, *, bins: Any = 10, name: str = "score") -> BandReference:
        """Bands of ``expected`` (``bins`` as in :func:`psi`) and its rows per band."""
        e = _numeric(expected, "expected")
        cuts = _cuts(e, bins)
        counts, n_missing = _band_counts(e, cuts)
        return cls(name=name, cuts=[float(v) for v in cuts], n_expected=counts,
                   n_missing=n_missing)

    @property
    def bands(self) -> list[str]:
        """One label per band, e.g. ``(-inf, 540)``, ``[540, 575)``, ..., ``[690, inf)``."""
        fmt = ["-inf", *(f"{c:g}" for c in self.cuts), "inf"]
        out = [f"[{lo}, {hi})" for lo, hi in zip(fmt[:-1], fmt[1:], strict=True)]
        out[0] = "(" + out[0][1:]
        return out

    def compare(self, actual: Any, *, eps: float = 1e-4) -> PSIResult:
        """PSI of ``actual`` against the kept expected counts; ``Missing`` band as in psi."""
        _check_eps(eps, "BandReference.compare")
        counts, n_missing = _band_counts(_numeric(actual, "actual"),
                                         np.asarray(self.cuts, dtype=np.float64))
        missing = bool(self.n_missing or n_missing)
        extra = ["Missing"] if missing else []
        return PSIResult(name=self.name, bands=self.bands + extra,
                         n_expected=[*self.n_expected, *([self.n_missing] if missing else [])],
                         n_actual=[*counts, *([n_missing] if missing else [])], eps=eps)

    def to_dict(self) -> dict[str, Any]:
        """The reference as JSON-able data."""
        return {"name": str(self.name), "cuts": [float(v) for v in self.cuts],
                "n_expected": [int(v) for v in self.n_expected],
                "n_missing": int(self.n_missing)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BandReference:
        """Rebuild from :meth:`to_dict` output; bad data raises SchemaError."""
        try:
            return cls(name=data["name"], cuts=[float(v) for v in data["cuts"]],
                       n_expected=[int(v) for v in data["n_expected"]],
                       n_missing=int(data.get("n_missing", 0)))
        except SchemaError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"Band reference JSON is incomplete or malformed ({exc!r})."
                              ) from None


def feature_psi(expected_df: pd.DataFrame | None, actual_df: pd.DataFrame, binner: WoeBinner,
                *, eps: float = 1e-4) -> dict[str, PSIResult]:
    """PSI per feature over a fitted :class:`WoeBinner`'s bins.

    Every bin counts, ``Special`` and ``Missing`` included, so a rise in blanks shows; a
    category unseen when the binner was fitted goes to an ``Unknown`` band, present only
    when such values occur.

    Parameters
    ----------
    expected_df : pandas.DataFrame or None
        Needs every column the binner was fitted on. None: the rows the binner was fitted
        on, through the counts its tables keep (so a saved binner is its own reference).
    actual_df : pandas.DataFrame
        Needs every column the binner was fitted on.
    binner : WoeBinner
        Fitted.
    eps : float, default 1e-4

    Returns
    -------
    dict of str to PSIResult
        In the binner's column order; :func:`summarize_psi` makes it a table.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.scorecard import WoeBinner
    >>> from riskscope.scorecard.psi import feature_psi, summarize_psi
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(list("ab"), 400)})
    >>> y = (X["x"] + rng.normal(size=400) > 1).astype(int)
    >>> binner = WoeBinner().fit(X, y)
    >>> new = X.assign(x=X["x"] + 1.5)
    >>> summarize_psi(feature_psi(X, new, binner))["status"].tolist()
    ['shift', 'stable']
    >>> summarize_psi(feature_psi(None, new, binner))["status"].tolist()  # fitted counts
    ['shift', 'stable']
    """
    _check_eps(eps, "feature_psi")
    if not hasattr(binner, "tables_"):
        raise NotFittedError("The binner given to feature_psi is not fitted; fit it first.")
    frames = {"actual": _as_frame(actual_df)}
    if expected_df is not None:
        frames["expected"] = _as_frame(expected_df)
    for which, df in frames.items():
        absent = [c for c in binner.feature_names_in_ if c not in df.columns]
        if absent:
            raise SchemaError(f"The {which} data lacks {len(absent)} column(s) the binner "
                              f"was fitted on ({', '.join(map(repr, absent[:5]))}).")
        if len(df) == 0:
            raise SchemaError(f"The {which} data is empty (0 rows); pass at least one.")
    out = {}
    for col in binner.feature_names_in_:
        table = binner.tables_[col]
        k = len(table.labels)
        a = _bin_counts(table, frames["actual"][col])
        if expected_df is None:  # the fitted counts; a fitted table has no Unknown rows
            e = np.append(np.add(table.n_event, table.n_nonevent), 0)
        else:
            e = _bin_counts(table, frames["expected"][col])
        unknown = bool(e[k] or a[k])
        keep = k + 1 if unknown else k
        out[col] = PSIResult(name=str(col), bands=[*table.labels, "Unknown"][:keep],
                             n_expected=[int(v) for v in e[:keep]],
                             n_actual=[int(v) for v in a[:keep]], eps=eps)
    return out


def _bin_counts(table: Any, values: pd.Series) -> np.ndarray:
    """Rows per bin of ``table``; slot ``len(labels)`` counts unseen categories (index -1)."""
    k = len(table.labels)
    idx = table.transform(values, metric="index")
    return np.bincount(np.where(idx < 0, k, idx), minlength=k + 1)


def summarize_psi(results: dict[str, PSIResult]) -> pd.DataFrame:
    """One row per feature: ``feature``, ``psi``, ``status``, highest PSI first."""
    df = pd.DataFrame({"feature": list(results), "psi": [r.psi for r in results.values()],
                       "status": [r.status for r in results.values()]})
    return df.sort_values("psi", ascending=False, kind="stable", ignore_index=True)


def plot_psi_summary(results: dict[str, PSIResult], *, ax: Any = None,
                     title: str = "PSI per item") -> Any:
    """Horizontal PSI bars, highest on top, coloured by status, with the 0.10 and 0.25 lines.

    Returns the :class:`matplotlib.figure.Figure` drawn on (``ax``'s, if given).

    Examples
    --------
    >>> from riskscope.scorecard.psi import PSIResult, plot_psi_summary
    >>> r = {"age": PSIResult(name="age", bands=["<30", ">=30"], n_expected=[5, 5],
    ...                       n_actual=[9, 1])}
    >>> plot_psi_summary(r).axes[0].get_xlabel()
    'PSI'
    """
    from riskscope.plotting import STYLE, figure, set_title, short

    if not results:
        raise ParameterError("plot_psi_summary needs at least one PSI result.")
    items = sorted(results.items(), key=lambda kv: kv[1].psi)
    if ax is None:
        _, ax = figure(STYLE["width"], 1.2 + STYLE["bar_height"] * len(items))
    colour = {"stable": STYLE["primary"], "moderate": STYLE["secondary"], "shift": "#b33a3a"}
    pos = np.arange(len(items))
    ax.barh(pos, [r.psi for _, r in items], color=[colour[r.status] for _, r in items])
    ax.set_yticks(pos, [short(k) for k, _ in items], fontsize=STYLE["font_size"] - 1)
    for x in PSI_THRESHOLDS:
        ax.axvline(x, color=STYLE["muted"], linestyle="--", linewidth=0.8)
    ax.set_xlabel("PSI", fontsize=STYLE["font_size"])
    set_title(ax, f"{title} (dashed: 0.10 and 0.25; orange moderate, red shift)")
    return ax.figure
