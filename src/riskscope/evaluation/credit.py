"""Credit-scoring metrics, repeated cross-validation and the corrected resampled t-test.

Labels follow the credit convention: **1 = bad** (default), 0 = good, and every score is
"higher = more likely bad" (e.g. ``P(bad)``). Everything learned from data is fitted
inside each training fold by :func:`repeated_cv_evaluate`; the other functions only
score arrays the caller already has. AUC is :func:`riskscope.evaluation.metrics.binary_scores`'s
and the optional row-bootstrap interval of :meth:`CVResult.bootstrap` is
:func:`riskscope.evaluation.bootstrap.bootstrap_ci`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold

from riskscope.evaluation._common import (
    _as_1d,
    _confusion_counts,
    _per_class,
    _same_length,
    _scores,
)
from riskscope.evaluation.bootstrap import CONFUSION_METRICS, SCORE_METRICS, Interval, bootstrap_ci
from riskscope.evaluation.metrics import _cutpoints, binary_scores
from riskscope.exceptions import ParameterError, SchemaError

__all__ = [
    "LEAKAGE_AUC_LIMIT", "ks_statistic", "gini", "credit_scores", "CVResult",
    "repeated_cv_evaluate", "CorrectedTTest", "corrected_resampled_ttest", "leakage_flag",
    "AccuracyAUCCheck", "accuracy_auc_consistency",
]

#: ROC-AUC above which a German-credit-like result is flagged as suspected leakage: honest
#: 5x5 CV here gives LR 0.785, RF 0.793, XGBoost 0.792, so 0.85 leaves room for a
#: genuinely better model but not for the 0.97 of a leaky one.
LEAKAGE_AUC_LIMIT = 0.85

METRICS = ("accuracy", "roc_auc", "f1", "f1_bad", "f1_good", "ks", "gini", "brier")


def _credit_y(y: Any, name: str = "y_true") -> np.ndarray:
    arr = _as_1d(y, name)
    values = set(pd.unique(arr).tolist())
    if not values <= {0, 1}:
        raise SchemaError(
            f"`{name}` must hold 1 (bad) and 0 (good); got values "
            f"{sorted(map(str, values))[:5]}; map the target first, e.g. (y == 'bad')."
        )
    arr = arr.astype(np.int8)
    n_bad = int(arr.sum())
    if n_bad in (0, arr.shape[0]):
        raise SchemaError(
            f"`{name}` must hold both good (0) and bad (1) rows; got {arr.shape[0] - n_bad} "
            f"good and {n_bad} bad."
        )
    return arr


def _checked(y_true: Any, score: Any, score_name: str) -> tuple[np.ndarray, np.ndarray]:
    y = _credit_y(y_true)
    s = _scores(score, score_name)
    _same_length(y, s, "y_true", score_name)
    return y, s


def _ks(y: np.ndarray, s: np.ndarray) -> float:
    _, tp, fp = _cutpoints(y, s)
    return float(np.max(np.abs(tp / tp[-1] - fp / fp[-1])))


def ks_statistic(y_true: Any, score: Any) -> float:
    """Kolmogorov-Smirnov statistic: the widest gap between the bad and good score CDFs.

    ``max_t |F_bad(t) - F_good(t)|`` over every distinct score (``y_true`` 1 = bad,
    ``score`` higher = more likely bad): the same number as :func:`scipy.stats.ks_2samp`
    on the two groups' scores.

    Examples
    --------
    >>> from riskscope.evaluation.credit import ks_statistic
    >>> ks_statistic([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    return _ks(*_checked(y_true, score, "score"))


def gini(y_true: Any, score: Any) -> float:
    """Gini coefficient (accuracy ratio) of a bad-score: ``2 * ROC-AUC - 1``.

    Examples
    --------
    >>> from riskscope.evaluation.credit import gini
    >>> gini([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.5
    """
    y, s = _checked(y_true, score, "score")
    return 2.0 * binary_scores(y, s).roc_auc - 1.0


def credit_scores(
    y_true: Any, proba: Any, threshold: float = 0.5, positive: str = "bad"
) -> dict[str, float]:
    """Accuracy, ROC-AUC, F1, KS, Gini and Brier score of ``P(bad)`` predictions.

    A row is predicted bad when ``proba >= threshold``. ``f1`` is the F1 of the
    ``positive`` class; ``f1_bad`` (class 1) and ``f1_good`` (class 0) are always both
    reported, because they differ a lot at a 70/30 mix: on German credit (5x5 CV) LR and
    RF reach f1_good 0.83-0.85 but f1_bad 0.51-0.53, so the IV-XGBoost-RF paper's
    F-score of 0.87-0.90 can only be the good class's.

    Parameters
    ----------
    y_true : array-like of {0, 1}
        1 = bad, 0 = good.
    proba : array-like of float in [0, 1]
        Predicted probability of bad; ``threshold`` (default 0.5) makes the decision.
    positive : {"bad", "good"}, default "bad"
        The class whose F1 is reported as ``f1``.

    Returns
    -------
    dict
        ``accuracy, roc_auc, f1, f1_bad, f1_good, ks, gini, brier`` (Brier = mean
        squared error of ``proba`` against ``y_true``, as sklearn's ``brier_score_loss``).

    Examples
    --------
    >>> from riskscope.evaluation.credit import credit_scores
    >>> s = credit_scores([0, 0, 1, 1], [0.1, 0.6, 0.35, 0.8])
    >>> s["accuracy"], s["f1_bad"], s["ks"], round(s["brier"], 4)
    (0.5, 0.5, 0.5, 0.2081)
    """
    y, p = _checked(y_true, proba, "proba")
    if p.min() < 0 or p.max() > 1:
        raise ParameterError(
            f"`proba` must be probabilities in [0, 1]; got range [{p.min()}, {p.max()}].")
    if not 0 <= threshold <= 1:
        raise ParameterError(
            f"`threshold` of credit_scores must be in [0, 1]; got {threshold!r}.")
    if positive not in ("bad", "good"):
        raise ParameterError(
            f"`positive` of credit_scores must be 'bad' or 'good'; got {positive!r}.")
    pred = (p >= threshold).astype(np.int8)
    cm, _, _ = _confusion_counts(y, pred, [0, 1], strict=True)
    f1_good, f1_bad = (float(v) for v in _per_class(cm, np.array([0, 1]))["f1"])
    auc = binary_scores(y, p).roc_auc
    return {
        "accuracy": float(np.trace(cm) / cm.sum()), "roc_auc": auc,
        "f1": f1_bad if positive == "bad" else f1_good, "f1_bad": f1_bad, "f1_good": f1_good,
        "ks": _ks(y, p), "gini": 2.0 * auc - 1.0, "brier": float(np.mean((p - y) ** 2)),
    }


# ------------------------------------------------------------------ corrected t statistics


def _corrected(diffs: np.ndarray, ratio: float, confidence: float) -> tuple[float, ...]:
    """Mean, std, corrected standard error and interval half-width (Nadeau & Bengio)."""
    j = diffs.shape[0]
    mean, std = float(diffs.mean()), float(diffs.std(ddof=1))
    se = float(np.sqrt((1.0 / j + ratio) * std**2))
    return mean, std, se, float(stats.t.ppf(0.5 + confidence / 2, j - 1) * se)


@dataclass(frozen=True)
class CorrectedTTest:
    """Nadeau-Bengio corrected resampled t-test of ``mean(scores_a - scores_b)``."""

    t: float
    p_value: float
    mean_difference: float
    low: float
    high: float
    df: int
    confidence: float

    def __str__(self) -> str:
        return (f"diff {self.mean_difference:+.4f} [{self.low:+.4f}, {self.high:+.4f}], "
                f"t = {self.t:.3f}, p = {self.p_value:.4f} (df {self.df})")


def corrected_resampled_ttest(
    scores_a: Any, scores_b: Any, n_train: float, n_test: float, *, confidence: float = 0.95
) -> CorrectedTTest:
    """Corrected repeated k-fold t-test (Nadeau & Bengio 2003; Bouckaert & Frank 2004).

    With ``d`` the J per-fold differences (J = folds x repeats, same splits for both
    models), ``t = mean(d) / sqrt((1/J + n_test/n_train) * var(d))`` on ``J - 1``
    degrees of freedom. The naive paired t-test uses ``1/J`` alone and ignores that
    the folds' training sets overlap, so it rejects far too often; the correction can
    only widen the interval and raise the p-value.

    Parameters
    ----------
    scores_a, scores_b : array-like of shape (J,)
        Per-fold scores of two models on the same folds.
    n_train, n_test : number
        Training and test rows per fold.
    confidence : float, default 0.95
        Coverage of the interval ``[low, high]`` of the mean difference.

    Examples
    --------
    >>> from riskscope.evaluation.credit import corrected_resampled_ttest
    >>> r = corrected_resampled_ttest([3, 4, 5, 6], [2, 2, 2, 2], n_train=80, n_test=20)
    >>> round(r.t, 4), r.df
    (2.7386, 3)
    """
    a = _scores(scores_a, "scores_a")
    b = _scores(scores_b, "scores_b")
    _same_length(a, b, "scores_a", "scores_b")
    if a.shape[0] < 2:
        raise ParameterError(
            f"corrected_resampled_ttest needs >= 2 paired scores; got {a.shape[0]}.")
    if not (n_train > 0 and n_test > 0):
        raise ParameterError(f"`n_train` and `n_test` must be > 0; got {n_train!r} and {n_test!r}.")
    if not 0 < confidence < 1:
        raise ParameterError(f"`confidence` must be in (0, 1); got {confidence!r}.")
    mean, _, se, half = _corrected(a - b, n_test / n_train, confidence)
    df = a.shape[0] - 1
    t = mean / se if se > 0 else (0.0 if mean == 0 else float(np.copysign(np.inf, mean)))
    p = float(2 * stats.t.sf(abs(t), df))
    return CorrectedTTest(t, p, mean, mean - half, mean + half, df, confidence)


# ------------------------------------------------------------------- repeated cross-validation


@dataclass
class CVResult:
    """Scores of repeated stratified k-fold CV: per fold, summarised, and out-of-fold.

    ``summary`` has, per metric, the mean and std over the J = ``n_splits * n_repeats``
    folds and a 95% interval ``mean +- t(J-1) * sqrt((1/J + n_test/n_train) * var)``:
    the Nadeau-Bengio corrected variance. A plain t-interval over the J fold scores
    (``1/J`` alone) treats them as independent although every two folds share most of
    their training rows, so it is far too narrow (about 2.7x at 5x5 CV); a percentile
    interval over 5 repeat means has too few points to place a 2.5% quantile. The same
    formula is what :meth:`compare` tests with.
    """

    folds: pd.DataFrame
    summary: pd.DataFrame
    oof_proba: np.ndarray
    y: np.ndarray
    n_splits: int
    n_repeats: int
    random_state: int | None
    threshold: float
    #: What ``record`` returned for each fold's fitted estimator (``folds`` order), or None.
    records: list[dict[str, Any]] | None = None

    def compare(self, other: CVResult, metric: str = "roc_auc") -> CorrectedTTest:
        """Corrected resampled t-test of ``self - other`` on ``metric`` (same splits only)."""
        same = (self.n_splits, self.n_repeats, self.random_state, self.y.shape[0]) == (
            other.n_splits, other.n_repeats, other.random_state, other.y.shape[0])
        if not same or self.random_state is None or not np.array_equal(self.y, other.y):
            raise ParameterError(
                "compare needs two CV results on the same rows with the same n_splits, "
                "n_repeats and an int random_state (the same folds)."
            )
        ratio = float((self.folds["n_test"] / self.folds["n_train"]).mean())
        # Fold sizes differ by a row; the mean ratio stands in for n_test / n_train.
        return corrected_resampled_ttest(self.folds[metric], other.folds[metric],
                                         n_train=1.0, n_test=ratio)

    def bootstrap(self, metric: str = "roc_auc", *, repeat: int = 0, n: int = 1000,
                  seed: int = 0) -> Interval:
        """Row-bootstrap interval of ``metric`` on one repeat's pooled out-of-fold scores.

        It holds the fitted models fixed and covers test-row sampling only; the summary
        interval also covers the variation between training sets.
        """
        y, p = self.y, self.oof_proba[repeat]
        pred = (p >= self.threshold).astype(np.int8)
        if metric in CONFUSION_METRICS:
            return bootstrap_ci(metric, y, pred, n=n, seed=seed)
        if metric in SCORE_METRICS:
            return bootstrap_ci(metric, y, p, n=n, seed=seed)
        if metric not in METRICS:
            raise ParameterError(f"`metric` must be one of {list(METRICS)}; got {metric!r}.")

        def fn(yy: np.ndarray, pp: np.ndarray) -> float:
            if yy.min() == yy.max():
                return float("nan")
            return credit_scores(yy, pp, self.threshold)[metric]

        fn.__name__ = metric
        return bootstrap_ci(fn, y, p, n=n, seed=seed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready folds, summary and per-fold records (no out-of-fold probabilities)."""
        return {"n_splits": self.n_splits, "n_repeats": self.n_repeats,
                "random_state": self.random_state, "threshold": self.threshold,
                "folds": self.folds.to_dict(orient="records"),
                "summary": self.summary.reset_index().to_dict(orient="records"),
                "records": self.records}


def _take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def _bad_proba(est: Any, X: Any) -> np.ndarray:
    proba = np.asarray(est.predict_proba(X))
    classes = list(getattr(est, "classes_", [0, 1]))
    return proba[:, classes.index(1)]


def _run_fold(make: Callable[[], Any], X: Any, y: np.ndarray, train: np.ndarray,
              test: np.ndarray, threshold: float, record: Callable[[Any], dict] | None,
              ) -> tuple[dict[str, float], np.ndarray, dict[str, Any] | None]:
    est = make()
    if not hasattr(est, "predict_proba"):
        raise ParameterError(f"The estimator {type(est).__name__} has no predict_proba; "
                             "use a classifier that gives probabilities.")
    est.fit(_take(X, train), y[train])
    p = _bad_proba(est, _take(X, test))
    # Called here, in the fold (and its worker), so only the fold's fitted estimator is
    # seen; it is then dropped, which keeps parallel folds from shipping models back.
    info = None if record is None else dict(record(est))
    return credit_scores(y[test], p, threshold), p, info


def _int_param(value: Any, name: str, low: int) -> int:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < low:
        raise ParameterError(f"`{name}` of repeated_cv_evaluate must be an int >= {low}; "
                             f"got {value!r}.")
    return int(value)


def repeated_cv_evaluate(
    estimator: Any, X: Any, y: Any, *, n_splits: int = 5, n_repeats: int = 5,
    random_state: int | None = 0, threshold: float = 0.5, n_jobs: int = 1,
    record: Callable[[Any], dict[str, Any]] | None = None,
) -> CVResult:
    """Repeated stratified k-fold CV of a probabilistic classifier, scored per fold.

    For each of the ``n_splits * n_repeats`` folds a fresh estimator (a ``clone`` of
    ``estimator``, or ``estimator()`` when it is a factory) is fitted on the training
    rows only and scored with :func:`credit_scores` on the test rows, so everything the
    estimator learns (bins, WOE, selection, tuning inside a Pipeline) is learned inside
    the fold. See :class:`CVResult` for the interval.

    Parameters
    ----------
    estimator : estimator or callable
        A scikit-learn classifier or Pipeline with ``predict_proba`` and class 1 (bad)
        among its ``classes_``, or a zero-argument callable returning a new one.
    X : DataFrame or array of shape (n_samples, n_features)
    y : array-like of {0, 1}
        1 = bad, 0 = good.
    n_splits, n_repeats, random_state : int
        Folds of :class:`~sklearn.model_selection.RepeatedStratifiedKFold`; the same
        ``random_state`` gives the same folds and numbers.
    threshold : float, default 0.5
        ``P(bad)`` at or above which a row is predicted bad.
    n_jobs : int, default 1
        Folds run in parallel through joblib when not 1.
    record : callable or None, default None
        Called with each fold's estimator right after it was fitted on that fold's
        training rows; the dicts it returns (JSON-able, e.g. a chosen feature count) are
        kept in :attr:`CVResult.records`, one per fold in ``folds`` order. It must be
        picklable when ``n_jobs`` is not 1 (a module-level function or
        ``operator.attrgetter``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from riskscope.evaluation.credit import repeated_cv_evaluate
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X[:, 0] + rng.normal(size=200) > 0.8).astype(int)
    >>> cv = repeated_cv_evaluate(LogisticRegression(), X, y, n_splits=5, n_repeats=2)
    >>> len(cv.folds), list(cv.summary.columns)
    (10, ['mean', 'std', 'low', 'high'])
    >>> bool(cv.summary.loc["roc_auc", "low"] < cv.summary.loc["roc_auc", "mean"])
    True
    >>> cv = repeated_cv_evaluate(LogisticRegression(), X, y, n_splits=2, n_repeats=1,
    ...                           record=lambda est: {"coef0": float(est.coef_[0, 0])})
    >>> len(cv.records), sorted(cv.records[0])
    (2, ['coef0'])
    """
    n_splits = _int_param(n_splits, "n_splits", 2)
    n_repeats = _int_param(n_repeats, "n_repeats", 1)
    if not isinstance(n_jobs, int | np.integer) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise ParameterError(
            f"`n_jobs` of repeated_cv_evaluate must be a non-zero int; got {n_jobs!r}.")
    if not 0 <= threshold <= 1:
        raise ParameterError(
            f"`threshold` of repeated_cv_evaluate must be in [0, 1]; got {threshold!r}.")
    if record is not None and not callable(record):
        raise ParameterError(f"`record` of repeated_cv_evaluate must be None or a callable; "
                             f"got {type(record).__name__}.")
    if hasattr(estimator, "fit"):
        def make() -> Any:
            return clone(estimator)
    elif callable(estimator):
        make = estimator
    else:
        raise ParameterError(f"`estimator` must be a classifier or a callable returning one; "
                             f"got {type(estimator).__name__}.")
    yv = _credit_y(y, "y")
    if not hasattr(X, "iloc"):
        X = np.asarray(X)
    if X.shape[0] != yv.shape[0]:
        raise ParameterError(f"`X` has {X.shape[0]} rows but `y` has {yv.shape[0]}; pass "
                             "values for the same rows.")
    if min(int(yv.sum()), int((1 - yv).sum())) < n_splits:
        raise SchemaError(f"`y` has {int(yv.sum())} bad and {int((1 - yv).sum())} good rows; "
                          f"each class needs >= n_splits ({n_splits}) rows.")
    splitter = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats,
                                       random_state=random_state)
    splits = list(splitter.split(np.zeros(yv.shape[0]), yv))
    if n_jobs == 1:
        out = [_run_fold(make, X, yv, tr, te, threshold, record) for tr, te in splits]
    else:
        from joblib import Parallel, delayed

        out = Parallel(n_jobs=n_jobs)(
            delayed(_run_fold)(make, X, yv, tr, te, threshold, record) for tr, te in splits)
    oof = np.full((n_repeats, yv.shape[0]), np.nan)
    rows = []
    for i, ((tr, te), (scores, p, _)) in enumerate(zip(splits, out, strict=True)):
        oof[i // n_splits, te] = p
        rows.append({"repeat": i // n_splits, "fold": i % n_splits, "n_train": len(tr),
                     "n_test": len(te), **scores})
    folds = pd.DataFrame(rows)
    ratio = float((folds["n_test"] / folds["n_train"]).mean())
    summary = {}
    for m in METRICS:
        mean, std, _, half = _corrected(folds[m].to_numpy(float), ratio, 0.95)
        summary[m] = {"mean": mean, "std": std, "low": mean - half, "high": mean + half}
    records = None if record is None else [info for _, _, info in out]
    return CVResult(folds, pd.DataFrame.from_dict(summary, orient="index"), oof, yv,
                    n_splits, n_repeats, random_state, float(threshold), records)


# ----------------------------------------------------------------- plausibility of reported AUCs


def leakage_flag(auc: float, limit: float = LEAKAGE_AUC_LIMIT) -> bool:
    """True when a German-credit-like ROC-AUC is above ``limit``: suspect leakage.

    Examples
    --------
    >>> from riskscope.evaluation.credit import leakage_flag
    >>> leakage_flag(0.9712), leakage_flag(0.793)
    (True, False)
    """
    return bool(auc > limit)


def _best_accuracy(auc: float, base_rate: float, sd_ratio: float) -> float:
    # Binormal scores: good ~ N(0, 1), bad ~ N(mu, sd_ratio); AUC = Phi(mu / sqrt(1 + s^2)).
    mu = stats.norm.ppf(auc) * np.sqrt(1.0 + sd_ratio**2)
    t = np.linspace(-8.0, mu + 8.0 * sd_ratio, 4001)
    acc = (1 - base_rate) * stats.norm.cdf(t) + base_rate * stats.norm.sf((t - mu) / sd_ratio)
    return float(acc.max())


def _implied_auc(accuracy: float, base_rate: float, sd_ratio: float) -> float:
    def gap(a: float) -> float:
        return _best_accuracy(a, base_rate, sd_ratio) - accuracy

    if gap(0.5) >= 0:
        return 0.5
    if gap(0.999) <= 0:
        return 0.999
    return float(optimize.brentq(gap, 0.5, 0.999, xtol=1e-5))


@dataclass(frozen=True)
class AccuracyAUCCheck:
    """Whether a reported accuracy and ROC-AUC can come from the same scores."""

    accuracy: float
    auc: float
    base_rate: float
    best_accuracy: tuple[float, float]
    implied_auc: tuple[float, float]
    consistent: bool

    def sentence(self) -> str:
        """One sentence for a report."""
        good = round(100 * (1 - self.base_rate))
        (bl, bh), (al, ah) = self.best_accuracy, self.implied_auc
        verdict = "consistent" if self.consistent else "inconsistent"
        return (f"At a {good}/{100 - good} good/bad mix, an AUC of {self.auc:.3f} allows a "
                f"best-threshold accuracy of {100 * bl:.1f}-{100 * bh:.1f}%, and an accuracy of "
                f"{100 * self.accuracy:.1f}% matches an AUC of about {al:.2f}-{ah:.2f} "
                f"(binormal scores), so the reported pair is {verdict}.")


def accuracy_auc_consistency(
    accuracy: float, auc: float, base_rate: float, *,
    sd_ratios: tuple[float, ...] = (0.75, 1.0, 1.33), tolerance: float = 0.03,
) -> AccuracyAUCCheck:
    """Check a reported (accuracy, ROC-AUC) pair against binormal scores.

    Good scores ~ N(0, 1) and bad ~ N(mu, s) with mu set so that ROC-AUC = ``auc``, for
    each bad/good sd ratio ``s`` in ``sd_ratios``. ``best_accuracy`` is the range over
    ``s`` of the accuracy at the best single threshold at the ``base_rate`` bad share
    (what a model tuned for accuracy, or a calibrated one at 0.5, attains);
    ``implied_auc`` the range of AUCs whose best accuracy equals ``accuracy``. The pair is
    ``consistent`` when ``accuracy`` is within ``tolerance`` of that best-accuracy range
    (0.03 ~ two standard errors of an accuracy on 1,000 rows, plus a slightly off
    threshold). A model scored by both must satisfy this up to the binormal shape.

    Examples
    --------
    >>> from riskscope.evaluation.credit import accuracy_auc_consistency
    >>> paper = accuracy_auc_consistency(0.764, 0.9712, base_rate=0.3)
    >>> paper.consistent, round(paper.best_accuracy[0], 2)
    (False, 0.92)
    >>> accuracy_auc_consistency(0.764, 0.79, base_rate=0.3).consistent
    True
    """
    for name, v in (("accuracy", accuracy), ("base_rate", base_rate)):
        if not 0 < v < 1:
            raise ParameterError(
                f"`{name}` of accuracy_auc_consistency must be in (0, 1); got {v!r}.")
    if not 0.5 <= auc < 1:
        raise ParameterError(
            f"`auc` of accuracy_auc_consistency must be in [0.5, 1); got {auc!r}.")
    best = [_best_accuracy(auc, base_rate, s) for s in sd_ratios]
    implied = [_implied_auc(accuracy, base_rate, s) for s in sd_ratios]
    ok = min(best) - tolerance <= accuracy <= max(best) + tolerance
    return AccuracyAUCCheck(float(accuracy), float(auc), float(base_rate),
                            (min(best), max(best)), (min(implied), max(implied)), bool(ok))
