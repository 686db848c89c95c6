"""SMOTE, ENN and SMOTE-ENN give imbalanced-learn's results, faster, with invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imblearn.combine import SMOTEENN as ImbSMOTEENN
from imblearn.over_sampling import SMOTE as ImbSMOTE
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import EditedNearestNeighbours as ImbENN
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors

from riskscope.exceptions import ParameterError
from riskscope.sampling import SMOTE, SMOTEENN, EditedNearestNeighbours


def data(n=600, classes=2, dtype=np.float64, seed=1):
    weights = [0.85] if classes == 2 else [0.6, 0.3, 0.1]
    X, y = make_classification(
        n_samples=n,
        n_features=10,
        n_informative=5,
        n_classes=classes,
        weights=weights,
        flip_y=0.03,
        random_state=seed,
    )
    return X.astype(dtype), y


CASES = [
    data(),
    data(classes=3, dtype=np.float32),
    data(n=2500, dtype=np.float32, seed=4),  # large enough for the tree path in ENN
]


@pytest.mark.parametrize("X, y", CASES)
def test_smote_output_equals_imbalanced_learn(X, y):
    ours = SMOTE(random_state=3).fit_resample(X, y)
    ref = ImbSMOTE(random_state=3).fit_resample(X, y)
    np.testing.assert_array_equal(ours[0], ref[0])
    np.testing.assert_array_equal(ours[1], ref[1])
    assert ours[0].dtype == X.dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_interpolation_rounds_as_imbalanced_learn(dtype):
    # over 10,000 new rows: the new rows come from the compiled kernel, not numpy
    X, y = data(n=16000, dtype=dtype, seed=6)
    ours = SMOTE(random_state=5).fit_resample(X, y)
    ref = ImbSMOTE(random_state=5).fit_resample(X, y)
    assert len(ref[1]) - len(y) > 10_000
    np.testing.assert_array_equal(ours[0], ref[0])
    np.testing.assert_array_equal(ours[1], ref[1])
    # column-major input: the kernel writes into a column-major block
    col_major = SMOTE(random_state=5).fit_resample(np.asfortranarray(X), y)[0]
    assert col_major.flags.f_contiguous
    np.testing.assert_array_equal(col_major, ref[0])


def test_smote_equals_imbalanced_learn_with_dict_strategy_and_shared_random_state():
    X, y = data(classes=3)
    strategy = {1: 300, 2: 250}
    ours = SMOTE(sampling_strategy=strategy, k_neighbors=3, random_state=np.random.RandomState(7))
    ref = ImbSMOTE(sampling_strategy=strategy, k_neighbors=3, random_state=np.random.RandomState(7))
    np.testing.assert_array_equal(ours.fit_resample(X, y)[0], ref.fit_resample(X, y)[0])


def test_smote_keeps_every_original_row_first_and_unchanged():
    X, y = data(classes=3)
    smote = SMOTE(random_state=0)
    X_res, y_res = smote.fit_resample(X, y)
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)
    counts = np.bincount(y_res)
    assert (counts == counts.max()).all()
    rep = smote.report_
    assert rep.rows_before == len(y) and rep.rows_after == len(y_res)
    assert rep.rows_removed == 0 and rep.rows_added == len(y_res) - len(y)
    added = {c.label: c.added for c in rep.classes}
    assert added == {0: 0, 1: counts[0] - (y == 1).sum(), 2: counts[0] - (y == 2).sum()}


def test_smote_same_seed_same_rows_other_seed_other_rows():
    X, y = data()
    a = SMOTE(random_state=5).fit_resample(X, y)[0]
    b = SMOTE(random_state=5).fit_resample(X, y)[0]
    c = SMOTE(random_state=6).fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("X, y", CASES)
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"sampling_strategy": "all"},
        {"sampling_strategy": "all", "kind_sel": "mode"},
        {"sampling_strategy": "all", "n_neighbors": 5},
    ],
)
def test_enn_removes_the_same_rows_as_imbalanced_learn(X, y, params):
    ours = EditedNearestNeighbours(**params)
    ref = ImbENN(**params)
    X_o, y_o = ours.fit_resample(X, y)
    X_r, y_r = ref.fit_resample(X, y)
    np.testing.assert_array_equal(ours.sample_indices_, ref.sample_indices_)
    np.testing.assert_array_equal(X_o, X_r)
    np.testing.assert_array_equal(y_o, y_r)


def test_enn_only_removes_rows_and_reports_them():
    X, y = data(classes=3)
    enn = EditedNearestNeighbours(sampling_strategy="all")
    X_res, y_res = enn.fit_resample(X, y)
    assert len(np.unique(enn.sample_indices_)) == len(enn.sample_indices_)
    np.testing.assert_array_equal(X_res, X[enn.sample_indices_])
    rep = enn.report_
    assert rep.rows_added == 0 and rep.rows_removed == len(y) - len(y_res) > 0
    for c in rep.classes:
        assert c.removed == (y == c.label).sum() - (y_res == c.label).sum()


def test_enn_cleans_only_the_strategy_classes():
    X, y = data(classes=3)
    enn = EditedNearestNeighbours(sampling_strategy=[0])
    _, y_res = enn.fit_resample(X, y)
    assert (y_res == 1).sum() == (y == 1).sum() and (y_res == 2).sum() == (y == 2).sum()
    assert (y_res == 0).sum() < (y == 0).sum()


@pytest.mark.parametrize("X, y", CASES)
def test_smoteenn_output_equals_imbalanced_learn(X, y):
    ours = SMOTEENN(random_state=5, n_jobs=2).fit_resample(X, y)
    ref = ImbSMOTEENN(random_state=5).fit_resample(X, y)
    np.testing.assert_array_equal(ours[0], ref[0])
    np.testing.assert_array_equal(ours[1], ref[1])


@pytest.mark.parametrize("X, y", CASES[1:])
def test_column_major_input_gives_the_same_rows_in_column_major(X, y):
    # pandas hands a float block over column-major; the samplers keep that layout (so a
    # DataFrame of the result needs no transposing copy) and return the same values
    F = np.asfortranarray(X)
    for sampler in (SMOTE(random_state=5), EditedNearestNeighbours(),
                    SMOTEENN(random_state=5, n_jobs=2)):
        ours = sampler.fit_resample(F, y)
        ref = sampler.fit_resample(np.ascontiguousarray(X), y)
        np.testing.assert_array_equal(ours[0], ref[0])
        np.testing.assert_array_equal(ours[1], ref[1])
        assert ours[0].flags.f_contiguous and ref[0].flags.c_contiguous
    ref = ImbSMOTEENN(random_state=5).fit_resample(X, y)
    np.testing.assert_array_equal(SMOTEENN(random_state=5).fit_resample(F, y)[0], ref[0])


def test_smoteenn_accepts_imbalanced_learn_stages_and_clones_them():
    X, y = data(classes=3)
    smote, enn = ImbSMOTE(k_neighbors=4, random_state=2), ImbENN(n_neighbors=2, kind_sel="mode")
    ours = SMOTEENN(smote=smote, enn=enn)
    X_o, y_o = ours.fit_resample(X, y)
    X_r, y_r = ImbSMOTEENN(smote=smote, enn=enn).fit_resample(X, y)
    np.testing.assert_array_equal(X_o, X_r)
    np.testing.assert_array_equal(y_o, y_r)
    assert isinstance(ours.smote_, SMOTE) and ours.smote_.k_neighbors == 4
    assert ours.enn_.kind_sel == "mode" and ours.enn_.n_neighbors == 2


def test_smoteenn_stages_are_cloned_not_fitted_in_place():
    X, y = data()
    smote = SMOTE(k_neighbors=3, random_state=1)
    s = SMOTEENN(smote=smote, enn=EditedNearestNeighbours(sampling_strategy="all"))
    s.fit_resample(X, y)
    assert not hasattr(smote, "report_") and s.smote_ is not smote


def test_smoteenn_report_adds_then_removes():
    X, y = data(classes=3)
    s = SMOTEENN(random_state=0)
    X_res, y_res = s.fit_resample(X, y)
    rep = s.report_
    assert [st.sampler for st in rep.stages] == ["SMOTE", "EditedNearestNeighbours"]
    assert rep.rows_added == rep.stages[0].rows_added > 0
    assert rep.rows_removed == rep.stages[1].rows_removed > 0
    for c in rep.classes:
        assert c.after == c.before + c.added - c.removed == (y_res == c.label).sum()


def test_smoteenn_defaults_are_imbalanced_learns():
    s = SMOTEENN(random_state=1)
    X, y = data()
    s.fit_resample(X, y)
    assert (s.smote_.k_neighbors, s.smote_.sampling_strategy) == (5, "auto")
    assert (s.enn_.n_neighbors, s.enn_.kind_sel, s.enn_.sampling_strategy) == (3, "all", "all")


def test_smoteenn_in_an_imbalanced_learn_pipeline_resamples_fit_data_only():
    X, y = data(n=800)
    X_train, y_train, X_test = X[:600], y[:600], X[600:]
    pipe = Pipeline([("balance", SMOTEENN(random_state=0)), ("clf", LogisticRegression())])
    pipe.fit(X_train, y_train)
    report = pipe.named_steps["balance"].report_
    assert report.rows_before == 600  # the sampler saw the training rows only
    assert pipe.predict(X_test).shape == (200,)  # and never touches prediction data


def test_dataframe_in_dataframe_out():
    X, y = data()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    s = SMOTEENN(random_state=0)
    X_res, y_res = s.fit_resample(frame, pd.Series(y, name="label"))
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == list(frame.columns)
    assert y_res.name == "label"
    assert list(s.get_feature_names_out()) == list(frame.columns)


def test_errors_are_one_line_parameter_errors():
    X, y = data()
    with pytest.raises(ParameterError, match=r"`k_neighbors` of SMOTE must be an int >= 1; got 0"):
        SMOTE(k_neighbors=0).fit_resample(X, y)
    with pytest.raises(ParameterError, match=r"`kind_sel` of EditedNearestNeighbours must be"):
        EditedNearestNeighbours(kind_sel="any").fit_resample(X, y)
    with pytest.raises(
        ParameterError, match=r"`n_neighbors` of EditedNearestNeighbours must be an"
    ):
        EditedNearestNeighbours(n_neighbors=0).fit_resample(X, y)
    with pytest.raises(ParameterError, match=r"`smote` of SMOTEENN must be None or a SMOTE"):
        SMOTEENN(smote="smote").fit_resample(X, y)
    with pytest.raises(ParameterError, match=r"must use an integer `k_neighbors`"):
        SMOTEENN(smote=ImbSMOTE(k_neighbors=NearestNeighbors())).fit_resample(X, y)
    with pytest.raises(ParameterError, match=r"`sampling_strategy` of SMOTE is not usable"):
        SMOTE(sampling_strategy="sideways").fit_resample(X, y)
    with pytest.raises(ParameterError, match=r"`n_jobs` of SMOTE must be None, -1 or an int"):
        SMOTE(n_jobs=0).fit_resample(X, y)
    y_small = y.copy()
    y_small[np.flatnonzero(y == 1)[3:]] = 0  # class 1 keeps 3 rows
    with pytest.raises(ParameterError, match=r"class 1 has 3 rows and k_neighbors is 5"):
        SMOTE().fit_resample(X, y_small)
    with pytest.raises(ParameterError, match=r"must be below the number of rows \(6\)"):
        EditedNearestNeighbours(n_neighbors=6).fit_resample(X[:6], np.array([0, 0, 0, 1, 1, 1]))


def test_error_messages_are_one_line():
    X, y = data()
    for bad in (SMOTE(k_neighbors=0), SMOTEENN(enn=3), EditedNearestNeighbours(kind_sel=1)):
        with pytest.raises(ParameterError) as info:
            bad.fit_resample(X, y)
        assert "\n" not in str(info.value)
