"""IVFilter, WoeCorrelationFilter, XGBStepwiseSelector: rules, paper sanity, no fold leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from riskscope.datasets import load_german_credit
from riskscope.exceptions import NotFittedError, ParameterError, SchemaError
from riskscope.scorecard import WoeBinner
from riskscope.scorecard.selection import IVFilter, WoeCorrelationFilter, XGBStepwiseSelector

pytest.importorskip("optbinning")
pytest.importorskip("xgboost")

FAST = {"n_estimators": 15, "max_depth": 2}  # small boosters keep the suite quick
PAPER_WEAK = {"job", "telephone", "residence_since", "people_liable"}  # R17, R19, R11, R18


def _synthetic(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Columns of graded strength: strong > medium > weak, and a coin with no signal."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    X = pd.DataFrame({"strong": z[:, 0], "medium": z[:, 1], "weak": z[:, 2],
                      "coin": rng.choice(["h", "t"], n)})
    y = (1.5 * z[:, 0] + 0.6 * z[:, 1] + 0.15 * z[:, 2] + rng.normal(size=n) > 1)
    return X, y.astype(np.int64)


@pytest.fixture(scope="module")
def german() -> tuple[pd.DataFrame, pd.Series]:
    df = load_german_credit()
    return df.drop(columns="class"), df["class"]


@pytest.fixture(scope="module")
def german_iv(german) -> IVFilter:
    X, y = german
    return IVFilter(binner=WoeBinner(event="bad")).fit(X, y)


# --- IVFilter ----------------------------------------------------------------------------
@pytest.mark.parametrize("threshold", [0.0, 0.02, 0.1, 0.5, 100.0])
def test_iv_filter_keeps_exactly_iv_at_or_above_threshold(threshold) -> None:
    X, y = _synthetic()
    iv = WoeBinner().fit(X, y).iv_  # the reference, computed independently here
    f = IVFilter(threshold=threshold).fit(X, y)
    expected = [c for c in X.columns if iv[c] >= threshold]
    assert f.get_feature_names_out().tolist() == expected
    assert f.dropped_ == [c for c in X.columns if c not in expected]
    assert f.support_.tolist() == [c in expected for c in X.columns]
    pd.testing.assert_series_equal(f.iv_, iv)
    at = IVFilter(threshold=float(iv["medium"])).fit(X, y)  # IV == threshold is kept
    assert "medium" in at.get_feature_names_out()


def test_iv_filter_transform_returns_raw_kept_columns() -> None:
    X, y = _synthetic()
    f = IVFilter(threshold=0.02).fit(X, y)
    out = f.transform(X[X.columns[::-1]])  # column order of the input does not matter
    assert "coin" in f.dropped_ and "strong" not in f.dropped_
    assert out.columns.tolist() == f.get_feature_names_out().tolist()
    pd.testing.assert_frame_equal(out, X[out.columns.tolist()])  # raw values, not WOE
    arr = IVFilter().fit(X[["strong", "weak"]].to_numpy(), y)  # ndarray: columns x0, x1
    assert arr.feature_names_in_.tolist() == ["x0", "x1"]


def test_iv_filter_german_drops_the_papers_weak_four(german, german_iv) -> None:
    X, _ = german
    assert PAPER_WEAK <= set(german_iv.dropped_)
    assert {"checking_status", "duration_months", "credit_history", "credit_amount",
            "savings"} <= set(german_iv.get_feature_names_out())
    # Ours drops 3 more than the paper (16 kept there, 13 here): with WoeBinner's default
    # min_bin_size=0.05 foreign_worker ("no" is 3.7% of rows) stays one bin, IV 0 (paper
    # 0.0448); other_debtors 0.016 and existing_credits 0.010 fall under 0.02 (paper
    # 0.0322 and 0.0227). Binning choices, not a filter fault: the rule is exact above.
    assert german_iv.iv_["foreign_worker"] == 0.0
    assert len(german_iv.get_feature_names_out()) + len(german_iv.dropped_) == X.shape[1]


def test_prefit_binner_is_used_as_is_on_a_column_subset(german, german_iv) -> None:
    X, y = german
    cols = ["checking_status", "job", "telephone"]
    f = IVFilter(binner=german_iv.binner_, prefit=True).fit(X[cols], y)
    assert f.binner_ is german_iv.binner_  # not cloned, not refitted
    assert f.get_feature_names_out().tolist() == ["checking_status"]
    assert f.iv_.index.tolist() == cols
    with pytest.raises(SchemaError, match=r"X has 1 column\(s\) the prefit binner was not"):
        IVFilter(binner=german_iv.binner_, prefit=True).fit(X[cols].assign(new=1), y)


# --- WoeCorrelationFilter --------------------------------------------------------------
def test_correlation_filter_drops_lower_iv_member_of_a_near_copy() -> None:
    X, y = _synthetic()
    rng = np.random.default_rng(1)
    # the near-copy comes first, so "later column" cannot be why it is dropped
    X.insert(0, "copy", X["strong"] + rng.normal(scale=0.3, size=len(X)))
    f = WoeCorrelationFilter().fit(X, y)
    assert f.iv_["copy"] < f.iv_["strong"]  # the noise costs information
    assert f.dropped_ == ["copy"]
    assert f.get_feature_names_out().tolist() == ["strong", "medium", "weak", "coin"]
    (row,) = f.pairs_.itertuples(index=False)
    assert (row.a, row.b, row.dropped) == ("strong", "copy", True) and row.r > 0.7


def test_correlation_filter_equal_iv_drops_the_later_column() -> None:
    X, y = _synthetic()
    X["twin"] = X["medium"]
    f = WoeCorrelationFilter().fit(X, y)
    assert f.dropped_ == ["twin"] and f.pairs_["r"].tolist() == pytest.approx([1.0])


def test_correlation_filter_invariants_on_correlated_groups() -> None:
    rng = np.random.default_rng(2)
    u = rng.normal(size=(500, 3))
    cols = {f"g{g}_{k}": u[:, g] + rng.normal(scale=0.2 + 0.3 * k, size=500)
            for g in range(3) for k in range(3)}
    X = pd.DataFrame(cols)
    y = (u @ [1.0, 0.6, 0.3] + rng.normal(size=500) > 0.5).astype(int)
    f = WoeCorrelationFilter(threshold=0.6).fit(X, y)
    r = f.binner_.transform(X).corr().abs().fillna(0)
    kept = f.get_feature_names_out().tolist()
    assert f.dropped_, "the groups are built to trip the filter"
    assert all(r.loc[a, b] <= 0.6 for a in kept for b in kept if a != b)
    for col in f.dropped_:  # each dropped column has a kept partner with >= IV above 0.6
        assert any(r.loc[col, k] > 0.6 and f.iv_[k] >= f.iv_[col] for k in kept)
    assert set(f.pairs_.query("dropped")["b"]) == set(f.dropped_)


def test_correlation_filter_german_drops_nothing_at_default(german, german_iv) -> None:
    X, y = german
    f = WoeCorrelationFilter(binner=german_iv.binner_, prefit=True).fit(X, y)
    woe_r = german_iv.binner_.transform(X).corr().abs().to_numpy(copy=True)
    np.fill_diagonal(woe_r, 0)
    assert np.nanmax(woe_r) < 0.4  # the paper's 0.01-0.4, reproduced
    assert f.dropped_ == [] and f.pairs_.empty
    strict = WoeCorrelationFilter(threshold=0.3, binner=german_iv.binner_, prefit=True)
    # below 0.4 three pairs appear; the lower-IV member of each goes
    assert set(strict.fit(X, y).dropped_) == {"housing", "existing_credits", "telephone"}


# --- XGBStepwiseSelector ---------------------------------------------------------------
def test_stepwise_scores_every_count_and_keeps_the_best() -> None:
    X, y = _synthetic()
    sel = XGBStepwiseSelector(min_features=1, cv=3, xgb_params=FAST).fit(X, y)
    assert sel.scores_["n_features"].tolist() == [4, 3, 2, 1]
    assert 1 <= sel.n_features_ <= 4
    best = sel.scores_["mean"].max()
    winners = sel.scores_.loc[sel.scores_["mean"] >= best - 1e-12, "n_features"]
    assert sel.n_features_ == winners.min()
    assert sel.ranking_.index[0] == "strong" and "strong" in sel.selected_
    assert sel.selected_ == sel.ranking_.index[:sel.n_features_].tolist()
    assert sel.transform(X).columns.tolist() == [c for c in X.columns if c in sel.selected_]
    assert sel.ranking_.is_monotonic_decreasing and (sel.ranking_ >= 0).all()


def test_stepwise_grid_ends_at_min_features_and_ties_pick_fewer() -> None:
    X, y = _synthetic()
    # a constant scorer makes every count tie: the fewest columns must win
    sel = XGBStepwiseSelector(min_features=2, step=3, cv=3, xgb_params=FAST,
                              estimator=DummyClassifier()).fit(X, y)
    assert sel.scores_["n_features"].tolist() == [4, 2]
    assert sel.n_features_ == 2


def test_stepwise_same_seed_same_selection() -> None:
    X, y = _synthetic()
    params = {"cv": 3, "xgb_params": {**FAST, "subsample": 0.7}}
    a = XGBStepwiseSelector(random_state=5, **params).fit(X, y)
    b = XGBStepwiseSelector(random_state=5, **params).fit(X, y)
    assert a.selected_ == b.selected_
    pd.testing.assert_series_equal(a.ranking_, b.ranking_)
    pd.testing.assert_frame_equal(a.scores_, b.scores_)


def test_stepwise_on_german_with_labelled_target(german, german_iv) -> None:
    X, y = german
    Xk = german_iv.transform(X)
    sel = XGBStepwiseSelector(cv=3, step=4, xgb_params=FAST, binner=WoeBinner(event="bad"))
    sel.fit(Xk, y)
    assert sel.ranking_.index[0] == "checking_status"  # the paper's R1, IV 0.666
    assert sel.scores_["mean"].max() > 0.7  # above the 0.70 of always predicting good


# --- leakage ---------------------------------------------------------------------------
def _leaky(n: int = 600) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``leak`` equals the label in the test rows only; noise in the training rows."""
    X, y = _synthetic(n, seed=3)
    test = np.arange(n) >= n // 2
    rng = np.random.default_rng(4)
    X["leak"] = np.where(test, y, rng.integers(0, 2, n)).astype(float)
    return X, y, test


