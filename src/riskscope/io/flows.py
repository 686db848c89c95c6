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

import glob
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from riskscope.exceptions import InputError, ParameterError, SchemaError
from riskscope.io import _flow_schema as fs
from riskscope.io._flow_clean import _Ingest
from riskscope.io._flow_read import (  # reading one file; cleaning is _flow_clean
    _N_SHOWN,
    MIN_FEATURE_MATCH,  # noqa: F401 - public constant, importable from here as before
    _hash_rows,
    _Options,
    _Part,
    _read_files,
    _suffix,
)
from riskscope.io.readers import SUPPORTED_SUFFIXES

__all__ = [
    "ATTEMPTED_POLICIES",
    "INF_POLICIES",
    "NAN_POLICIES",
    "FlowData",
    "IngestReport",
    "read_flows",
    "resolve_sources",
]

INF_POLICIES: tuple[str, ...] = ("nan", "clip", "drop", "error", "keep")
# No "median": see the module docstring (statistics of all rows leak into the test split).
NAN_POLICIES: tuple[str, ...] = ("drop", "zero", "error")
ATTEMPTED_POLICIES: tuple[str, ...] = ("benign", "keep", "drop")


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
    inf_policy : {"nan", "clip", "drop", "error", "keep"}, default "nan"
        +/-Infinity becomes missing (then ``nan_policy`` applies), is clipped to the
        column's finite extremes, drops its row, raises, or is kept as it is (for
        scoring: a fitted :class:`~riskscope.features.preprocess.FlowPreprocessor`
        bounds it by the training data's extremes, so a flow's score never depends on
        the other flows in the batch).
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


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ParameterError(
            f"`{name}` of read_flows must be one of {', '.join(map(repr, allowed))}; "
            f"got {value!r}."
        )
