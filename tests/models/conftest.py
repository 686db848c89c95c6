"""Small generated data and fast settings for every detector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification


@pytest.fixture(scope="session")
def toy() -> tuple[pd.DataFrame, np.ndarray]:
    """400 rows, 8 named features, 4 string classes (the first one "BENIGN")."""
    X, y = make_classification(
        n_samples=400,
        n_features=8,
        n_informative=5,
        n_redundant=1,
        n_classes=4,
        n_clusters_per_class=1,
        class_sep=1.5,
        random_state=7,
    )
    names = np.array(["BENIGN", "DoS", "PortScan", "Bot"])
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    return frame, names[y]


@pytest.fixture(scope="session")
def toy_split(toy):
    X, y = toy
    return X.iloc[:300], y[:300], X.iloc[300:], y[300:]
