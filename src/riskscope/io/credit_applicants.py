"""New applicants to score, read by the rules of :func:`riskscope.io.credit.read_credit`.

:func:`read_applicants` reads a table of applicants for a saved credit model: no target,
the model's columns found by name and typed as in training, every row kept.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskscope.exceptions import SchemaError
from riskscope.io.credit import _labels, _names, _read_any, _strip_text

__all__ = ["ApplicantData", "read_applicants"]


@dataclass(frozen=True)
class ApplicantData:
    """New applicants read for scoring: the model's columns, typed as in training.

    ``X`` has the model's column names in the model's order; ``extra`` lists the columns
    of the input the model does not use (a target column among them), in file order.
    """

    X: pd.DataFrame
    source: str
    extra: list[str]
    #: Every input column as read (text stripped), same index: what a PII guard must know.
    raw: pd.DataFrame | None = None


def read_applicants(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    columns: Sequence[str],
    categorical: Sequence[str] = (),
    header: bool | None = None,
    name: str | None = None,
) -> ApplicantData:
    """Read applicants to score with the reading rules of :func:`read_credit`.

    The file is split, its header detected and its cells stripped as :func:`read_credit`
    does; no target is needed. ``columns`` are found by name ignoring case and
    surrounding spaces; the ``categorical`` ones get the same text labels as in training
    and the others must hold numbers (blank or ``NA`` = missing). Nothing is dropped:
    every input row is one applicant, duplicates included.

    Parameters
    ----------
    source : path-like or pandas.DataFrame
    columns : sequence of str
        The model's feature columns, in its order.
    categorical : sequence of str, default ()
        Those of ``columns`` that were categorical in training.
    header : bool, optional
        As in :func:`read_credit`.
    name : str, optional
        What to call an in-memory ``source`` in messages and in ``ApplicantData.source``
        (default ``"<DataFrame>"``; a file is always named by its path).

    Returns
    -------
    ApplicantData

    Raises
    ------
    InputError
        If the file is missing, empty or cannot be split into columns.
    SchemaError
        If columns the model needs are absent (all are named in one line), the table has
        no rows, or a numeric column holds text.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscope.io.credit_applicants import read_applicants
    >>> new = pd.DataFrame({"Amount": ["1200", "NA"], "purpose": ["car", "tv"], "id": [7, 8]})
    >>> a = read_applicants(new, columns=["amount", "purpose"], categorical=["purpose"])
    >>> a.X["amount"].tolist(), a.extra
    ([1200.0, nan], ['id'])
    """
    shown = (name or "<DataFrame>") if isinstance(source, pd.DataFrame) else str(source)
    if isinstance(source, pd.DataFrame):
        raw = _strip_text(source)
        raw.columns = [str(c) for c in raw.columns]
    else:
        raw = _read_any(Path(source), shown, header)[0]
    by_key: dict[str, str] = {}
    for c in raw.columns:
        by_key.setdefault(c.strip().casefold(), c)
    found = {c: by_key.get(str(c).strip().casefold()) for c in columns}
    absent = [c for c, f in found.items() if f is None]
    if absent:
        raise SchemaError(
            f"Input '{shown}' lacks {len(absent)} column(s) the model needs: {_names(absent)}; "
            f"it has {raw.shape[1]} ({_names(list(raw.columns))}); columns are matched by "
            "name, ignoring case."
        )
    if len(raw) == 0:
        raise SchemaError(f"Input '{shown}' has no data rows below its header; nothing to score.")
    cats = set(categorical)
    X = {}
    for c, f in found.items():
        col = raw[f]
        if c in cats:
            X[c] = _labels(col).astype("category")
            continue
        nums = pd.to_numeric(col.astype(object), errors="coerce").astype(np.float64)
        text = (nums.isna() & col.notna()).to_numpy()
        if text.any():
            rows = ", ".join(str(i + 1) for i in np.flatnonzero(text)[:3])
            raise SchemaError(
                f"Column '{f}' in '{shown}' was numeric in training but has {int(text.sum())} "
                f"non-numeric value(s) (data rows {rows}{', ...' if text.sum() > 3 else ''}; "
                f"e.g. {col[text].iloc[0]!r}); fix them or leave them blank (= missing)."
            )
        X[c] = nums
    used = set(found.values())
    return ApplicantData(pd.DataFrame(X, index=raw.index), shown,
                         [c for c in raw.columns if c not in used], raw)
