"""Benign-only detectors: trained on benign rows, rank anomalies above normal flows."""

from __future__ import annotations

import numpy as np
import pytest
from _detector_cases import BENIGN_ONLY, fast
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.metrics import roc_auc_score

from riskscope.exceptions import SchemaError


def _benign(rng, n):
    # Correlated benign traffic on a low-dimensional manifold, plus a little noise.
    latent = rng.normal(size=(n, 3))
    mix = np.random.default_rng(99).normal(size=(3, 10))
    return latent @ mix + 0.05 * rng.normal(size=(n, 10))


@pytest.fixture(scope="module")
def anomaly_data():
    rng = np.random.default_rng(0)
    train, val, normal = _benign(rng, 600), _benign(rng, 200), _benign(rng, 200)
    off_manifold = _benign(rng, 60) + rng.normal(scale=2.5, size=(60, 10))
    shifted = _benign(rng, 60)
    shifted[:, :3] += 6.0
    anomalies = np.vstack([off_manifold, shifted])
    return train, val, normal, anomalies


@pytest.mark.parametrize("name", BENIGN_ONLY)
def test_injected_anomalies_rank_above_normals(name, anomaly_data):
    train, val, normal, anomalies = anomaly_data
    params = {"max_epochs": 60, "hidden_layer_sizes": (16, 3)} if name == "autoencoder" else {}
    det = fast(name, **params).fit(train, X_val=val)
    scores = det.score_samples(np.vstack([normal, anomalies]))
    truth = np.r_[np.zeros(len(normal)), np.ones(len(anomalies))]
    assert roc_auc_score(truth, scores) > 0.9
    # about `contamination` of benign rows lie above the offset
    assert np.mean(det.decision_function(normal) > 0) < 0.08


@pytest.mark.parametrize("name", BENIGN_ONLY)
def test_labels_select_benign_rows(name, anomaly_data):
    train, val, normal, anomalies = anomaly_data
    X = np.vstack([train, anomalies])
    y = np.array(["BENIGN"] * len(train) + ["DoS"] * len(anomalies))
    yv = ["BENIGN"] * len(val) + ["x"] * len(anomalies)
    a = fast(name).fit(X, y, X_val=np.vstack([val, anomalies]), y_val=yv)
    b = fast(name).fit(train, X_val=val)
    assert a.n_train_rows_ == len(train)
    assert_array_equal(a.score_samples(normal), b.score_samples(normal))
    assert a.offset_ == b.offset_
    # binary labels: 0 is benign
    c = fast(name).fit(X, (y != "BENIGN").astype(int), X_val=val)
    assert_array_equal(c.score_samples(normal), b.score_samples(normal))
    d = fast(name, benign_label="normal").fit(X, np.where(y == "BENIGN", "normal", y), X_val=val)
    assert_array_equal(d.score_samples(normal), b.score_samples(normal))


@pytest.mark.parametrize("name", BENIGN_ONLY)
def test_no_benign_rows(name, anomaly_data):
    train, *_ = anomaly_data
    with pytest.raises(SchemaError, match="no benign rows among 600 labels.*benign_label="):
        fast(name).fit(train, ["DoS"] * len(train))


def test_probability_mapping_anchors(anomaly_data):
    train, val, *_ = anomaly_data
    det = fast("isolation_forest", contamination=0.05).fit(train, X_val=val)
    s = det.score_samples(val)
    assert det.offset_ == pytest.approx(np.quantile(s, 0.95))
    p = det.predict_proba(val)[:, 1]
    at_median = p[np.argsort(s)[len(s) // 2]]
    assert at_median == pytest.approx(0.01, abs=0.005)
    assert np.mean(det.predict(val)) == pytest.approx(0.05, abs=0.01)


def test_autoencoder_holds_out_validation_when_none_given(anomaly_data):
    train, *_ = anomaly_data
    det = fast("autoencoder", max_epochs=3).fit(train)
    assert det.history_[0]["val_loss"] is not None
    assert_allclose(det.predict_proba(train).sum(axis=1), 1.0)


def test_isolation_forest_score_is_minus_sklearn(anomaly_data):
    train, val, normal, _ = anomaly_data
    det = fast("isolation_forest").fit(train)
    assert_allclose(det.score_samples(normal), -det.forest_.score_samples(normal))
