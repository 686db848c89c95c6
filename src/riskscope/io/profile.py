"""Data profiles: what a frame holds before anything is fitted on it.

A :class:`DataProfile` counts rows, missing and infinite cells, constant columns,
duplicate rows and the label distribution. Every pipeline records its metrics in the run
manifest and shows it in the report, so it must be cheap on large frames (vectorised
numpy, no per-row Python) and identical for the same data whatever the row order or the
frame library (pandas or polars).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from riskscope.exceptions import ParameterError, SchemaError

__all__ = ["ColumnProfile", "DataProfile", "MISSING_LABEL", "profile_frame"]

#: Key under which missing labels are counted in :attr:`DataProfile.label_counts`.
MISSING_LABEL = "<missing>"

_KIND = "riskscope.DataProfile"

# How many column names an error message lists before it elides the rest.
_MAX_NAMES_IN_MESSAGE = 12


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column.

    ``n_inf``, ``min``, ``max`` and ``mean`` are set for numeric columns only (booleans
    are not numeric here) and ``None`` otherwise; ``min``, ``max`` and ``mean`` cover the
    finite values, so they are ``None`` when a column has none.
    """

    name: str
    dtype: str
    n_missing: int
    n_inf: int | None
    n_unique: int
    is_constant: bool
    min: float | None = None
    max: float | None = None
    mean: float | None = None


