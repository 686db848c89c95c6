"""No resampling, class weights, random under/over-sampling, the factory and the report."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import RandomOverSampler
from sklearn.base import clone

from riskscope.exceptions import ParameterError, SchemaError
from riskscope.sampling import (
    SAMPLER_NAMES,
    SMOTE,
    SMOTEENN,
    FloorOverSampler,
    MajorityUnderSampler,
    NoResampling,
    ResampleReport,
    class_weights,
    make_sampler,
    resample_train,
    sample_weights,
)


def data():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2, 3], [500, 120, 40, 8])
    X = rng.standard_normal((len(y), 4)) + y[:, None]
    return X, y


def test_no_resampling_returns_the_rows_and_a_report():
    X, y = data()
    s = NoResampling()
    X_res, y_res = s.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X)
    np.testing.assert_array_equal(y_res, y)
    assert s.report_.rows_added == s.report_.rows_removed == 0
    assert s.report_.weights is None


def test_class_weight_strategy_records_weights_and_keeps_rows():
    X, y = data()
    s = make_sampler("class_weight", seed=0)
    X_res, _ = s.fit_resample(X, y)
    assert X_res.shape == X.shape
    assert s.report_.weights == pytest.approx(class_weights(y))
    assert s.report_.sampler == "NoResampling"


def test_class_weights_balance_and_keep_mean_one():
    _, y = data()
    w = class_weights(y)
    counts = np.bincount(y)
    # balanced: each class carries the same total weight
    totals = [w[c] * counts[c] for c in range(4)]
    assert totals == pytest.approx([totals[0]] * 4)
    assert sample_weights(y).mean() == pytest.approx(1.0)
    sw = sample_weights(y, strategy="sqrt_balanced", clip=3.0)
    assert sw.mean() == pytest.approx(1.0) and sw.max() / sw.min() == pytest.approx(3.0)
    assert set(class_weights(["a", "b", "b"])) == {"a", "b"}


def test_class_weight_errors():
    with pytest.raises(ParameterError, match=r"`strategy` of class_weights must be one of"):
        class_weights([0, 1], strategy="inverse")
    with pytest.raises(ParameterError, match=r"`clip` of class_weights must be a number >= 1"):
        class_weights([0, 1], clip=0.5)


def test_majority_under_sampler_cuts_the_largest_class_only():
    X, y = data()
    s = MajorityUnderSampler(random_state=0)
    X_res, y_res = s.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [120, 120, 40, 8]
    np.testing.assert_array_equal(X_res, X[s.sample_indices_])
    assert s.report_.classes[0].removed == 380 and s.report_.rows_added == 0
    _, y2 = MajorityUnderSampler(target=200, random_state=0).fit_resample(X, y)
    assert np.bincount(y2).tolist() == [200, 120, 40, 8]
    _, y3 = MajorityUnderSampler(target=10_000, random_state=0).fit_resample(X, y)
    assert np.bincount(y3).tolist() == [500, 120, 40, 8]


def test_floor_over_sampler_lifts_small_classes_to_the_floor():
    X, y = data()
    s = FloorOverSampler(floor=100, random_state=0)
    X_res, y_res = s.fit_resample(X, y)
    assert np.bincount(y_res).tolist() == [500, 120, 100, 100]
    np.testing.assert_array_equal(X_res[: len(X)], X)  # originals first, unchanged
    np.testing.assert_array_equal(X_res, X[s.sample_indices_])
    ref = RandomOverSampler(sampling_strategy={2: 100, 3: 100}, random_state=0)
    np.testing.assert_array_equal(X_res, ref.fit_resample(X, y)[0])
    assert {c.label: c.added for c in s.report_.classes} == {0: 0, 1: 0, 2: 60, 3: 92}


@pytest.mark.parametrize("order", ["C", "F"])
def test_floor_over_sampler_equals_imbalanced_learn_in_either_memory_layout(order):
    # the rows are gathered here, not by imbalanced-learn: same rows, in X's own layout
    X, y = data()
    X = np.asarray(X, order=order)
    X_res, y_res = FloorOverSampler(floor=100, random_state=7).fit_resample(X, y)
    ref = RandomOverSampler(sampling_strategy={2: 100, 3: 100}, random_state=7)
    X_ref, y_ref = ref.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X_ref)
    np.testing.assert_array_equal(y_res, y_ref)
    assert X_res.flags.f_contiguous == (order == "F")
    assert X_res.flags.c_contiguous == (order == "C")


def test_take_rows_keeps_the_layout_and_equals_fancy_indexing():
    from riskscope.sampling._base import take_rows

    X = np.arange(40.0, dtype=np.float32).reshape(10, 4)
    rows = np.array([3, 3, 0, 9])
    for arr in (X, np.asfortranarray(X), X[:, ::2]):  # C, F, and neither
        out = take_rows(arr, rows)
        np.testing.assert_array_equal(out, arr[rows])
        assert out.dtype == arr.dtype
    assert take_rows(np.asfortranarray(X), rows).flags.f_contiguous
    assert take_rows(X, rows).flags.c_contiguous


def test_floor_above_every_class_changes_nothing():
    X, y = data()
    X_res, _ = FloorOverSampler(floor=5).fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X)


def test_make_sampler_builds_each_strategy():
    kinds = {
        "none": NoResampling,
        "class_weight": NoResampling,
        "random_under": MajorityUnderSampler,
        "random_over": FloorOverSampler,
        "smote": SMOTE,
        "smoteenn": SMOTEENN,
    }
    assert set(kinds) == set(SAMPLER_NAMES)
    for name, kind in kinds.items():
        assert type(make_sampler(name, seed=1)) is kind
    assert make_sampler("random_over", seed=1).floor == 5000
    s = make_sampler("smoteenn", seed=7, k_neighbors=4, n_neighbors=2)
    assert (s.smote.k_neighbors, s.smote.random_state, s.enn.n_neighbors) == (4, 7, 2)
    assert s.enn.sampling_strategy == "all"
    with pytest.raises(ParameterError, match=r"Unknown rebalancing strategy 'adasyn'; use one"):
        make_sampler("adasyn", seed=0)


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_every_strategy_is_deterministic_for_a_seed(name):
    X, y = data()
    a = make_sampler(name, seed=3, floor=100, k_neighbors=3).fit_resample(X, y)
    b = make_sampler(name, seed=3, floor=100, k_neighbors=3).fit_resample(X, y)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_resample_train_sees_training_rows_only():
    X, y = data()
    split = SimpleNamespace(
        train=np.arange(0, 600), val=np.arange(600, 640), test=np.arange(640, 668)
    )
    s = make_sampler("random_over", seed=0, floor=50)
    X_res, y_res = resample_train(s, pd.DataFrame(X), pd.Series(y), split)
    assert s.report_.rows_before == 600
    assert isinstance(X_res, pd.DataFrame)
    bad = SimpleNamespace(train=np.arange(0, 601), val=np.arange(600, 640), test=None)
    with pytest.raises(ParameterError, match=r"1 rows are in both train and val \(positions 600"):
        resample_train(s, X, y, bad)
    with pytest.raises(ParameterError, match=r"`split.train` has positions outside 0..667"):
        resample_train(s, X, y, SimpleNamespace(train=np.array([0, 700])))
    with pytest.raises(ParameterError, match=r"`split.train` repeats row positions"):
        resample_train(s, X, y, SimpleNamespace(train=np.array([0, 0, 1])))


def test_data_errors_are_one_line_schema_errors():
    X, y = data()
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(SchemaError, match=r"X has 1 NaN or infinite values \(column 1\)"):
        SMOTE().fit_resample(Xn, y)
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame.loc[0, "c"] = np.inf
    with pytest.raises(SchemaError, match=r"\('c'\); impute or drop them"):
        SMOTEENN().fit_resample(frame, y)
    with pytest.raises(SchemaError, match=r"needs at least two classes in y; got one class \(0\)"):
        NoResampling().fit_resample(X, np.zeros(len(X), int))
    with pytest.raises(SchemaError, match=r"got 668 feature rows but 10 labels"):
        SMOTE().fit_resample(X, y[:10])
    text = frame.assign(e="x")
    with pytest.raises(SchemaError, match=r"column 'e' has dtype"):
        FloorOverSampler().fit_resample(text, y)


def test_parameter_errors_name_the_parameter():
    X, y = data()
    with pytest.raises(ParameterError, match=r"`floor` of FloorOverSampler must be an int >= 1"):
        FloorOverSampler(floor=0).fit_resample(X, y)
    with pytest.raises(ParameterError, match=r"or one of 'second_largest'; got 'half'"):
        MajorityUnderSampler(target="half").fit_resample(X, y)
    with pytest.raises(ParameterError, match=r"`random_state` of SMOTE must be None, an int"):
        SMOTE(random_state="x").fit_resample(X, y)
    with pytest.raises(ParameterError, match=r"`class_weight` of NoResampling must be one of"):
        NoResampling(class_weight="inverse").fit_resample(X, y)


def test_samplers_clone_and_keep_their_parameters():
    s = make_sampler("smoteenn", seed=3)
    c = clone(s)
    assert c.get_params()["random_state"] == 3 and c.smote is not s.smote


def test_report_round_trips_through_json():
    X, y = data()
    s = SMOTEENN(random_state=0)
    s.fit_resample(X, y.astype(str))  # string labels survive too
    text = json.dumps(s.report_.to_dict())
    back = ResampleReport.from_dict(json.loads(text))
    assert back == s.report_
    assert back.stages[1].sampler == "EditedNearestNeighbours"
    frame = s.report_.to_frame()
    assert list(frame.columns) == ["before", "added", "removed", "after"]
    assert (frame["after"] == frame["before"] + frame["added"] - frame["removed"]).all()


def test_report_weights_round_trip_with_int_labels():
    X, y = data()
    s = make_sampler("class_weight", seed=0)
    s.fit_resample(X, y)
    back = ResampleReport.from_dict(json.loads(json.dumps(s.report_.to_dict())))
    assert back.weights == s.report_.weights and set(back.weights) == {0, 1, 2, 3}
