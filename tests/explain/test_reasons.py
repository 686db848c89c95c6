"""Reason codes: Regulation B methods, points below max, SHAP, and what must never happen.

What must hold: for an additive model the SHAP values with the matching background equal
the Regulation B method exactly (1e-9); at most ``max_reasons`` reasons, only for denied
applicants, never a protected attribute; one-hot parts sum to their source feature;
points below max ranks equal a brute-force recomputation from the scorecard's points.
"""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from riskscope.datasets import load_german_credit
from riskscope.datasets._german_codes import NUMERIC
from riskscope.exceptions import NotFittedError, ParameterError, SchemaError
from riskscope.explain.reasons import (
    GERMAN_PROTECTED,
    REASON_TEXTS,
    ReasonCoder,
    ReasonCodes,
    readable_value,
    source_features,
)
from riskscope.models.credit import one_hot
from riskscope.scorecard import Scorecard

pytest.importorskip("optbinning")

METHODS_CARD = ["reg_b_mean", "reg_b_cutoff", "points_below_max"]


@pytest.fixture(scope="module")
def german() -> tuple[pd.DataFrame, np.ndarray]:
    df = load_german_credit()
    return df.drop(columns="class"), (df["class"] == "bad").astype(int).to_numpy()


@pytest.fixture(scope="module")
def card(german) -> Scorecard:
    X, y = german
    return Scorecard(threshold=0.4).fit(X, y)


@pytest.fixture(scope="module")
def lr_onehot(german) -> Pipeline:
    X, y = german
    num = [c for c in X if c in NUMERIC]
    cat = [c for c in X if c not in NUMERIC]
    prep = one_hot(num, cat, scale=True, impute=False)
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=2000))]).fit(X, y)


def _band(p_bad: np.ndarray, threshold: float, k: int) -> np.ndarray:
    """The k approved applicants with the highest P(bad), recomputed the plain way."""
    approved = [i for i in range(p_bad.size) if p_bad[i] < threshold]
    return np.array(sorted(sorted(approved, key=lambda i: (-p_bad[i], i))[:k]))


# --- equivalence: SHAP with the matching background == Regulation B ------------------------------
@pytest.mark.parametrize(("reg_b", "background"), [("reg_b_mean", "all"),
                                                    ("reg_b_cutoff", "cutoff")])
def test_shap_equals_reg_b_on_the_woe_scorecard(german, card, reg_b, background) -> None:
    pytest.importorskip("shap")
    X, _ = german
    ours = ReasonCoder(model=card, method=reg_b).fit(X)
    via_shap = ReasonCoder(model=card, method="shap", background=background).fit(X)
    np.testing.assert_allclose(via_shap.contributions(X), ours.contributions(X),
                               rtol=0, atol=1e-9)
    a, b = ours.explain(X), via_shap.explain(X)
    assert [[r.feature for r in rs] for rs in a.reasons] == \
        [[r.feature for r in rs] for rs in b.reasons]


@pytest.mark.parametrize("method", ["reg_b_mean", "reg_b_cutoff"])
def test_reg_b_equals_shap_linear_explainer_on_a_logistic_woe_model(german, card,
                                                                    method) -> None:
    """A plain LogisticRegression on WOE columns, explained by shap itself in the test."""
    shap = pytest.importorskip("shap")
    X, y = german
    woe = card.binner_.transform(X)
    lr = LogisticRegression(C=0.5, max_iter=2000).fit(woe, y)
    coder = ReasonCoder(model=lr, method=method, band=40).fit(woe)
    p = lr.predict_proba(woe)[:, 1]
    ref = woe.to_numpy() if method == "reg_b_mean" else woe.to_numpy()[_band(p, 0.5, 40)]
    assert len(ref) == (1000 if method == "reg_b_mean" else 40)
    explainer = shap.LinearExplainer(lr, shap.maskers.Independent(ref, max_samples=len(ref)))
    expected = explainer.shap_values(woe.to_numpy())
    np.testing.assert_allclose(coder.contributions(woe).to_numpy(), expected, rtol=0,
                               atol=1e-9)
    # additive: the contributions add up to the log-odds minus the reference's mean log-odds
    logit = lr.decision_function(woe)
    ref_logit = lr.decision_function(pd.DataFrame(ref, columns=woe.columns)).mean()
    np.testing.assert_allclose(coder.contributions(woe).sum(axis=1), logit - ref_logit,
                               rtol=0, atol=1e-9)


