"""Scorecard points: a logistic regression on WOE features scaled to PDO / base-odds points.

:class:`Scorecard` bins and WOE-encodes every column with a :class:`WoeBinner`, fits a
logistic regression of the bad outcome on the WOE values and turns the model into points
per feature and bin, so an applicant's score is the sum of their points (the classic
credit scorecard; Siddiqi, *Credit Risk Scorecards*, 2006, ch. 6). A fitted scorecard is
plain JSON data: the binner's tables, the coefficients and the scaling.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression

from riskscope.exceptions import NotFittedError, ParameterError, SchemaError
from riskscope.scorecard.binning import WoeBinner, _as_frame, _plain

__all__ = ["Scorecard", "score_from_odds"]

_RANDOM_STATE = 0  # lbfgs is deterministic; fixed so a refit never differs

#: Parameter rules in one place: name -> (test, rule as the message words it).
_RULES: dict[str, tuple[Any, str]] = {
    "C": (lambda v: _real(v) and v > 0, "a finite number > 0"),
    "pdo": (lambda v: _real(v) and v > 0, "a finite number > 0"),
    "base_score": (lambda v: _real(v), "a finite number"),
    "base_odds": (lambda v: _real(v) and v > 0, "a finite number > 0"),
    "threshold": (lambda v: _real(v) and 0 < v < 1, "a probability in (0, 1)"),
    "binner": (lambda v: v is None or isinstance(v, WoeBinner), "None or a WoeBinner"),
}


def _real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _scaling(pdo: float, base_score: float, base_odds: float) -> tuple[float, float]:
    factor = pdo / math.log(2.0)
    return factor, base_score - factor * math.log(base_odds)


def score_from_odds(odds: Any, *, pdo: float = 20, base_score: float = 600,
                    base_odds: float = 50) -> np.ndarray:
    """Points for good:bad odds: ``offset + factor * ln(odds)``.

    ``factor = pdo / ln 2`` and ``offset = base_score - factor * ln(base_odds)``, so the
    odds ``base_odds`` score ``base_score`` and every doubling of the odds adds ``pdo``.

    Examples
    --------
    >>> from riskscope.scorecard.points import score_from_odds
    >>> score_from_odds([50, 100, 25]).round(6).tolist()
    [600.0, 620.0, 580.0]
    """
    for name, value in (("pdo", pdo), ("base_score", base_score), ("base_odds", base_odds)):
        test, rule = _RULES[name]
        if not test(value):
            raise ParameterError(f"`{name}` of score_from_odds must be {rule}; got {value!r}.")
    factor, offset = _scaling(pdo, base_score, base_odds)
    return offset + factor * np.log(np.asarray(odds, dtype=np.float64))


class Scorecard(ClassifierMixin, BaseEstimator):
    """WOE logistic-regression scorecard with points per feature and bin.

    Parameters
    ----------
    binner : WoeBinner or None, default None
        Cloned and fitted on ``X`` in :meth:`fit`; None means ``WoeBinner()``.
    C : float, default 1.0
        Inverse L2 strength of the logistic regression (lbfgs) on the WOE features.
    pdo : float, default 20
        Points to double the odds.
    base_score : float, default 600
        Score at which the good:bad odds are ``base_odds``.
    base_odds : float, default 50
        Good:bad odds at ``base_score``.
    threshold : float, default 0.5
        :meth:`predict` says bad (the event) when P(bad) >= ``threshold``.
    event : scalar or None, default None
        Label of the bad class in ``y``; passed to the binner. None: the binner's own
        ``event``, and if that is None too, ``y`` must be 0/1 with 1 bad.

    Attributes
    ----------
    binner_ : WoeBinner
    coef_ : ndarray of shape (n_features,)
        Coefficients of the WOE features in the model of ``logit P(bad)``.
    intercept_ : float
    classes_ : ndarray
        The sorted labels of ``y``; :meth:`predict_proba` columns follow them.
    event_ : scalar
        The bad label.
    factor_, offset_ : float
        ``factor = pdo / ln 2``; ``offset = base_score - factor * ln(base_odds)``.
    points_table_ : pandas.DataFrame
        Columns ``feature``, ``bin``, ``woe``, ``points``: every bin of every feature
        (``Special`` and ``Missing`` included; ``Unknown`` for unseen categories).
    feature_names_in_ : ndarray of object
    n_features_in_ : int

    Notes
    -----
    The points come from this derivation. With ``y = 1`` for bad, the model is
    ``ln(P(bad) / P(good)) = b0 + sum_j beta_j * woe_j``, so the good:bad log-odds are
    ``ln(odds) = -(b0 + sum_j beta_j * woe_j)`` and the score is::

        score = offset + factor * ln(odds)
              = sum_j [ -factor * beta_j * woe_j + (offset - factor * b0) / n ]

    with ``n`` the number of features. Each bracket is the points of feature ``j``:
    ``points_ij = -factor * beta_j * woe_ij + (offset - factor * b0) / n``. The intercept
    term ``offset - factor * b0`` is spread evenly over the ``n`` features, so the points
    of an applicant sum to their score with nothing else added. WOE here is
    ``ln(good share / bad share)`` (positive = safer), so ``beta_j`` is normally negative
    and safer bins earn more points; a higher score is a safer applicant.

    Points are not rounded, so they sum to :meth:`credit_score` exactly (to rounding error).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.scorecard.points import Scorecard
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(list("ab"), 400)})
    >>> y = (X["x"] + rng.normal(size=400) > 1).astype(int)
    >>> card = Scorecard().fit(X, y)
    >>> per_feature = card.points(X.head(3))
    >>> bool(np.allclose(per_feature.sum(axis=1), card.credit_score(X.head(3))))
    True
    >>> back = Scorecard.from_dict(card.to_dict())
    >>> bool(back.points_table_.equals(card.points_table_))
    True
    """

    def __init__(self, *, binner: WoeBinner | None = None, C: float = 1.0, pdo: float = 20,
                 base_score: float = 600, base_odds: float = 50, threshold: float = 0.5,
                 event: Any = None) -> None:
        self.binner = binner
        self.C = C
        self.pdo = pdo
        self.base_score = base_score
        self.base_odds = base_odds
        self.threshold = threshold
        self.event = event

    def _check_params(self) -> None:
        for name, (test, rule) in _RULES.items():
            if not test(getattr(self, name)):
                raise ParameterError(f"`{name}` of Scorecard must be {rule}; "
                                     f"got {getattr(self, name)!r}.")

    # --- fitting ----------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any) -> Scorecard:
        """Bin and WOE-encode ``X``, fit the logistic regression, build points; returns self."""
        self._check_params()
        if y is None:  # worded as scikit-learn's own check expects
            raise SchemaError("Scorecard requires y to be passed, but the target y is None; "
                              "pass the 0/1 or labelled target.")
        X = _as_frame(X)
        binner = clone(self.binner if self.binner is not None else WoeBinner())
        if self.event is not None:
            binner.set_params(event=self.event)
        binner.fit(X, y)  # validates y: two classes, no missing labels, event present
        event = binner.event if binner.event is not None else 1
        labels = np.asarray(y, dtype=object).ravel()
        woe = binner.transform(X).to_numpy(np.float64)
        model = LogisticRegression(C=self.C, solver="lbfgs", max_iter=1000,
                                   random_state=_RANDOM_STATE)
        model.fit(woe, (labels == event).astype(np.int64))
        classes = np.unique(np.asarray(y).ravel())
        self._set_fitted(binner, model.coef_[0], float(model.intercept_[0]), classes, event)
        return self

    def _set_fitted(self, binner: WoeBinner, coef: Any, intercept: float, classes: Any,
                    event: Any) -> None:
        self.binner_ = binner
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = float(intercept)
        self.classes_ = np.asarray(classes)
        self.event_ = event
        self.feature_names_in_ = binner.feature_names_in_.copy()
        self.n_features_in_ = binner.n_features_in_
        self.factor_, self.offset_ = _scaling(self.pdo, self.base_score, self.base_odds)
        rows = []
        for beta, name in zip(self.coef_, self.feature_names_in_, strict=True):
            table = binner.tables_[name]
            labels, woe = list(table.labels), list(table.woe)
            if table.kind == "categorical":  # unseen categories get WOE 0 (binning.py)
                labels, woe = [*labels, "Unknown"], [*woe, 0.0]
            rows += [(name, lab, w, self._points(beta, w)) for lab, w in zip(labels, woe,
                                                                             strict=True)]
        self.points_table_ = pd.DataFrame(rows, columns=["feature", "bin", "woe", "points"])

    def _points(self, beta: Any, woe: Any) -> Any:
        """``-factor * beta * woe + (offset - factor * b0) / n`` (see the class Notes)."""
        share = (self.offset_ - self.factor_ * self.intercept_) / self.n_features_in_
        return -self.factor_ * beta * woe + share

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("Scorecard is not fitted; call fit(X, y) first.")

    # --- scoring ----------------------------------------------------------------------
    def _logit(self, X: Any) -> np.ndarray:
        """``ln(P(bad) / P(good))`` per row."""
        return self.intercept_ + self._woe(X).to_numpy(np.float64) @ self.coef_

    def _woe(self, X: Any) -> pd.DataFrame:
        self._check_fitted()
        if not isinstance(X, pd.DataFrame):  # columns found by position, so count them
            width = np.shape(X)[1] if np.ndim(X) == 2 else None
            if width != self.n_features_in_:
                raise SchemaError(f"X has {width} features but Scorecard was fitted on "
                                  f"{self.n_features_in_}; pass the same columns.")
        return self.binner_.transform(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of the bad class, ``b0 + woe @ coef_`` (higher = riskier)."""
        return self._logit(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in :attr:`classes_` order."""
        p_bad = expit(self._logit(X))
        bad_first = self.classes_[0] == self.event_
        return np.column_stack([p_bad, 1 - p_bad] if bad_first else [1 - p_bad, p_bad])

    def predict(self, X: Any) -> np.ndarray:
        """The bad label where P(bad) >= ``threshold``, else the good label."""
        p_bad = expit(self._logit(X))
        good = self.classes_[self.classes_ != self.event_][0]
        return np.where(p_bad >= self.threshold, self.event_, good).astype(self.classes_.dtype)

    def credit_score(self, X: Any) -> np.ndarray:
        """Score per row: ``offset + factor * ln(odds good:bad)``; higher is safer.

        Named so because scikit-learn's ``score`` means accuracy.
        """
        return self.offset_ - self.factor_ * self._logit(X)

    def points(self, X: Any) -> pd.DataFrame:
        """Points per applicant (rows) and feature (columns); each row sums to the score."""
        woe = self._woe(X)
        return pd.DataFrame(self._points(self.coef_, woe.to_numpy(np.float64)),
                            index=woe.index, columns=list(self.feature_names_in_))

    # --- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fitted scorecard as JSON-able data: parameters, binner, coefficients."""
        self._check_fitted()
        params = {k: _plain(v) for k, v in self.get_params(deep=False).items()
                  if k != "binner"}
        return {"kind": "Scorecard", "params": params, "binner": self.binner_.to_dict(),
                "coef": [float(v) for v in self.coef_], "intercept": self.intercept_,
                "classes": [_plain(c) for c in self.classes_], "event": _plain(self.event_)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scorecard:
        """Rebuild a fitted scorecard from :meth:`to_dict` output; needs no optbinning."""
        try:
            if data["kind"] != "Scorecard":
                raise ValueError(f"kind is {data['kind']!r}")
            binner = WoeBinner.from_dict(data["binner"])
            card = cls(binner=clone(binner), **data["params"])
            coef, intercept = list(data["coef"]), float(data["intercept"])
            if len(coef) != binner.n_features_in_:
                raise ValueError(f"{len(coef)} coefficients for {binner.n_features_in_} "
                                 "features")
            classes, event = data["classes"], data["event"]
        except SchemaError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"Scorecard JSON is incomplete or malformed ({exc!r}); re-save "
                              "it from a fitted Scorecard.") from None
        card._check_params()
        card._set_fitted(binner, coef, intercept, classes, event)
        return card
