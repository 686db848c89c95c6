"""Detectors and classifiers (gradient boosting, neural nets, baselines) and portable model I/O."""