@dataclass(frozen=True)
class DataProfile:
    """Profile of one frame, as computed by :func:`profile_frame`.

    Treat the list and dict attributes as read-only. ``columns`` holds one
    :class:`ColumnProfile` per column (fewer when ``max_columns`` was given); the totals
    (``n_missing_cells``, ``n_inf_cells``, ``constant_columns``) always cover every column.
    """

    name: str
    n_rows: int
    n_columns: int
    label: str | None
    label_counts: dict[Any, int]
    columns: list[ColumnProfile]
    constant_columns: list[str]
    n_duplicate_rows: int
    n_missing_cells: int
    n_inf_cells: int

    def to_frame(self) -> pd.DataFrame:
        """Return one row per profiled column (pandas), in frame order."""
        rows = [asdict(c) for c in self.columns]
        out = pd.DataFrame(rows, columns=[f.name for f in fields(ColumnProfile)])
        out = out.rename(columns={"name": "column"})
        out["n_inf"] = out["n_inf"].astype("Int64")
        for col in ("min", "max", "mean"):
            out[col] = out[col].astype("float64")
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict; :meth:`from_dict` restores an equal profile.

        Labels are stored as ``[label, count]`` pairs so that integer labels survive
        JSON, whose object keys are always strings.
        """
        return {
            "kind": _KIND,
            "name": self.name,
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "label": self.label,
            "label_counts": [[k, v] for k, v in self.label_counts.items()],
            "columns": [asdict(c) for c in self.columns],
            "constant_columns": list(self.constant_columns),
            "n_duplicate_rows": self.n_duplicate_rows,
            "n_missing_cells": self.n_missing_cells,
            "n_inf_cells": self.n_inf_cells,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataProfile:
        """Rebuild a profile from :meth:`to_dict` output."""
        if d.get("kind", _KIND) != _KIND:
            raise SchemaError(f"Expected a {_KIND} dict; got kind {d.get('kind')!r}.")
        return cls(
            name=d["name"],
            n_rows=d["n_rows"],
            n_columns=d["n_columns"],
            label=d["label"],
            label_counts={k: v for k, v in d["label_counts"]},
            columns=[ColumnProfile(**c) for c in d["columns"]],
            constant_columns=list(d["constant_columns"]),
            n_duplicate_rows=d["n_duplicate_rows"],
            n_missing_cells=d["n_missing_cells"],
            n_inf_cells=d["n_inf_cells"],
        )

    def metrics(self) -> dict[str, int]:
        """Return flat counts for a run manifest.

        ``classes`` (distinct non-missing labels) is present only when a label was given.
        """
        out = {
            "rows": self.n_rows,
            "columns": self.n_columns,
            "constant_columns": len(self.constant_columns),
            "missing_cells": self.n_missing_cells,
            "inf_cells": self.n_inf_cells,
            "duplicate_rows": self.n_duplicate_rows,
        }
        if self.label is not None:
            out["classes"] = sum(1 for k in self.label_counts if k != MISSING_LABEL)
        return out


def profile_frame(
    df: Any, *, label: str | None = None, name: str = "data", max_columns: int | None = None
) -> DataProfile:
    """Profile a pandas or polars DataFrame.

    Parameters
    ----------
    df : pandas.DataFrame or polars.DataFrame
        The data. Polars frames are converted with ``to_pandas()``, so both give the same
        profile (polars integer columns with nulls appear as ``float64``, as there).
    label : str, optional
        Name of the target column whose class counts are reported.
    name : str, default "data"
        What the data is called in the profile and in error messages.
    max_columns : int, optional
        Keep per-column statistics for at most this many columns: the label and the
        columns with missing, infinite or constant values first, then the others in
        frame order. Totals always cover every column.

    Returns
    -------
    DataProfile

    Raises
    ------
    SchemaError
        If ``label`` is not a column of ``df``.
    ParameterError
        If ``df`` is not a DataFrame or ``max_columns`` is not a positive int.

    Notes
    -----
    Means are summed over the sorted finite values, so a shuffled frame gives the very
    same floats. Duplicate rows are found with 64-bit row hashes, and every pair of rows
    sharing a hash is compared value by value, so the count is exact.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.io.profile import profile_frame
    >>> df = pd.DataFrame({"x": [1.0, np.nan, np.inf, 1.0], "k": ["a"] * 4,
    ...                    "y": ["good", "bad", "good", "good"]})
    >>> p = profile_frame(df, label="y", name="demo")
    >>> p.label_counts
    {'good': 3, 'bad': 1}
    >>> p.constant_columns
    ['k']
    >>> p.metrics()["missing_cells"], p.metrics()["inf_cells"]
    (1, 1)
    >>> p.to_frame()[["column", "n_missing", "n_inf", "n_unique"]]
      column  n_missing  n_inf  n_unique
    0      x          1      1         2
    1      k          0   <NA>         1
    2      y          0   <NA>         2
    """
    df = _as_pandas(df, name)
    if max_columns is not None and (
        isinstance(max_columns, bool) or not isinstance(max_columns, int) or max_columns < 1
    ):
        raise ParameterError(
            f"`max_columns` of profile_frame must be an int >= 1 or None; got {max_columns!r}."
        )
    if label is not None and label not in df.columns:
        raise SchemaError(_missing_label_message(label, name, df.columns))
    cols = [_profile_column(str(c), df.iloc[:, i]) for i, c in enumerate(df.columns)]
    n_rows = len(df)
    return DataProfile(
        name=name,
        n_rows=n_rows,
        n_columns=df.shape[1],
        label=None if label is None else str(label),
        label_counts={} if label is None else _label_counts(df[label]),
        columns=_keep_columns(cols, label, max_columns),
        constant_columns=[c.name for c in cols if c.is_constant],
        n_duplicate_rows=_count_duplicate_rows(df),
        n_missing_cells=sum(c.n_missing for c in cols),
        n_inf_cells=sum(c.n_inf or 0 for c in cols),
    )


def _as_pandas(df: Any, name: str) -> pd.DataFrame:
    if isinstance(df, pd.DataFrame):
        if not df.columns.is_unique:
            dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
            raise SchemaError(
                f"Column names in {name} must be unique; repeated: {', '.join(dup)}; "
                "rename them first."
            )
        return df
    if type(df).__module__.split(".")[0] == "polars":
        if type(df).__name__ == "LazyFrame":
            df = df.collect()
        if type(df).__name__ == "DataFrame":
            return df.to_pandas()
    raise ParameterError(
        f"profile_frame expects a pandas or polars DataFrame; got {type(df).__name__}."
    )


def _missing_label_message(label: str, name: str, columns: pd.Index) -> str:
    names = [str(c) for c in columns]
    shown = ", ".join(names[:_MAX_NAMES_IN_MESSAGE])
    if len(names) > _MAX_NAMES_IN_MESSAGE:
        shown += f", ... ({len(names) - _MAX_NAMES_IN_MESSAGE} more)"
    return (
        f"Label column '{label}' not found in {name}; columns are: {shown}; "
        "pass --label with one of them."
    )


def _is_numeric(s: pd.Series) -> bool:
    # Booleans and complex numbers have no meaningful min/max/mean here.
    types = pd.api.types
    return (
        types.is_numeric_dtype(s.dtype)
        and not types.is_bool_dtype(s.dtype)
        and not types.is_complex_dtype(s.dtype)
    )


def _profile_column(name: str, s: pd.Series) -> ColumnProfile:
    if not _is_numeric(s):
        n_missing = int(s.isna().sum())
        n_unique = _count_unique_objects(s)
        return ColumnProfile(name, str(s.dtype), n_missing, None, n_unique, n_unique <= 1)
    if isinstance(s.dtype, np.dtype):
        values = s.to_numpy()
        n_na = 0
    else:
        # Nullable and Arrow-backed numerics: drop their NA mask to get a plain array.
        values = np.asarray(s.dropna().to_numpy())
        n_na = len(s) - len(values)
    # Sorting once yields the distinct count, NaN/inf counts and min/max by position,
    # and makes the mean independent of row order.
    v = np.sort(values)
    if v.dtype.kind == "f":
        n_nan = len(v) - int(np.searchsorted(v, np.nan, side="left"))
        v = v[: len(v) - n_nan]
        lo = int(np.searchsorted(v, -np.inf, side="right"))
        hi = int(np.searchsorted(v, np.inf, side="left"))
        n_inf = lo + (len(v) - hi)
    else:
        n_nan, lo, hi, n_inf = 0, 0, len(v), 0
    n_unique = int(len(v) > 0) + int(np.count_nonzero(v[1:] != v[:-1]))
    finite = v[lo:hi]
    stats = (None, None, None)
    if len(finite):
        stats = (
            float(finite[0]),
            float(finite[-1]),
            float(np.sum(finite, dtype=np.float64) / len(finite)),
        )
    return ColumnProfile(
        name, str(s.dtype), n_na + n_nan, n_inf, n_unique, n_unique <= 1, *map(_finite, stats)
    )


def _finite(x: float | None) -> float | None:
    # A mean of huge finite values can overflow; JSON has no inf, so report None.
    return x if x is not None and math.isfinite(x) else None


def _count_unique_objects(s: pd.Series) -> int:
    try:
        return int(s.nunique(dropna=True))
    except TypeError:
        # Unhashable cells (lists, dicts): compare their text form instead.
        return int(s.dropna().map(repr).nunique())


def _python_scalar(x: Any) -> Any:
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, bool | int | str):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else str(x)
    return str(x)


def _label_counts(s: pd.Series) -> dict[Any, int]:
    counts = s.value_counts(dropna=True, sort=False)
    out: dict[Any, int] = {}
    for k, v in counts.items():
        if v > 0:
            key = _python_scalar(k)
            out[key] = out.get(key, 0) + int(v)
    n_missing = int(s.isna().sum())
    if n_missing:
        out[MISSING_LABEL] = out.get(MISSING_LABEL, 0) + n_missing
    # Ties are ordered by label text (missing last) so row order cannot change the result.
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0] == MISSING_LABEL, str(kv[0]))))


def _keep_columns(
    cols: list[ColumnProfile], label: str | None, max_columns: int | None
) -> list[ColumnProfile]:
    if max_columns is None or len(cols) <= max_columns:
        return cols

    def priority(i: int) -> tuple[int, int]:
        c = cols[i]
        wanted = c.name == label or c.n_missing > 0 or bool(c.n_inf) or c.is_constant
        return (0 if wanted else 1, i)

    keep = sorted(sorted(range(len(cols)), key=priority)[:max_columns])
    return [cols[i] for i in keep]


def _count_duplicate_rows(df: pd.DataFrame) -> int:
    """Count rows equal to an earlier row (as ``df.duplicated().sum()``), fast."""
    if len(df) < 2 or df.shape[1] == 0:
        return 0
    try:
        hashes = pd.util.hash_pandas_object(df, index=False).to_numpy()
    except TypeError:
        return int(df.map(repr).duplicated().sum())
    order = np.argsort(hashes, kind="stable")
    h = hashes[order]
    same = h[1:] == h[:-1]
    if not same.any():
        return 0
    # Rows sharing a hash are neighbours after sorting; check that they are truly equal
    # so that a (rare) 64-bit collision cannot inflate the count.
    pos = np.flatnonzero(np.concatenate([[False], same]) | np.concatenate([same, [False]]))
    rows = order[pos]
    # Index j into ``rows`` pairs row j with row j + 1 when their hashes are equal.
    pair = np.flatnonzero(same[pos[:-1]])
    equal = np.ones(len(pair), dtype=bool)
    for i in range(df.shape[1]):
        values = df.iloc[rows, i]
        equal &= _neighbours_equal(values, pair)
    if equal.all():
        return int(same.sum())
    return int(df.iloc[rows].duplicated().sum())


def _neighbours_equal(values: pd.Series, pair: np.ndarray) -> np.ndarray:
    """For each index ``j`` in ``pair``, whether ``values[j] == values[j + 1]``."""
    na = values.isna().to_numpy()
    arr = values.to_numpy()
    a, b = arr[pair], arr[pair + 1]
    na_a, na_b = na[pair], na[pair + 1]
    eq = na_a & na_b
    both = ~na_a & ~na_b
    if both.any():
        eq[both] = np.asarray(a[both] == b[both], dtype=bool)
    return eq
