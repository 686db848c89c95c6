"""``make_detector``: every detector by name, with one seed and thread count."""

from __future__ import annotations

from typing import Any

from riskscope.exceptions import ParameterError
from riskscope.models.persistence import KINDS, detector_class

__all__ = ["BENIGN_ONLY", "DETECTORS", "make_detector"]

#: Detector names ``make_detector`` accepts.
DETECTORS: tuple[str, ...] = tuple(KINDS)
#: The detectors trained on benign rows only (anomaly scores, classes ``[0, 1]``).
BENIGN_ONLY: tuple[str, ...] = ("autoencoder", "isolation_forest")


def make_detector(name: str, *, seed: int, n_jobs: int = 1, **params: Any) -> Any:
    """Build an unfitted detector by name.

    Parameters
    ----------
    name : str
        One of ``"mlp"``, ``"lightgbm"``, ``"xgboost"``, ``"random_forest"`` (supervised)
        or ``"autoencoder"``, ``"isolation_forest"`` (benign-only).
    seed : int
        The run's seed; the same seed gives the same fitted model.
    n_jobs : int, default=1
        Threads for fitting and scoring.
    **params
        Constructor arguments of the detector class.

    Returns
    -------
    Detector

    Raises
    ------
    ParameterError
        For an unknown name or constructor argument.

    Examples
    --------
    >>> from riskscope.models import make_detector
    >>> make_detector("random_forest", seed=42, n_estimators=50)
    RandomForestDetector(n_estimators=50, seed=42)
    """
    if name not in KINDS:
        raise ParameterError(f"Unknown detector {name!r}; choose one of {', '.join(DETECTORS)}.")
    cls = detector_class(name)
    try:
        return cls(seed=seed, n_jobs=n_jobs, **params)
    except TypeError:
        valid = sorted(cls().get_params())
        bad = sorted(set(params) - set(valid))
        raise ParameterError(
            f"Detector {name!r} has no parameter {', '.join(map(repr, bad))}; valid: "
            f"{', '.join(valid)}."
        ) from None
