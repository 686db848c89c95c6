"""Tests for riskscope.features.pruning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import mutual_info_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from riskscope.exceptions import NotFittedError, ParameterError, SchemaError
from riskscope.features.pruning import (
    ConstantFilter,
    CorrelationFilter,
    NearConstantFilter,
    _Columns,
    _dominant_value,
    _min_count,
)


@parametrize_with_checks(
    [
        ConstantFilter(),
        NearConstantFilter(),
        NearConstantFilter(threshold=0.6, drop=True),
        CorrelationFilter(),
        CorrelationFilter(keep="first", threshold=0.5),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _labelled_frame(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Columns: a label signal, a noisier copy of it, an unrelated one, a constant."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    signal = y + rng.normal(0, 0.3, n)
    X = pd.DataFrame(
        {
            "noisy": signal + rng.normal(0, 0.1, n),  # r ~ 0.99 with "clean", less informative
            "clean": signal,
            "other": rng.normal(size=n),
            "flat": np.zeros(n),
        }
    ).astype(np.float32)
    return X, y


# ------------------------------------------------------------------------ ConstantFilter


def test_constant_filter_counts_nan_as_a_value():
    X = pd.DataFrame(
        {
            "all_nan": [np.nan] * 4,
            "one_and_nan": [1.0, np.nan, 1.0, 1.0],
            "zeros": [0.0] * 4,
            "varies": [1.0, 2.0, 3.0, 4.0],
        },
        dtype=np.float32,
    )
    f = ConstantFilter().fit(X)
    assert f.dropped_ == ["all_nan", "zeros"]
    assert f.constant_["feature"].tolist() == ["all_nan", "zeros"]
    assert np.isnan(f.constant_["value"].iloc[0]) and f.constant_["value"].iloc[1] == 0.0
    assert f.get_feature_names_out().tolist() == ["one_and_nan", "varies"]


def test_dataframe_in_dataframe_out_keeps_index_and_dtype():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [5.0] * 3}, index=[10, 20, 30], dtype=np.float32)
    out = ConstantFilter().fit(X).transform(X)
    assert isinstance(out, pd.DataFrame)
    assert out.columns.tolist() == ["a"]
    assert out.index.tolist() == [10, 20, 30]
    assert out.dtypes.tolist() == [np.float32]


def test_dataframe_and_ndarray_give_the_same_selection():
    X, y = _labelled_frame()
    for make in (ConstantFilter, lambda: NearConstantFilter(drop=True), CorrelationFilter):
        on_frame = make().fit(X, y)
        on_array = make().fit(X.to_numpy(), y)
        np.testing.assert_array_equal(on_frame.get_support(), on_array.get_support())
        out = on_array.transform(X.to_numpy())
        assert isinstance(out, np.ndarray)
        np.testing.assert_array_equal(out, on_frame.transform(X).to_numpy())


def test_set_output_pandas_on_ndarray_input():
    X, _ = _labelled_frame(50)
    out = ConstantFilter().set_output(transform="pandas").fit_transform(X.to_numpy())
    assert isinstance(out, pd.DataFrame)
    assert out.columns.tolist() == ["x0", "x1", "x2"]


def test_transform_before_fit_and_wrong_columns():
    X, _ = _labelled_frame(20)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        ConstantFilter().transform(X)
    f = ConstantFilter().fit(X)
    with pytest.raises(ValueError, match="feature names should match"):
        f.transform(X.rename(columns={"clean": "renamed"}))


def test_bad_columns_are_one_line_schema_errors():
    X = pd.DataFrame({"a": [1.0, np.inf, 2.0], "b": ["x", "y", "z"]})
    with pytest.raises(SchemaError, match="'a' has 1 infinite values; .*inf_policy"):
        ConstantFilter().fit(X[["a"]])
    with pytest.raises(SchemaError, match="'b' has dtype .*not numeric"):
        ConstantFilter().fit(X[["b"]])
    with pytest.raises(SchemaError, match="at least one row"):
        ConstantFilter().fit(X.iloc[:0, :1])


# -------------------------------------------------------------------- NearConstantFilter


def test_near_constant_share_matches_value_counts():
    rng = np.random.default_rng(3)
    n = 1000
    X = pd.DataFrame(
        {
            "flag": np.where(rng.random(n) < 0.995, 0.0, 1.0),
            "mostly_nan": np.where(rng.random(n) < 0.996, np.nan, 2.0),
            "half": np.where(np.arange(n) < 500, 1.0, 2.0),
            "cont": rng.normal(size=n),
            "exact": np.r_[np.full(990, 7.0), np.arange(10.0)],  # share exactly 0.99
        }
    )
    f = NearConstantFilter(threshold=0.99).fit(X)
    table = f.near_constant_.set_index("feature")
    for col in table.index:
        share = X[col].value_counts(dropna=False, normalize=True).iloc[0]
        assert table.loc[col, "top_share"] == pytest.approx(share)
        assert table.loc[col, "n_unique"] == X[col].nunique(dropna=False)
    assert set(table.index) == {"flag", "mostly_nan", "exact"}  # >= threshold
    assert np.isnan(table.loc["mostly_nan", "top_value"])
    assert not table["dropped"].any()
    assert f.dropped_ == []
    assert f.transform(X).shape == X.shape


@pytest.mark.parametrize("threshold", [0.51, 0.9, 0.99, 0.999, 1.0])
def test_dominant_value_is_exact_against_value_counts(threshold):
    # The strided-sample shortcut must find exactly the columns value_counts finds, with
    # the exact share, including dominant values laid out against the stride and NaN.
    rng = np.random.default_rng(11)
    n = 20_000
    need = _min_count(threshold, n)
    assert need / n >= threshold and (need - 1) / n < threshold
    cols = {}
    for k, share in enumerate((1.0, 0.9995, 0.999, 0.99, 0.9, 0.6, 0.5)):
        base = np.where(rng.random(n) < share, 3.0, rng.integers(0, 50, n).astype(float))
        cols[f"random{k}"] = base
        strided = np.full(n, 3.0)
        m = int(round((1 - share) * n))  # the other values on the sampled rows first
        step = max(n // (2 * (n - need) + 1), 1)
        on_sample = np.arange(min(m, (n - 1) // step + 1)) * step
        rest = np.setdiff1d(np.arange(n), on_sample)[: m - on_sample.size]
        strided[np.r_[on_sample, rest]] = 7.0
        cols[f"strided{k}"] = strided
        with_nan = base.copy()
        with_nan[rng.random(n) < 0.3] = np.nan
        cols[f"nan{k}"] = with_nan
        cols[f"mostly_nan{k}"] = np.where(rng.random(n) < share, np.nan, base)
    cols["continuous"] = rng.normal(size=n)
    X = pd.DataFrame(cols)
    f = NearConstantFilter(threshold=threshold).fit(X)
    expected = {}
    for name in X.columns:
        counts = X[name].value_counts(dropna=False)
        if counts.iloc[0] / n >= threshold:
            expected[name] = counts.iloc[0] / n
    got = dict(zip(f.near_constant_["feature"], f.near_constant_["top_share"], strict=True))
    assert got == expected
    for arr in (X["strided1"].to_numpy(), X["nan2"].to_numpy()):
        value, count = _dominant_value(arr, bool(np.isnan(arr).any()), need)
        truth = pd.Series(arr).value_counts(dropna=False)
        assert (count >= need) == (truth.iloc[0] >= need)
        if count >= need:
            assert count == truth.iloc[0] and (value == truth.index[0] or np.isnan(value))


@pytest.mark.parametrize("threshold", [0.9, 0.99])
def test_dominant_value_survives_other_values_on_any_stride(threshold):
    # Exactly enough other values to keep the top value at the threshold (or one more, to
    # drop it below), laid out on every stride a strided sample could use.
    n = 1000
    need = _min_count(threshold, n)
    for extra in (0, 1):
        others = n - need + extra
        for stride in range(1, n):
            arr = np.zeros(n)
            arr[::stride][:others] = 1.0
            arr[np.flatnonzero(arr == 0)[: others - int(arr.sum())]] = 1.0
            value, count = _dominant_value(arr, False, need)
            assert (count >= need) == (extra == 0), stride
            if not extra:
                assert (value, count) == (0.0, need)


def test_fit_on_shared_columns_equals_fit():
    # FlowPreprocessor validates a frame once and fits the filters on its columns.
    X, y = _labelled_frame()
    X.loc[::7, "other"] = np.nan
    data = _Columns.from_frame(X, "test")
    for make in (ConstantFilter, lambda: NearConstantFilter(threshold=0.6, drop=True),
                 CorrelationFilter):
        a, b = make().fit(X, y), make()._fit_columns(data, y)
        np.testing.assert_array_equal(a.support_, b.support_)
        np.testing.assert_array_equal(a.feature_names_in_, b.feature_names_in_)
        assert a.n_features_in_ == b.n_features_in_ and a.dropped_ == b.dropped_
        pd.testing.assert_frame_equal(b.transform(X), a.transform(X))


def test_near_constant_drop_and_parameter_rules():
    X = pd.DataFrame({"flag": [0.0] * 99 + [1.0], "size": np.arange(100.0)})
    f = NearConstantFilter(drop=True).fit(X)
    assert f.dropped_ == ["flag"]
    assert f.near_constant_["dropped"].tolist() == [True]
    with pytest.raises(
        ParameterError,
        match=r"`threshold` of NearConstantFilter must be a "
        r"float in \(0.5, 1\]; got 0.5",
    ):
        NearConstantFilter(threshold=0.5).fit(X)
    with pytest.raises(ParameterError, match="`drop` of NearConstantFilter"):
        NearConstantFilter(drop="yes").fit(X)


# --------------------------------------------------------------------- CorrelationFilter


def test_correlated_pair_keeps_the_more_informative_member_in_any_column_order():
    X, y = _labelled_frame()
    for columns in (
        ["noisy", "clean", "other", "flat"],
        ["clean", "noisy", "flat", "other"],
        ["other", "flat", "clean", "noisy"],
    ):
        f = CorrelationFilter(threshold=0.9).fit(X[columns], y)
        assert f.dropped_ == ["noisy"]
        pair = f.pairs_.iloc[0]
        assert {pair["a"], pair["b"]} == {"noisy", "clean"}
        assert (pair["kept"], pair["dropped"]) == ("clean", "noisy")
        mi = f.mutual_info_
        assert mi["clean"] > mi["noisy"]
        assert pair["r"] == pytest.approx(X["noisy"].corr(X["clean"]), abs=1e-6)


def test_order_invariance_on_many_correlated_columns():
    rng = np.random.default_rng(7)
    n = 3000
    y = rng.integers(0, 4, n)
    base = [y + rng.normal(0, s, n) for s in (0.2, 0.5, 1.0)]
    cols = {}
    for i, b in enumerate(base):
        for j in range(4):
            cols[f"g{i}_{j}"] = b + rng.normal(0, 0.05 * (j + 1), n)
    cols["dup"] = cols["g0_0"].copy()  # exact duplicate: equal MI, tie broken by name
    X = pd.DataFrame(cols)
    reference = set(CorrelationFilter(threshold=0.95).fit(X, y).dropped_)
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(X.columns)
        f = CorrelationFilter(threshold=0.95).fit(X[perm], y)
        assert set(f.dropped_) == reference
    # "dup" and "g0_0" are equal (same MI): the later name, "g0_0", loses the tie.
    assert "g0_0" in reference and "dup" not in reference


def test_kept_columns_have_no_pair_above_threshold_and_chains_resolve():
    rng = np.random.default_rng(1)
    n = 2000
    y = rng.integers(0, 2, n)
    a = y + rng.normal(0, 0.5, n)  # variance ~0.5: every pair of a, b, c has r > 0.95
    X = pd.DataFrame(
        {
            "a": a,
            "b": a + rng.normal(0, 0.1, n),
            "c": a + rng.normal(0, 0.15, n),
            "d": rng.normal(size=n),
        }
    )
    f = CorrelationFilter(threshold=0.9).fit(X, y)
    kept = f.transform(X)
    corr = kept.corr().abs().to_numpy()
    assert (corr[np.triu_indices_from(corr, k=1)] <= 0.9).all()
    # Every pair is resolved: a row either dropped a member or found one already dropped.
    assert len(f.pairs_) == 3
    assert f.pairs_["dropped"].notna().sum() == len(f.dropped_)
    resolved_earlier = f.pairs_[f.pairs_["dropped"].isna()]
    assert resolved_earlier.apply(
        lambda r: r["a"] in f.dropped_ or r["b"] in f.dropped_, axis=1
    ).all()


def test_correlation_matches_pandas_with_missing_values_and_constants():
    rng = np.random.default_rng(2)
    n = 500
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    X["b"] = X["a"] * 3 + rng.normal(0, 0.5, n) + 1e6  # large offset: centring matters
    X.loc[rng.random(n) < 0.1, "a"] = np.nan
    X.loc[rng.random(n) < 0.2, "c"] = np.nan
    X["const"] = 4.0
    f = CorrelationFilter(keep="first", n_heatmap_features=10).fit(X)
    ours = f.correlation_.loc[X.columns, X.columns]
    expected = X.corr()
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), atol=1e-9)
    assert ours["const"].isna().all()
    assert "const" not in set(f.pairs_["a"]) | set(f.pairs_["b"])


def test_spearman_matches_pandas_and_first_keeps_earlier_column():
    rng = np.random.default_rng(4)
    x = rng.normal(size=400)
    X = pd.DataFrame({"x": x, "exp_x": np.exp(x) + 0.0, "z": rng.normal(size=400)})
    f = CorrelationFilter(method="spearman", keep="first", threshold=0.99).fit(X)
    np.testing.assert_allclose(
        f.correlation_.loc[X.columns, X.columns].to_numpy(),
        X.corr(method="spearman").to_numpy(),
        atol=1e-9,
    )
    assert f.dropped_ == ["exp_x"]
    assert f.pairs_["mi_a"].isna().all()


def test_binned_mutual_information_equals_contingency_mi_on_discrete_columns():
    rng = np.random.default_rng(5)
    n = 3000
    y = rng.integers(0, 3, n)
    d = np.where(rng.random(n) < 0.7, y, rng.integers(0, 5, n)).astype(float)
    # With more bins than values, every value gets its own bin: the plug-in estimate is
    # then exactly the contingency-table mutual information.
    X = pd.DataFrame({"d": d, "copy": d})
    f = CorrelationFilter(threshold=0.9, mi_bins=64).fit(X, y)
    assert f.mutual_info_["d"] == pytest.approx(mutual_info_score(d, y), rel=1e-9)


def test_mutual_information_subsample_is_seeded():
    X, y = _labelled_frame(3000)
    fits = [CorrelationFilter(mi_max_rows=300, seed=s).fit(X, y) for s in (1, 1, 2)]
    pd.testing.assert_series_equal(fits[0].mutual_info_, fits[1].mutual_info_)
    assert not fits[0].mutual_info_.equals(fits[2].mutual_info_)


def test_heatmap_uses_the_highest_variance_columns():
    X, y = _labelled_frame(300)
    X["wide"] = X["other"] * 100
    f = CorrelationFilter(n_heatmap_features=2).fit(X, y)
    assert f.correlation_.columns.tolist() == ["wide", "noisy"]
    fig = f.heatmap(title="Training correlation")
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_title(loc="left") == "Training correlation"


def test_correlation_filter_needs_aligned_labels():
    X, y = _labelled_frame(50)
    with pytest.raises(ParameterError, match="requires y to be passed.*keep='first'"):
        CorrelationFilter().fit(X)
    with pytest.raises(SchemaError, match="one label per row: y has shape \\(49,\\)"):
        CorrelationFilter().fit(X, y[:49])
    with pytest.raises(SchemaError, match="2 missing labels"):
        CorrelationFilter().fit(X, np.r_[[None, None], y[2:].astype(object)])
    with pytest.raises(ParameterError, match="`method` of CorrelationFilter must be"):
        CorrelationFilter(method="kendall").fit(X, y)
