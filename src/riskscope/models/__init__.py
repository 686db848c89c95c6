"""Detectors and classifiers (gradient boosting, neural nets, baselines) and portable model I/O.

Every detector follows one scikit-learn style API::

    det = make_detector("lightgbm", seed=42, n_jobs=2)
    det.fit(X_train, y_train, X_val=X_val, y_val=y_val, sample_weight=None)
    det.predict_proba(X_test)          # (n, len(det.classes_)), rows sum to 1
    det.save("run/models/lightgbm")   # model.json + the library's own model file
    load_detector("run/models/lightgbm").predict_proba(X_test)  # the same numbers

Supervised: ``mlp`` (PyTorch), ``lightgbm``, ``xgboost``, ``random_forest``; their
``class_weight`` parameter is the "class weights" rebalancing strategy (None = off).
Benign-only: ``autoencoder`` (PyTorch), ``isolation_forest``. ``fit(X, y=None, X_val=,
y_val=)`` keeps only benign rows (``y == benign_label``, or 0 for binary labels; all rows
when ``y`` is None); ``score_samples`` / ``decision_function`` are higher for more
anomalous flows; ``predict_proba`` is ``[benign, attack]``, a monotone map of the score
(0.5 at the benign ``1 - contamination`` quantile); ``classes_`` is ``[0, 1]``.

No file is ever pickled: LightGBM text, XGBoost JSON, torch ``state_dict`` as
safetensors, scikit-learn forests through skops with an explicit list of trusted types.
torch, LightGBM and XGBoost are optional extras, imported only when their detector is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from riskscope.models.factory import BENIGN_ONLY, DETECTORS, make_detector
from riskscope.models.persistence import load_detector

__all__ = [
    "BENIGN_ONLY",
    "DETECTORS",
    "AutoencoderDetector",
    "IsolationForestDetector",
    "LightGBMDetector",
    "MLPDetector",
    "RandomForestDetector",
    "XGBoostDetector",
    "load_detector",
    "make_detector",
]

_LAZY = {
    "MLPDetector": "riskscope.models.nn",
    "AutoencoderDetector": "riskscope.models.autoencoder",
    "LightGBMDetector": "riskscope.models.gbm",
    "XGBoostDetector": "riskscope.models.gbm",
    "RandomForestDetector": "riskscope.models.forest",
    "IsolationForestDetector": "riskscope.models.forest",
}


def __getattr__(name: str) -> Any:
    # Classes load on first use so that `import riskscope.models` needs no torch/LightGBM.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'riskscope.models' has no attribute {name!r}")
