"""Binning, WOE/IV, feature selection, scorecard points and population stability."""

from riskscope.scorecard.binning import BinningTable, WoeBinner
from riskscope.scorecard.points import Scorecard, score_from_odds
from riskscope.scorecard.psi import (
    BandReference,
    PSIResult,
    feature_psi,
    psi,
    psi_status,
    summarize_psi,
)
from riskscope.scorecard.selection import IVFilter, WoeCorrelationFilter, XGBStepwiseSelector

__all__ = [
    "BandReference",
    "BinningTable",
    "IVFilter",
    "PSIResult",
    "Scorecard",
    "WoeBinner",
    "WoeCorrelationFilter",
    "XGBStepwiseSelector",
    "feature_psi",
    "psi",
    "psi_status",
    "score_from_odds",
    "summarize_psi",
]
