"""Network flow records (CICFlowMeter CSV or Parquet) into one validated, canonical frame.

:func:`read_flows` reads the three published CICIDS2017 layouts (MachineLearningCVE,
TrafficLabelling, the corrected release of Engelen et al.) and any header close enough to
them, maps every column onto one schema (:mod:`riskscope.io._flow_schema`), repairs the
labels, treats Inf/NaN by a stated policy, drops exact duplicates and reports all of it in
an :class:`IngestReport`. Parsing is polars' (multi-threaded); the result is pandas.

Decisions, each visible in the report:

* Identifiers (``id``, Flow ID, IPs, ports, Timestamp, Attempted Category) are meta, never
  features; ``Protocol`` is both. Columns the alias table does not know are dropped.
* Several files with different layouts are aligned on the features (and meta columns)
  that every file has; the others are dropped and named in the report.
* Features are parsed straight to float32. A finite value beyond float32's range
  (|x| > 3.4e38; CICIDS2017 has none) cannot be stored and reads as +/-Infinity, so it is
  counted and treated with the Infinity values.
* Duplicates are rows equal in every (float32) feature and the label, wherever and
  whenever they were recorded: meta is ignored, since two identical flows at different
  times teach a model the same thing and, left in, land on both sides of a split. The
  first is kept. Rows equal in every feature but labelled differently ("conflicting
  duplicates") are all kept -- which label is right cannot be known here, and dropping
  them would silently remove rows of the rarest attacks -- and counted, since they cap
  any detector's accuracy.
* No imputation from data statistics: a median computed here would include rows that
  later become the test split (leakage), so ``nan_policy`` offers only drop, zero and
  error. ``inf_policy="clip"`` replaces +/-Infinity by the column's largest/smallest finite
  value over all input rows; it touches only the Infinity cells and uses no label.
* The corrected release's "X - Attempted" flows (an attack that delivered no payload) are
  BENIGN by default, as Engelen et al. recommend; ``attempted="keep"`` makes them classes
  of their own and ``"drop"`` removes them.
* Timestamps: see :func:`riskscope.io._flow_schema.parse_timestamps` (TrafficLabelling's
  "3/7/2017 8:55" is day/month/year; afternoon hours written 1-7 are repaired).
"""

from __future__ import annotations

import csv
import glob
import gzip
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow.parquet as pq

from riskscope.exceptions import InputError, ParameterError, SchemaError
from riskscope.io import _flow_schema as fs
from riskscope.io.readers import SUPPORTED_SUFFIXES, _find_ragged_line

__all__ = [
    "ATTEMPTED_POLICIES",
    "INF_POLICIES",
    "NAN_POLICIES",
    "FlowData",
    "IngestReport",
    "read_flows",
    "resolve_sources",
]

INF_POLICIES: tuple[str, ...] = ("nan", "clip", "drop", "error")
# No "median": see the module docstring (statistics of all rows leak into the test split).
NAN_POLICIES: tuple[str, ...] = ("drop", "zero", "error")
ATTEMPTED_POLICIES: tuple[str, ...] = ("benign", "keep", "drop")

#: A header must contain at least this share of its closest layout's features.
MIN_FEATURE_MATCH = 0.6
_F32_MAX = float(np.finfo(np.float32).max)
_N_SHOWN = 5  # rows named in messages and in the report, per column
_INT_META = ("id", "src_port", "dst_port", "protocol", "attempted_category")


