"""The approve/decline cut-off of a credit score: the threshold of least expected cost.

A scorecard gives ``P(bad)``; a lender needs one number that turns it into a decision.
:func:`choose_cutoff` picks the ``P(bad)`` at or above which an applicant is declined so
that the expected cost ``bad_cost * (bad approved) + 1 * (good declined)`` is smallest on
the predictions it is given. Give it out-of-fold predictions of the training rows (never
the rows to be scored), so the cut-off is fixed before any new applicant is seen.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from riskscope.evaluation._common import _same_length, _scores
from riskscope.exceptions import ParameterError, SchemaError

__all__ = ["Cutoff", "choose_cutoff"]


@dataclass(frozen=True)
class Cutoff:
    """A chosen cut-off and what it did on the predictions it was chosen on.

    Attributes
    ----------
    threshold : float
        Decline when ``P(bad) >= threshold``.
    bad_cost : float
        Cost of approving a bad applicant, in units of declining a good one.
    expected_cost : float
        Mean cost per applicant at ``threshold`` (with ``bad_cost = 1``: the error rate).
    accuracy, decline_rate, bad_rate_approved : float
        At ``threshold``; ``bad_rate_approved`` is the share of bads among the approved.
    n : int
        Predictions it was chosen on.
    """

    threshold: float
    bad_cost: float
    expected_cost: float
    accuracy: float
    decline_rate: float
    bad_rate_approved: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        """The cut-off as JSON-able data."""
        return {k: (int(v) if k == "n" else float(v)) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cutoff:
        """Rebuild from :meth:`to_dict` output; bad data raises SchemaError."""
        try:
            return cls(**{k: (int(data[k]) if k == "n" else float(data[k]))
                          for k in cls.__dataclass_fields__})
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"Cut-off JSON is incomplete or malformed ({exc!r}); re-save "
                              "the model with `riskscope credit run`.") from None


def _outcome(y: np.ndarray, p: np.ndarray, t: float, bad_cost: float) -> dict[str, float]:
    decline = p >= t
    bad_ok, good_no = int((~decline & (y == 1)).sum()), int((decline & (y == 0)).sum())
    approved = int((~decline).sum())
    return {"expected_cost": (bad_cost * bad_ok + good_no) / y.size,
            "accuracy": 1.0 - (bad_ok + good_no) / y.size,
            "decline_rate": float(decline.mean()),
            "bad_rate_approved": bad_ok / approved if approved else 0.0}


def choose_cutoff(y_true: Any, p_bad: Any, *, bad_cost: float = 1.0) -> Cutoff:
    """The ``P(bad)`` cut-off with the least expected cost on these predictions.

    Every distinct decision on the given rows is tried: declining the rows with
    ``P(bad) >= u`` for each distinct value ``u``, and declining none. The cut-off is
    placed halfway between the neighbouring predicted values (so a rounding change in a
    later prediction does not flip its decision); among equally cheap choices, the one
    nearest ``1 / (1 + bad_cost)`` wins, the threshold that is optimal for calibrated
    probabilities.

    Parameters
    ----------
    y_true : array-like of {0, 1}
        1 = bad, 0 = good.
    p_bad : array-like of float in [0, 1]
        Out-of-fold ``P(bad)`` of the training rows (repeats may be stacked).
    bad_cost : float, default 1.0
        Cost of approving a bad applicant relative to declining a good one. 1 minimises
        errors (maximises accuracy); German credit's documented cost matrix uses 5.

    Returns
    -------
    Cutoff

    Examples
    --------
    >>> from riskscope.evaluation.cutoff import choose_cutoff
    >>> y = [0, 0, 0, 1, 0, 1, 1]
    >>> p = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    >>> c = choose_cutoff(y, p)  # 0.35 and 0.55 both err once; 0.55 is nearer 0.5
    >>> round(c.threshold, 2), round(c.accuracy, 3)
    (0.55, 0.857)
    >>> round(choose_cutoff(y, p, bad_cost=5).threshold, 2)  # approving a bad costs more
    0.35
    """
    if not (isinstance(bad_cost, numbers.Real) and not isinstance(bad_cost, bool)
            and math.isfinite(bad_cost) and bad_cost > 0):
        raise ParameterError(f"`bad_cost` of choose_cutoff must be a finite number > 0; "
                             f"got {bad_cost!r}.")
    y = np.asarray(y_true).ravel()
    p = _scores(p_bad, "p_bad")
    _same_length(y, p, "y_true", "p_bad")
    if y.size == 0 or not set(np.unique(y).tolist()) <= {0, 1}:
        raise SchemaError("`y_true` of choose_cutoff must hold 1 (bad) and 0 (good) "
                          f"values and at least one row; got {np.unique(y)[:5].tolist()}.")
    if p.min() < 0 or p.max() > 1:
        raise ParameterError(f"`p_bad` must be probabilities in [0, 1]; got range "
                             f"[{p.min()}, {p.max()}].")
    y = y.astype(np.int64)
    u, inv = np.unique(p, return_inverse=True)
    bad = np.bincount(inv, weights=y, minlength=u.size)
    good = np.bincount(inv, weights=1 - y, minlength=u.size)
    # candidate i declines the rows with p >= u[i]; i = u.size declines none
    bad_approved = np.concatenate([[0.0], np.cumsum(bad)])
    good_declined = good.sum() - np.concatenate([[0.0], np.cumsum(good)])
    cost = bad_cost * bad_approved + good_declined
    below = np.concatenate([[0.0], u])
    above = np.concatenate([u, [1.0]])
    mids = (below + above) / 2
    best = np.flatnonzero(cost <= cost.min() + 1e-9)
    t = float(mids[best[np.argmin(np.abs(mids[best] - 1.0 / (1.0 + bad_cost)))]])
    return Cutoff(threshold=t, bad_cost=float(bad_cost), n=int(y.size),
                  **_outcome(y, p, t, bad_cost))
