"""Reading one flow file (CSV, gzip CSV or Parquet) for :func:`riskscope.io.flows.read_flows`.

Per file: header and column plan, parsing with polars, type coercion, label checks and
repairs, repeated columns, and the float32 feature block with its Inf/NaN statistics and
row hashes (a :class:`_Part`). Files are written into one shared :class:`_Arena` where
they fit. Aligning several files and cleaning them is :mod:`riskscope.io.flows` and
:mod:`riskscope.io._flow_clean`.
"""

from __future__ import annotations

import csv
import gzip
import mmap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from riskscope.exceptions import InputError, SchemaError
from riskscope.io import _flow_schema as fs
from riskscope.io.readers import SUPPORTED_SUFFIXES, _find_ragged_line

#: A header must contain at least this share of its closest layout's features.
MIN_FEATURE_MATCH = 0.6
_N_SHOWN = 5  # rows named in messages and in the report, per column
_INT_META = ("id", "src_port", "dst_port", "protocol", "attempted_category")


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

    The array lives in an anonymous memory map where the platform allows it, so that
    :meth:`release` can hand the rows left behind by compaction back to the system: the
    frame is a view of the arena and keeps all of it alive (on CICIDS2017's 2.8M rows the
    dropped duplicates alone hold ~90 MB).
    """

    def __init__(self, features: list[str], capacity: int):
        self.features = features
        shape = (capacity, len(features))
        nbytes = capacity * len(features) * np.dtype(np.float32).itemsize
        self._map = None
        if nbytes and hasattr(mmap, "MADV_DONTNEED") and hasattr(mmap, "MAP_ANONYMOUS"):
            # private: released pages are freed (a shared map would only unmap them)
            self._map = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            if hasattr(mmap, "MADV_HUGEPAGE"):  # as numpy asks for its own large arrays
                self._map.madvise(mmap.MADV_HUGEPAGE)
            self.data = np.frombuffer(self._map, dtype=np.float32).reshape(shape, order="F")
        else:
            self.data = np.empty(shape, dtype=np.float32, order="F")
        self.top = 0

    def release(self, rows: int) -> None:
        """Return the memory of every column's rows from ``rows`` on to the system.

        Only whole pages inside those rows are released (they read as zeros afterwards);
        the first ``rows`` rows of every column are untouched.
        """
        if self._map is None:
            return
        capacity, page, size = len(self.data), mmap.PAGESIZE, self.data.itemsize
        for j in range(self.data.shape[1]):
            start, end = (j * capacity + rows) * size, (j + 1) * capacity * size
            lo, hi = -(-start // page) * page, end // page * page  # whole pages within
            if hi > lo:
                self._map.madvise(mmap.MADV_DONTNEED, lo, hi - lo)

    def reserve(self, features: list[str], rows: int) -> int | None:
        """Start of ``rows`` free rows for a file with these features, or None."""
        if features != self.features or self.top + rows > len(self.data):
            return None
        start, self.top = self.top, self.top + rows
        return start


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 160 else line[:157] + "..."
