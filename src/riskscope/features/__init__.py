"""Cleaning, pruning, splitting and scaling of feature tables (filled by the ids and credit issues)."""
