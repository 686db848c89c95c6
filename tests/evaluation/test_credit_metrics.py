"""Credit metrics, repeated CV without fold leakage, and the corrected resampled t-test."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from riskscope.evaluation.credit import (
    accuracy_auc_consistency,
    corrected_resampled_ttest,
    credit_scores,
    gini,
    ks_statistic,
    leakage_flag,
    repeated_cv_evaluate,
)
from riskscope.exceptions import ParameterError, SchemaError


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] - 0.5 * X[:, 1] + rng.normal(size=300) > 0.9).astype(int)  # ~30% bad
    return X, y


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = (rng.random(500) < 0.3).astype(int)
    proba = 1 / (1 + np.exp(-(y * 1.2 + rng.normal(size=500) - 1.0)))
    return y, np.round(proba, 2)  # rounding makes ties, the hard case for KS and AUC


# ------------------------------------------------------------------------------ metrics


def test_ks_matches_scipy_ks_2samp(scored):
    y, p = scored
    assert ks_statistic(y, p) == pytest.approx(stats.ks_2samp(p[y == 1], p[y == 0]).statistic)


def test_ks_is_one_for_perfect_separation_and_ignores_score_scale():
    y = np.array([0, 0, 0, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    assert ks_statistic(y, s) == 1.0
    assert ks_statistic(y, 100 * s - 3) == 1.0


def test_gini_is_two_auc_minus_one(scored):
    y, p = scored
    assert gini(y, p) == pytest.approx(2 * roc_auc_score(y, p) - 1)


def test_credit_scores_match_sklearn(scored):
    y, p = scored
    s = credit_scores(y, p, threshold=0.4)
    pred = (p >= 0.4).astype(int)
    assert s["brier"] == pytest.approx(brier_score_loss(y, p))
    assert s["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert s["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert s["f1_bad"] == pytest.approx(f1_score(y, pred, pos_label=1))
    assert s["f1_good"] == pytest.approx(f1_score(y, pred, pos_label=0))
    assert s["f1"] == s["f1_bad"]
    assert credit_scores(y, p, threshold=0.4, positive="good")["f1"] == s["f1_good"]
    assert s["ks"] == pytest.approx(ks_statistic(y, p))


# ---------------------------------------------------------------------- repeated CV


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the bad rate it saw; logs the row ids (column 0) it was fitted on and scored."""

    log: ClassVar[list[tuple[str, frozenset]]] = []

    def fit(self, X, y):
        X = np.asarray(X)
        self.classes_ = np.array([0, 1])
        self.rate_ = float(np.mean(y))
        RecordingClassifier.log.append(("fit", frozenset(X[:, 0].astype(int).tolist())))
        return self

    def predict_proba(self, X):
        X = np.asarray(X)
        RecordingClassifier.log.append(("predict", frozenset(X[:, 0].astype(int).tolist())))
        p = np.full(len(X), self.rate_) + 1e-3 * X[:, 1]
        return np.column_stack([1 - p, p])


def test_repeated_cv_fits_only_on_training_rows(data):
    X, y = data
    Xid = np.column_stack([np.arange(len(y)), X])  # column 0 is the row id
    RecordingClassifier.log.clear()
    cv = repeated_cv_evaluate(RecordingClassifier(), Xid, y, n_splits=5, n_repeats=3)
    log = RecordingClassifier.log
    assert [kind for kind, _ in log] == ["fit", "predict"] * 15
    for (_, fitted), (_, tested) in zip(log[::2], log[1::2], strict=True):
        assert not fitted & tested  # a model fitted on the whole set would fail here
        assert len(fitted | tested) == len(y)
    for r in range(3):  # within a repeat every row is a test row exactly once
        tested = [t for _, t in log[1::2][5 * r:5 * r + 5]]
        assert sum(map(len, tested)) == len(y)
        assert frozenset().union(*tested) == frozenset(range(len(y)))
    assert not np.isnan(cv.oof_proba).any()


def test_record_sees_each_folds_fitted_estimator(data):
    X, y = data
    Xid = np.column_stack([np.arange(len(y)), X])
    RecordingClassifier.log.clear()

    def record(est):
        return {"rate": est.rate_, "fitted_on": sorted(RecordingClassifier.log[-2][1])}

    cv = repeated_cv_evaluate(RecordingClassifier(), Xid, y, n_splits=3, n_repeats=2,
                              record=record)
    assert len(cv.records) == len(cv.folds) == 6
    splits = RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=0).split(Xid, y)
    for rec, (train, _) in zip(cv.records, splits, strict=True):
        # the estimator recorded is the one fitted on this fold's training rows, nothing else
        assert rec["fitted_on"] == sorted(train.tolist())
        assert rec["rate"] == pytest.approx(y[train].mean())
    assert repeated_cv_evaluate(LogisticRegression(), X, y, n_splits=3, n_repeats=1
                                ).records is None
    with parallel_config(backend="threading"):
        par = repeated_cv_evaluate(LogisticRegression(), X, y, n_splits=3, n_repeats=1,
                                   n_jobs=2, record=lambda e: {"c": float(e.coef_[0, 0])})
    seq = repeated_cv_evaluate(LogisticRegression(), X, y, n_splits=3, n_repeats=1,
                               record=lambda e: {"c": float(e.coef_[0, 0])})
    assert par.records == seq.records  # fold order kept when folds run in parallel
    with pytest.raises(ParameterError, match=r"`record` of repeated_cv_evaluate"):
        repeated_cv_evaluate(LogisticRegression(), X, y, record="coef_")


