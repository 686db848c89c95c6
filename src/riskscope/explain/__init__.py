"""Reason codes, grounded narratives, PII guard, fairness audits and human review (explain issue)."""
