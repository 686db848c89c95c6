"""Readers for every input format, the dataset registry, schema checks and data profiles.

Everything that enters riskscope passes through here and leaves as a validated frame
(or graph); nothing downstream re-validates raw input.
"""
