"""Resamplers with imbalanced-learn's ``fit_resample`` contract, for training splits only.

Every sampler here is an imbalanced-learn sampler, so it fits in
:class:`imblearn.pipeline.Pipeline`, which resamples during ``fit`` and never at
``predict``/``score`` time; :func:`resample_train` does the same for a
:class:`~riskscope.features.splits.Split` by hand. Each sets ``report_``, a
:class:`ResampleReport` of the rows added and removed per class.

Strategies (:func:`make_sampler`, ``riskscope ids run --balance``):

- ``none``: :class:`NoResampling`.
- ``class_weight``: rows unchanged; detectors get :func:`sample_weights` instead.
- ``random_under``: :class:`MajorityUnderSampler` (imbalanced-learn's random
  under-sampler on the largest class only).
- ``random_over``: :class:`FloorOverSampler` (imbalanced-learn's random over-sampler
  up to a floor, the reference notebook's 5,000 flows).
- ``smote``, ``smoteenn``: :class:`SMOTE`, :class:`SMOTEENN` with riskscope's exact
  neighbour search: imbalanced-learn's results, about 100x faster on 200,000 rows.
"""

from riskscope.sampling._base import BaseResampler
from riskscope.sampling.basic import (
    WEIGHT_STRATEGIES,
    FloorOverSampler,
    MajorityUnderSampler,
    NoResampling,
    class_weights,
    sample_weights,
)
from riskscope.sampling.factory import SAMPLER_NAMES, make_sampler, resample_train
from riskscope.sampling.report import ClassCounts, ResampleReport
from riskscope.sampling.smote import SMOTE, SMOTEENN, EditedNearestNeighbours

__all__ = [
    "SAMPLER_NAMES",
    "SMOTE",
    "SMOTEENN",
    "WEIGHT_STRATEGIES",
    "BaseResampler",
    "ClassCounts",
    "EditedNearestNeighbours",
    "FloorOverSampler",
    "MajorityUnderSampler",
    "NoResampling",
    "ResampleReport",
    "class_weights",
    "make_sampler",
    "resample_train",
    "sample_weights",
]
