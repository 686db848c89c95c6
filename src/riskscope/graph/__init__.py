"""Provenance graphs: schema, parsers' output, pruning, encoders, GNN and detector (apt issue)."""
