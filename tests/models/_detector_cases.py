"""Fast settings for every detector, shared by the tests of this folder."""

from __future__ import annotations

#: Constructor arguments that keep each detector's fit well under a second.
FAST: dict[str, dict] = {
    "mlp": {"hidden_layer_sizes": (16, 8), "max_epochs": 10, "batch_size": 64},
    "lightgbm": {"n_estimators": 15, "num_leaves": 7},
    "xgboost": {"n_estimators": 15, "max_depth": 3},
    "random_forest": {"n_estimators": 8},
    "autoencoder": {"hidden_layer_sizes": (8, 3), "max_epochs": 4, "batch_size": 64},
    "isolation_forest": {"n_estimators": 20},
}
SUPERVISED = ("mlp", "lightgbm", "xgboost", "random_forest")
BENIGN_ONLY = ("autoencoder", "isolation_forest")
ALL = SUPERVISED + BENIGN_ONLY


def fast(name: str, seed: int = 0, **params):
    from riskscope.models import make_detector

    return make_detector(name, seed=seed, **{**FAST[name], **params})