def test_selectors_never_see_test_rows(monkeypatch) -> None:
    X, y, test = _leaky()
    seen: list[np.ndarray] = []
    real_fit = WoeBinner.fit

    def spy(self, X, y):
        seen.append(X.index.to_numpy())
        return real_fit(self, X, y)

    monkeypatch.setattr(WoeBinner, "fit", spy)
    train = X.index[~test]
    iv = IVFilter().fit(X[~test], y[~test])
    corr = WoeCorrelationFilter().fit(X[~test], y[~test])
    sel = XGBStepwiseSelector(cv=3, xgb_params=FAST).fit(X[~test], y[~test])
    assert len(seen) == 3 and all(np.isin(s, train).all() for s in seen)
    assert "leak" in iv.dropped_  # on training rows it is a coin
    assert "leak" in corr.get_feature_names_out()  # uncorrelated: kept, but
    assert sel.ranking_.index[0] != "leak" and sel.ranking_.index[-1] in {"leak", "coin"}
    full = IVFilter().fit(X, y)  # the trap works: fitted on all rows, the leak is kept
    assert full.iv_["leak"] > 0.5 and "leak" not in full.dropped_


def test_nested_cv_fits_every_binner_on_an_outer_training_fold(monkeypatch) -> None:
    X, y = _synthetic(300, seed=6)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    trains = [frozenset(tr) for tr, _ in folds.split(X, y)]
    seen: list[frozenset] = []
    real_fit = WoeBinner.fit

    def spy(self, X, y):
        seen.append(frozenset(X.index))
        return real_fit(self, X, y)

    monkeypatch.setattr(WoeBinner, "fit", spy)
    model = make_pipeline(WoeCorrelationFilter(), IVFilter(),
                          XGBStepwiseSelector(cv=3, xgb_params=FAST), WoeBinner(),
                          LogisticRegression())
    scores = cross_val_score(model, X, y, cv=folds)
    assert len(seen) == 4 * 3 and set(seen) == set(trains)  # 4 binners per outer fold
    assert (scores > 0.7).all()


