"""Cleaning, pruning, splitting and scaling of feature tables (ids and credit issues)."""
