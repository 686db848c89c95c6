"""Binning, WOE/IV, feature selection, scorecard points and population stability."""

from riskscope.scorecard.binning import BinningTable, WoeBinner
from riskscope.scorecard.selection import IVFilter, WoeCorrelationFilter, XGBStepwiseSelector

__all__ = ["BinningTable", "IVFilter", "WoeBinner", "WoeCorrelationFilter", "XGBStepwiseSelector"]