# --- contract and bad inputs -----------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: IVFilter(threshold=0.05),
    lambda: WoeCorrelationFilter(threshold=0.8, method="spearman"),
    lambda: XGBStepwiseSelector(cv=3, step=2, xgb_params=FAST),
], ids=["iv", "corr", "xgb"])
def test_sklearn_contract(make) -> None:
    X, y = _synthetic()
    est = make()
    with pytest.raises(NotFittedError, match="is not fitted; call fit"):
        est.transform(X)
    with pytest.raises(NotFittedError, match="is not fitted"):
        est.get_feature_names_out()
    params = est.get_params()
    assert est.fit(X, y) is est and est.get_params() == params
    assert est.n_features_in_ == 4 and est.support_.dtype == bool
    twin = clone(est)
    assert twin.get_params() == params and not hasattr(twin, "support_")
    assert est.get_support(indices=True).tolist() == np.flatnonzero(est.support_).tolist()
    with pytest.raises(SchemaError, match="X lacks 1 column"):
        est.transform(X.drop(columns="strong"))


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: IVFilter(threshold=-0.1), ParameterError,
     r"^`threshold` of IVFilter must be a finite number >= 0; got -0.1\.$"),
    (lambda: IVFilter(threshold=float("nan")), ParameterError, "`threshold` of IVFilter"),
    (lambda: WoeCorrelationFilter(threshold=1.5), ParameterError,
     r"`threshold` of WoeCorrelationFilter must be a number in \(0, 1\]; got 1.5"),
    (lambda: WoeCorrelationFilter(method="cosine"), ParameterError, "`method`"),
    (lambda: WoeCorrelationFilter(on="raw"), SchemaError, "on='raw' needs numeric .*'coin'"),
    (lambda: XGBStepwiseSelector(min_features=5), ParameterError,
     r"`min_features` of XGBStepwiseSelector must be <= the number of features \(4\); got 5"),
    (lambda: XGBStepwiseSelector(step=0), ParameterError, "`step` .* an int >= 1; got 0"),
    (lambda: XGBStepwiseSelector(scoring="nonsense"), ParameterError, "`scoring`"),
    (lambda: XGBStepwiseSelector(cv=1000), SchemaError, "fewer than cv=1000 folds"),
    (lambda: XGBStepwiseSelector(encode="none"), SchemaError, "encode='none' needs numeric"),
    (lambda: IVFilter(binner=WoeBinner(), prefit=True), ParameterError,
     "needs a fitted WoeBinner"),
    (lambda: IVFilter(binner="woe"), ParameterError, "`binner` of IVFilter must be None or"),
])
def test_bad_parameters_give_one_line(make, error, match) -> None:
    X, y = _synthetic(200)
    with pytest.raises(error, match=match) as info:
        make().fit(X, y)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("make", [IVFilter, WoeCorrelationFilter, XGBStepwiseSelector])
def test_bad_targets_give_one_line(make) -> None:
    X, _ = _synthetic(50)
    with pytest.raises(SchemaError, match="one class only") as info:
        make().fit(X, np.zeros(50, dtype=int))
    assert "\n" not in str(info.value)
    with pytest.raises(SchemaError, match="not 0/1; pass event="):
        make().fit(X, np.where(np.arange(50) % 2, "bad", "good"))