def test_cutoff_band_is_the_approved_applicants_nearest_the_cutoff(german, card) -> None:
    X, _ = german
    coder = ReasonCoder(model=card, method="reg_b_cutoff", band=30).fit(X)
    p = card.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(coder.reference_index_, _band(p, 0.4, 30))
    assert (p[coder.reference_index_] < 0.4).all()
    woe = card.binner_.transform(X).to_numpy()
    expected = card.coef_ * (woe - woe[coder.reference_index_].mean(axis=0))
    np.testing.assert_allclose(coder.contributions(X), expected, rtol=0, atol=1e-12)


# --- properties over German credit ---------------------------------------------------------------
@pytest.mark.parametrize("method", [*METHODS_CARD, "shap"])
@pytest.mark.parametrize("max_reasons", [1, 4])
def test_at_most_max_reasons_only_for_denied_never_protected(german, card, method,
                                                             max_reasons) -> None:
    if method == "shap":
        pytest.importorskip("shap")
    X, _ = german
    rc = ReasonCoder(model=card, method=method, max_reasons=max_reasons).fit(X).explain(X)
    p = card.predict_proba(X)[:, 1]
    assert list(rc.decisions) == ["deny" if v >= 0.4 else "approve" for v in p]
    denied = [i for i in rc.ids if rc.decision(i) == "deny"]
    assert len(denied) > 100
    for i in rc.ids:
        reasons = rc[i]
        if rc.decision(i) == "approve":
            assert reasons == ()
            continue
        assert 1 <= len(reasons) <= max_reasons
        assert not {r.feature for r in reasons} & set(GERMAN_PROTECTED)
        assert [r.rank for r in reasons] == list(range(1, len(reasons) + 1))
        values = [r.contribution for r in reasons]
        assert all(v > 0 for v in values) and values == sorted(values, reverse=True)


def test_protected_rule_is_not_vacuous(german, card) -> None:
    """Without the rule, protected attributes would be reasons for some denied applicants."""
    X, _ = german
    free = ReasonCoder(model=card, protected=[]).fit(X).explain(X).to_frame()
    assert set(free["feature"]) & set(GERMAN_PROTECTED)
    ruled = ReasonCoder(model=card).fit(X).explain(X).to_frame()
    assert not set(ruled["feature"]) & set(GERMAN_PROTECTED)


def test_no_protected_reason_from_a_one_hot_logistic_model(german, lr_onehot) -> None:
    X, _ = german
    for method in ("reg_b_mean", "reg_b_cutoff"):
        frame = ReasonCoder(model=lr_onehot, method=method).fit(X).explain(X).to_frame()
        assert len(frame) and not set(frame["feature"]) & set(GERMAN_PROTECTED)
        assert frame.groupby("applicant").size().max() <= 4


# --- one-hot parts -------------------------------------------------------------------------------
def test_one_hot_parts_sum_to_the_source_feature(german, lr_onehot) -> None:
    X, _ = german
    coder = ReasonCoder(model=lr_onehot, method="reg_b_mean").fit(X)
    got = coder.contributions(X)
    assert list(got.columns) == list(X.columns[X.columns.isin(NUMERIC)]) + \
        [c for c in X.columns if c not in NUMERIC]
    # per encoded column, mapped back by the encoder's own categories (not by name parsing)
    prep, beta = lr_onehot[:-1], lr_onehot[-1].coef_[0]
    z = prep.transform(X)
    part = beta * (z - z.mean(axis=0))
    enc = lr_onehot.named_steps["prep"].named_transformers_["cat"][-1]
    num = [c for c in X if c in NUMERIC]
    owners = num + [col for col, cats in zip(enc.feature_names_in_, enc.categories_,
                                             strict=True) for _ in cats]
    for feature in X.columns:
        cols = [k for k, o in enumerate(owners) if o == feature]
        np.testing.assert_allclose(got[feature], part[:, cols].sum(axis=1), rtol=0,
                                   atol=1e-12)
    # an explicit mapping gives the same, and the parts add up to the log-odds
    fmap = dict(zip(prep.get_feature_names_out(), owners, strict=True))
    np.testing.assert_array_equal(
        ReasonCoder(model=lr_onehot, feature_map=fmap).fit(X).contributions(X), got)
    logit = lr_onehot.decision_function(X)
    np.testing.assert_allclose(got.sum(axis=1), logit - logit.mean(), rtol=0, atol=1e-9)


