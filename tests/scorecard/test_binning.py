"""WoeBinner and BinningTable: IV formula, optbinning equivalence, paper sanity, invariants."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from riskscope.datasets import load_german_credit
from riskscope.exceptions import NotFittedError, ParameterError, SchemaError
from riskscope.scorecard import BinningTable, WoeBinner

pytest.importorskip("optbinning")

NUMERIC = ["duration_months", "credit_amount", "age_years"]


@pytest.fixture(scope="module")
def german() -> tuple[pd.DataFrame, np.ndarray]:
    df = load_german_credit()
    y = (df.pop("class") == "bad").to_numpy(np.int64)  # bad is the event
    return df, y


@pytest.fixture(scope="module")
def fitted(german: tuple[pd.DataFrame, np.ndarray]) -> WoeBinner:
    X, y = german
    return WoeBinner().fit(X, y)


def _json(data: dict) -> dict:
    return orjson.loads(orjson.dumps(data))


# --- IV and WOE -------------------------------------------------------------------------
def test_iv_equals_formula_sum_over_bins(fitted: WoeBinner) -> None:
    assert len(fitted.tables_) == 20
    for name, table in fitted.tables_.items():
        frame = table.to_frame(totals=False)
        ev = frame["event"].to_numpy(float)
        nev = frame["non_event"].to_numpy(float)
        p_ev, p_nev = ev / ev.sum(), nev / nev.sum()
        ok = (ev > 0) & (nev > 0)
        expected = np.sum((p_nev[ok] - p_ev[ok]) * np.log(p_nev[ok] / p_ev[ok]))
        assert table.iv == pytest.approx(expected, abs=1e-12), name
        assert fitted.iv_[name] == pytest.approx(expected, abs=1e-12), name
        assert frame["iv"].sum() == pytest.approx(expected, abs=1e-12), name
    assert fitted.iv_.is_monotonic_decreasing


def test_woe_sign_positive_means_fewer_bads(fitted: WoeBinner) -> None:
    frame = fitted.tables_["checking_status"].to_frame(totals=False)
    overall = 300 / 1000
    regular = frame.iloc[:-2]
    assert ((regular["event_rate"] < overall) == (regular["woe"] > 0)).all()
    no_account = regular[regular["bin"].str.contains("no checking account")]
    assert no_account["woe"].item() > 0.5  # the safest group in German credit


@pytest.mark.filterwarnings("ignore::DeprecationWarning:optbinning")  # its pandas-3 idioms
def test_iv_and_woe_match_optbinning_binning_process(german, fitted: WoeBinner) -> None:
    from optbinning import BinningProcess

    X, y = german
    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    Xo = X.astype({c: object for c in cats})
    bp = BinningProcess(
        list(X.columns), max_n_prebins=20, min_prebin_size=0.05, min_bin_size=0.05,
        categorical_variables=cats,
        binning_fit_params={c: {"monotonic_trend": None} for c in X.columns},
    ).fit(Xo, y)
    ref = bp.summary().set_index("name")["iv"].astype(float)
    # Same solver on the same data: only floating-point summation order may differ.
    for name in X.columns:
        assert fitted.iv_[name] == pytest.approx(ref[name], abs=1e-9), name
    woe_ref = bp.transform(Xo, metric="woe")
    pd.testing.assert_frame_equal(fitted.transform(X), woe_ref, check_dtype=False, atol=1e-9)


def test_paper_iv_ordering(fitted: WoeBinner) -> None:
    iv = fitted.iv_
    assert iv.index[0] == "checking_status"
    assert iv["checking_status"] == pytest.approx(0.666, abs=0.02)  # paper: R1 0.666
    for weak in ("job", "telephone", "residence_since", "people_liable"):
        assert iv[weak] < 0.02, weak  # the four the paper drops


@pytest.mark.parametrize(
    ("trend", "columns"),
    [  # columns whose risk does run that way, so the constrained binning keeps >= 3 bins
        ("ascending", ["duration_months", "credit_amount", "installment_rate"]),
        ("descending", ["age_years", "credit_amount"]),
    ],
)
def test_monotonic_trend_gives_monotone_event_rate_and_woe(german, trend, columns) -> None:
    X, y = german
    binner = WoeBinner(monotonic_trend=trend).fit(X[columns], y)
    for name in columns:
        table = binner.tables_[name]
        rate, woe = table.event_rate[: table.n_bins], table.woe[: table.n_bins]
        assert table.n_bins >= 3, name  # else the check below is nearly empty
        step = np.diff(rate) if trend == "ascending" else -np.diff(rate)
        assert (step >= 0).all(), (name, rate)
        assert (np.sign(np.diff(woe)) == -np.sign(np.diff(rate))).all(), name


@pytest.mark.parametrize("name", ["duration_months", "credit_amount", "age_years"])
def test_unconstrained_is_not_monotone(fitted: WoeBinner, name: str) -> None:
    # Guards the test above: without a trend, these event rates go up and down.
    rate = np.diff(fitted.tables_[name].event_rate[:-2])
    assert (rate > 0).any() and (rate < 0).any()


# --- special and missing --------------------------------------------------------------
def test_special_and_missing_bins(german) -> None:
    X, y = german
    X = X[["credit_amount", "checking_status"]].astype({"checking_status": object})
    rng = np.random.default_rng(1)
    rows = rng.permutation(len(X))
    nan_rows, special_rows, cat_special = rows[:50], rows[50:80], rows[80:120]
    X.loc[X.index[nan_rows], "credit_amount"] = np.nan
    X.loc[X.index[special_rows], "credit_amount"] = -999
    X.loc[X.index[cat_special], "checking_status"] = "N/A"
    binner = WoeBinner(special_codes=[-999, "N/A"]).fit(X, y)

    amount = binner.tables_["credit_amount"]
    frame = amount.to_frame(totals=False).set_index("bin")
    assert frame.loc["Missing", "count"] == 50
    assert frame.loc["Missing", "event"] == y[nan_rows].sum()
    assert frame.loc["Special", "count"] == 30
    assert frame.loc["Special", "event"] == y[special_rows].sum()
    assert frame["count"].sum() == 1000
    woe = binner.transform(X)["credit_amount"].to_numpy()
    assert np.allclose(woe[nan_rows], frame.loc["Missing", "woe"])
    assert np.allclose(woe[special_rows], frame.loc["Special", "woe"])
    assert frame.loc["Missing", "woe"] != 0 and frame.loc["Special", "woe"] != 0

    status = binner.tables_["checking_status"].to_frame(totals=False).set_index("bin")
    assert status.loc["Special", "count"] == 40
    assert status.loc["Missing", "count"] == 0
    assert not any("N/A" in g for g in binner.tables_["checking_status"].groups)


def test_transform_rules_for_nan_special_and_unseen(fitted: WoeBinner) -> None:
    table = fitted.tables_["checking_status"]
    values = pd.Series(["no checking account", None, "a category never seen"])
    assert table.transform(values, metric="index").tolist() == [
        table.transform(["no checking account"], metric="index")[0], table.n_bins + 1, -1]
    woe = table.transform(values)
    assert woe[1] == table.woe[-1] == 0.0  # no missing rows in training: Missing WOE is 0
    assert woe[2] == 0.0  # unseen category: neutral
    assert table.transform(values, metric="bin").tolist()[1:] == ["Missing", "Unknown"]
    assert table.transform(values, metric="event_rate")[2] == pytest.approx(0.3)
    num = fitted.tables_["duration_months"]
    assert num.transform([np.nan, 1e9], metric="index").tolist() == [num.n_bins + 1,
                                                                     num.n_bins - 1]


def test_numeric_bins_follow_optbinning_interval_convention() -> None:
    t = BinningTable(name="x", kind="numerical", splits=[1.0, 2.0],
                     n_event=[1, 1, 1, 0, 0], n_nonevent=[1, 2, 3, 0, 0])
    assert t.transform([0.999, 1.0, 1.5, 2.0], metric="index").tolist() == [0, 1, 1, 2]
    assert t.labels[:3] == ["(-inf, 1)", "[1, 2)", "[2, inf)"]


# --- results and JSON -----------------------------------------------------------------
def test_to_frame_and_plot(fitted: WoeBinner) -> None:
    table = fitted.tables_["duration_months"]
    frame = table.to_frame()
    assert frame["bin"].iloc[-3:].tolist() == ["Special", "Missing", "Totals"]
    assert frame["count"].iloc[-1] == 1000 and frame["event"].iloc[-1] == 300
    assert frame["iv"].iloc[-1] == pytest.approx(table.iv)
    fig = table.plot()
    assert isinstance(fig, Figure)
    assert "IV 0.3" in fig.axes[0].get_title(loc="left")


def test_json_round_trip_gives_identical_transform(german, fitted: WoeBinner) -> None:
    X, _ = german
    back = WoeBinner.from_dict(_json(fitted.to_dict()))
    pd.testing.assert_frame_equal(back.transform(X), fitted.transform(X), check_exact=True)
    pd.testing.assert_series_equal(back.iv_, fitted.iv_, check_exact=True)
    assert back.get_params() == fitted.get_params()
    for name, table in fitted.tables_.items():
        again = BinningTable.from_dict(_json(table.to_dict()))
        assert again.to_dict() == table.to_dict()
        assert np.array_equal(again.transform(X[name]), table.transform(X[name]))


def test_truncated_or_malformed_json_raises_schema_error(fitted: WoeBinner) -> None:
    data = fitted.tables_["checking_status"].to_dict()
    del data["n_event"]
    with pytest.raises(SchemaError, match="incomplete or malformed.*n_event") as exc:
        BinningTable.from_dict(data)
    assert "\n" not in str(exc.value)
    data = fitted.tables_["checking_status"].to_dict()
    data["n_event"] = data["n_event"][:-1]
    with pytest.raises(SchemaError, match="needs .* counts per class"):
        BinningTable.from_dict(data)
    data = fitted.to_dict()
    del data["tables"]
    with pytest.raises(SchemaError, match="WoeBinner JSON is incomplete"):
        WoeBinner.from_dict(data)


# --- scikit-learn contract ------------------------------------------------------------
def test_sklearn_contract(german) -> None:
    X, y = german
    binner = WoeBinner(min_bin_size=0.1, special_codes=[-1])
    with pytest.raises(NotFittedError, match="not fitted"):
        binner.transform(X)
    params = binner.get_params()
    assert binner.fit(X[NUMERIC], y) is binner
    assert binner.get_params() == params  # fit leaves the parameters alone
    assert binner.n_features_in_ == 3
    assert binner.get_feature_names_out().tolist() == NUMERIC
    twin = clone(binner)
    assert twin.get_params() == binner.get_params() and not hasattr(twin, "tables_")
    out = binner.transform(X[NUMERIC[::-1]])
    assert out.columns.tolist() == NUMERIC and out.index.equals(X.index)
    model = make_pipeline(WoeBinner(), LogisticRegression()).fit(X[NUMERIC], y)
    assert model.predict_proba(X[NUMERIC]).shape == (1000, 2)


_MULTICLASS = "sklearn feeds a 3-4 class target; WOE is defined for a binary one only"
_EXPECTED_FAILURES = {
    **dict.fromkeys(
        ["check_fit_score_takes_y", "check_estimators_overwrite_params",
         "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
         "check_readonly_memmap_input", "check_n_features_in_after_fitting",
         "check_dtype_object", "check_f_contiguous_array_estimator",
         "check_methods_sample_order_invariance", "check_methods_subset_invariance",
         "check_dict_unchanged", "check_fit2d_predict1d", "check_positive_only_tag_during_fit"],
        _MULTICLASS),
    **dict.fromkeys(["check_estimators_dtypes", "check_complex_data", "check_fit2d_1feature"],
                    "target is 1/2, not 0/1: event= must name the bad label"),
    "check_estimators_nan_inf": "NaN is data here: it goes to the Missing bin",
    "check_transformer_preserve_dtypes": "transform returns a DataFrame of float64 WOE",
}


@parametrize_with_checks([WoeBinner()], expected_failed_checks=lambda e: _EXPECTED_FAILURES)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def test_row_order_invariance(german, fitted: WoeBinner) -> None:
    X, y = german
    order = np.random.default_rng(3).permutation(len(X))
    shuffled = WoeBinner().fit(X.iloc[order], y[order])
    assert shuffled.to_dict() == fitted.to_dict()


def test_labelled_target_needs_event(german) -> None:
    X, y = german
    labels = np.where(y == 1, "bad", "good")
    with pytest.raises(SchemaError, match=r"not 0/1; pass event=") as exc:
        WoeBinner().fit(X[NUMERIC], labels)
    assert "\n" not in str(exc.value)
    by_label = WoeBinner(event="bad").fit(X[NUMERIC], labels)
    by_code = WoeBinner().fit(X[NUMERIC], y)
    assert by_label.iv_.equals(by_code.iv_)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda X, y: (X, np.zeros_like(y)), SchemaError, r"one class only \(0, 1000 rows\)"),
        (lambda X, y: (X, np.where(np.arange(y.size) < 3, np.nan, y)), SchemaError,
         r"3 missing labels \(rows 0, 1, 2\)"),
        (lambda X, y: (X.assign(blank=np.nan), y), SchemaError,
         r"Column 'blank' is all missing \(1000 of 1000"),
        (lambda X, y: (X, y[:-1]), SchemaError, "y has 999 labels but X has 1000 rows"),
        (lambda X, y: (X, np.arange(y.size) % 3), SchemaError, "Target has 3 classes"),
    ],
)
def test_bad_data_gives_one_line_error(german, change, error, match) -> None:
    X, y = german
    Xb, yb = change(X[NUMERIC].copy(), y)
    with pytest.raises(error, match=match) as exc:
        WoeBinner().fit(Xb, yb)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"monotonic_trend": "upwards"}, r"`monotonic_trend` of WoeBinner must be one of "
                                         r"None, 'auto'.*; got 'upwards'\."),
        ({"min_bin_size": 0.7}, r"`min_bin_size` of WoeBinner must be None or a share"),
        ({"max_n_prebins": 1}, r"`max_n_prebins` of WoeBinner must be an int >= 2; got 1\."),
        ({"event": "bad"}, r"event='bad' is not a target value"),
        ({"categorical": ["nope"]}, r"`categorical` of WoeBinner names columns not in X"),
    ],
)
def test_bad_parameters_give_one_line_error(german, params, match) -> None:
    X, y = german
    with pytest.raises((ParameterError, SchemaError), match=match) as exc:
        WoeBinner(**params).fit(X[NUMERIC], y)
    assert "\n" not in str(exc.value)


def test_non_numeric_value_in_numerical_column(fitted: WoeBinner) -> None:
    with pytest.raises(SchemaError, match=r"'age_years' is numerical but holds non-numeric "
                                          r"values \(e\.g\. 'old'\)"):
        fitted.tables_["age_years"].transform([30, "old"])
