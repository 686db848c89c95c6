"""Gradient boosting: early stopping on validation rows, kept trees, binary problems."""

from __future__ import annotations

import numpy as np
import pytest
from _detector_cases import fast
from numpy.testing import assert_allclose


@pytest.mark.parametrize("name", ["lightgbm", "xgboost"])
def test_early_stopping_on_noise_labels(name):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 5)), rng.integers(0, 3, size=300)
    Xv, yv = rng.normal(size=(100, 5)), rng.integers(0, 3, size=100)
    det = fast(name, n_estimators=300, early_stopping_rounds=5).fit(X, y, X_val=Xv, y_val=yv)
    assert det.best_iteration_ < 50
    b = det.booster_
    kept = b.num_trees() if name == "lightgbm" else b.num_boosted_rounds() * 3
    assert kept == det.best_iteration_ * 3  # only the kept trees


@pytest.mark.parametrize("name", ["lightgbm", "xgboost"])
def test_without_validation_uses_all_rounds(name, toy):
    X, y = toy
    assert fast(name, n_estimators=7).fit(X, y).best_iteration_ == 7


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "mlp", "random_forest"])
def test_binary_problem(name, toy):
    X, y = toy
    yb = np.where(y == "BENIGN", "BENIGN", "ATTACK")
    det = fast(name).fit(X, yb)
    proba = det.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert det.score(X, yb) > 0.8


@pytest.mark.parametrize("name", ["lightgbm", "xgboost"])
def test_sample_weight_changes_the_model(name, toy):
    X, y = toy
    w = np.where(y == "Bot", 20.0, 1.0)
    a = fast(name).fit(X, y).predict_proba(X)
    b = fast(name).fit(X, y, sample_weight=w).predict_proba(X)
    bot = list(np.unique(y)).index("Bot")
    assert b[:, bot].mean() > a[:, bot].mean()
