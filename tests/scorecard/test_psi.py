"""PSI: zero against itself, grows with the shift, contributions sum, eps, feature bins."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest
from matplotlib.figure import Figure

from riskscope.datasets import load_german_credit
from riskscope.exceptions import NotFittedError, ParameterError, SchemaError
from riskscope.scorecard import WoeBinner
from riskscope.scorecard.psi import (
    BandReference,
    PSIResult,
    feature_psi,
    plot_psi_summary,
    psi,
    psi_status,
    summarize_psi,
)

COLUMNS = ["checking_status", "duration_months", "credit_amount", "purpose", "age_years"]


@pytest.fixture(scope="module")
def scores() -> np.ndarray:
    return np.random.default_rng(0).normal(600, 50, 5000)


@pytest.fixture(scope="module")
def german() -> tuple[pd.DataFrame, np.ndarray, WoeBinner]:
    pytest.importorskip("optbinning")
    df = load_german_credit()
    y = (df.pop("class") == "bad").to_numpy(np.int64)
    X = df[COLUMNS]
    return X, y, WoeBinner().fit(X, y)


# --- score bands ------------------------------------------------------------------------
def test_psi_of_a_sample_against_itself_is_zero(scores: np.ndarray) -> None:
    result = psi(scores, scores)
    assert result.psi == 0.0
    assert len(result.bands) == 10 and result.status == "stable"
    np.testing.assert_allclose(result.to_frame()["expected_share"], 0.1, atol=1e-12)


def test_psi_grows_with_the_shift(scores: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    values = [psi(scores, rng.normal(600 + shift, 50, 5000)).psi for shift in (0, 10, 25, 50)]
    assert values == sorted(values)
    assert values[0] < 0.10 and values[-1] > 0.25
    assert psi(scores, rng.normal(650, 50, 5000)).status == "shift"


def test_contributions_sum_to_the_total(scores: np.ndarray) -> None:
    result = psi(scores, scores[:2000] + 20, bins=7)
    frame = result.to_frame()
    assert frame.columns.tolist() == ["band", "expected_share", "actual_share", "contribution"]
    assert frame["contribution"].sum() == pytest.approx(result.psi, abs=1e-15)
    assert (frame["contribution"] >= 0).all()
    assert frame["actual_share"].sum() == pytest.approx(1.0)
    e, a = frame["expected_share"], frame["actual_share"]
    assert result.psi == pytest.approx(float(((a - e) * np.log(a / e)).sum()), abs=1e-12)


def test_empty_bands_give_finite_psi_through_eps(scores: np.ndarray) -> None:
    far = np.full(100, scores.max() + 1)  # every actual row in the top band
    result = psi(scores, far)
    assert np.isfinite(result.psi) and result.status == "shift"
    e = 0.1
    expected = 9 * (1e-4 - e) * np.log(1e-4 / e) + (1 - e) * np.log(1 / e)
    assert result.psi == pytest.approx(expected, rel=1e-12)
    assert psi(scores, far, eps=1e-6).psi > result.psi  # a smaller floor, a larger penalty


def test_thresholds() -> None:
    assert [psi_status(v) for v in (0.0, 0.0999, 0.10, 0.25, 0.2501)] == [
        "stable", "stable", "moderate", "moderate", "shift"]


def test_explicit_edges_and_open_outer_bands(scores: np.ndarray) -> None:
    a = psi(scores, scores + 5, bins=[550, 600, 650])
    b = psi(scores, scores + 5, bins=[-np.inf, 550, 600, 650, np.inf])
    assert a.bands == b.bands == ["(-inf, 550)", "[550, 600)", "[600, 650)", "[650, inf)"]
    assert a.psi == b.psi
    assert sum(a.n_actual) == len(scores)


def test_tied_scores_collapse_bands() -> None:
    discrete = np.repeat([500.0, 550.0, 600.0], [50, 30, 20])
    result = psi(discrete, discrete[::-1])
    assert result.bands == ["(-inf, 550)", "[550, 600)", "[600, inf)"]
    assert result.n_expected == [50, 30, 20] and result.psi == 0.0


def test_missing_scores_get_their_own_band(scores: np.ndarray) -> None:
    actual = scores.copy()
    actual[:500] = np.nan
    result = psi(scores, actual)
    assert result.bands[-1] == "Missing"
    assert result.n_expected[-1] == 0 and result.n_actual[-1] == 500
    assert result.psi > psi(scores, scores[500:]).psi


def test_result_json_round_trip_and_plot(scores: np.ndarray) -> None:
    result = psi(scores, scores + 10, name="credit score")
    back = PSIResult.from_dict(orjson.loads(orjson.dumps(result.to_dict())))
    assert back.to_dict() == result.to_dict() and back.psi == result.psi
    assert isinstance(result.plot(), Figure)
    with pytest.raises(SchemaError, match=r"PSI result JSON is incomplete"):
        PSIResult.from_dict({"name": "x"})


@pytest.mark.parametrize(("expected", "actual", "kwargs", "error", "match"), [
    ([], [1.0], {}, SchemaError, r"expected sample is empty"),
    ([1.0, 2.0], [], {}, SchemaError, r"actual sample is empty"),
    ([np.nan, np.nan], [1.0], {}, SchemaError, r"expected sample is all missing"),
    ([1.0], [np.nan], {}, SchemaError, r"actual sample is all missing"),
    (["a", "b"], [1.0], {}, SchemaError, r"non-numeric values"),
    ([1.0, np.inf], [1.0], {}, SchemaError, r"1 infinite values"),
    ([[1.0, 2.0]], [1.0], {}, SchemaError, r"must be 1-D"),
    ([1.0, 2.0], [1.0], {"bins": 1}, ParameterError, r"`bins` of psi must be an int >= 2"),
    ([1.0, 2.0], [1.0], {"bins": [3, 2]}, ParameterError, r"increasing edges"),
    ([1.0, 2.0], [1.0], {"eps": 0}, ParameterError, r"`eps` of psi must be"),
])
def test_bad_inputs_are_one_line_errors(expected, actual, kwargs, error, match) -> None:
    with pytest.raises(error, match=match) as exc:
        psi(expected, actual, **kwargs)
    assert "\n" not in str(exc.value)


# --- feature bins -----------------------------------------------------------------------
def test_feature_psi_against_itself_is_zero(german) -> None:
    X, _, binner = german
    results = feature_psi(X, X, binner)
    assert list(results) == COLUMNS
    assert all(r.psi == 0.0 for r in results.values())
    for name, r in results.items():  # every bin, Special and Missing included
        assert r.bands == binner.tables_[name].labels


def test_feature_psi_flags_a_shifted_population(german) -> None:
    X, y, binner = german
    order = np.random.default_rng(0).permutation(len(X))
    halves = feature_psi(X.iloc[order[:500]], X.iloc[order[500:]], binner)
    bads = feature_psi(X, X[y == 1], binner)  # only bad applicants: a risk shift
    # two random halves differ by sampling noise alone (~0.04 at 500 rows and ~8 bins)
    assert all(r.psi < 0.10 for r in halves.values())
    assert bads["checking_status"].status == "shift"
    summary = summarize_psi(bads)
    assert summary.columns.tolist() == ["feature", "psi", "status"]
    assert summary["psi"].is_monotonic_decreasing
    assert summary.iloc[0]["feature"] == "checking_status"


def test_feature_psi_counts_missing_and_unseen_categories(german) -> None:
    X, _, binner = german
    new = X.copy()
    new["credit_amount"] = new["credit_amount"].astype(float)
    new.loc[new.index[:300], "credit_amount"] = np.nan
    new["purpose"] = new["purpose"].astype(object)
    new.loc[new.index[:50], "purpose"] = "spaceship"
    results = feature_psi(X, new, binner)
    amount = results["credit_amount"].to_frame().set_index("band")
    assert amount.loc["Missing", "actual_share"] == pytest.approx(0.3)
    assert results["credit_amount"].status == "shift"
    purpose = results["purpose"]
    assert purpose.bands[-1] == "Unknown" and purpose.n_actual[-1] == 50
    assert purpose.n_expected[-1] == 0 and np.isfinite(purpose.psi)
    assert "Unknown" not in results["checking_status"].bands


def test_feature_psi_bad_inputs(german) -> None:
    X, _, binner = german
    with pytest.raises(SchemaError, match=r"actual data lacks 1 column\(s\).*'purpose'") \
            as exc:
        feature_psi(X, X.drop(columns="purpose"), binner)
    assert "\n" not in str(exc.value)
    with pytest.raises(SchemaError, match=r"expected data is empty"):
        feature_psi(X.iloc[:0], X, binner)
    with pytest.raises(NotFittedError, match=r"binner given to feature_psi is not fitted"):
        feature_psi(X, X, WoeBinner())
    with pytest.raises(ParameterError, match=r"`eps` of feature_psi"):
        feature_psi(X, X, binner, eps=-1)


# --- kept references (what a saved model stores) ------------------------------------------
@pytest.mark.parametrize("bins", [10, 4, [550.0, 600.0, 650.0]])
def test_band_reference_gives_psi_without_the_expected_rows(scores: np.ndarray, bins) -> None:
    rng = np.random.default_rng(1)
    new = np.append(rng.normal(620, 60, 800), [np.nan] * 20)
    ref = BandReference.from_dict(orjson.loads(orjson.dumps(
        BandReference.fit(scores, bins=bins).to_dict())))
    a, b = ref.compare(new), psi(scores, new, bins=bins)
    assert a.to_dict() == b.to_dict() and a.psi == b.psi
    assert a.bands[-1] == "Missing" and a.n_expected[-1] == 0
    assert ref.compare(scores).psi == 0.0


def test_band_reference_rejects_inconsistent_json() -> None:
    with pytest.raises(SchemaError, match=r"needs 3 counts for 2 cut points"):
        BandReference(name="score", cuts=[1.0, 2.0], n_expected=[5, 5])
    with pytest.raises(SchemaError, match=r"finite, increasing cut points"):
        BandReference(name="score", cuts=[2.0, 1.0], n_expected=[5, 5, 5])
    with pytest.raises(SchemaError, match=r"Band reference JSON is incomplete"):
        BandReference.from_dict({"name": "score"})


def test_feature_psi_against_the_binners_own_counts(german) -> None:
    X, y, binner = german
    new = X[y == 1].assign(age_years=lambda d: d["age_years"] + 15)
    stored = feature_psi(None, new, binner)
    recount = feature_psi(X, new, binner)  # the rows the binner was fitted on
    assert {k: r.to_dict() for k, r in stored.items()} == \
        {k: r.to_dict() for k, r in recount.items()}
    assert all(r.psi == 0.0 for r in feature_psi(None, X, binner).values())
    assert stored["age_years"].status == "shift"


def test_plot_psi_summary(german) -> None:
    X, y, binner = german
    fig = plot_psi_summary(feature_psi(None, X[y == 1], binner))
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1] == "checking_status"  # highest PSI on top
    with pytest.raises(ParameterError, match="at least one PSI result"):
        plot_psi_summary({})
