"""The MLP: early stopping, class weights, determinism, heavy tails, torch state untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _detector_cases import fast
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification

from riskscope.models import MLPDetector


def test_early_stopping_stops_on_noise_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = rng.integers(0, 3, size=300)
    Xv, yv = rng.normal(size=(100, 6)), rng.integers(0, 3, size=100)
    det = MLPDetector(
        hidden_layer_sizes=(32,), max_epochs=60, patience=4, min_epochs=1, batch_size=64, seed=0
    ).fit(X, y, X_val=Xv, y_val=yv)
    assert det.n_epochs_ < 60
    assert det.best_epoch_ == det.n_epochs_ - 4
    assert len(det.history_) == det.n_epochs_
    assert {"epoch", "train_loss", "val_loss", "val_f1"} <= set(det.history_[0])


def test_min_epochs_delays_early_stopping():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(200, 4)), rng.integers(0, 2, size=200)
    Xv, yv = rng.normal(size=(80, 4)), rng.integers(0, 2, size=80)
    params = {"hidden_layer_sizes": (8,), "max_epochs": 40, "patience": 2, "seed": 0}
    early = MLPDetector(min_epochs=1, **params).fit(X, y, X_val=Xv, y_val=yv)
    late = MLPDetector(min_epochs=15, **params).fit(X, y, X_val=Xv, y_val=yv)
    assert early.n_epochs_ < 15 <= late.n_epochs_


@pytest.mark.parametrize("schedule", ["plateau", "cosine", "constant"])
def test_lr_schedules_train(schedule, toy_split):
    X, y, Xv, yv = toy_split
    det = fast("mlp", lr_schedule=schedule).fit(X, y, X_val=Xv, y_val=yv)
    assert det.score(Xv, yv) > 0.6


@pytest.mark.parametrize("monitor", ["f1", "loss"])
def test_best_weights_are_restored(monitor, toy_split):
    X, y, Xv, yv = toy_split
    det = fast("mlp", max_epochs=8, patience=3, monitor=monitor).fit(X, y, X_val=Xv, y_val=yv)
    best = det.history_[det.best_epoch_ - 1]
    if monitor == "f1":
        from riskscope.models.nn import macro_f1

        got = macro_f1(np.searchsorted(det.classes_, yv), det.predict_proba(Xv).argmax(1))
        assert got == pytest.approx(best["val_f1"])
        assert best["val_f1"] == max(h["val_f1"] for h in det.history_)
    else:
        assert best["val_loss"] == min(h["val_loss"] for h in det.history_)


def test_class_weights_raise_minority_recall():
    # Overlapping classes, 1 in 12 positive: unweighted training gives up on much of the
    # minority; balanced weights trade precision for recall.
    X, y = make_classification(
        n_samples=1200,
        n_features=6,
        n_informative=3,
        weights=[11 / 12],
        class_sep=0.5,
        flip_y=0,
        random_state=3,
    )
    params = {"hidden_layer_sizes": (32,), "max_epochs": 15, "batch_size": 64, "seed": 0}
    recall = {}
    for cw in (None, "sqrt_balanced", "balanced"):
        pred = MLPDetector(class_weight=cw, class_weight_clip=None, **params).fit(X, y).predict(X)
        recall[cw] = float(np.mean(pred[y == 1] == 1))
    assert recall[None] < recall["sqrt_balanced"] < recall["balanced"]
    assert recall["balanced"] - recall[None] > 0.2


def test_recorded_class_weights(toy):
    X, y = toy
    det = fast("mlp", max_epochs=1).fit(X.iloc[:250], y[:250])
    w = np.asarray(det.class_weight_)
    counts = np.unique(y[:250], return_counts=True)[1]
    assert np.allclose(w / w.min(), np.sqrt(counts.max() / counts))


def test_fit_leaves_global_torch_state_alone(toy):
    X, y = toy
    threads = torch.get_num_threads()
    state = torch.get_rng_state()
    fast("mlp", n_jobs=1).fit(X, y)
    assert torch.equal(state, torch.get_rng_state())
    assert torch.get_num_threads() == threads


def test_heavy_tailed_inputs_stay_finite(toy):
    X, y = toy
    X = X.to_numpy().copy()
    X[::5, 0] *= 1e9  # rates and byte counts span many decades
    X[1::5, 1] = -1e12
    det = fast("mlp").fit(X, y)
    probe = X[:20].copy()
    probe[:, 2] = 1e30  # an extreme never seen in training
    assert np.isfinite(det.predict_proba(probe)).all()
    t = det.net_.transform(torch.as_tensor(probe, dtype=torch.float32))
    assert float(t.abs().max()) <= det.input_clip


def test_without_validation_stops_on_training_loss(toy):
    X, y = toy
    det = fast("mlp", max_epochs=5).fit(X, y)
    assert det.history_[0]["val_loss"] is None
    assert 1 <= det.best_epoch_ <= det.n_epochs_ <= 5


def test_single_row_batches_are_skipped(toy):
    X, y = toy
    det = fast("mlp", batch_size=299, max_epochs=1).fit(X.iloc[:300], y[:300])
    assert det.n_epochs_ == 1


def test_deterministic_predictions_twice(toy):
    X, y = toy
    det = fast("mlp").fit(X, y)
    assert_array_equal(det.predict_proba(X), det.predict_proba(X))