def test_fold_count_and_columns(data):
    X, y = data
    cv = repeated_cv_evaluate(LogisticRegression(), X, y, n_splits=4, n_repeats=3)
    assert len(cv.folds) == 12
    assert list(cv.folds[["repeat", "fold"]].drop_duplicates().itertuples(index=False)) == [
        (r, f) for r in range(3) for f in range(4)]
    assert set(cv.summary.index) >= {"accuracy", "roc_auc", "f1_bad", "f1_good", "ks",
                                     "gini", "brier"}
    assert (cv.folds["n_train"] + cv.folds["n_test"] == len(y)).all()
    assert cv.oof_proba.shape == (3, len(y))


def test_same_random_state_same_numbers_and_dataframe_equals_array(data):
    X, y = data
    est = make_pipeline(StandardScaler(), LogisticRegression())
    kw = {"n_splits": 3, "n_repeats": 2}
    a = repeated_cv_evaluate(est, X, y, random_state=11, **kw)
    b = repeated_cv_evaluate(est, pd.DataFrame(X), pd.Series(y), random_state=11, **kw)
    c = repeated_cv_evaluate(est, X, y, random_state=12, **kw)
    pd.testing.assert_frame_equal(a.folds, b.folds)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert not np.allclose(a.folds["roc_auc"], c.folds["roc_auc"])


def test_factory_gives_same_result_as_estimator_and_n_jobs(data):
    X, y = data
    a = repeated_cv_evaluate(LogisticRegression(C=0.5), X, y, n_repeats=2)
    with parallel_config(backend="threading"):  # the n_jobs path without process start-up
        b = repeated_cv_evaluate(lambda: LogisticRegression(C=0.5), X, y, n_repeats=2, n_jobs=2)
    pd.testing.assert_frame_equal(a.folds, b.folds)


def test_summary_interval_is_the_corrected_one(data):
    X, y = data
    cv = repeated_cv_evaluate(LogisticRegression(), X, y, n_splits=5, n_repeats=5)
    scores = cv.folds["roc_auc"].to_numpy()
    j, ratio = len(scores), float((cv.folds["n_test"] / cv.folds["n_train"]).mean())
    half = stats.t.ppf(0.975, j - 1) * np.sqrt((1 / j + ratio) * scores.var(ddof=1))
    row = cv.summary.loc["roc_auc"]
    assert row["mean"] == pytest.approx(scores.mean())
    assert row["low"] < row["mean"] < row["high"]
    assert (row["low"], row["high"]) == pytest.approx((scores.mean() - half, scores.mean() + half))
    naive = stats.t.ppf(0.975, j - 1) * scores.std(ddof=1) / np.sqrt(j)
    assert row["high"] - row["low"] > 2.5 * 2 * naive  # sqrt(0.29 / 0.04) = 2.7 times wider


def test_compare_and_bootstrap(data):
    X, y = data
    good = repeated_cv_evaluate(LogisticRegression(), X, y, n_repeats=2)
    weak = repeated_cv_evaluate(LogisticRegression(), X[:, 2:], y, n_repeats=2)
    r = good.compare(weak, "roc_auc")
    assert r.df == 9 and r.mean_difference > 0 and r.low < r.mean_difference < r.high
    other = repeated_cv_evaluate(LogisticRegression(), X, y, n_repeats=2, random_state=5)
    with pytest.raises(ParameterError, match="same n_splits"):
        good.compare(other)
    unseeded = repeated_cv_evaluate(LogisticRegression(), X, y, n_splits=2, n_repeats=1,
                                    random_state=None)
    with pytest.raises(ParameterError, match="int random_state"):
        unseeded.compare(unseeded)  # folds of two unseeded runs differ
    ci = good.bootstrap("roc_auc", repeat=1, n=200, seed=0)
    assert ci.estimate == pytest.approx(roc_auc_score(y, good.oof_proba[1]))
    assert ci.low < ci.estimate < ci.high
    ks = good.bootstrap("ks", n=50, seed=0)
    assert ks.low <= ks.estimate <= ks.high


# ------------------------------------------------------------------ corrected t-test


