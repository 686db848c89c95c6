"""Report sections shared by every pipeline, starting with the data profile."""

from __future__ import annotations

import pandas as pd

from riskscope.io.profile import MISSING_LABEL, DataProfile
from riskscope.report.html import Report, Section
from riskscope.report.plots import label_distribution, missing_inf_bars

__all__ = ["add_profile_section"]

NO_MISSING_TEXT = "No missing or infinite values."

# Largest/smallest class ratio above which the section warns about imbalance.
_IMBALANCE_RATIO = 50
# The per-column table is collapsed anyway; the cap keeps wide frames' reports small.
_MAX_COLUMN_ROWS = 300
_MAX_NAMES = 30


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.2%}" if whole else "n/a"


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_NAMES])
    return shown + (f", ... ({len(names) - _MAX_NAMES} more)" if len(names) > _MAX_NAMES else "")


def add_profile_section(
    report: Report,
    profile: DataProfile,
    *,
    title: str = "Data profile",
    prefix: str | None = None,
) -> Section:
    """Add the standard data-profile section to ``report``.

    It shows the key counts, the label distribution (plot and table with shares), the
    missing and infinite values per column (or says "No missing or infinite values."),
    the constant columns, and a collapsed per-column table.

    Parameters
    ----------
    report : Report
    profile : DataProfile
        From :func:`riskscope.io.profile.profile_frame`.
    title : str, default "Data profile"
    prefix : str, optional
        Prepended to the figure names (``label_distribution``, ``missing_inf``) as
        ``<prefix>_<name>``, so that two profiles (e.g. train and test) can share a report.

    Returns
    -------
    Section

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.io.profile import profile_frame
    >>> from riskscope.report.html import Report
    >>> from riskscope.report.sections import add_profile_section
    >>> df = pd.DataFrame({"x": [1.0, np.nan, 3.0], "y": ["good", "bad", "good"]})
    >>> rep = Report(title="demo")
    >>> _ = add_profile_section(rep, profile_frame(df, label="y"), prefix="train")
    >>> [name for name, _ in rep.figures()]
    ['train_label_distribution', 'train_missing_inf']
    """
    p = profile
    fig_name = (lambda n: n) if prefix is None else (lambda n: f"{prefix}_{n}")
    sec = report.section(title, intro=_intro(p))
    n_cells = p.n_rows * p.n_columns
    sec.kv(
        {
            "rows": p.n_rows,
            "columns": p.n_columns,
            "duplicate rows": f"{p.n_duplicate_rows:,} ({_share(p.n_duplicate_rows, p.n_rows)})",
            "missing cells": f"{p.n_missing_cells:,} ({_share(p.n_missing_cells, n_cells)})",
            "infinite cells": f"{p.n_inf_cells:,} ({_share(p.n_inf_cells, n_cells)})",
            "constant columns": len(p.constant_columns),
            **({"label column": p.label} if p.label is not None else {}),
        },
        caption="Key numbers",
    )
    if p.n_duplicate_rows:
        sec.note(
            f"{p.n_duplicate_rows:,} rows repeat an earlier row exactly; duplicates shared "
            "between training and test data inflate scores.",
            level="warn",
        )
    if p.label is not None and p.label_counts:
        _label_part(sec, p, fig_name("label_distribution"))
    _missing_part(sec, p, fig_name("missing_inf"))
    if p.constant_columns:
        sec.note(
            f"{len(p.constant_columns)} constant column(s) carry no information and can be "
            f"dropped: {_names(p.constant_columns)}.",
            level="warn",
        )
    else:
        sec.text("No constant columns.")
    cols = p.to_frame()
    caption = "Per-column statistics"
    if len(p.columns) < p.n_columns:
        caption += f" (profiled {len(p.columns)} of {p.n_columns} columns)"
    sec.table(cols, caption=caption, max_rows=_MAX_COLUMN_ROWS, collapsed=True)
    return sec


def _intro(p: DataProfile) -> str:
    text = f"Profile of {p.name}: {p.n_rows:,} rows and {p.n_columns:,} columns"
    return text + (f"; label column '{p.label}'." if p.label is not None else ".")


def _label_part(sec: Section, p: DataProfile, name: str) -> None:
    counts = p.label_counts
    total = sum(counts.values())
    sec.figure(
        label_distribution(counts, title=f"Label distribution ({p.label})"),
        name=name,
        caption=f"Rows per value of '{p.label}'.",
    )
    table = pd.DataFrame(
        {
            "label": [str(k) for k in counts],
            "rows": list(counts.values()),
            "share": [_share(v, total) for v in counts.values()],
        }
    )
    sec.table(table, caption=f"Label counts ({len(counts)} values)", max_rows=100)
    present = [v for k, v in counts.items() if k != MISSING_LABEL and v > 0]
    if len(present) > 1 and max(present) / min(present) > _IMBALANCE_RATIO:
        sec.note(
            f"Classes are imbalanced: the largest is {max(present) / min(present):,.0f} times "
            "the smallest; prefer PR-AUC and per-class recall to accuracy.",
            level="info",
        )
    if MISSING_LABEL in counts:
        sec.note(f"{counts[MISSING_LABEL]:,} rows have no label.", level="warn")


def _missing_part(sec: Section, p: DataProfile, name: str) -> None:
    bad = [c for c in p.columns if c.n_missing or c.n_inf]
    if not bad:
        if p.n_missing_cells or p.n_inf_cells:
            sec.note(
                f"{p.n_missing_cells:,} missing and {p.n_inf_cells:,} infinite cells lie in "
                "columns left out of the per-column statistics (max_columns).",
                level="warn",
            )
        else:
            sec.text(NO_MISSING_TEXT)
        return
    table = pd.DataFrame(
        {
            "column": [c.name for c in bad],
            "dtype": [c.dtype for c in bad],
            "missing": [c.n_missing for c in bad],
            "missing share": [_share(c.n_missing, p.n_rows) for c in bad],
            "infinite": pd.array([c.n_inf for c in bad], dtype="Int64"),
        }
    )
    sec.table(
        table,
        caption=f"Columns with missing or infinite values ({len(bad)})",
        max_rows=100,
    )
    fig = missing_inf_bars(p)
    if fig is not None:
        sec.figure(fig, name=name, caption="Missing and infinite cells per column.")
