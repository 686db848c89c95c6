"""Cleaning the aligned flow files for :func:`riskscope.io.flows.read_flows`.

:class:`_Ingest` holds every file's float32 block, meta and labels and a row mask; it
applies the Inf and NaN policies, drops exact duplicates (counting conflicting ones) and
builds the output frame, compacting the shared arena in place where it can.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import polars as pl

from riskscope.exceptions import SchemaError
from riskscope.io._flow_read import _Arena, _hash_rows, _Part

if TYPE_CHECKING:
    from riskscope.io.flows import IngestReport

_F32_MAX = float(np.finfo(np.float32).max)
# Rows moved per step when compacting the arena (see _Ingest._compact).
_MOVE_ROWS = 1 << 16


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
        if arena is not None and self.starts == list(self.offsets[:-1]) and len(parts) > 1:
            # The files lie back to back from the arena's first row (the usual case): treat
            # them as one block, so that every step below handles a column in one piece
            # instead of a piece per file (CICIDS2017's 8 files x 76 columns: ~1,800 fewer
            # numpy calls in dedup and compaction).
            n = int(self.offsets[-1])
            self.blocks, self.offsets, self.starts = [arena.data[:n]], np.array([0, n]), [0]

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
        if not cols or policy == "keep":
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
        still to be read. Rows move in chunks of ``_MOVE_ROWS``, so the temporaries (row
        numbers and values of one chunk) stay small however many rows there are.
        """
        assert self.starts is not None
        for j in range(len(self.features)):
            col, at = arena.data[:, j], 0
            for start, block, rows in zip(self.starts, self.blocks, local, strict=True):
                if rows is None:
                    col[at : at + len(block)] = col[start : start + len(block)]
                    at += len(block)
                    continue
                for lo in range(0, len(rows), _MOVE_ROWS):
                    chunk = rows[lo : lo + _MOVE_ROWS]
                    col[at : at + len(chunk)] = col[start + chunk if start else chunk]
                    at += len(chunk)
        self.blocks = []
        arena.release(at)  # the rows behind the kept ones are dead; the frame keeps [:at]
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
