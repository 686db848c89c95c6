"""Binning, WOE/IV, scorecard points and population stability (filled by the credit issue)."""

from riskscope.scorecard.binning import BinningTable, WoeBinner

__all__ = ["BinningTable", "WoeBinner"]
