"""Resamplers with imbalanced-learn's ``fit_resample`` contract (filled by the ids issue)."""
