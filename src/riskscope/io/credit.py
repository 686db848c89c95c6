"""Generic credit-table reader: any delimited text or Parquet file into typed features and y.

:func:`read_credit` reads a credit table without dataset-specific code (the UCI German raw
file, a named-column CSV, R exports with row names and ``NA``), checks the binary target,
types every column numeric or categorical, drops identifier and constant columns and
returns a :class:`CreditData` whose :class:`CreditReport` says what it found and did.
Missing values stay ``NaN``: binning gives them their own bin, so nothing is imputed here.
New applicants to score are read by the same rules in :mod:`riskscope.io.credit_applicants`.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskscope.exceptions import InputError, SchemaError
from riskscope.io.readers import _dedupe, _first_line, read_table

__all__ = ["MISSING_TOKENS", "CreditData", "CreditReport", "read_credit"]

#: Text cells read as missing (after stripping spaces). ``none`` is absent on purpose: it is
#: a real category in German credit ("other debtors: none").
MISSING_TOKENS = frozenset({"", "NA", "N/A", "NaN", "nan", "NULL", "null", "?", "#N/A"})

# Single-character delimiters, in the order preferred when two split the sample equally well
# (a semicolon file with decimal commas also splits evenly on commas).
_DELIMITERS = (";", "\t", "|", ",")
_SNIFF_LINES = 200
# Below this many rows an all-distinct column may just be a small table, not an identifier.
_MIN_ROWS_FOR_ID = 20
_ID_NAMES = frozenset({"id", "rownames", "row_names", "index", "unnamed: 0", ""})


@dataclass(frozen=True)
class CreditReport:
    """What :func:`read_credit` found and did; every field is JSON-able.

    ``delimiter`` is ``","``, ``";"``, ``"\\t"``, ``"|"`` or ``"whitespace"`` (``None`` for
    Parquet or a DataFrame). ``*_how`` say how a choice was made: ``"given"`` (argument),
    ``"detected"`` / ``"inferred"`` / ``"last column"``, or ``"format"`` (Parquet and
    DataFrames carry their column names).
    ``missing`` counts missing cells per kept feature (only those with any);
    ``special`` counts each user-given special code per column; ``suspected_special``
    lists column maxima made of nines (999, 99999999...) that look like sentinel codes
    but were not declared. ``duplicates`` counts rows repeating an earlier row (kept
    features and target).
    """

    source: str
    delimiter: str | None
    header: bool
    header_how: str
    rows_read: int
    rows: int
    columns_read: int
    target: str
    target_how: str
    bad: str
    bad_how: str
    class_counts: dict[str, int]
    identifiers: list[str]
    constants: list[str]
    missing: dict[str, int]
    special: dict[str, dict[str, int]]
    suspected_special: dict[str, float]
    duplicates: int
    duplicates_dropped: bool

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a plain, JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class CreditData:
    """A credit table ready for binning: features ``X``, target ``y`` (1 = bad) and a report.

    ``X`` keeps the file's column order; numeric columns are ``float64`` and categorical
    ones pandas ``category`` (of strings), both with ``NaN`` for missing.
    """

    X: pd.DataFrame
    y: np.ndarray
    target: str
    bad: str
    numeric: list[str]
    categorical: list[str]
    report: CreditReport

    def summary(self) -> dict[str, Any]:
        """Return a JSON-able summary: shape, bad rate, feature types and the report."""
        return {
            "n_rows": int(len(self.X)),
            "n_features": int(self.X.shape[1]),
            "n_bad": int(self.y.sum()),
            "bad_rate": float(self.y.mean()) if len(self.y) else 0.0,
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "report": self.report.to_dict(),
        }


def read_credit(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    target: str | None = None,
    bad: object | None = None,
    header: bool | None = None,
    special_codes: dict[str, list] | None = None,
    categorical: Sequence[str] | None = None,
    dedup: bool = False,
) -> CreditData:
    """Read a credit table and split it into typed features and a 0/1 target (1 = bad).

    Text files (optionally ``.gz``) are split on the delimiter that gives every one of the
    first 200 non-blank lines the same number (>= 2) of fields, the most fields winning
    (``;``, tab, ``|``, ``,`` in that order on ties), else on runs of whitespace (the UCI
    ``german.data``); quoted fields are respected. Cells are
    stripped; :data:`MISSING_TOKENS` become ``NaN``. ``.parquet`` files go through
    :func:`riskscope.io.readers.read_table`.

    Header rule (``header=None``): the first line names the columns when its fields are
    all non-empty and non-numeric and either some column holds only numbers in the next
    199 lines (a name above numbers), or its fields are distinct and none reappears in its
    own column there (data values repeat, names do not). Repeated names get ``.1``,
    ``.2`` suffixes; without a header the columns are named ``x1`` ... ``xN``.

    Typing: bool, category and text columns are categorical; numeric columns and text
    columns whose every non-missing cell parses as a number are numeric (``float64``);
    integer codes are categorical only when listed in ``categorical``. Dropped and
    reported: identifiers (on >= 20 rows: a text column with all values distinct, or an
    integer column with all values distinct named ``id``, ``*_id``, ``rownames``,
    ``index`` or counting rows 0.. / 1.. in file order) and constants (one value, no
    missing). Columns listed in ``categorical`` are never taken for identifiers.

    Parameters
    ----------
    source : path-like or pandas.DataFrame
        A delimited text file, a ``.parquet`` file, or a frame already in memory.
    target : str, optional
        Target column, matched ignoring case and surrounding spaces; default the last one.
    bad : object, optional
        The target value meaning bad (the event), compared as text ignoring case, so
        ``2`` and ``"2"`` both match German credit's 1/2. Default: inferred only when the
        values are ``good``/``bad`` (-> ``bad``) or ``0``/``1`` (-> ``1``); ``1``/``2`` and
        anything else must be given.
    header : bool, optional
        Whether the first line of a text file names the columns; default detect it.
        Ignored for Parquet and DataFrames, which carry their names.
    special_codes : dict of str to list, optional
        Per column, values that are codes rather than measurements (e.g. ``99999999``).
        They are kept (binning gives them their own bin) and counted in the report.
    categorical : sequence of str, optional
        Columns to treat as categorical whatever their values (integer codes).
    dedup : bool, default False
        Drop exact duplicate rows (first kept). Off by default because identical
        applicants are legitimate in credit tables; duplicates are always counted.

    Returns
    -------
    CreditData
        Features, target and the :class:`CreditReport`.

    Raises
    ------
    InputError
        If the file is missing, empty, unreadable or no delimiter splits it into columns.
    SchemaError
        If the target is absent, has missing values, one class or more than two values;
        if ``bad`` is not one of its values or cannot be inferred; if a column is all
        missing; if ``categorical`` or ``special_codes`` name an absent column; or if no
        feature is left. A multi-class target is refused rather than binarised as
        ``bad`` vs the rest, so that a wrong column fails loudly.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from riskscope.io.credit import read_credit
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "loans.csv"
    >>> rows = ["amount;purpose;status"] + [f"{100 * i};{'car' if i % 2 else 'tv'};"
    ...     f"{'bad' if i % 3 == 0 else 'good'}" for i in range(1, 10)]
    >>> _ = p.write_text("\\n".join(rows) + "\\n")
    >>> data = read_credit(p, target="Status")
    >>> data.numeric, data.categorical, data.bad, int(data.y.sum())
    (['amount'], ['purpose'], 'bad', 3)
    >>> data.report.delimiter, data.report.header
    (';', True)
    """
    shown = "<DataFrame>" if isinstance(source, pd.DataFrame) else str(source)
    if isinstance(source, pd.DataFrame):
        raw, delim, has_header, header_how = _strip_text(source), None, True, "format"
        raw.columns = [str(c) for c in raw.columns]
    else:
        raw, delim, has_header, header_how = _read_any(Path(source), shown, header)
    if raw.shape[1] < 2 or len(raw) == 0:
        raise SchemaError(
            f"Input '{shown}' has {len(raw)} data rows and {raw.shape[1]} columns; a credit "
            "table needs a target and at least one feature column with rows below the header."
        )
    cols = list(raw.columns)
    tcol = cols[-1] if target is None else _resolve(cols, [target], "target", shown)[0]
    labels, bad_label, bad_how = _check_target(raw[tcol], tcol, bad, shown)
    forced = set(_resolve(cols, list(categorical or []), "categorical=", shown))
    codes = special_codes or {}
    specials = {
        c: codes[k]
        for c, k in zip(_resolve(cols, list(codes), "special_codes=", shown), codes, strict=True)
    }

    X, ids, consts = _features(raw.drop(columns=[tcol]), forced, shown, delim)
    y = (labels.str.casefold() == bad_label.casefold()).to_numpy(dtype=np.int8)
    dup = X.assign(__y=y).duplicated().to_numpy()
    if dedup and dup.any():
        X, y = X.loc[~dup].reset_index(drop=True), y[~dup]
    report = CreditReport(
        source=shown,
        delimiter=delim,
        header=has_header,
        header_how=header_how,
        rows_read=int(len(raw)),
        rows=int(len(X)),
        columns_read=len(cols),
        target=tcol,
        target_how="last column" if target is None else "given",
        bad=bad_label,
        bad_how=bad_how,
        class_counts={str(k): int(v) for k, v in labels.value_counts(sort=False).items()},
        identifiers=ids,
        constants=consts,
        missing={c: int(n) for c, n in X.isna().sum().items() if n},
        special={c: _count_codes(X[c], v) for c, v in specials.items() if c in X},
        suspected_special=_suspected_special(X, set(specials)),
        duplicates=int(dup.sum()),
        duplicates_dropped=bool(dedup),
    )
    numeric = [c for c in X.columns if X[c].dtype == np.float64]
    cats = [c for c in X.columns if c not in numeric]
    return CreditData(X, y, tcol, bad_label, numeric, cats, report)


# --- reading ---------------------------------------------------------------------------


def _read_any(
    p: Path, shown: str, header: bool | None
) -> tuple[pd.DataFrame, str | None, bool, str]:
    if p.name.lower().endswith(".parquet"):
        return _strip_text(read_table(p)), None, True, "format"
    if not p.is_file():
        what = "is a folder, not a file" if p.is_dir() else "does not exist"
        raise InputError(f"Input file '{shown}' {what}; pass a CSV, text or .parquet file.")
    lines = _head_lines(p, shown)
    if not lines:
        raise InputError(
            f"Input file '{shown}' is empty; re-export it or check the write completed."
        )
    delim, rows = _sniff(lines, shown)
    has_header = _looks_like_header(rows) if header is None else bool(header)
    try:
        raw = pd.read_csv(
            p,
            sep=r"\s+" if delim == "whitespace" else delim,
            header=None,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8",
            encoding_errors="replace",
        )
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise InputError(
            f"Input file '{shown}' could not be read with delimiter {delim!r} "
            f"({_first_line(exc)}); quote fields that contain it or fix the broken line."
        ) from None
    if has_header:
        raw.columns = _dedupe([str(v).strip() for v in raw.iloc[0]])
        raw = raw.iloc[1:].reset_index(drop=True)
    else:
        raw.columns = [f"x{i + 1}" for i in range(raw.shape[1])]
    return _strip_text(raw), delim, has_header, "detected" if header is None else "given"


def _head_lines(p: Path, shown: str) -> list[str]:
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    out: list[str] = []
    try:
        with opener(p, "rt", encoding="utf-8", errors="replace", newline="") as fh:
            for line in fh:
                if line.strip():
                    out.append(line)
                if len(out) >= _SNIFF_LINES:
                    break
    except (OSError, EOFError) as exc:
        raise InputError(f"Input file '{shown}' could not be read ({_first_line(exc)}).") from None
    return out


def _sniff(lines: list[str], shown: str) -> tuple[str, list[list[str]]]:
    """Return the delimiter splitting every sampled line into the same count (>= 2) of fields."""
    best: tuple[int, str, list[list[str]]] | None = None
    for delim in _DELIMITERS:
        rows = [r for r in csv.reader(io.StringIO("".join(lines)), delimiter=delim) if r]
        width = len(rows[0]) if rows else 0
        if width >= 2 and all(len(r) == width for r in rows) and (best is None or width > best[0]):
            best = (width, delim, rows)
    if best is not None:
        return best[1], best[2]
    rows = [ln.split() for ln in lines]
    if len(rows[0]) >= 2 and all(len(r) == len(rows[0]) for r in rows):
        return "whitespace", rows
    raise InputError(
        f"Input file '{shown}' could not be split into columns: no delimiter (; tab | , or "
        f"whitespace) gives the same field count (>= 2) on its first {len(lines)} lines; "
        "fix the ragged lines or convert the file to CSV."
    )


def _looks_like_header(rows: list[list[str]]) -> bool:
    names = [f.strip() for f in rows[0]]
    if any(n in MISSING_TOKENS or _is_number(n) for n in names):
        return False
    below = [[v.strip() for v in col] for col in zip(*rows[1:], strict=False)]
    for col in below:
        vals = [v for v in col if v not in MISSING_TOKENS]
        if vals and all(_is_number(v) for v in vals):
            return True
    # No numeric column to lean on: names are distinct and do not recur as values.
    distinct = len(set(names)) == len(names)
    return distinct and not any(name in col for name, col in zip(names, below, strict=False))


def _strip_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for c in frame.columns:
        s = frame[c]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            s = s.astype("string").str.strip().astype(object)
            s = s.where(s.notna() & ~s.isin(MISSING_TOKENS), np.nan)
        out[c] = s
    return pd.DataFrame(out)


# --- checks and typing -----------------------------------------------------------------


def _resolve(cols: list[str], wanted: list[str], what: str, shown: str) -> list[str]:
    """Match names ignoring case and surrounding spaces; raise naming the closest columns."""
    by_key: dict[str, str] = {}
    for c in cols:
        by_key.setdefault(c.strip().casefold(), c)
    out = []
    for name in wanted:
        key = str(name).strip().casefold()
        if key not in by_key:
            close = difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.5)
            hint = f"closest: {_names([by_key[k] for k in close])}" if close else "no close name"
            raise SchemaError(
                f"Input '{shown}' has no column {str(name)!r} (given as {what}); {hint}; "
                f"it has {len(cols)} columns ({_names(cols)})."
            )
        out.append(by_key[key])
    return out


def _check_target(s: pd.Series, col: str, bad: object, shown: str) -> tuple[pd.Series, str, str]:
    where = f"Target column '{col}' in '{shown}'"
    miss = s.isna().to_numpy()
    if miss.any():
        raise SchemaError(
            f"{where} has {int(miss.sum())} missing values (first at data row "
            f"{int(np.argmax(miss)) + 1}); drop or label those rows first."
        )
    labels = _labels(s)
    counts = labels.value_counts()
    values = list(counts.index)
    if len(values) == 1:
        raise SchemaError(
            f"{where} has one class only ({values[0]!r}, {int(counts.iloc[0])} rows); a "
            "credit model needs both good and bad rows: check the target and the file."
        )
    if len(values) > 2:
        listed = ", ".join(f"{v!r} {int(n)}" for v, n in counts.iloc[:5].items())
        more = ", ..." if len(values) > 5 else ""
        raise SchemaError(
            f"{where} has {len(values)} distinct values ({listed}{more}); "
            "it must have exactly two: map it to good/bad first (or pick another --target)."
        )
    folded = {v.casefold(): v for v in values}
    pair = f"{values[0]!r} and {values[1]!r}"
    if bad is not None:
        key = _label(bad).casefold()
        if key not in folded:
            raise SchemaError(
                f"bad={bad!r} is not a value of target column '{col}' in '{shown}' "
                f"(it has {pair}); pass one of those with --bad."
            )
        return labels, folded[key], "given"
    for pair_set, key in (({"good", "bad"}, "bad"), ({"0", "1"}, "1")):
        if set(folded) == pair_set:
            return labels, folded[key], "inferred"
    raise SchemaError(
        f"{where} has values {pair} and which one means bad cannot be guessed; "
        "pass bad= (--bad) with one of them."
    )


def _features(
    raw: pd.DataFrame, forced: set[str], shown: str, delim: str | None
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Type every feature column; return the kept ones, the identifiers and the constants."""
    empty = [c for c in raw.columns if raw[c].isna().all()]
    if empty:
        raise SchemaError(
            f"Column(s) {_names(empty)} in '{shown}' are entirely missing; drop them before "
            f"reading (or check the delimiter, read as {delim or 'n/a'})."
        )
    X = pd.DataFrame({c: _type_column(raw[c], c in forced) for c in raw.columns})
    ids = [c for c in X.columns if c not in forced and _is_identifier(X[c], c)]
    consts = [c for c in X.columns if c not in ids and X[c].notna().all() and X[c].nunique() == 1]
    if len(ids) + len(consts) == X.shape[1]:
        raise SchemaError(
            f"Input '{shown}' has no feature left after dropping identifiers {ids} and "
            f"constants {consts}; check the delimiter and header (read: {delim or 'n/a'})."
        )
    return X.drop(columns=ids + consts), ids, consts