@dataclass
class IngestReport:
    """What :func:`read_flows` read, repaired, replaced and dropped; JSON via ``to_dict``.

    Row numbers are 1-based data rows of their file (row 1 is the line after the header).

    Attributes
    ----------
    files : list of dict
        Per file: path, format, layout (or "custom"), closest_layout, feature_match,
        columns, rows, blank_rows, unknown_columns, missing_features, repeated_columns
        (feature -> rows where the copies differ) and timestamp (format, unparsed,
        pm_repaired) when present.
    layouts : list of str
    policies : dict
        The ``inf_policy``, ``nan_policy``, ``dedup`` and ``attempted`` used.
    rows_read, blank_rows, rows_out : int
        Data rows read (blank rows excluded), all-empty rows skipped, rows returned.
    inf_counts, nan_counts : dict of str to int
        Infinity / missing (NaN or empty) values per feature, as read.
    inf_rows, nan_rows : dict of str to list of str
        The first few of them per feature, as ``"file:row"``.
    values_replaced : dict
        ``{"clip": {feature: n}, "zero": {feature: n}}`` for the policies that edit values.
    rows_dropped, rows_dropped_by_class : dict
        Rows dropped per reason ("attempted", "inf", "nan", "duplicate"), and per label.
    duplicate_rows : int or None
        Exact duplicates dropped (None with ``dedup=False``); ``duplicates_by_class``
        splits them by label.
    conflicting_duplicates : dict
        Rows equal in every feature but labelled differently (kept): feature_vectors,
        rows, by_label, label_sets (the 10 most frequent), policy.
    dropped_columns : dict of str to str
        Column -> why it is not in the frame.
    label_repairs : list of dict
        ``{"raw", "label", "count"}`` for every raw spelling that was changed.
    unknown_labels : dict of str to int
        Labels that are not CICIDS2017 classes (kept, cleaned).
    label_counts : dict of str to int
        Rows per label in the returned frame.
    memory_bytes : int
        Size of the returned frame.
    notes : list of str
    """

    files: list[dict] = field(default_factory=list)
    layouts: list[str] = field(default_factory=list)
    policies: dict = field(default_factory=dict)
    rows_read: int = 0
    blank_rows: int = 0
    rows_out: int = 0
    inf_counts: dict[str, int] = field(default_factory=dict)
    nan_counts: dict[str, int] = field(default_factory=dict)
    inf_rows: dict[str, list[str]] = field(default_factory=dict)
    nan_rows: dict[str, list[str]] = field(default_factory=dict)
    values_replaced: dict[str, dict[str, int]] = field(default_factory=dict)
    rows_dropped: dict[str, int] = field(default_factory=dict)
    rows_dropped_by_class: dict[str, dict[str, int]] = field(default_factory=dict)
    duplicate_rows: int | None = None
    duplicates_by_class: dict[str, int] = field(default_factory=dict)
    conflicting_duplicates: dict = field(default_factory=dict)
    dropped_columns: dict[str, str] = field(default_factory=dict)
    label_repairs: list[dict] = field(default_factory=list)
    unknown_labels: dict[str, int] = field(default_factory=dict)
    label_counts: dict[str, int] = field(default_factory=dict)
    memory_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return the report as plain JSON-able types."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> IngestReport:
        """Rebuild a report written by :meth:`to_dict` (unknown keys are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class FlowData:
    """Canonical flow frame: float32 features, meta columns, a normalised label.

    ``frame`` has a RangeIndex and the columns ``feature_columns + meta_columns +
    [label_column]``.
    """

    frame: pd.DataFrame
    feature_columns: list[str]
    meta_columns: list[str]
    label_column: str = "label"
    report: IngestReport = field(default_factory=IngestReport)

    @property
    def X(self) -> pd.DataFrame:  # noqa: N802 - scikit-learn's name
        """The feature columns."""
        return self.frame[self.feature_columns]

    @property
    def y(self) -> pd.Series:
        """The label column."""
        return self.frame[self.label_column]


@dataclass
class _Part:
    """One file after reading: its features as a float32 block, meta and label in polars."""

    name: str
    features: list[str]
    block: np.ndarray  # (rows, features), column-major float32; NaN = missing
    small: pl.DataFrame  # meta columns and "label"
    info: dict
    inf: dict[str, list[int]]  # column -> [count, first rows...]
    nan: dict[str, list[int]]
    labels: dict[tuple[str, str | None], int]  # (raw, read as) -> rows
    hashes: np.ndarray | None  # 64-bit hash of each row's features (dedup only)
    start: int | None = None  # first row of ``block`` in the arena, if it lives there


class _Arena:
    """One column-major float32 array that the files' feature blocks are written into.

    Writing every file into one array lets the output frame be that array, compacted in
    place, instead of a copy: on a 2.8M-row ingest that saves ~0.8 GB of fresh memory,
    whose first touch alone costs seconds on a virtual machine.
    """

    def __init__(self, features: list[str], capacity: int):
        self.features = features
        self.data = np.empty((capacity, len(features)), dtype=np.float32, order="F")
        self.top = 0

    def reserve(self, features: list[str], rows: int) -> int | None:
        """Start of ``rows`` free rows for a file with these features, or None."""
        if features != self.features or self.top + rows > len(self.data):
            return None
        start, self.top = self.top, self.top + rows
        return start


def read_flows(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    inf_policy: str = "nan",
    nan_policy: str = "drop",
    dedup: bool = True,
    label_column: str | None = None,
    attempted: str = "benign",
    require_label: bool = True,
) -> FlowData:
    """Read CICFlowMeter flow files into one canonical frame, with a report.

    Parameters
    ----------
    source : path-like, glob string, or a sequence of them
        A ``.csv``, ``.csv.gz`` or ``.parquet`` file, a folder (every such file directly
        inside, by name), or a glob pattern (``"data/*.csv"``; ``**`` recurses).
    inf_policy : {"nan", "clip", "drop", "error"}, default "nan"
        +/-Infinity becomes missing (then ``nan_policy`` applies), is clipped to the
        column's finite extremes, drops its row, or raises.
    nan_policy : {"drop", "zero", "error"}, default "drop"
        A missing feature value (NaN or empty) drops its row, becomes 0, or raises.
    dedup : bool, default True
        Drop exact duplicates over features and label (the first is kept).
    label_column : str, optional
        The label column's name in the files; by default the column called ``Label``
        (case and surrounding spaces ignored).
    attempted : {"benign", "keep", "drop"}, default "benign"
        How to treat "X - Attempted" labels of the corrected release.
    require_label : bool, default True
        With ``False`` files without a label column are read (to score new flows);
        their ``label`` is missing.

    Returns
    -------
    FlowData
        ``frame`` with float32 features under canonical names (``"Flow Duration"``, ...),
        the meta columns every file has (``flow_id``, ``src_ip``, ``src_port``, ``dst_ip``,
        ``dst_port``, ``protocol``, ``timestamp``, ``attempted_category``, ``id``) and
        ``label``; ``report`` says what was done.

    Raises
    ------
    InputError
        A path is missing, empty, not CSV/Parquet, or unreadable; nothing matched.
    SchemaError
        Unknown layout, no label column, empty labels, a non-numeric or all-empty feature
        column, Infinity/NaN under the "error" policy, no rows left.
    ParameterError
        A policy is not one of the allowed values.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from riskscope.io._flow_schema import MACHINE_LEARNING_CVE_HEADER as HEADER
    >>> from riskscope.io.flows import read_flows
    >>> row = ["80"] + ["1"] * 77 + ["Web Attack \\ufffd XSS"]
    >>> rows = [row, row, ["443"] + ["2"] * 13 + ["Infinity"] + ["2"] * 63 + ["BENIGN"]]
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "flows.csv"
    >>> _ = path.write_text("\\n".join(",".join(r) for r in [HEADER, *rows]) + "\\n")
    >>> data = read_flows(path)
    >>> data.frame.shape, data.frame["label"].tolist()
    ((1, 78), ['Web Attack - XSS'])
    >>> data.report.rows_dropped, data.report.duplicates_by_class
    ({'nan': 1, 'duplicate': 1}, {'Web Attack - XSS': 1})
    >>> read_flows(path, inf_policy="error")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskscope.exceptions.SchemaError: Column 'Flow Bytes/s' has 1 Infinity values (rows 3 ...
    """
    _check_choice("inf_policy", inf_policy, INF_POLICIES)
    _check_choice("nan_policy", nan_policy, NAN_POLICIES)
    _check_choice("attempted", attempted, ATTEMPTED_POLICIES)
    policies = {"inf_policy": inf_policy, "nan_policy": nan_policy, "dedup": bool(dedup)}
    report = IngestReport(policies={**policies, "attempted": attempted})
    options = _Options(label_column, require_label, attempted, dedup)
    parts, arena = _read_files(resolve_sources(source), options)
    features, meta = _combine(parts, report)
    ingest = _Ingest(parts, features, meta, report, arena)
    del parts, arena  # the ingest owns the blocks now
    ingest.apply_inf_policy(inf_policy)
    ingest.apply_nan_policy(nan_policy, inf_policy)
    if dedup:
        ingest.drop_duplicates()
    out = ingest.to_pandas()
    report.rows_out = len(out)
    labels = out["label"].value_counts(dropna=True)
    report.label_counts = {str(k): int(v) for k, v in labels.items()}
    report.memory_bytes = int(out.memory_usage(deep=True).sum())
    return FlowData(out, features, meta, "label", report)


# --- sources ---------------------------------------------------------------------------


def resolve_sources(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[Path]:
    """Expand files, folders and glob patterns into the flow files to read, in order.

    Examples
    --------
    >>> from riskscope.io.flows import resolve_sources
    >>> resolve_sources("/nonexistent/*.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskscope.exceptions.InputError: Pattern '/nonexistent/*.csv' matched no ...
    """
    items = [source] if isinstance(source, str | os.PathLike) else list(source)
    if not items:
        raise InputError("No input given; pass a file, a folder or a glob pattern.")
    kinds = ", ".join(SUPPORTED_SUFFIXES)
    out: list[Path] = []
    for item in items:
        text = os.fspath(item)
        p = Path(text)
        if p.is_dir():
            found = sorted(c for c in p.iterdir() if c.is_file() and _suffix(c) is not None)
            if not found:
                raise InputError(
                    f"Input folder '{text}' has no {kinds} files; check the path or convert "
                    "the files first."
                )
        elif p.is_file():
            if _suffix(p) is None:
                raise InputError(
                    f"Input file '{text}' has an unsupported type '{''.join(p.suffixes)}'; "
                    f"use one of {kinds}."
                )
            found = [p]
        elif glob.has_magic(text):
            matches = (Path(m) for m in sorted(glob.glob(text, recursive=True)))
            found = [m for m in matches if m.is_file() and _suffix(m) is not None]
            if not found:
                raise InputError(
                    f"Pattern '{text}' matched no {kinds} files; check the pattern "
                    "(quote it in a shell)."
                )
        else:
            raise InputError(f"Input path '{text}' does not exist; check the path.")
        out.extend(found)
    return list(dict.fromkeys(out))


def _suffix(p: Path) -> str | None:
    return next((s for s in SUPPORTED_SUFFIXES if p.name.lower().endswith(s)), None)


# --- one file --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    label_column: str | None
    require_label: bool
    attempted: str
    dedup: bool


def _read_files(paths: list[Path], options: _Options) -> tuple[list[_Part], _Arena | None]:
    """Read every file; parsing file k+1 (polars, all cores) overlaps finishing file k.

    Errors are raised in file order whichever step they come from.
    """
    parts: list[_Part] = []
    arena: _Arena | None = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for k, path in enumerate(paths):
            try:
                parsed = _parse_file(path, options.label_column, options.require_label)
            except Exception:
                if pending is not None:
                    parts.append(pending.result())  # an earlier file's error comes first
                raise
            frame = parsed[3]
            feats = [c for c in frame.columns if c in fs.FEATURE_ALIASES]
            if arena is None:
                arena = _Arena(feats, _capacity(paths[k:], frame.height))
            start = arena.reserve(feats, frame.height)
            out = None if start is None else arena.data[start : start + frame.height]
            if pending is not None:
                parts.append(pending.result())
            pending = pool.submit(_finish_file, *parsed, options, out, start)
        if pending is not None:
            parts.append(pending.result())
    return parts, arena


def _capacity(paths: list[Path], first_rows: int) -> int:
    """Rows to reserve for these files, the first of which has ``first_rows`` rows.

    Parquet files say how many rows they hold; CSV files are estimated from their size
    at the first file's bytes per row, with 15 % to spare. A file that does not fit
    gets an array of its own (and the output is then a copy).
    """
    per_byte = first_rows / max(paths[0].stat().st_size, 1)
    total = first_rows
    for p in paths[1:]:
        try:
            total += pq.ParquetFile(p).metadata.num_rows if _suffix(p) == ".parquet" else round(
                p.stat().st_size * per_byte * 1.15
            )  # fmt: skip
        except Exception:  # an unreadable file fails properly when it is parsed
            continue
    return total + 1024


def _parse_file(
    path: Path, label_column: str | None, require_label: bool
) -> tuple[Path, list[str], fs.ColumnPlan, pl.DataFrame]:
    if path.stat().st_size == 0:
        raise InputError(_empty(path))
    is_parquet = _suffix(path) == ".parquet"
    names = _parquet_names(path) if is_parquet else _csv_header(path)
    plan = fs.plan_columns(names, label_column=label_column)
    _check_plan(path, names, plan, label_column, require_label)
    internal = _internal_names(names, plan)
    frame = _read_parquet(path, internal) if is_parquet else _read_csv(path, internal)
    return path, names, plan, _coerce(frame, path, dict(zip(internal, names, strict=True)))


def _finish_file(
    path: Path,
    names: list[str],
    plan: fs.ColumnPlan,
    frame: pl.DataFrame,
    options: _Options,
    out: np.ndarray | None = None,
    start: int | None = None,
) -> _Part:
    """Everything per file after parsing: checks, labels, the float32 block, statistics."""
    if "label" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("label"))
    n_read = frame.height
    frame = _drop_blank_rows(frame)
    info = {
        "path": str(path),
        "format": "parquet" if _suffix(path) == ".parquet" else "csv",
        "layout": plan.layout,
        "closest_layout": plan.closest_layout,
        "feature_match": plan.match,
        "columns": len(names),
        "rows": frame.height,
        "blank_rows": n_read - frame.height,
        "unknown_columns": [n.strip() for n in plan.unknown.values()],
        "missing_features": plan.missing,
    }
    if plan.label is not None:
        _check_labels(frame, path)
    frame, labels = _normalise_labels(frame, options.attempted)
    frame = _merge_repeats(frame, plan, info)
    feats = [c for c in frame.columns if c in fs.FEATURE_ALIASES]
    frame = _prepare_meta(frame, info)
    block = (
        np.empty((frame.height, len(feats)), dtype=np.float32, order="F")
        if out is None else out[: frame.height]
    )  # fmt: skip
    for j, c in enumerate(feats):  # column by column: faster than DataFrame.to_numpy
        block[:, j] = frame[c].to_numpy()  # a missing value becomes NaN
    file_rows = frame["__row"].to_numpy() if "__row" in frame.columns else None
    inf, nan = _bad_value_stats(block, feats, file_rows)
    small = frame.select([c for c in frame.columns if c in fs.META_ALIASES or c == "label"])
    hashes = _hash_rows(block, feats) if options.dedup else None
    return _Part(path.name, feats, block, small, info, inf, nan, labels, hashes, start)


def _hash_rows(block: np.ndarray, feats: list[str]) -> np.ndarray:
    """64-bit hash of each row of a float32 block (row-local: a row hashes alike anywhere).

    Only :data:`~riskscope.io._flow_schema.HASH_FEATURES` are hashed when most of them are
    present; equal hashes are always confirmed on every feature.
    """
    subset = [j for j, c in enumerate(feats) if c in fs.HASH_FEATURES]
    cols = subset if len(subset) >= len(fs.HASH_FEATURES) // 2 else list(range(len(feats)))
    frame = pl.DataFrame([pl.Series(str(j), block[:, j]) for j in cols])
    return frame.hash_rows(seed=0).to_numpy()


def _normalise_labels(
    frame: pl.DataFrame, attempted: str
) -> tuple[pl.DataFrame, dict[tuple[str, str | None], int]]:
    """Canonical labels (see ``fs.normalise_label``); "X - Attempted" by ``attempted``.

    Returns the frame (rows of dropped attempted flows removed) and, for every distinct
    raw label, how it was read and how many rows carry it.
    """
    counts = frame["label"].value_counts().drop_nulls("label")
    mapping: dict[str, str | None] = {}
    for raw, _ in counts.iter_rows():
        fix = fs.normalise_label(raw)
        label: str | None = fix.label
        if fix.attempted:
            label = {"benign": "BENIGN", "drop": None}.get(attempted, f"{label} - Attempted")
        mapping[raw] = label
    seen = {(raw, mapping[raw]): int(n) for raw, n in counts.iter_rows()}
    if all(k == v for k, v in mapping.items()):
        return frame, seen
    frame = frame.with_columns(
        pl.col("label").replace_strict(mapping, default=None, return_dtype=pl.String)
    )
    if None in mapping.values():
        if "__row" not in frame.columns:
            frame = frame.with_row_index("__row", offset=1)
        frame = frame.filter(pl.col("label").is_not_null())
    return frame, seen


def _empty(path: Path) -> str:
    return f"Input file '{path}' is empty; re-export it or check that the write completed."


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            first = fh.readline()
    except (OSError, EOFError) as exc:
        raise InputError(
            f"Input file '{path}' could not be read ({_first_line(exc)}); check that it is "
            "not truncated and that a .gz file is really gzip."
        ) from None
    text = first.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
    if not text.strip():
        raise InputError(_empty(path))
    return next(csv.reader([text]))


def _parquet_names(path: Path) -> list[str]:
    try:
        return list(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises several types for a damaged footer
        raise InputError(
            f"Input file '{path}' is not a valid Parquet file ({_first_line(exc)}); "
            "re-export it or check the file's real format."
        ) from None


def _check_plan(
    path: Path,
    names: list[str],
    plan: fs.ColumnPlan,
    label_column: str | None,
    require_label: bool,
) -> None:
    if plan.match < MIN_FEATURE_MATCH:
        found = [n.strip() for i, n in enumerate(names) if i not in plan.features][:4]
        more = ", ..." if len(names) - len(plan.features) > 4 else ""
        raise SchemaError(
            f"Input file '{path}' has an unknown column layout: {len(plan.features)} of "
            f"{plan.n_expected} CICFlowMeter features recognised (unrecognised: "
            f"{', '.join(map(repr, found))}{more}; expected e.g. "
            f"{', '.join(map(repr, plan.missing[:3]))}); rename the columns to the CICIDS2017 "
            "names (MachineLearningCVE, TrafficLabelling or corrected layout)."
        )
    if plan.label is None and require_label:
        wanted = repr(label_column) if label_column is not None else "'Label'"
        last = ", ".join(repr(n.strip()) for n in names[-2:])
        raise SchemaError(
            f"Input file '{path}' has no label column (looked for {wanted}; its last "
            f"columns are {last}); pass label_column=NAME or add the labels."
        )


def _internal_names(names: list[str], plan: fs.ColumnPlan) -> list[str]:
    """Unique polars names by position: canonical features, meta, ``label``, helpers."""
    out = []
    for i in range(len(names)):
        if i == plan.label:
            out.append("label")
        elif i in plan.features:
            out.append(plan.features[i])
        elif i in plan.meta:
            out.append(plan.meta[i])
        elif i in plan.repeats:
            out.append(f"__repeat{i}")
        else:
            out.append(f"__unknown{i}")
    return out


def _dtype(name: str) -> pl.DataType:
    if name in fs.FEATURE_ALIASES or name.startswith("__repeat"):
        return pl.Float32()
    if name in _INT_META:
        return pl.Int64()
    return pl.String()


def _read_csv(path: Path, internal: list[str]) -> pl.DataFrame:
    keep = [i for i, n in enumerate(internal) if not n.startswith("__unknown")]

    def read(schema: dict[str, pl.DataType], encoding: str) -> pl.DataFrame:
        return pl.read_csv(
            path, has_header=False, skip_rows=1, schema=schema, columns=keep,
            encoding=encoding, raise_if_empty=False,
        )  # fmt: skip

    schema = {n: _dtype(n) for n in internal}
    try:
        try:
            return read(schema, "utf8")
        except pl.exceptions.ComputeError as exc:
            # The cp1252 dash (byte 0x96) of the original web-attack labels is not UTF-8;
            # decoding lossily turns it into U+FFFD, which the label repair knows.
            if "utf-8" not in str(exc):
                raise
            return read(schema, "utf8-lossy")
    except pl.exceptions.ComputeError as exc:
        msg = _first_line(exc)
        if "more fields" in msg:
            ragged = _find_ragged_line(path)
            if ragged is not None:
                line, expected, found = ragged
                raise InputError(
                    f"Input file '{path}' line {line} has {found} fields; expected "
                    f"{expected} as in the header; repair or drop the broken line."
                ) from None
        if "could not parse" not in msg:
            raise InputError(f"Input file '{path}' is not a readable CSV file ({msg}).") from None
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"Input file '{path}' is not a readable CSV file ({_first_line(exc)})."
        ) from None
    # A value did not parse as a number: read text and let _coerce say where.
    return read(dict.fromkeys(internal, pl.String()), "utf8-lossy")


def _read_parquet(path: Path, internal: list[str]) -> pl.DataFrame:
    try:
        table = pq.read_table(path)
    except Exception as exc:  # damaged bodies raise ArrowInvalid or OSError
        raise InputError(
            f"Input file '{path}' has a damaged Parquet body ({_first_line(exc)}); re-export it."
        ) from None
    table = table.rename_columns(internal)
    return pl.from_arrow(table.select([n for n in internal if not n.startswith("__unknown")]))


def _coerce(frame: pl.DataFrame, path: Path, raw: dict[str, str]) -> pl.DataFrame:
    """Cast every column to its type; a feature with text in it is a SchemaError.

    Identifier columns (ports, ids) with text in them become missing instead: they are
    not features, and one damaged port must not stop an ingest.
    """
    out = []
    for name in frame.columns:
        want, col = _dtype(name), frame[name]
        if col.dtype == want:
            continue
        if want == pl.String():
            out.append(col.cast(pl.String))
        elif col.dtype == pl.String():
            text = col.str.strip_chars()
            parsed = text.cast(pl.Float64, strict=False)
            bad = (text.is_not_null() & (text != "") & parsed.is_null()).arg_true()
            if len(bad) and want.is_float():
                first = int(bad[0])
                many = f" ({len(bad)} such rows)" if len(bad) > 1 else ""
                raise SchemaError(
                    f"Column '{raw[name].strip()}' of '{path}' is not numeric: row "
                    f"{first + 1} has {col[first]!r}{many}; fix or remove those rows, or "
                    "re-export the file."
                )
            out.append(parsed.cast(want, strict=False).alias(name))
        elif col.dtype.is_numeric() or col.dtype == pl.Boolean():
            out.append(col.cast(want, strict=False))
        else:
            raise SchemaError(
                f"Column '{raw[name].strip()}' of '{path}' has type {col.dtype}, not a "
                "number; re-export the file with numeric feature columns."
            )
    return frame.with_columns(out) if out else frame


def _drop_blank_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop rows empty in every column (TrafficLabelling files end in ",,,,..." lines).

    Rows keep their file row numbers in ``__row`` when any are dropped.
    """
    if frame.height == 0 or frame["label"].null_count() == 0:
        return frame
    blank = frame.select(pl.all_horizontal(pl.all().is_null())).to_series()
    if not blank.any():
        return frame
    return frame.with_row_index("__row", offset=1).filter(~blank)


def _rows(frame: pl.DataFrame, mask: pl.Expr) -> list[int]:
    """1-based file rows of the first few rows where ``mask`` holds."""
    if "__row" in frame.columns:
        return frame.filter(mask)["__row"].head(_N_SHOWN).to_list()
    return [i + 1 for i in frame.select(mask.arg_true().head(_N_SHOWN)).to_series().to_list()]


def _check_labels(frame: pl.DataFrame, path: Path) -> None:
    labels = frame["label"]
    empty = [v for v in labels.unique().to_list() if v is None or not v.strip()]
    if empty:
        mask = pl.col("label").is_null() | pl.col("label").is_in([v for v in empty if v])
        n = frame.select(mask.sum()).item()
        rows = ", ".join(map(str, _rows(frame, mask)))
        raise SchemaError(
            f"Input file '{path}' has {n} rows with an empty label (rows {rows}"
            f"{', ...' if n > _N_SHOWN else ''}); label them or remove them."
        )


def _merge_repeats(frame: pl.DataFrame, plan: fs.ColumnPlan, info: dict) -> pl.DataFrame:
    """Drop repeated columns (``Fwd Header Length`` twice), noting rows where they differ."""
    if not plan.repeats:
        return frame
    differ = frame.select(
        [pl.col(f"__repeat{i}").ne_missing(pl.col(f)).sum().alias(f)
         for i, f in plan.repeats.items()]
    ).row(0, named=True)  # fmt: skip
    info["repeated_columns"] = {f: int(n) for f, n in differ.items()}
    return frame.drop([f"__repeat{i}" for i in plan.repeats])


def _bad_value_stats(
    block: np.ndarray, feats: list[str], file_rows: np.ndarray | None
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Per column: [count, first rows...] of Infinity and of missing (NaN or empty)."""
    bad = np.count_nonzero(~np.isfinite(block), axis=0)
    inf: dict[str, list[int]] = {}
    nan: dict[str, list[int]] = {}
    for j in np.flatnonzero(bad):
        col = block[:, j]
        for table, where in ((inf, np.isinf(col)), (nan, np.isnan(col))):
            found = np.flatnonzero(where)
            if len(found):
                first = found[:_N_SHOWN]
                rows = first + 1 if file_rows is None else file_rows[first]
                table[feats[j]] = [len(found), *(int(r) for r in rows)]
    return inf, nan


def _prepare_meta(frame: pl.DataFrame, info: dict) -> pl.DataFrame:
    exprs = []
    if "Protocol" in frame.columns:
        exprs.append(pl.col("Protocol").cast(pl.Int64, strict=False).alias("protocol"))
    if "timestamp" in frame.columns:
        parsed, tinfo = fs.parse_timestamps(frame["timestamp"])
        info["timestamp"] = tinfo
        exprs.append(parsed.alias("timestamp"))
    return frame.with_columns(exprs) if exprs else frame


# --- all files -------------------------------------------------------------------------


def _combine(parts: list[_Part], report: IngestReport) -> tuple[list[str], list[str]]:
    """Align the files on their common features and meta columns; fill the report."""
    meta_sets = [list(p.small.columns) for p in parts]
    features = [c for c in fs.CANONICAL_FEATURES if all(c in p.features for p in parts)]
    meta = [c for c in fs.META_COLUMNS if all(c in m for m in meta_sets)]
    feature_sets = [p.features for p in parts]
    for kind, sets, kept in (("feature", feature_sets, features), ("meta", meta_sets, meta)):
        for col in dict.fromkeys(c for s in sets for c in s if c != "label"):
            if col not in kept:
                owners = [p.name for p, s in zip(parts, sets, strict=True) if col in s]
                more = ", ..." if len(owners) > 3 else ""
                report.dropped_columns[col] = (
                    f"{kind} column not in every file (only in {', '.join(owners[:3])}{more})"
                )
    for p in parts:
        for raw in p.info["unknown_columns"]:
            report.dropped_columns.setdefault(raw, "unknown column")
        for feature, n in p.info.get("repeated_columns", {}).items():
            report.dropped_columns.setdefault(
                f"{feature} (repeated)", f"second copy; differs from the first in {n} rows"
            )
        if p.features != features:
            p.block = np.asfortranarray(p.block[:, [p.features.index(c) for c in features]])
            p.features, p.start = features, None
            if p.hashes is not None:
                p.hashes = _hash_rows(p.block, features)
        p.small = p.small.select([*meta, "label"])
    _label_report(parts, report)
    report.files = [p.info for p in parts]
    report.layouts = sorted({p.info["layout"] for p in parts})
    if len({p.info["closest_layout"] for p in parts}) > 1:
        report.notes.append(
            "Mixed layouts: the corrected release was computed by a fixed CICFlowMeter, so "
            "shared features do not mean exactly the same in every file."
        )
    report.rows_read = sum(p.info["rows"] for p in parts)
    report.blank_rows = sum(p.info["blank_rows"] for p in parts)
    for kind in ("inf", "nan"):
        counts, shown = getattr(report, f"{kind}_counts"), getattr(report, f"{kind}_rows")
        for p in parts:
            for col, (n, *rows) in getattr(p, kind).items():
                if col not in features:
                    continue
                counts[col] = counts.get(col, 0) + n
                listed = shown.setdefault(col, [])
                listed.extend(f"{p.name}:{r}" for r in rows[: _N_SHOWN - len(listed)])
    where = f"file '{parts[0].info['path']}'" if len(parts) == 1 else f"{len(parts)} files"
    if report.rows_read == 0:
        raise SchemaError(f"Input {where} has a header but no data rows; check the export.")
    for col in features:
        if report.nan_counts.get(col, 0) == report.rows_read:
            raise SchemaError(
                f"Column '{col}' is empty (NaN or blank) in all {report.rows_read} rows of "
                f"{where}; remove the column or re-export the data."
            )
    return features, meta


def _label_report(parts: list[_Part], report: IngestReport) -> None:
    repairs: dict[tuple[str, str | None], int] = {}
    for p in parts:
        for key, n in p.labels.items():
            repairs[key] = repairs.get(key, 0) + n
    dropped: dict[str, int] = {}
    for (raw, label), n in repairs.items():
        fix = fs.normalise_label(raw)
        if label is None:
            dropped[raw] = dropped.get(raw, 0) + n
        elif not fix.known and not fix.attempted:
            report.unknown_labels[label] = report.unknown_labels.get(label, 0) + n
        if label != raw:
            report.label_repairs.append({"raw": raw, "label": label, "count": n})
    report.label_repairs.sort(key=lambda r: (-r["count"], r["raw"]))
    if dropped:
        report.rows_dropped["attempted"] = sum(dropped.values())
        report.rows_dropped_by_class["attempted"] = dict(
            sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))
        )


class _Ingest:
    """The files' float32 blocks, their meta and labels, and a row mask.

    Policies narrow ``keep`` (a numpy bool array over all rows) instead of copying data,
    and edit values in place in the few columns they touch (marking those rows
    ``dirty`` for the row hashes); rows are dropped once, at the end, by compacting the
    arena in place (or, for files outside it, by copying into a new array).
    """

    def __init__(
        self,
        parts: list[_Part],
        features: list[str],
        meta: list[str],
        report: IngestReport,
        arena: _Arena | None,
    ):
        self.arena = arena
        self.blocks: list[np.ndarray | None] = [p.block for p in parts]
        self.features, self.meta, self.report = features, meta, report
        self.small = pl.concat([p.small for p in parts], how="vertical", rechunk=False)
        self.offsets = np.cumsum([0, *(len(p.block) for p in parts)])
        hashes = [p.hashes for p in parts]
        self.hashes = None if any(h is None for h in hashes) else np.concatenate(hashes)
        self.keep: np.ndarray | None = None
        self.dirty: np.ndarray | None = None
        # The arena can be compacted in place when every file lives in it, in order.
        starts = [p.start for p in parts]
        self.starts = starts if None not in starts and starts == sorted(starts) else None

    def _columns(self, col: str) -> list[tuple[int, np.ndarray]]:
        """(offset, view) of one feature column in every block."""
        j = self.features.index(col)
        return [(o, b[:, j]) for o, b in zip(self.offsets, self.blocks, strict=False)]

    def _mask(self, cols: list[str], test) -> np.ndarray:
        mask = np.zeros(self.offsets[-1], dtype=bool)
        for col in cols:
            for o, v in self._columns(col):
                mask[o : o + len(v)] |= test(v)
        return mask

    def _drop(self, mask: np.ndarray, reason: str) -> None:
        """Drop the rows where ``mask`` holds (among those still kept), counted by class."""
        new = mask if self.keep is None else mask & self.keep
        n = int(new.sum())
        if not n:
            return
        labels = self.small["label"].filter(pl.Series(new)).value_counts(sort=True)
        self.report.rows_dropped[reason] = n
        self.report.rows_dropped_by_class[reason] = {
            str(k): int(v) for k, v in labels.iter_rows()
        }
        self.keep = ~mask if self.keep is None else self.keep & ~mask

    def _edited(self, cols: list[str]) -> None:
        """Note rows whose values a policy is about to change (their hash is stale)."""
        mask = self._mask(cols, lambda v: ~np.isfinite(v))
        self.dirty = mask if self.dirty is None else self.dirty | mask

    def apply_inf_policy(self, policy: str) -> None:
        report = self.report
        cols = [c for c in self.features if report.inf_counts.get(c)]
        if not cols:
            return
        if policy == "error":
            col = cols[0]
            raise SchemaError(
                f"Column '{col}' has {report.inf_counts[col]} Infinity values "
                f"({_where(report.inf_rows[col], report.inf_counts[col])}); use "
                "inf_policy='drop' or 'clip' (--inf-policy=drop or =clip)."
            )
        if policy == "drop":
            self._drop(self._mask(cols, np.isinf), "inf")
            return
        self._edited(cols)
        for col in cols:
            views = self._columns(col)
            if policy == "nan":
                for _, v in views:
                    v[np.isinf(v)] = np.nan
                continue
            finite = [f for f in (v[np.isfinite(v)] for _, v in views) if len(f)]
            hi = max((f.max() for f in finite), default=np.float32(_F32_MAX))
            lo = min((f.min() for f in finite), default=np.float32(-_F32_MAX))
            for _, v in views:
                v[v == np.inf] = hi
                v[v == -np.inf] = lo
        if policy == "clip":
            report.values_replaced["clip"] = {c: report.inf_counts[c] for c in cols}

    def apply_nan_policy(self, policy: str, inf_policy: str) -> None:
        report = self.report
        cols = [
            c for c in self.features
            if report.nan_counts.get(c) or (inf_policy == "nan" and report.inf_counts.get(c))
        ]  # fmt: skip
        if not cols:
            return
        if policy == "drop":
            self._drop(self._mask(cols, np.isnan), "nan")
            return
        counts = {c: int(self._mask([c], np.isnan).sum()) for c in cols}
        if policy == "error":
            col = cols[0]
            from_inf = inf_policy == "nan" and report.inf_counts.get(col)
            rows = report.nan_rows.get(col) or report.inf_rows[col]
            raise SchemaError(
                f"Column '{col}' has {counts[col]} missing values"
                + (" (NaN, blank or Infinity)" if from_inf else " (NaN or blank)")
                + f" ({_where(rows, counts[col])}); use nan_policy='drop' or 'zero' "
                "(--nan-policy=drop or =zero)."
            )
        self._edited(cols)
        for col in cols:
            for _, v in self._columns(col):
                v[np.isnan(v)] = 0.0
        report.values_replaced["zero"] = {c: n for c, n in counts.items() if n}

    # -- duplicates ------------------------------------------------------------------------

    def _locate(self, rows: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """For each file: (file, positions in ``rows``, rows local to the file)."""
        files = np.searchsorted(self.offsets, rows, side="right") - 1
        out = []
        for f in np.unique(files):
            pos = np.flatnonzero(files == f)
            out.append((int(f), pos, rows[pos] - self.offsets[f]))
        return out

    def _gather(self, rows: np.ndarray) -> np.ndarray:
        """Feature values of the given global rows, in that order (column-major)."""
        values = np.empty((len(rows), len(self.features)), dtype=np.float32, order="F")
        where = self._locate(rows)
        for j in range(len(self.features)):
            for f, pos, local in where:
                values[pos, j] = self.blocks[f][local, j]
        return values

    def _equal_rows(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """For each i, whether global rows ``a[i]`` and ``b[i]`` have equal features."""
        by_row = np.argsort(a, kind="stable")  # reading the blocks in row order is faster
        where_a, where_b = self._locate(a[by_row]), self._locate(b[by_row])
        va, vb = np.empty(len(a), np.float32), np.empty(len(b), np.float32)
        equal = np.ones(len(a), dtype=bool)
        for j in range(len(self.features)):
            for where, out in ((where_a, va), (where_b, vb)):
                for f, pos, local in where:
                    out[pos] = self.blocks[f][local, j]
            equal &= va == vb
        out = np.empty_like(equal)
        out[by_row] = equal
        return out

    def drop_duplicates(self) -> None:
        """Drop exact duplicates over features + label, counted by class; count conflicts.

        Rows are grouped by a 64-bit hash of their features (one sort); every row in a
        group is compared value by value with the group's first row, and groups where
        that fails (a hash collision) are regrouped by full comparison, so the result is
        exact. Within a group of equal features the first row of each label is kept;
        groups left with several labels are the conflicting duplicates.
        """
        assert self.hashes is not None
        n = int(self.offsets[-1])
        rows = np.arange(n) if self.keep is None else np.flatnonzero(self.keep)
        if self.dirty is not None:  # values edited by a policy: hash those rows again
            stale = np.flatnonzero(self.dirty if self.keep is None else self.dirty & self.keep)
            if len(stale):
                self.hashes[stale] = _hash_rows(self._gather(stale), self.features)
        order, run_start, first_of_run = _runs(self.hashes[rows])
        run_len = np.diff(np.flatnonzero(np.append(run_start, True)))
        multi = np.repeat(run_len > 1, run_len)
        pos, head = order[multi], first_of_run[multi]
        group = (np.cumsum(run_start) - 1)[multi]
        equal = self._equal_rows(rows[pos], rows[head])
        if not equal.all():
            group = self._regroup(rows, pos, group, equal)
        codes = self.small["label"].cast(pl.Categorical).to_physical().fill_null(2**32 - 1)
        code = codes.to_numpy()[rows[pos]]
        by = np.lexsort((pos, code, group))  # group, then label, then row order
        g, c, p = group[by], code[by], pos[by]
        first = np.ones(len(by), dtype=bool)
        first[1:] = (g[1:] != g[:-1]) | (c[1:] != c[:-1])
        dup_rows = rows[p[~first]]
        report = self.report
        report.duplicate_rows = len(dup_rows)
        labels = self.small["label"]
        by_class = labels.gather(dup_rows).value_counts(sort=True)
        report.duplicates_by_class = {str(k): int(v) for k, v in by_class.iter_rows()}
        if len(dup_rows):
            report.rows_dropped["duplicate"] = len(dup_rows)
            if self.keep is None:
                self.keep = np.ones(n, dtype=bool)
            self.keep[dup_rows] = False
        kg, kp = g[first], p[first]
        new_group = np.ones(len(kg), dtype=bool)
        new_group[1:] = kg[1:] != kg[:-1]
        sizes = np.diff(np.flatnonzero(np.append(new_group, True)))
        clash = np.repeat(sizes > 1, sizes)
        report.conflicting_duplicates = _conflicts(kg[clash], labels.gather(rows[kp[clash]]))

    def _regroup(
        self, rows: np.ndarray, pos: np.ndarray, group: np.ndarray, equal: np.ndarray
    ) -> np.ndarray:
        """Exact group ids where a hash group holds rows that differ (a hash collision)."""
        bad = np.isin(group, np.unique(group[~equal]))
        sub = pl.from_numpy(self._gather(rows[pos[bad]]), schema=self.features, orient="row")
        ids = sub.select(pl.struct(self.features).rank("dense")).to_series().to_numpy()
        out = group.copy()
        out[bad] = group.max() + ids.astype(np.int64)
        return out

    def to_pandas(self) -> pd.DataFrame:
        keep = self.keep
        n = int(self.offsets[-1]) if keep is None else int(keep.sum())
        if n == 0:
            raise SchemaError(
                f"No rows left after the Inf/NaN policies and deduplication "
                f"({self.report.rows_read} read; dropped {self.report.rows_dropped}); use "
                "inf_policy='clip' or nan_policy='zero' to keep rows with bad values."
            )
        local = [
            None if keep is None else np.flatnonzero(keep[o : self.offsets[i + 1]])
            for i, o in enumerate(self.offsets[:-1])
        ]
        if self.arena is not None and self.starts is not None:
            values = self._compact(self.arena, local)
        else:
            values = np.empty((n, len(self.features)), dtype=np.float32, order="F")
            at = 0
            for i, block in enumerate(self.blocks):
                rows = local[i]
                k = len(block) if rows is None else len(rows)
                for j in range(block.shape[1]):
                    if rows is None:
                        values[at : at + k, j] = block[:, j]
                    else:
                        np.take(block[:, j], rows, out=values[at : at + k, j])
                at += k
                self.blocks[i] = None
        out = pd.DataFrame(values, columns=self.features, copy=False)
        small = self.small if keep is None else self.small.filter(pl.Series(keep))
        for name in self.meta:
            s = small[name]
            out[name] = _smallest_int(s) if s.dtype.is_integer() else s.to_pandas()
        out["label"] = small["label"].to_pandas()
        return out

    def _compact(self, arena: _Arena, local: list[np.ndarray | None]) -> np.ndarray:
        """Move the kept rows of every file to the front of the arena; return that part.

        Files lie in the arena in order, so a kept row never moves backwards past rows
        still to be read.
        """
        assert self.starts is not None
        for j in range(len(self.features)):
            col, at = arena.data[:, j], 0
            for start, block, rows in zip(self.starts, self.blocks, local, strict=True):
                if rows is None:
                    col[at : at + len(block)] = col[start : start + len(block)]
                    at += len(block)
                else:
                    col[at : at + len(rows)] = col[start + rows]
                    at += len(rows)
        self.blocks = []
        return arena.data[:at]


def _conflicts(groups: np.ndarray, labels: pl.Series) -> dict:
    """Report entry for rows equal in every feature but labelled differently (all kept)."""
    frame = pl.DataFrame({"g": groups, "label": labels})
    sets = frame.group_by("g").agg(pl.col("label").sort().str.join(" | "))["label"]

    def counts(s: pl.Series) -> dict[str, int]:
        return {str(k): int(v) for k, v in s.value_counts(sort=True).iter_rows()}

    return {
        "feature_vectors": int(frame["g"].n_unique()) if len(frame) else 0,
        "rows": len(frame),
        "by_label": counts(labels),
        "label_sets": dict(list(counts(sets).items())[:10]),
        "policy": "kept",
    }


def _runs(key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group equal keys by sorting.

    Returns ``order`` (positions sorted by key), ``run_start`` (whether each sorted
    element starts a run of equal keys) and ``first_of_run`` (for each sorted element, the
    smallest position in its run, i.e. the run's earliest row).
    """
    order = pl.Series(key).arg_sort().to_numpy()  # multi-threaded; ties in any order
    sk = key[order]
    run_start = np.ones(len(sk), dtype=bool)
    run_start[1:] = sk[1:] != sk[:-1]
    starts = np.flatnonzero(run_start)
    earliest = np.minimum.reduceat(order, starts) if len(starts) else order
    first_of_run = earliest[np.cumsum(run_start) - 1]
    return order, run_start, first_of_run


def _where(rows: list[str], n: int) -> str:
    more = ", ..." if n > len(rows) else ""
    by_file: dict[str, list[str]] = {}
    for r in rows:
        name, row = r.rsplit(":", 1)
        by_file.setdefault(name, []).append(row)
    text = "; ".join(f"rows {', '.join(v)} of '{k}'" for k, v in by_file.items())
    return text + more


_INT_TYPES = {  # numpy type -> pandas nullable type, smallest first
    np.uint8: "UInt8", np.uint16: "UInt16", np.uint32: "UInt32", np.int8: "Int8",
    np.int16: "Int16", np.int32: "Int32", np.int64: "Int64",
}  # fmt: skip


def _smallest_int(s: pl.Series) -> np.ndarray | pd.Series:
    """Integer meta column in the smallest type that holds it; nullable if it has gaps."""
    lo, hi = s.min(), s.max()
    lo, hi = (0 if lo is None else lo), (0 if hi is None else hi)
    dtype = next(t for t in _INT_TYPES if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max)
    if s.null_count():
        return pd.Series(s.cast(pl.Float64).to_numpy()).astype(_INT_TYPES[dtype])
    return s.to_numpy().astype(dtype, copy=False)


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ParameterError(
            f"`{name}` of read_flows must be one of {', '.join(map(repr, allowed))}; "
            f"got {value!r}."
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 160 else line[:157] + "..."
