"""FlowPreprocessor: train-only bounds for Infinity, JSON round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskscope.exceptions import SchemaError
from riskscope.features.preprocess import FlowPreprocessor


@pytest.fixture
def train() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"bytes_s": rng.exponential(1000.0, 500), "pkts": rng.poisson(20, 500),
                      "dur": rng.uniform(0, 5, 500)}).astype(np.float32)
    X.loc[7, "dur"] = np.nan  # missing values must not become a bound
    return X, (X["pkts"] > 20).to_numpy(int)


def test_bounds_are_the_finite_training_extremes(train) -> None:
    X, y = train
    pre = FlowPreprocessor(corr_threshold=None).fit(X, y)
    np.testing.assert_allclose(pre.bounds_hi_, X.max().to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(pre.bounds_lo_, X.min().to_numpy(), rtol=1e-6)


def test_infinity_is_replaced_by_training_extremes_alone_or_in_a_batch(train) -> None:
    X, y = train
    pre = FlowPreprocessor(corr_threshold=None).fit(X, y)
    new = pd.DataFrame({"bytes_s": [np.inf, -np.inf, 1e9], "pkts": [3.0, 4.0, 5.0],
                        "dur": [0.0, 0.0, 1.0]}, dtype=np.float32)
    out = pre.transform(new)
    expect = pre.transform(pd.DataFrame({"bytes_s": [X["bytes_s"].max(), X["bytes_s"].min()],
                                         "pkts": [3.0, 4.0], "dur": [0.0, 0.0]},
                                        dtype=np.float32))
    np.testing.assert_allclose(out.iloc[:2].to_numpy(), expect.to_numpy(), rtol=1e-6)
    # the same row scored alone gets the same values: no dependence on the batch's max
    alone = pre.transform(new.iloc[[0]])
    np.testing.assert_array_equal(alone.to_numpy(), out.iloc[[0]].to_numpy())
    assert np.isfinite(out.to_numpy()).all()


def test_json_round_trip_keeps_bounds_and_rejects_truncated(train) -> None:
    X, y = train
    pre = FlowPreprocessor(corr_threshold=None).fit(X, y)
    d = pre.to_dict()
    back = FlowPreprocessor.from_dict(d)
    probe = pd.DataFrame({"bytes_s": [np.inf], "pkts": [1.0], "dur": [-np.inf]},
                         dtype=np.float32)
    np.testing.assert_array_equal(back.transform(probe), pre.transform(probe))
    d["bounds_hi"] = d["bounds_hi"][:1]
    with pytest.raises(SchemaError, match="bounds for a different number of"):
        FlowPreprocessor.from_dict(d)
    del d["bounds_hi"]
    with pytest.raises(SchemaError, match="incomplete or malformed"):
        FlowPreprocessor.from_dict(d)


def test_robust_scaling_equals_scikit_learns_robust_scaler() -> None:
    from sklearn.preprocessing import RobustScaler

    rng = np.random.default_rng(5)
    X = pd.DataFrame({"a": rng.lognormal(3, 2, 1001), "b": rng.integers(0, 4, 1001),
                      "flat": np.r_[np.zeros(1000), 7.0], "c": rng.normal(0, 1, 1001)}
                     ).astype(np.float32)
    X.loc[[3, 50, 400], "a"] = np.nan
    pre = FlowPreprocessor(corr_threshold=None, near_constant_threshold=1.0,
                           constant=False).fit(X, np.arange(1001) % 2)
    assert pre.features_ == list(X.columns)
    expect = RobustScaler().fit_transform(X.to_numpy(np.float64)).astype(np.float32)
    got = pre.transform(X).to_numpy()
    np.testing.assert_allclose(got, expect, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert np.isnan(got[[3, 50, 400], 0]).all()


def test_robust_statistics_are_scikit_learns_to_the_last_bit() -> None:
    # median and quartiles from one sort of the float32 column, against RobustScaler on
    # the float64 copy: odd and even lengths, ties, NaN, one value
    from sklearn.preprocessing import RobustScaler

    from riskscope.features.preprocess import _robust_affine

    rng = np.random.default_rng(8)
    cols = [rng.lognormal(3, 2, 1001), rng.integers(0, 5, 1000), rng.normal(0, 1e6, 2),
            np.where(rng.random(999) < 0.9, 0.0, rng.normal(size=999)), np.array([4.0]),
            np.r_[rng.normal(size=700), np.full(300, np.nan)]]
    for col in cols:
        col32 = np.asarray(col, dtype=np.float32)
        s = RobustScaler().fit(col32.astype(np.float64)[:, None])
        a, b = _robust_affine([col32])
        assert a[0] == 1.0 / s.scale_[0] and b[0] == -s.center_[0] / s.scale_[0]