def test_one_hot_shap_equals_reg_b_cutoff(german, lr_onehot) -> None:
    pytest.importorskip("shap")
    X, _ = german
    a = ReasonCoder(model=lr_onehot, method="reg_b_cutoff").fit(X).contributions(X)
    b = ReasonCoder(model=lr_onehot, method="shap", background="cutoff").fit(X)
    np.testing.assert_allclose(b.contributions(X), a, rtol=0, atol=1e-9)


def test_source_features_from_encoder_names() -> None:
    assert source_features(["cat__a_b_x", "cat__a_y", "num__a_b"], ["a", "a_b"]) == \
        ["a_b", "a", "a_b"]
    with pytest.raises(SchemaError, match="matches none of the source columns"):
        source_features(["cat__zzz_1"], ["a"])


# --- points below max ----------------------------------------------------------------------------
def test_points_below_max_equals_brute_force(german, card) -> None:
    X, _ = german
    rc = ReasonCoder(model=card, method="points_below_max").fit(None).explain(X)
    points = card.points(X)
    best = points.max(axis=0)  # every reachable bin is some training applicant's bin
    allowed = [f for f in points.columns if f not in GERMAN_PROTECTED]
    for pos, i in enumerate(X.index):
        if rc.decision(i) == "approve":
            continue
        short = {f: best[f] - points.iloc[pos][f] for f in allowed}
        ranked = sorted((f for f in allowed if short[f] > 1e-9),
                        key=lambda f: (-short[f], list(points.columns).index(f)))[:4]
        assert [r.feature for r in rc[i]] == ranked
        np.testing.assert_allclose([r.contribution for r in rc[i]],
                                   [short[f] for f in ranked], rtol=0, atol=1e-9)
    assert rc.unit == "points"


def test_points_below_max_needs_a_scorecard(german, lr_onehot) -> None:
    with pytest.raises(ParameterError, match="points_below_max.*needs a Scorecard"):
        ReasonCoder(model=lr_onehot, method="points_below_max").fit(german[0])


# --- tree models ---------------------------------------------------------------------------------
def test_tree_shap_sums_to_margin_and_keeps_rules(german) -> None:
    pytest.importorskip("shap")
    xgboost = pytest.importorskip("xgboost")
    X, y = german
    X, y = X.iloc[:300], y[:300]
    num = [c for c in X if c in NUMERIC]
    cat = [c for c in X if c not in NUMERIC]
    model = Pipeline([("prep", one_hot(num, cat, scale=False, impute=False)),
                      ("model", xgboost.XGBClassifier(n_estimators=30, max_depth=3,
                                                      n_jobs=1, random_state=0))]).fit(X, y)
    coder = ReasonCoder(model=model, method="shap").fit(X)
    got = coder.contributions(X)
    margin = model[-1].predict(model[:-1].transform(X), output_margin=True).astype(float)
    # interventional SHAP over the full background: sums to f(x) - mean f(background)
    np.testing.assert_allclose(got.sum(axis=1), margin - margin.mean(), atol=1e-4)
    assert coder.unit_ == "log-odds" and list(got.columns) == num + cat
    frame = coder.explain(X).to_frame()
    assert len(frame) and not set(frame["feature"]) & set(GERMAN_PROTECTED)
    with pytest.raises(ParameterError, match="needs an additive .* use method='shap'"):
        ReasonCoder(model=model, method="reg_b_mean").fit(X)


# --- results, texts, invariance ------------------------------------------------------------------
def test_result_round_trips_and_is_row_order_invariant(german, card) -> None:
    X, _ = german
    coder = ReasonCoder(model=card, method="reg_b_cutoff").fit(X)
    rc = coder.explain(X)
    back = ReasonCodes.from_dict(orjson.loads(orjson.dumps(rc.to_dict())))
    assert back == rc
    shuffled = coder.explain(X.sample(frac=1.0, random_state=1))
    for i in (1, 3, 10, 999):
        assert shuffled[i] == rc[i]
    frame = rc.to_frame()
    assert list(frame.columns) == ["applicant", "rank", "feature", "contribution", "text",
                                   "value"]
    assert frame["text"].isin(REASON_TEXTS.values()).all()


