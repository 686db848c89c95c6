"""Scorecard: points sum to the score, PDO/base-odds scaling, JSON round trip, AUC floor."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import check_estimator

from riskscope.datasets import load_german_credit
from riskscope.exceptions import NotFittedError, ParameterError, SchemaError
from riskscope.scorecard import WoeBinner
from riskscope.scorecard.points import Scorecard, score_from_odds

pytest.importorskip("optbinning")

NUMERIC = ["duration_months", "credit_amount", "age_years"]


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    df = load_german_credit()
    y = df.pop("class")
    return train_test_split(df, y, test_size=0.3, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def card(split) -> Scorecard:
    X_train, _, y_train, _ = split
    return Scorecard(event="bad").fit(X_train, y_train)


def _p_bad(card: Scorecard, X: pd.DataFrame) -> np.ndarray:
    return card.predict_proba(X)[:, list(card.classes_).index(card.event_)]


def _unusual_rows(X: pd.DataFrame) -> pd.DataFrame:
    """Held-out rows plus a blank number and a category never seen in training."""
    odd = X.head(2).copy()
    odd.loc[odd.index[0], "credit_amount"] = np.nan
    odd["purpose"] = odd["purpose"].astype(object)
    odd.loc[odd.index[1], "purpose"] = "spaceship"
    return pd.concat([X.astype(object), odd], ignore_index=True)


# --- points -----------------------------------------------------------------------------
def test_points_sum_to_score(card: Scorecard, split) -> None:
    X = _unusual_rows(split[1])
    points = card.points(X)
    assert points.columns.tolist() == card.feature_names_in_.tolist()
    # the row sum alone, with no intercept or offset added, is the score
    np.testing.assert_allclose(points.sum(axis=1), card.credit_score(X), rtol=0, atol=1e-9)


def test_points_equal_the_points_table(card: Scorecard, split) -> None:
    X = _unusual_rows(split[1])
    points = card.points(X)
    table = card.points_table_.set_index(["feature", "bin"])["points"]
    assert card.points_table_.columns.tolist() == ["feature", "bin", "woe", "points"]
    for name in card.feature_names_in_:
        labels = card.binner_.tables_[name].transform(X[name], metric="bin")
        looked_up = table.loc[[(name, lab) for lab in labels]].to_numpy()
        np.testing.assert_allclose(points[name], looked_up, rtol=0, atol=1e-12)
    assert ("purpose", "Unknown") in table.index


def test_points_follow_the_derivation(card: Scorecard) -> None:
    """points_ij = -factor * beta_j * woe_ij + (offset - factor * b0) / n."""
    t = card.points_table_
    beta = dict(zip(card.feature_names_in_, card.coef_, strict=True))
    share = (card.offset_ - card.factor_ * card.intercept_) / card.n_features_in_
    expected = -card.factor_ * t["feature"].map(beta) * t["woe"] + share
    np.testing.assert_allclose(t["points"], expected, rtol=0, atol=1e-12)
    # WOE > 0 is safer and the model is of P(bad), so safer bins must earn more points
    checking = t[t["feature"] == "checking_status"]
    assert beta["checking_status"] < 0
    assert checking.sort_values("woe")["points"].is_monotonic_increasing


# --- scaling ----------------------------------------------------------------------------
def test_score_decreases_with_probability_of_bad(card: Scorecard, split) -> None:
    X = split[1]
    rho = spearmanr(card.credit_score(X), _p_bad(card, X)).statistic
    assert rho == pytest.approx(-1.0, abs=1e-12)


def test_score_is_scaled_good_bad_log_odds(card: Scorecard, split) -> None:
    X = split[1]
    p = _p_bad(card, X)
    odds = (1 - p) / p
    np.testing.assert_allclose(card.credit_score(X), score_from_odds(odds), atol=1e-8)
    # between any two applicants: pdo points per doubling of the odds
    s = card.credit_score(X)
    np.testing.assert_allclose(s[1:] - s[0], 20 * np.log2(odds[1:] / odds[0]), atol=1e-8)


def test_doubling_the_odds_adds_pdo_and_base_odds_give_base_score() -> None:
    kw = {"pdo": 40, "base_score": 500, "base_odds": 20}
    odds = np.array([20, 40, 10, 80, 3.7])
    s = score_from_odds(odds, **kw)
    assert s[0] == pytest.approx(500, abs=1e-9)
    assert s[1] - s[0] == pytest.approx(40, abs=1e-9)
    assert s[0] - s[2] == pytest.approx(40, abs=1e-9)
    assert s[3] - s[0] == pytest.approx(80, abs=1e-9)
    factor = 40 / math.log(2)
    assert s[4] == pytest.approx(500 - factor * math.log(20) + factor * math.log(3.7))


def test_rescaling_changes_points_not_the_model(card: Scorecard, split) -> None:
    X = split[1]
    data = _json(card.to_dict())
    data["params"].update(pdo=40, base_score=700, base_odds=10)
    other = Scorecard.from_dict(data)
    np.testing.assert_array_equal(other.predict_proba(X), card.predict_proba(X))
    base = score_from_odds(10, pdo=20, base_score=600, base_odds=50)  # odds 10 on card
    np.testing.assert_allclose(other.credit_score(X) - 700,
                               2 * (card.credit_score(X) - base), atol=1e-8)
    np.testing.assert_allclose(other.points(X).sum(axis=1), other.credit_score(X), atol=1e-9)


# --- model ------------------------------------------------------------------------------
def test_auc_sanity_floor_on_held_out_german(card: Scorecard, split) -> None:
    # a floor that catches a sign or encoding error, not a benchmark (repeated CV is ~0.78)
    X_test, y_test = split[1], split[3]
    assert roc_auc_score(y_test == "bad", _p_bad(card, X_test)) > 0.70


def test_predict_uses_threshold(card: Scorecard, split) -> None:
    X = split[1]
    p = _p_bad(card, X)
    np.testing.assert_array_equal(card.predict(X) == "bad", p >= 0.5)
    strict = Scorecard.from_dict({**card.to_dict(), "params": {
        **card.to_dict()["params"], "threshold": 0.2}})
    assert (strict.predict(X) == "bad").sum() == (p >= 0.2).sum() > (p >= 0.5).sum()


def test_codes_and_labels_give_the_same_card(split) -> None:
    X, y = split[0][NUMERIC], split[2]
    by_label = Scorecard(event="bad").fit(X, y)
    by_code = Scorecard().fit(X, (y == "bad").astype(int))
    by_binner = Scorecard(binner=WoeBinner(event="bad")).fit(X, y)
    np.testing.assert_array_equal(by_label.coef_, by_code.coef_)
    np.testing.assert_array_equal(by_label.coef_, by_binner.coef_)
    np.testing.assert_array_equal(by_code.classes_, [0, 1])
    assert by_code.predict_proba(X)[:, 1] == pytest.approx(_p_bad(by_label, X))


# --- JSON -------------------------------------------------------------------------------
def _json(data: dict) -> dict:
    return orjson.loads(orjson.dumps(data))


def test_json_round_trip_is_identical(card: Scorecard, split) -> None:
    X = _unusual_rows(split[1])
    back = Scorecard.from_dict(_json(card.to_dict()))
    assert back.to_dict() == card.to_dict()
    pd.testing.assert_frame_equal(back.points_table_, card.points_table_, check_exact=True)
    pd.testing.assert_frame_equal(back.points(X), card.points(X), check_exact=True)
    np.testing.assert_array_equal(back.credit_score(X), card.credit_score(X))
    np.testing.assert_array_equal(back.predict(X), card.predict(X))
    assert back.get_params()["event"] == "bad"


def test_malformed_json_is_one_line_schema_error(card: Scorecard) -> None:
    data = _json(card.to_dict())
    data["coef"] = data["coef"][:-1]
    with pytest.raises(SchemaError, match=r"Scorecard JSON is incomplete") as exc:
        Scorecard.from_dict(data)
    assert "\n" not in str(exc.value)
    with pytest.raises(SchemaError, match=r"Scorecard JSON"):
        Scorecard.from_dict({"kind": "WoeBinner"})


# --- bad input --------------------------------------------------------------------------
@pytest.mark.parametrize(("param", "value", "rule"), [
    ("pdo", 0, "> 0"), ("pdo", -20, "> 0"), ("pdo", float("nan"), "finite"),
    ("base_odds", 0, "> 0"), ("base_odds", -1.5, "> 0"), ("base_score", "600", "finite"),
    ("C", 0.0, "> 0"), ("threshold", 1.0, r"\(0, 1\)"), ("binner", "tree", "WoeBinner"),
])
def test_bad_parameters_are_one_line_errors(split, param, value, rule) -> None:
    with pytest.raises(ParameterError, match=rf"`{param}` of Scorecard must be .*{rule}") \
            as exc:
        Scorecard(**{param: value}).fit(split[0], split[2])
    assert "\n" not in str(exc.value)


def test_score_from_odds_rejects_bad_scaling() -> None:
    with pytest.raises(ParameterError, match=r"`base_odds` of score_from_odds"):
        score_from_odds(2.0, base_odds=0)


def test_bad_targets_are_one_line_errors(split) -> None:
    X, y = split[0][NUMERIC], split[2]
    with pytest.raises(SchemaError, match=r"not 0/1; pass event=") as exc:
        Scorecard().fit(X, y)
    assert "\n" not in str(exc.value)
    with pytest.raises(SchemaError, match=r"one class only"):
        Scorecard(event="bad").fit(X, np.full(len(X), "bad"))


def test_not_fitted(split) -> None:
    with pytest.raises(NotFittedError, match=r"Scorecard is not fitted"):
        Scorecard().points(split[1])


# --- scikit-learn contract --------------------------------------------------------------
_BINARY = "WOE is defined for a binary target; sklearn feeds 3-4 classes or labels not 0/1"
_EXPECTED_FAILURES = {
    **dict.fromkeys(
        ["check_fit_score_takes_y", "check_estimators_overwrite_params",
         "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
         "check_readonly_memmap_input", "check_n_features_in_after_fitting",
         "check_positive_only_tag_during_fit", "check_estimators_dtypes",
         "check_complex_data", "check_dtype_object", "check_f_contiguous_array_estimator",
         "check_classifier_data_not_an_array", "check_classifiers_classes",
         "check_classifiers_train", "check_classifiers_regression_target",
         "check_supervised_y_2d", "check_methods_sample_order_invariance",
         "check_methods_subset_invariance", "check_fit2d_1feature", "check_dict_unchanged",
         "check_fit2d_predict1d"],
        _BINARY),
    "check_estimators_nan_inf": "NaN is data here: it goes to the Missing bin",
    "check_estimators_unfitted": "riskscope's NotFittedError is not sklearn's subclass",
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_sklearn_estimator_checks() -> None:
    # one test, not parametrize_with_checks: pytest spends ~10 s formatting xfail tracebacks
    results = check_estimator(Scorecard(), expected_failed_checks=_EXPECTED_FAILURES,
                              on_fail=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results
              if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 25


def test_width_of_an_array_is_checked(split) -> None:
    card = Scorecard().fit(split[0][NUMERIC].to_numpy(float), split[2] == "bad")
    with pytest.raises(SchemaError, match=r"X has 4 features but Scorecard was fitted on 3"):
        card.predict(np.zeros((2, 4)))
    with pytest.raises(SchemaError, match=r"requires y to be passed"):
        Scorecard().fit(split[0], None)