def _type_column(s: pd.Series, force_categorical: bool) -> pd.Series:
    if not force_categorical and not pd.api.types.is_bool_dtype(s.dtype):
        if pd.api.types.is_numeric_dtype(s.dtype):
            return s.astype(np.float64)
        if not isinstance(s.dtype, pd.CategoricalDtype):
            nums = pd.to_numeric(s, errors="coerce")
            if nums.notna().sum() == s.notna().sum():
                return nums.astype(np.float64)
    return _labels(s).astype("category")


def _is_identifier(s: pd.Series, name: str) -> bool:
    n = len(s)
    if n < _MIN_ROWS_FOR_ID or s.isna().any() or s.nunique() != n:
        return False
    if isinstance(s.dtype, pd.CategoricalDtype):
        return True
    v = s.to_numpy()
    if not np.all(v == np.round(v)):
        return False
    key = name.strip().casefold()
    if key in _ID_NAMES or key.endswith(("_id", " id")):
        return True
    return any(np.array_equal(v, np.arange(start, start + n)) for start in (0, 1))


def _count_codes(s: pd.Series, codes: list) -> dict[str, int]:
    if s.dtype == np.float64:
        values = s.to_numpy()
        return {
            _label(c): int(np.sum(values == float(c))) if _is_number(str(c)) else 0 for c in codes
        }
    return {_label(c): int((s.astype(object) == _label(c)).sum()) for c in codes}


