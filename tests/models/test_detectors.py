"""Invariants every detector keeps: shapes, probabilities, seeds, names, errors, sklearn API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _detector_cases import ALL, BENIGN_ONLY, SUPERVISED, fast
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from riskscope.exceptions import NotFittedError, ParameterError, SchemaError
from riskscope.models import BENIGN_ONLY as BENIGN_ONLY_NAMES
from riskscope.models import DETECTORS, make_detector


def test_registry_lists_every_detector():
    assert set(DETECTORS) == set(ALL)
    assert set(BENIGN_ONLY_NAMES) == set(BENIGN_ONLY)


@pytest.mark.parametrize("name", SUPERVISED)
def test_supervised_fit_predict_proba(name, toy_split):
    X, y, Xv, yv = toy_split
    det = fast(name).fit(X, y, X_val=Xv, y_val=yv)
    assert det.classes_.tolist() == ["BENIGN", "Bot", "DoS", "PortScan"]
    assert det.n_features_in_ == 8
    assert det.feature_names_in_.tolist() == list(X.columns)
    proba = det.predict_proba(Xv)
    assert proba.shape == (len(Xv), 4)
    assert (proba >= 0).all()
    assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert_array_equal(det.predict(Xv), det.classes_[proba.argmax(axis=1)])
    assert det.score(Xv, yv) > 0.6  # learns something on separable toy data


@pytest.mark.parametrize("name", BENIGN_ONLY)
def test_benign_only_fit_predict_proba(name, toy_split):
    X, y, Xv, yv = toy_split
    det = fast(name).fit(X, y, X_val=Xv, y_val=yv)
    assert det.classes_.tolist() == [0, 1]
    proba = det.predict_proba(Xv)
    assert proba.shape == (len(Xv), 2)
    assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    scores = det.score_samples(Xv)
    assert_allclose(det.decision_function(Xv), scores - det.offset_)
    # predict_proba is a monotone map of the score
    order = np.argsort(scores, kind="stable")
    assert (np.diff(proba[order, 1]) >= -1e-12).all()
    assert set(np.unique(det.predict(Xv))) <= {0, 1}


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_output(name, toy_split):
    X, y, Xv, yv = toy_split
    a = fast(name, seed=3).fit(X, y, X_val=Xv, y_val=yv).predict_proba(Xv)
    b = fast(name, seed=3).fit(X, y, X_val=Xv, y_val=yv).predict_proba(Xv)
    assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["mlp", "random_forest", "autoencoder", "isolation_forest"])
def test_seed_matters(name, toy_split):
    X, y, Xv, _ = toy_split
    a = fast(name, seed=1).fit(X, y).predict_proba(Xv)
    b = fast(name, seed=2).fit(X, y).predict_proba(Xv)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("name", ALL)
def test_dataframe_and_array_agree_and_column_order_is_by_name(name, toy_split):
    X, y, Xv, _ = toy_split
    by_frame = fast(name).fit(X, y)
    by_array = fast(name).fit(X.to_numpy(), y)
    assert not hasattr(by_array, "feature_names_in_")
    assert_array_equal(by_frame.predict_proba(Xv), by_array.predict_proba(Xv.to_numpy()))
    shuffled = Xv[list(reversed(Xv.columns))]
    assert_array_equal(by_frame.predict_proba(shuffled), by_frame.predict_proba(Xv))


@pytest.mark.parametrize("name", ["mlp", "lightgbm"])
def test_column_mismatch_is_a_schema_error(name, toy_split):
    X, y, Xv, _ = toy_split
    det = fast(name).fit(X, y)
    with pytest.raises(SchemaError, match=r"missing 1 \('f3'\).*feature_names_in_"):
        det.predict_proba(Xv.drop(columns="f3"))
    with pytest.raises(SchemaError, match=r"1 unknown \('extra'\)"):
        det.predict_proba(Xv.assign(extra=1.0))
    with pytest.raises(SchemaError, match="has 7 features, but .* expecting 8 features"):
        det.predict_proba(Xv.to_numpy()[:, :7])


@pytest.mark.parametrize("name", ALL)
def test_clone_and_params(name):
    det = fast(name, seed=5)
    twin = clone(det)
    assert twin.get_params() == det.get_params()
    assert twin.seed == 5


@pytest.mark.parametrize("name", ALL)
def test_not_fitted(name, toy):
    X, _ = toy
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        fast(name).predict_proba(X)


@pytest.mark.parametrize("name", ["mlp", "autoencoder"])
def test_neural_detectors_refuse_nan(name, toy):
    X, y = toy
    X = X.copy()
    X.iloc[[4, 9], 2] = np.nan
    with pytest.raises(SchemaError, match=r"NaN in 2 rows \(rows 4, 9\).*impute"):
        fast(name).fit(X, y)


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "random_forest"])
def test_tree_detectors_accept_nan(name, toy):
    X, y = toy
    X = X.copy()
    X.iloc[::7, 2] = np.nan
    proba = fast(name).fit(X, y).predict_proba(X)
    assert np.isfinite(proba).all()


@pytest.mark.parametrize("name", ALL)
def test_infinity_is_refused(name, toy):
    X, y = toy
    X = X.copy()
    X.iloc[5, 1] = np.inf
    with pytest.raises(SchemaError, match=r"Infinity in 1 rows \(rows 5\)"):
        fast(name).fit(X, y)


def test_input_errors(toy):
    X, y = toy
    det = fast("lightgbm")
    with pytest.raises(SchemaError, match="one label per row"):
        det.fit(X, y[:10])
    with pytest.raises(SchemaError, match="at least 2"):
        det.fit(X, np.full(len(X), "BENIGN"))
    with pytest.raises(SchemaError, match="y_val has labels absent from y"):
        det.fit(X, y, X_val=X.iloc[:5], y_val=["Worm"] * 5)
    with pytest.raises(SchemaError, match="X_val and y_val together"):
        det.fit(X, y, X_val=X)
    with pytest.raises(SchemaError, match="not numeric"):
        det.fit(X.assign(f0="a"), y)
    with pytest.raises(SchemaError, match="must be 2-D"):
        det.fit(X.to_numpy()[:, 0], y)
    with pytest.raises(SchemaError, match="sample_weight must be 400 finite non-negative"):
        det.fit(X, y, sample_weight=-np.ones(len(X)))


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("mlp", {"max_epochs": 0}, r"`max_epochs` of MLPDetector must be an int >= 1; got 0\."),
        ("mlp", {"hidden_layer_sizes": ()}, "non-empty tuple of positive ints"),
        ("mlp", {"monitor": "auc"}, "`monitor` of MLPDetector must be one of 'f1', 'loss'"),
        ("mlp", {"class_weight": "inverse"}, "`class_weight` of MLPDetector must be None"),
        ("lightgbm", {"learning_rate": 0}, "`learning_rate` of LightGBMDetector"),
        ("xgboost", {"subsample": 1.5}, r"`subsample` of XGBoostDetector .* <= 1\.0"),
        ("random_forest", {"max_features": "all"}, "`max_features` of RandomForestDetector"),
        ("autoencoder", {"contamination": 0.9}, "`contamination` of AutoencoderDetector"),
        ("isolation_forest", {"n_estimators": 0}, "`n_estimators` of IsolationForestDetector"),
    ],
)
def test_bad_parameters(name, params, match, toy):
    X, y = toy
    with pytest.raises(ParameterError, match=match):
        make_detector(name, seed=0, **params).fit(X, y)


def test_make_detector_errors():
    with pytest.raises(ParameterError, match="Unknown detector 'svm'; choose one of mlp"):
        make_detector("svm", seed=0)
    with pytest.raises(ParameterError, match="has no parameter 'depth'; valid:"):
        make_detector("lightgbm", seed=0, depth=3)


def test_make_detector_passes_seed_and_threads():
    det = make_detector("xgboost", seed=11, n_jobs=2, max_depth=4)
    assert (det.seed, det.n_jobs, det.max_depth) == (11, 2, 4)


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "random_forest", "mlp"])
def test_class_weight_equals_matching_sample_weight(name, toy):
    # "balanced" is row weights n / (k * n_c), rescaled to mean 1; passing those weights
    # explicitly must train the same model.
    from riskscope.models._base import class_weights

    X, y = toy
    X, y = X.iloc[:260], y[:260]  # unequal class counts
    classes, enc = np.unique(y, return_inverse=True)
    w = class_weights(enc, classes.size, "balanced", classes)[enc]
    a = fast(name, class_weight="balanced").fit(X, y).predict_proba(X)
    b = fast(name, class_weight=None).fit(X, y, sample_weight=w).predict_proba(X)
    assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_class_weights_helper():
    from riskscope.models._base import class_weights

    y = np.array([0] * 90 + [1] * 10)
    classes = np.array(["a", "b"])
    bal = class_weights(y, 2, "balanced", classes)
    assert_allclose((bal[y]).mean(), 1.0)
    assert_allclose(bal[1] / bal[0], 9.0)
    sq = class_weights(y, 2, "sqrt_balanced", classes)
    assert_allclose(sq[1] / sq[0], 3.0)
    clipped = class_weights(y, 2, "balanced", classes, clip=4.0)
    assert_allclose(clipped[1] / clipped[0], 4.0)
    by_label = class_weights(y, 2, {"b": 5.0}, classes)
    assert_allclose(by_label[1] / by_label[0], 5.0)
    assert_array_equal(class_weights(y, 2, None, classes), [1.0, 1.0])


def test_frame_with_non_string_columns_records_no_names(toy):
    X, y = toy
    det = fast("random_forest").fit(pd.DataFrame(X.to_numpy()), y)
    assert not hasattr(det, "feature_names_in_")


# scikit-learn's own estimator checks, less the few that do not apply to these models.
_EXPECTED_FAILURES = {
    # Weights are not "repeat the row" for bagged, boosted or mini-batch models.
    "check_sample_weight_equivalence_on_dense_data": "stochastic fit",
    # Non-numeric cells raise SchemaError (a ValueError), not TypeError.
    "check_dtype_object": "SchemaError is a ValueError",
}


def _sklearn_checks():
    from sklearn.utils.estimator_checks import parametrize_with_checks

    estimators = [fast(name) for name in SUPERVISED]

    def expected(est):
        out = dict(_EXPECTED_FAILURES)
        if est.kind == "mlp":  # a 10-epoch toy network misses its accuracy threshold
            out["check_class_weight_classifiers"] = "tiny network, few epochs"
        return out

    return parametrize_with_checks(estimators, expected_failed_checks=expected)


@_sklearn_checks()
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
