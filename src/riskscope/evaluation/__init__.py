"""Metrics with confidence intervals, cross-validation and comparison tables."""