def test_identical_scores_give_t_zero_p_one():
    s = [0.78, 0.80, 0.76, 0.79, 0.81]
    r = corrected_resampled_ttest(s, s, n_train=800, n_test=200)
    assert r.t == 0.0 and r.p_value == 1.0 and r.mean_difference == 0.0


def test_hand_computed_example():
    # d = [1, 2, 3, 4]: mean 2.5, var 5/3; factor 1/4 + 20/80 = 0.5; se = sqrt(5/6)
    r = corrected_resampled_ttest([3, 4, 5, 6], [2, 2, 2, 2], n_train=80, n_test=20)
    assert r.t == pytest.approx(2.5 / np.sqrt(5 / 6))
    assert r.p_value == pytest.approx(2 * stats.t.sf(2.5 / np.sqrt(5 / 6), 3))
    half = stats.t.ppf(0.975, 3) * np.sqrt(5 / 6)
    assert (r.low, r.high) == pytest.approx((2.5 - half, 2.5 + half))


@pytest.mark.parametrize("seed", range(5))
def test_correction_only_widens(seed):
    rng = np.random.default_rng(seed)
    a = 0.79 + 0.02 * rng.normal(size=25)
    b = a - 0.005 + 0.01 * rng.normal(size=25)
    r = corrected_resampled_ttest(a, b, n_train=800, n_test=200)
    naive = stats.ttest_rel(a, b)
    assert r.p_value >= naive.pvalue
    assert abs(r.t) <= abs(naive.statistic)


def test_interval_widens_with_variance():
    rng = np.random.default_rng(0)
    d = rng.normal(size=25)
    narrow = corrected_resampled_ttest(0.01 + 0.01 * d, np.zeros(25), 800, 200)
    wide = corrected_resampled_ttest(0.01 + 0.03 * d, np.zeros(25), 800, 200)
    assert narrow.low < narrow.mean_difference < narrow.high
    assert wide.high - wide.low == pytest.approx(3 * (narrow.high - narrow.low))


# --------------------------------------------------------------- leakage and plausibility


def test_paper_auc_flagged_and_inconsistent_with_its_accuracy():
    assert leakage_flag(0.9712) and not leakage_flag(0.793)
    paper = accuracy_auc_consistency(0.764, 0.9712, base_rate=0.3)
    assert not paper.consistent
    assert paper.implied_auc[0] < 0.78 < paper.implied_auc[1] < 0.85
    assert "inconsistent" in paper.sentence() and "70/30" in paper.sentence()
    assert accuracy_auc_consistency(0.764, 0.79, base_rate=0.3).consistent


def test_best_accuracy_matches_simulated_binormal_scores():
    rng = np.random.default_rng(0)
    n, auc = 200_000, 0.79
    y = rng.random(n) < 0.3
    s = rng.normal(size=n) + y * np.sqrt(2) * stats.norm.ppf(auc)  # equal-variance binormal
    thresholds = np.quantile(s, np.linspace(0.3, 0.99, 300))
    best = max(np.mean((s >= t) == y) for t in thresholds)
    check = accuracy_auc_consistency(0.76, auc, base_rate=0.3, sd_ratios=(1.0,))
    assert check.best_accuracy[0] == pytest.approx(best, abs=0.005)


# ---------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda X, y: ks_statistic(np.zeros(10), np.arange(10.0)), SchemaError, "both good"),
        (lambda X, y: gini([0, 1, 2], [0.1, 0.2, 0.3]), SchemaError, "must hold 1 \\(bad\\)"),
        (lambda X, y: credit_scores([0, 1, 1], [0.1, 0.2]), ParameterError, "3 rows"),
        (lambda X, y: credit_scores([0, 1], [0.1, 1.2]), ParameterError, "in \\[0, 1\\]"),
        (lambda X, y: repeated_cv_evaluate(LogisticRegression(), X, y, n_repeats=0),
         ParameterError, "n_repeats.*int >= 1"),
        (lambda X, y: repeated_cv_evaluate(LogisticRegression(), X[:-1], y),
         ParameterError, "same rows"),
        (lambda X, y: repeated_cv_evaluate(LogisticRegression(), X, np.ones_like(y)),
         SchemaError, "both good"),
        (lambda X, y: repeated_cv_evaluate(StandardScaler(), X, y, n_repeats=1),
         ParameterError, "no predict_proba"),
        (lambda X, y: corrected_resampled_ttest([1, 2], [1, 2, 3], 80, 20),
         ParameterError, "same rows"),
        (lambda X, y: corrected_resampled_ttest([1.0], [2.0], 80, 20), ParameterError, ">= 2"),
    ],
)
def test_bad_inputs_give_one_line_errors(data, call, error, match):
    X, y = data
    with pytest.raises(error, match=match) as info:
        call(X, y)
    assert "\n" not in str(info.value)