def _suspected_special(X: pd.DataFrame, declared: set[str]) -> dict[str, float]:
    out = {}
    for c in X.columns:
        if c in declared or X[c].dtype != np.float64 or X[c].notna().sum() == 0:
            continue
        top = float(X[c].max())
        if top >= 999 and top.is_integer() and set(str(int(top))) == {"9"}:
            out[c] = top
    return out


def _labels(s: pd.Series) -> pd.Series:
    """:func:`_label` of every cell (``NaN`` kept), computed once per distinct value."""
    uniq = pd.unique(s.dropna().to_numpy(dtype=object))
    return s.astype(object).map({u: _label(u) for u in uniq})


def _label(v: object) -> str:
    """Text form of a value for comparisons: integral numbers lose their ``.0``."""
    text = str(v).strip()
    if isinstance(v, (bool, np.bool_)):
        return text
    try:
        f = float(text)
    except ValueError:
        return text
    return str(int(f)) if np.isfinite(f) and f.is_integer() else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _names(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (", ..." if len(names) > limit else "")


def __getattr__(name: str) -> Any:
    # The applicant reader moved to its own module; old imports from here keep working
    # (lazily: that module imports this one's reading helpers).
    if name in ("ApplicantData", "read_applicants"):
        from riskscope.io import credit_applicants

        return getattr(credit_applicants, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
