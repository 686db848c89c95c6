"""Binning, WOE/IV, scorecard points and population stability (filled by the credit issue)."""
