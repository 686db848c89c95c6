"""Reason codes for denied credit applicants: the few adverse factors a lender must state.

An adverse-action notice lists the principal reasons a credit application was denied
(US Regulation B, 12 CFR 1002.9, and its Official Interpretation, comment 9(b)(2)-5; most
lenders state at most four). :class:`ReasonCoder` finds them from a fitted model in one of
four ways, every one on the model's own additive scale:

``reg_b_mean`` (Regulation B, first method)
    For each feature, the applicant's contribution minus the contribution at the average
    of all applicants: ``beta_j * (x_j - mean_j)`` on the log-odds of bad for a linear
    model on WOE, one-hot or numeric inputs.
``reg_b_cutoff`` (Regulation B, second method)
    The same against the average of the applicants just above the cut-off: the ``band``
    approved applicants nearest the cut-off (the approved with the highest P(bad), i.e.
    the lowest approved scores).
``points_below_max`` (scorecards)
    Per feature, the most points any bin of the feature earns minus the applicant's
    points; the largest shortfalls are the reasons.
``shap``
    SHAP values with a background of all applicants (``background="all"``) or of the
    applicants just above the cut-off (``"cutoff"``): :class:`shap.LinearExplainer` for
    linear models and scorecards, interventional :class:`shap.TreeExplainer` for trees.
    For an additive model the interventional SHAP value *is* ``beta_j * (x_j - mean_j)``
    over the background, so ``shap`` equals the matching Regulation B method exactly.

A contribution is positive when it pushes towards the adverse outcome (higher log-odds of
bad, or points lost); only positive ones are reasons. One-hot columns are summed back to
their source feature before ranking, and protected attributes (for German credit
``personal_status_sex``, ``age_years`` and ``foreign_worker``) never become reasons.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator

from riskscope.exceptions import NotFittedError, ParameterError, SchemaError
from riskscope.explain._reason_texts import (
    REASON_TEXTS,
    _load_texts,
    _text,
    readable_value,
    source_features,
)

__all__ = ["GERMAN_PROTECTED", "METHODS", "REASON_TEXTS", "Reason", "ReasonCodes",
           "ReasonCoder", "readable_value", "source_features"]

METHODS = ("reg_b_mean", "reg_b_cutoff", "points_below_max", "shap")

#: Protected attributes of the bundled German credit (sex and marital status share one
#: column there, ``personal_status_sex``); never a reason, whatever the model learned.
GERMAN_PROTECTED = ("personal_status_sex", "age_years", "foreign_worker")

_BACKGROUNDS = ("all", "cutoff")


def _positive_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1


def _probability(v: Any) -> bool:
    return v is None or (isinstance(v, numbers.Real) and not isinstance(v, bool)
                         and math.isfinite(v) and 0 < v < 1)


#: Parameter rules in one place: name -> (test, rule as the message words it).
_RULES: dict[str, tuple[Any, str]] = {
    "method": (lambda v: v in METHODS, f"one of {', '.join(map(repr, METHODS))}"),
    "max_reasons": (_positive_int, "an int >= 1"),
    "band": (_positive_int, "an int >= 1 (approved applicants nearest the cut-off)"),
    "background": (lambda v: v in _BACKGROUNDS, "'all' or 'cutoff'"),
    "threshold": (_probability, "None or a probability in (0, 1)"),
    "protected": (lambda v: isinstance(v, Iterable) and not isinstance(v, str | bytes),
                  "a list of column names"),
    "texts": (lambda v: v is None or isinstance(v, Mapping | str | os.PathLike),
              "None, a dict of feature -> text or a JSON file"),
    "feature_map": (lambda v: v is None or isinstance(v, Mapping),
                    "None or a dict of encoded column -> source feature"),
}


def _row_sum(a: np.ndarray) -> np.ndarray:
    """Sum of each row, column by column: a row's bits do not depend on the other rows
    (numpy's ``sum(axis=1)`` sums one row pairwise but several rows in another order)."""
    out = np.zeros(a.shape[0])
    for j in range(a.shape[1]):
        out += a[:, j]
    return out


# --- the model, seen as an additive function -------------------------------------------------
class _Model:
    """What the reason coder needs of a model, whatever its kind."""

    def __init__(self, model: Any, feature_map: Mapping[str, str] | None) -> None:
        from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
        from sklearn.pipeline import Pipeline

        from riskscope.scorecard import Scorecard

        self.threshold: float | None = None
        self.card: Any = None
        if hasattr(model, "scorecard") and hasattr(model, "cutoff"):  # CreditModel
            self.threshold = float(model.cutoff.threshold)
            model = model.scorecard
        if isinstance(model, GridSearchCV | RandomizedSearchCV):
            model = model.best_estimator_
        self.full = model
        if isinstance(model, Scorecard):
            if not hasattr(model, "coef_"):
                raise NotFittedError("The Scorecard given to ReasonCoder is not fitted; fit "
                                     "it first.")
            self.card, self.prep, self.est = model, None, model
            self.threshold = self.threshold or float(model.threshold)
            self.columns = [str(c) for c in model.feature_names_in_]
            self.encoded = list(self.columns)
        else:
            prep, est = (model[:-1], model[-1]) if isinstance(model, Pipeline) else (None,
                                                                                      model)
            if not hasattr(est, "classes_"):
                raise NotFittedError(f"The {type(est).__name__} given to ReasonCoder is not "
                                     "fitted; fit it first.")
            self.prep, self.est = prep, est
            names_in = getattr(model, "feature_names_in_", None)
            if names_in is None:
                raise SchemaError(f"{type(model).__name__} was fitted without column names; "
                                  "fit it on a pandas DataFrame.")
            self.columns = [str(c) for c in names_in]
            self.encoded = ([str(c) for c in prep.get_feature_names_out()] if prep is not None
                            else list(self.columns))
        fmap = dict(feature_map or {})
        self.source = [fmap[e] if e in fmap else None for e in self.encoded]
        if any(s is None for s in self.source):
            derived = source_features(self.encoded, self.columns)
            self.source = [s if s is not None else d for s, d in zip(self.source, derived,
                                                                      strict=True)]
        self.features = list(dict.fromkeys(self.source))  # source order, each once
        coef = (self.card.coef_ if self.card is not None
                else getattr(self.est, "coef_", None))
        self.additive = coef is not None and np.ndim(coef) <= 2 and np.size(coef) == len(
            self.encoded)
        self.coef = None if not self.additive else np.asarray(coef, np.float64).ravel()
        self.intercept = (float(np.ravel(getattr(self.est, "intercept_", 0.0))[0])
                          if self.additive else 0.0)
        self.bad = self._bad_column()

    def _bad_column(self) -> int:
        if self.card is not None:
            return int(np.flatnonzero(self.card.classes_ == self.card.event_)[0])
        classes = list(self.est.classes_)
        for bad in (1, "bad", True):
            if bad in classes:
                return classes.index(bad)
        raise SchemaError(f"Cannot tell the bad class among {classes}; label it 1 or 'bad'.")

    def frame(self, X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise SchemaError(f"Applicants must be a pandas DataFrame; got {type(X).__name__}.")
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise SchemaError(f"Applicants lack {len(missing)} model column(s): "
                              f"{', '.join(missing[:5])}; pass the columns the model was "
                              "fitted on.")
        return X[self.columns]

    def encode(self, X: pd.DataFrame) -> np.ndarray:
        if self.card is not None:
            return self.card.binner_.transform(X).to_numpy(np.float64)
        z = self.prep.transform(X) if self.prep is not None else X.to_numpy()
        return np.asarray(z.toarray() if hasattr(z, "toarray") else z, dtype=np.float64)

    def evaluate(self, X: pd.DataFrame) -> dict[str, Any]:
        """Encoded inputs, P(bad) and, for a scorecard, score and points: one encoding.

        Column-by-column row sums rather than matrix products, so a row gives the same bits
        alone or in a batch (BLAS and numpy reductions order a sum by the array's size)
        and fact tables are byte-identical either way; they agree with the scorecard's
        own numbers to rounding.
        """
        z = self.encode(X)
        if self.card is None:
            # after a preparation step the final estimator takes the encoded rows, so the
            # (often slower) preparation runs once, not again inside predict_proba
            p = self.est.predict_proba(z) if self.prep is not None else \
                self.full.predict_proba(X)
            p = np.asarray(p, np.float64)[:, self.bad]
            return {"z": z, "p_bad": p, "score": None, "points": None}
        c = self.card
        logit = c.intercept_ + _row_sum(z * c.coef_[None, :])
        return {"z": z, "p_bad": expit(logit), "score": c.offset_ - c.factor_ * logit,
                "points": c._points(c.coef_, z)}

    def group(self, per_encoded: np.ndarray) -> np.ndarray:
        """Sum encoded columns into their source feature: (n, n_encoded) -> (n, features)."""
        source = np.asarray(self.source, dtype=object)
        return np.column_stack([_row_sum(per_encoded[:, source == f])
                                for f in self.features])


# --- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reason:
    """One adverse factor of one applicant.

    Parameters
    ----------
    rank : int
        1 for the principal reason.
    feature : str
        Source feature (one-hot parts summed).
    contribution : float
        Push towards the adverse outcome, in the method's unit (> 0).
    text : str
        Readable reason text.
    value : float, int, str or None
        The applicant's value of the feature, readable.
    """

    rank: int
    feature: str
    contribution: float
    text: str
    value: float | int | str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return {"rank": self.rank, "feature": self.feature,
                "contribution": self.contribution, "text": self.text, "value": self.value}


@dataclass(frozen=True)
class ReasonCodes:
    """Reason codes of a set of applicants: ranked adverse factors of each denied one.

    Approved applicants are listed with no reasons.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    unit : str
        ``"log-odds"`` (Regulation B and SHAP on linear models and scorecards),
        ``"points"`` (points below max) or ``"model output"`` (SHAP on other models).
    threshold : float
        Denied when P(bad) >= threshold.
    ids : tuple
        Applicant ids (the index of the frame explained).
    decisions : tuple of {"deny", "approve"}
    p_bad : tuple of float
    reasons : tuple of tuple of Reason

    Examples
    --------
    >>> rc = ReasonCodes("reg_b_mean", "log-odds", 0.5, (7, 8), ("deny", "approve"),
    ...                  (0.8, 0.2), ((Reason(1, "duration_months", 0.9,
    ...                                       "Duration of the credit is long", 48),), ()))
    >>> [r.feature for r in rc[7]], rc[8]
    (['duration_months'], ())
    >>> rc.to_frame()[["applicant", "rank", "feature"]].values.tolist()
    [[7, 1, 'duration_months']]
    >>> ReasonCodes.from_dict(rc.to_dict()) == rc
    True
    """

    method: str
    unit: str
    threshold: float
    ids: tuple[Any, ...]
    decisions: tuple[str, ...]
    p_bad: tuple[float, ...]
    reasons: tuple[tuple[Reason, ...], ...]

    def _position(self, applicant_id: Any) -> int:
        try:
            return self.ids.index(applicant_id)
        except ValueError:
            shown = ", ".join(map(repr, self.ids[:3])) + (", ..." if len(self.ids) > 3 else "")
            raise SchemaError(f"Applicant id {applicant_id!r} is not among the {len(self.ids)} "
                              f"explained applicants (ids {shown}); pass an id of the "
                              "explained frame's index.") from None

    def __getitem__(self, applicant_id: Any) -> tuple[Reason, ...]:
        return self.reasons[self._position(applicant_id)]

    def __len__(self) -> int:
        return len(self.ids)

    def decision(self, applicant_id: Any) -> str:
        """``"deny"`` or ``"approve"``."""
        return self.decisions[self._position(applicant_id)]

    def to_frame(self) -> pd.DataFrame:
        """One row per reason: applicant, rank, feature, contribution, text, value."""
        rows = [(i, r.rank, r.feature, r.contribution, r.text, r.value)
                for i, rs in zip(self.ids, self.reasons, strict=True) for r in rs]
        return pd.DataFrame(rows, columns=["applicant", "rank", "feature", "contribution",
                                           "text", "value"])

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready); ids must be JSON scalars."""
        return {"method": self.method, "unit": self.unit, "threshold": self.threshold,
                "applicants": [{"id": _scalar(i), "decision": d, "p_bad": p,
                                "reasons": [r.to_dict() for r in rs]}
                               for i, d, p, rs in zip(self.ids, self.decisions, self.p_bad,
                                                      self.reasons, strict=True)]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReasonCodes:
        """Inverse of :meth:`to_dict`."""
        try:
            apps = list(data["applicants"])
            return cls(data["method"], data["unit"], float(data["threshold"]),
                       tuple(a["id"] for a in apps), tuple(a["decision"] for a in apps),
                       tuple(float(a["p_bad"]) for a in apps),
                       tuple(tuple(Reason(**r) for r in a["reasons"]) for a in apps))
        except (KeyError, TypeError) as exc:
            raise SchemaError(f"Reason codes record is incomplete or malformed ({exc!r}).") \
                from None


def _scalar(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


# --- the estimator ------------------------------------------------------------------------------
class ReasonCoder(BaseEstimator):
    """Find the principal adverse factors of denied applicants.

    Parameters
    ----------
    model : CreditModel, Scorecard, or fitted scikit-learn classifier / Pipeline
        A saved credit model, a fitted scorecard, a linear model (optionally after a
        ``ColumnTransformer`` / ``OneHotEncoder``) or a tree model (XGBoost, LightGBM,
        scikit-learn trees; ``method="shap"`` only). Fitted on a DataFrame. Used as it
        is: never cloned nor refitted (the decisions explained are its own).
    method : {"reg_b_mean", "reg_b_cutoff", "points_below_max", "shap"}, default "reg_b_mean"
        See the module docstring.
    max_reasons : int, default 4
        At most this many reasons per denied applicant.
    protected : list of str, default :data:`GERMAN_PROTECTED`
        Source features that are never reasons.
    texts : dict or path, optional
        Reason text per feature, over :data:`REASON_TEXTS`; a path names a JSON object.
    feature_map : dict, optional
        Encoded column -> source feature; unnamed columns are derived by
        :func:`source_features`.
    band : int, default 50
        ``reg_b_cutoff`` and ``shap`` with ``background="cutoff"``: the reference is the
        ``band`` approved applicants of ``fit``'s ``X`` nearest the cut-off (the highest
        P(bad) below it), all approved if fewer. A count rather than a score window, so the
        reference never is empty nor depends on the score's scale.
    background : {"all", "cutoff"}, default "all"
        ``shap`` only: all applicants of ``fit``'s ``X`` or the cut-off band.
    threshold : float, optional
        Deny when P(bad) >= threshold; None: the model's own cut-off (a CreditModel's or a
        Scorecard's ``threshold``), else 0.5.

    Attributes
    ----------
    threshold_ : float
    features_ : list of str
        Source features in model order.
    reference_index_ : ndarray of int
        Positions in ``fit``'s ``X`` of the reference applicants (empty for
        ``points_below_max`` and for a coder read by :meth:`from_dict`).
    n_reference_ : int
        How many reference applicants the means were taken over.
    reference_mean_ : ndarray or None
        Mean encoded input of the reference applicants (additive models).
    max_points_ : ndarray or None
        ``points_below_max``: most points attainable per feature.

    Examples
    --------
    >>> from riskscope.datasets import load_german_credit
    >>> from riskscope.explain.reasons import ReasonCoder
    >>> from riskscope.scorecard import Scorecard
    >>> df = load_german_credit()
    >>> X, y = df.drop(columns="class"), (df["class"] == "bad").astype(int)
    >>> card = Scorecard(threshold=0.5).fit(X, y)
    >>> rc = ReasonCoder(model=card, method="reg_b_cutoff").fit(X).explain(X)
    >>> denied = [i for i in rc.ids if rc.decision(i) == "deny"]
    >>> max(len(rc[i]) for i in denied) <= 4
    True
    >>> any(r.feature == "age_years" for i in denied for r in rc[i])
    False
    """

    def __init__(self, *, model: Any, method: str = "reg_b_mean", max_reasons: int = 4,
                 protected: Sequence[str] = GERMAN_PROTECTED,
                 texts: Mapping[str, str] | str | os.PathLike[str] | None = None,
                 feature_map: Mapping[str, str] | None = None, band: int = 50,
                 background: str = "all", threshold: float | None = None) -> None:
        self.model = model
        self.method = method
        self.max_reasons = max_reasons
        self.protected = protected
        self.texts = texts
        self.feature_map = feature_map
        self.band = band
        self.background = background
        self.threshold = threshold

    def _check_params(self) -> None:
        for name, (test, rule) in _RULES.items():
            if not test(getattr(self, name)):
                raise ParameterError(f"`{name}` of ReasonCoder must be {rule}; "
                                     f"got {getattr(self, name)!r}.")

    # --- fit ------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame | None, y: Any = None) -> ReasonCoder:
        """Learn the reference applicants from the applicant population ``X``; returns self.

        ``X`` may be None for ``points_below_max``, which needs only the scorecard.
        """
        m = self._setup()
        if self.method == "points_below_max":
            return self
        if X is None:
            raise SchemaError(f"ReasonCoder(method={self.method!r}).fit needs the applicant "
                              "population X; pass the applicants' DataFrame.")
        X = m.frame(X)
        if len(X) == 0:
            raise SchemaError("ReasonCoder.fit got no applicants; pass at least one row.")
        cutoff = self.method == "reg_b_cutoff" or (self.method == "shap"
                                                    and self.background == "cutoff")
        idx = self._band(m.evaluate(X)["p_bad"]) if cutoff else np.arange(len(X))
        self.reference_index_, self.n_reference_ = idx, int(idx.size)
        ref = X.iloc[idx]
        if m.additive:
            self.reference_mean_ = m.encode(ref).mean(axis=0)
        if self.method == "shap":
            self.background_ = m.encode(ref)
            self.explainer_ = self._shap_explainer(m, self.background_)
        return self

    def _setup(self) -> _Model:
        """Validate, wrap the model and reset what ``fit`` learns."""
        self._check_params()
        m = _Model(self.model, self.feature_map)
        self.model_ = m
        self.threshold_ = float(self.threshold if self.threshold is not None
                                else m.threshold if m.threshold is not None else 0.5)
        self.features_ = list(m.features)
        self.n_features_in_ = len(m.columns)
        self.texts_ = _load_texts(self.texts)
        self.reference_index_ = np.zeros(0, dtype=np.int64)
        self.n_reference_ = 0
        self.reference_mean_ = self.max_points_ = self.background_ = None
        if self.method == "points_below_max":
            if m.card is None:
                raise ParameterError("`method='points_below_max'` of ReasonCoder needs a "
                                     f"Scorecard or CreditModel; got {type(m.full).__name__}.")
            self.max_points_ = self._max_points(m.card)
        elif self.method.startswith("reg_b") and not m.additive:
            raise ParameterError(f"`method={self.method!r}` of ReasonCoder needs an additive "
                                 f"(linear) model; {type(m.est).__name__} is not: use "
                                 "method='shap'.")
        return m

    # --- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fitted reference as JSON-able data, to explain later applicants one by one.

        Holds the parameters, the reason texts, the encoded column names and the mean
        encoded input of the reference applicants (not the applicants themselves), so a
        saved credit model can carry it and ``reg_b_cutoff`` works without the population.
        ``shap`` keeps its background rows and is not saved this way.
        """
        self._check_fitted()
        if self.method == "shap":
            raise ParameterError("`method='shap'` of ReasonCoder keeps its background rows "
                                 "and is not saved; save the matching reg_b_* coder (it "
                                 "gives the same values for an additive model).")
        mean = self.reference_mean_
        return {"kind": "ReasonCoder", "method": self.method,
                "max_reasons": int(self.max_reasons),
                "protected": [str(c) for c in self.protected], "band": int(self.band),
                "threshold": self.threshold_, "texts": dict(self.texts_),
                "encoded": list(self.model_.encoded), "n_reference": self.n_reference_,
                "reference_mean": None if mean is None else [float(v) for v in mean]}

    @classmethod
    def from_dict(cls, model: Any, data: Mapping[str, Any]) -> ReasonCoder:
        """A fitted coder for ``model`` from :meth:`to_dict` output.

        Examples
        --------
        >>> from riskscope.datasets import load_german_credit
        >>> from riskscope.explain.reasons import ReasonCoder
        >>> from riskscope.scorecard import Scorecard
        >>> df = load_german_credit()
        >>> X, y = df.drop(columns="class"), (df["class"] == "bad").astype(int)
        >>> card = Scorecard(threshold=0.5).fit(X, y)
        >>> coder = ReasonCoder(model=card, method="reg_b_cutoff").fit(X)
        >>> back = ReasonCoder.from_dict(card, coder.to_dict())
        >>> back.explain(X.head(3)) == coder.explain(X.head(3))
        True
        """
        try:
            if data["kind"] != "ReasonCoder":
                raise ValueError(f"kind is {data['kind']!r}")
            coder = cls(model=model, method=data["method"], max_reasons=data["max_reasons"],
                        protected=list(data["protected"]), texts=dict(data["texts"]),
                        band=data["band"], threshold=float(data["threshold"]))
            encoded, mean = list(data["encoded"]), data["reference_mean"]
            n_reference = int(data["n_reference"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"Reason coder JSON is incomplete or malformed ({exc!r}); "
                              "re-save it from a fitted ReasonCoder.") from None
        m = coder._setup()
        if encoded != m.encoded or (mean is not None and len(mean) != len(encoded)):
            raise SchemaError("Reason coder JSON was saved for other model columns than "
                              "this model's; save it again with this model.")
        if coder.method.startswith("reg_b"):
            if mean is None:
                raise SchemaError("Reason coder JSON of a reg_b method lacks its "
                                  "reference_mean; re-save it from a fitted ReasonCoder.")
            coder.reference_mean_ = np.asarray(mean, dtype=np.float64)
        coder.n_reference_ = n_reference
        return coder

    def _band(self, p_bad: np.ndarray) -> np.ndarray:
        approved = np.flatnonzero(p_bad < self.threshold_)
        if approved.size == 0:
            raise SchemaError(f"No applicant of fit's X is approved at the cut-off "
                              f"{self.threshold_:g}; the cut-off method needs approved "
                              "applicants (use method='reg_b_mean').")
        # highest P(bad) first = lowest approved scores; ties kept in row order
        order = approved[np.argsort(-p_bad[approved], kind="stable")]
        return np.sort(order[: self.band])

    @staticmethod
    def _max_points(card: Any) -> np.ndarray:
        out = []
        for name, beta in zip(card.feature_names_in_, card.coef_, strict=True):
            table = card.binner_.tables_[name]
            n = np.asarray(table.n_event) + np.asarray(table.n_nonevent)
            # regular bins always count; Special and Missing only where someone fell in them
            reachable = np.r_[np.ones(table.n_bins, bool), n[table.n_bins:] > 0]
            out.append(np.max(card._points(beta, table.woe[reachable])))
        return np.asarray(out)

    @staticmethod
    def _shap_explainer(m: _Model, background: np.ndarray) -> Any:
        try:
            import shap
        except ImportError:
            raise ParameterError("`method='shap'` of ReasonCoder needs the shap package; "
                                 "install riskscope[explain].") from None
        masker = shap.maskers.Independent(background, max_samples=len(background))
        if m.additive:
            return shap.LinearExplainer((m.coef, m.intercept), masker)
        # The masker, not the bare array: shap would otherwise subsample the background
        # to 100 rows and the reference would no longer be the applicants asked for.
        return shap.TreeExplainer(m.est, data=masker, model_output="raw",
                                  feature_perturbation="interventional")

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("ReasonCoder is not fitted; call fit(X) first.")

    # --- explain -----------------------------------------------------------------------------
    @property
    def unit_(self) -> str:
        """Unit of the contributions: ``log-odds``, ``points`` or ``model output``."""
        self._check_fitted()
        if self.method == "points_below_max":
            return "points"
        return "log-odds" if self.model_.additive or self._tree_logit() else "model output"

    def _tree_logit(self) -> bool:
        name = type(self.model_.est).__name__
        return name in ("XGBClassifier", "LGBMClassifier", "GradientBoostingClassifier",
                        "HistGradientBoostingClassifier")

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Signed contribution of every source feature for every row of ``X``.

        Positive pushes towards bad (higher log-odds of bad, or points below the best).
        Protected features are included: they are part of the model; only
        :meth:`explain` leaves them out.

        Returns
        -------
        pandas.DataFrame
            Index of ``X``; one column per source feature (:attr:`features_`).
        """
        self._check_fitted()
        X = self.model_.frame(X)
        return pd.DataFrame(self._contributions(self.model_.evaluate(X)), index=X.index,
                            columns=self.features_)

    def _contributions(self, ev: Mapping[str, Any]) -> np.ndarray:
        m = self.model_
        if self.method == "points_below_max":
            return self.max_points_[None, :] - ev["points"]
        if self.method == "shap":
            sv = self.explainer_.shap_values(ev["z"])
            sv = np.asarray(sv[m.bad] if isinstance(sv, list) else sv, np.float64)
            if sv.ndim == 3:  # (rows, features, classes) from some tree models
                sv = sv[:, :, m.bad]
            return m.group(sv)
        return m.group(m.coef[None, :] * (ev["z"] - self.reference_mean_[None, :]))

    def explain(self, X: pd.DataFrame) -> ReasonCodes:
        """Reason codes of every row of ``X`` (reasons for denied rows only).

        Rows are identified by ``X``'s index, which must be unique.
        """
        self._check_fitted()
        X = self.model_.frame(X)
        ev = self.model_.evaluate(X)
        return self._codes(X, ev, self._contributions(ev))

    def _codes(self, X: pd.DataFrame, ev: Mapping[str, Any], contrib: np.ndarray,
               ) -> ReasonCodes:
        if not X.index.is_unique:
            raise SchemaError("Applicant ids (the frame's index) repeat; give each applicant "
                              "a unique id.")
        deny = ev["p_bad"] >= self.threshold_
        protected = {str(c) for c in self.protected}
        allowed = np.array([f not in protected for f in self.features_])
        reasons = [self._rank(X.iloc[i], contrib[i], allowed) if deny[i] else ()
                   for i in range(len(X))]
        return ReasonCodes(self.method, self.unit_, self.threshold_,
                           tuple(_scalar(v) for v in X.index),
                           tuple("deny" if d else "approve" for d in deny),
                           tuple(float(v) for v in ev["p_bad"]), tuple(reasons))

    def _rank(self, row: pd.Series, contrib: np.ndarray, allowed: np.ndarray,
              ) -> tuple[Reason, ...]:
        adverse = np.flatnonzero(allowed & (contrib > 0))
        # largest first; equal contributions keep model order, so ranks are deterministic
        order = adverse[np.argsort(-contrib[adverse], kind="stable")][: self.max_reasons]
        return tuple(Reason(k + 1, self.features_[j], float(contrib[j]),
                            _text(self.texts_, self.features_[j]),
                            readable_value(self.features_[j], row[self.features_[j]]))
                     for k, j in enumerate(order))
