"""Reason codes, grounded narratives, PII guard, fairness audits, human review (explain)."""
