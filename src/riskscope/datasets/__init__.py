"""Small real datasets shipped with riskscope, each with a data card.

``german_credit`` (UCI Statlog German credit, all 1,000 rows), ``cicids2017_excerpt``
(corrected CICIDS2017 flows, all 16 labels) and ``carbanak_excerpt`` (a few thousand edges
of a real host provenance graph around Carbanak attack steps) are rebuilt from
``../shared/data`` by ``scripts/make_bundled_data.py``; ``apt_recorded`` (strace logs of
benign work and two harmless attacks, with ground truth) was recorded here by
``benchmarks/apt_record.py``. Each folder holds the data and a ``card.json`` with source,
licence, citation and counts.
"""

from riskscope.datasets._loaders import (
    BUNDLED,
    CICIDS2017_IMPROVED_COLUMNS,
    ProvenanceExcerpt,
    RecordedRun,
    apt_recorded_runs,
    dataset_card,
    load_carbanak_excerpt,
    load_cicids2017_excerpt,
    load_german_credit,
)

__all__ = [
    "BUNDLED",
    "CICIDS2017_IMPROVED_COLUMNS",
    "ProvenanceExcerpt",
    "RecordedRun",
    "apt_recorded_runs",
    "dataset_card",
    "load_carbanak_excerpt",
    "load_cicids2017_excerpt",
    "load_german_credit",
]
