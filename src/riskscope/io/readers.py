"""Generic table readers: CSV (plain or gzip) and Parquet files into pandas frames."""

from __future__ import annotations

import csv
import gzip
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskscope.exceptions import InputError, SchemaError

__all__ = ["SUPPORTED_SUFFIXES", "read_table"]

#: File name endings read_table understands, longest first so ``.csv.gz`` wins over ``.gz``.
SUPPORTED_SUFFIXES: tuple[str, ...] = (".csv.gz", ".parquet", ".csv")


def read_table(
    path: str | os.PathLike[str], *, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``) file into a DataFrame.

    Parsing is pyarrow's (multi-threaded, types inferred from the whole file); the result
    is converted to pandas. Repeated column names get pandas' ``.1``, ``.2`` suffixes
    (the original CICIDS2017 CSVs repeat ``Fwd Header Length``).

    Parameters
    ----------
    path : path-like
        The file; its name ending selects the format.
    columns : sequence of str, optional
        Read only these columns, in this order.

    Returns
    -------
    pandas.DataFrame
        The table; a CSV with only a header gives a frame with no rows.

    Raises
    ------
    InputError
        If the path is missing, a directory, has an unsupported ending, is empty, or is
        not a well-formed file of its format (a ragged CSV row names its line and field
        counts).
    SchemaError
        If ``columns`` names a column the file does not have.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from riskscope.io.readers import read_table
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a,b,label\\n1,2.5,good\\n3,4.5,bad\\n")
    >>> read_table(p).shape
    (2, 3)
    >>> read_table(p, columns=["label"])["label"].tolist()
    ['good', 'bad']
    >>> read_table(p.with_name("missing.csv"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskscope.exceptions.InputError: Input file '...missing.csv' does not exist; ...
    """
    p = Path(path)
    if not p.exists():
        raise InputError(
            f"Input file '{path}' does not exist; check the path or run `riskscope datasets list`."
        )
    if p.is_dir():
        raise InputError(
            f"Input path '{path}' is a folder, not a file; pass one "
            f"{', '.join(SUPPORTED_SUFFIXES)} file inside it."
        )
    suffix = next((s for s in SUPPORTED_SUFFIXES if p.name.lower().endswith(s)), None)
    if suffix is None:
        raise InputError(
            f"Input file '{path}' has an unsupported type '{''.join(p.suffixes) or p.name}'; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)} (convert other formats first)."
        )
    if p.stat().st_size == 0:
        raise InputError(_empty_message(path))
    cols = list(columns) if columns is not None else None
    table = _read_parquet(p, path, cols) if suffix == ".parquet" else _read_csv(p, path, cols)
    return table.rename_columns(_dedupe(table.column_names)).to_pandas()


def _empty_message(path: str | os.PathLike[str]) -> str:
    return f"Input file '{path}' is empty; re-export it or check that the write completed."


def _read_csv(p: Path, shown: str | os.PathLike[str], columns: list[str] | None) -> pa.Table:
    convert = pacsv.ConvertOptions(include_columns=columns) if columns is not None else None
    try:
        return pacsv.read_csv(p, convert_options=convert)
    except pa.ArrowKeyError:
        # Only include_columns raises KeyError; report every missing name, not the first.
        header = pacsv.open_csv(p).schema.names
        raise SchemaError(_missing_columns_message(shown, columns or [], header)) from None
    except pa.ArrowInvalid as exc:
        msg = _first_line(exc)
        if msg.startswith("Empty CSV file"):
            raise InputError(_empty_message(shown)) from None
        ragged = _find_ragged_line(p) if "columns, got" in msg else None
        if ragged is not None:
            line, expected, found = ragged
            raise InputError(
                f"Input file '{shown}' line {line} has {found} fields; expected {expected} as "
                "in the header; quote fields that contain commas or drop the broken line."
            ) from None
        raise InputError(f"Input file '{shown}' is not a readable CSV file ({msg}).") from None
    except (pa.ArrowException, OSError) as exc:
        # Damaged gzip streams and read failures surface here as plain OSError.
        raise InputError(
            f"Input file '{shown}' could not be read as CSV ({_first_line(exc)}); check that "
            "it is not truncated and that a .gz file is really gzip."
        ) from None


def _read_parquet(p: Path, shown: str | os.PathLike[str], columns: list[str] | None) -> pa.Table:
    try:
        # The footer alone says whether this is Parquet and which columns it holds.
        names = pq.read_schema(p).names
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            f"Input file '{shown}' is not a valid Parquet file ({_first_line(exc)}); "
            "re-export it or check the file's real format."
        ) from None
    if columns is not None:
        missing = [c for c in columns if c not in names]
        if missing:
            raise SchemaError(_missing_columns_message(shown, columns, names))
    try:
        return pq.read_table(p, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            f"Input file '{shown}' has a damaged Parquet body ({_first_line(exc)}); re-export it."
        ) from None


def _find_ragged_line(p: Path) -> tuple[int, int, int] | None:
    """Return (line number, expected fields, found fields) of the first ragged row."""
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    try:
        with opener(p, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return None
            for row in reader:
                # pyarrow skips blank lines, so they are not ragged rows.
                if row and len(row) != len(header):
                    return reader.line_num, len(header), len(row)
    except (csv.Error, OSError, EOFError):
        return None
    return None


def _missing_columns_message(
    shown: str | os.PathLike[str], wanted: Sequence[str], have: Sequence[str]
) -> str:
    missing = [c for c in wanted if c not in have]
    avail = ", ".join(repr(c) for c in have[:8]) + (", ..." if len(have) > 8 else "")
    return (
        f"Input file '{shown}' has no column(s) {', '.join(repr(c) for c in missing)}; "
        f"it has {len(have)} columns ({avail}); check the names (spaces and case count)."
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 160 else line[:157] + "..."


def _dedupe(names: list[str]) -> list[str]:
    # Every original name is reserved up front, so a later real column called "x.1" keeps
    # its name and the second "x" becomes "x.2", as pandas does.
    taken = set(names)
    seen: set[str] = set()
    last: dict[str, int] = {}
    out = []
    for name in names:
        if name not in seen:
            seen.add(name)
            out.append(name)
            continue
        k = last.get(name, 0) + 1
        while f"{name}.{k}" in taken:
            k += 1
        last[name] = k
        new = f"{name}.{k}"
        taken.add(new)
        seen.add(new)
        out.append(new)
    return out