def test_unknown_applicant_id_is_one_clear_line(german, card) -> None:
    X, _ = german
    rc = ReasonCoder(model=card).fit(X).explain(X.head(5))
    with pytest.raises(SchemaError, match=r"^Applicant id 12345 is not among the 5 ") as e:
        rc[12345]
    assert "\n" not in str(e.value)


def test_texts_override_by_dict_and_json_file(german, card, tmp_path) -> None:
    X, _ = german
    custom = {"duration_months": "Term of the loan is too long"}
    a = ReasonCoder(model=card, texts=custom).fit(X).explain(X)
    path = tmp_path / "texts.json"
    path.write_bytes(orjson.dumps(custom))
    b = ReasonCoder(model=card, texts=path).fit(X).explain(X)
    texts = set(a.to_frame()["text"])
    assert "Term of the loan is too long" in texts
    assert "Duration of the credit is long" not in texts and a == b
    path.write_text("{not json")
    with pytest.raises(SchemaError, match="unreadable or not JSON"):
        ReasonCoder(model=card, texts=path).fit(X)


@pytest.mark.parametrize(("params", "match"), [
    ({"method": "lime"}, "`method` of ReasonCoder must be one of"),
    ({"max_reasons": 0}, "`max_reasons` of ReasonCoder must be an int >= 1; got 0"),
    ({"band": 2.5}, "`band` of ReasonCoder must be an int >= 1"),
    ({"background": "some"}, "`background` of ReasonCoder must be 'all' or 'cutoff'"),
    ({"threshold": 1.5}, "`threshold` of ReasonCoder must be None or a probability"),
])
def test_parameter_errors(german, card, params, match) -> None:
    with pytest.raises(ParameterError, match=match):
        ReasonCoder(model=card, **params).fit(german[0])


def test_boundary_errors(german, card) -> None:
    X, y = german
    with pytest.raises(NotFittedError, match="not fitted"):
        ReasonCoder(model=card).explain(X)
    with pytest.raises(NotFittedError, match="Scorecard given to ReasonCoder is not fitted"):
        ReasonCoder(model=Scorecard()).fit(X)
    with pytest.raises(SchemaError, match="lack 1 model column"):
        ReasonCoder(model=card).fit(X.drop(columns="savings"))
    with pytest.raises(SchemaError, match="needs the applicant population"):
        ReasonCoder(model=card, method="reg_b_mean").fit(None)
    with pytest.raises(SchemaError, match="No applicant of fit's X is approved"):
        ReasonCoder(model=card, method="reg_b_cutoff", threshold=1e-9).fit(X)


def test_readable_values() -> None:
    assert readable_value("purpose", "A40") == "car (new)"
    assert readable_value("purpose", "car (new)") == "car (new)"
    assert readable_value("credit_amount", np.int64(1169)) == 1169
    assert readable_value("credit_amount", np.float64(2.5)) == 2.5
    assert readable_value("savings", None) is None


@pytest.mark.parametrize("method", METHODS_CARD)
def test_saved_reference_explains_like_the_fitted_coder(german, card, method) -> None:
    """A coder read back from JSON explains later applicants without the population."""
    X, _ = german
    coder = ReasonCoder(model=card, method=method, band=25, max_reasons=3).fit(X)
    raw = orjson.dumps(coder.to_dict())
    back = ReasonCoder.from_dict(card, orjson.loads(raw))
    np.testing.assert_array_equal(back.contributions(X), coder.contributions(X))
    assert back.explain(X) == coder.explain(X)
    assert back.n_reference_ == coder.n_reference_ == (25 if method == "reg_b_cutoff"
                                                       else 1000 if method == "reg_b_mean"
                                                       else 0)
    assert orjson.dumps(back.to_dict()) == raw


def test_saved_reference_errors(german, card, lr_onehot) -> None:
    X, _ = german
    saved = ReasonCoder(model=card, method="reg_b_cutoff").fit(X).to_dict()
    with pytest.raises(SchemaError, match="saved for other model columns"):
        ReasonCoder.from_dict(lr_onehot, saved)
    with pytest.raises(SchemaError, match="Reason coder JSON is incomplete or malformed"):
        ReasonCoder.from_dict(card, {"kind": "ReasonCoder"})
    with pytest.raises(SchemaError, match="lacks its reference_mean"):
        ReasonCoder.from_dict(card, saved | {"reference_mean": None})
    pytest.importorskip("shap")
    with pytest.raises(ParameterError, match="keeps its background rows"):
        ReasonCoder(model=card, method="shap").fit(X).to_dict()
