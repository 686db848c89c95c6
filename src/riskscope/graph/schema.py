"""The provenance graph every parser produces and every apt stage consumes.

A :class:`ProvenanceGraph` is two Arrow tables:

``nodes`` (one row per entity)
    ``id`` (string, unique: the source's own identifier, e.g. a CDM UUID, a Sysmon
    ProcessGuid, ``pid@start`` for strace), ``type`` (string, see :data:`NODE_TYPES`),
    ``name`` (string: executable path, file path, ``ip:port``, registry key; may be
    empty). Optional standard columns: ``cmdline`` (string), ``pid`` (int64), ``ts``
    (int64, first seen), ``label`` (bool, ground truth: part of an attack). Any other
    column is carried along untouched.

``edges`` (one row per event, actor -> object)
    ``src`` and ``dst`` (int32: row positions in ``nodes``), ``type`` (string, see
    :data:`EDGE_TYPES`), ``ts`` (int64). The actor is always the source: a process
    reading a file is ``process -> file`` with type ``read``; the direction of the data
    flow follows from the type. A parent starting a child is ``parent -> child``.

Timestamps are nanoseconds since the Unix epoch when the source has clock times
(``meta["time"] == "ns"``); sources without them (StreamSpot) number the events in
file order instead (``meta["time"] == "order"``).

Edges reference nodes by position rather than by id: positions are what the encoders
and the GNN need (PyTorch Geometric's ``edge_index``), they are four bytes instead of a
UUID, and a dangling reference is a simple range check.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskscope.exceptions import InputError, SchemaError

__all__ = [
    "EDGE_TYPES",
    "NODE_TYPES",
    "GraphBuilder",
    "ParseStats",
    "ProvenanceGraph",
]

#: Canonical node types. Parsers map their source's kinds onto these (CDM
#: ``FileObject`` -> ``file``, Sysmon image loads -> ``module``, EDR ``regkey`` ->
#: ``registry``, ``socket`` -> ``netflow``); a kind with no match keeps its own
#: lower-case name, so nothing is silently merged.
NODE_TYPES: tuple[str, ...] = (
    "process", "file", "netflow", "module", "registry", "pipe", "memory", "srcsink",
    "principal", "other",
)

#: Canonical edge (event) types. As for nodes, an event with no match keeps its own
#: lower-case name. ``exit`` and ``close`` are the low-priority events pruning may drop.
EDGE_TYPES: tuple[str, ...] = (
    # process -> process
    "start", "exit", "access", "signal",
    # process -> file / module / pipe / memory
    "exec", "load", "open", "close", "read", "write", "create", "delete", "rename",
    "chmod", "link", "mmap", "truncate",
    # process -> netflow
    "connect", "accept", "bind", "listen", "send", "recv",
    # process -> registry
    "reg_create", "reg_set", "reg_delete",
)

_NODE_REQUIRED = {"id": pa.string(), "type": pa.string(), "name": pa.string()}
_NODE_OPTIONAL = {"cmdline": pa.string(), "pid": pa.int64(), "ts": pa.int64(),
                  "label": pa.bool_()}
_EDGE_REQUIRED = {"src": pa.int32(), "dst": pa.int32(), "type": pa.string(),
                  "ts": pa.int64()}
_EDGE_OPTIONAL = {"label": pa.bool_()}
_TIME_KINDS = ("ns", "order")
_SHOW = 5  # rows quoted in an error message


@dataclass
class ParseStats:
    """What a parser read, built and skipped: the parse section of a run record.

    Attributes
    ----------
    records : int
        Input records seen (lines, JSON objects, table rows).
    skipped : collections.Counter
        Records not turned into an edge, by reason (``"malformed"``, ``"no_object"``...).
    unknown : collections.Counter
        Event kinds the parser does not know (unknown syscalls, event IDs), by name.
        Counted, never fatal.
    """

    records: int = 0
    skipped: collections.Counter = field(default_factory=collections.Counter)
    unknown: collections.Counter = field(default_factory=collections.Counter)
    first_bad: list[str] = field(default_factory=list)

    def skip(self, reason: str, where: str | None = None) -> None:
        """Count one skipped record; remember where the first few were."""
        self.skipped[reason] += 1
        if where is not None and len(self.first_bad) < _SHOW:
            self.first_bad.append(f"{where}: {reason}")

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "skipped": dict(self.skipped.most_common()),
                "unknown": dict(self.unknown.most_common()), "first_bad": self.first_bad}


class GraphBuilder:
    """Accumulates nodes and edges record by record, then builds a graph.

    Parsers call :meth:`node` with the source's id (returns the row position; a known
    id returns its existing position and keeps the first attributes, filling empty
    ones from later records) and :meth:`edge` with two positions.

    Examples
    --------
    >>> b = GraphBuilder(source="example")
    >>> p = b.node("p1", "process", "/usr/bin/curl", cmdline="curl http://x", pid=7)
    >>> f = b.node("/tmp/a", "file", "/tmp/a")
    >>> b.edge(p, f, "write", 1_700_000_000_000_000_000)
    >>> g = b.build()
    >>> (g.n_nodes, g.n_edges, g.nodes["cmdline"].to_pylist())
    (2, 1, ['curl http://x', None])
    """

    def __init__(self, *, source: str = "", time: str = "ns", name: str = "") -> None:
        if time not in _TIME_KINDS:
            raise ValueError(f"time must be one of {_TIME_KINDS}; got {time!r}")
        self.source, self.time, self.name = source, time, name
        self.stats = ParseStats()
        self._index: dict[str, int] = {}
        self._ids: list[str] = []
        self._types: list[str] = []
        self._names: list[str] = []
        self._cmd: dict[int, str] = {}
        self._pid: dict[int, int] = {}
        self._ts: dict[int, int] = {}
        self._src: list[int] = []
        self._dst: list[int] = []
        self._etype: list[str] = []
        self._ets: list[int] = []

    def __contains__(self, node_id: str) -> bool:
        return node_id in self._index

    def get(self, node_id: str) -> int | None:
        """Position of a known node id, else None."""
        return self._index.get(node_id)

    def node(self, node_id: str, type: str, name: str = "", *, cmdline: str | None = None,
             pid: int | None = None, ts: int | None = None) -> int:
        """Add (or look up) a node; returns its row position."""
        i = self._index.get(node_id)
        if i is None:
            i = self._index[node_id] = len(self._ids)
            self._ids.append(node_id)
            self._types.append(type)
            self._names.append(name or "")
        elif name and not self._names[i]:
            self._names[i] = name
        if cmdline and i not in self._cmd:
            self._cmd[i] = cmdline
        if pid is not None and i not in self._pid:
            self._pid[i] = pid
        if ts is not None and i not in self._ts:
            self._ts[i] = ts
        return i

    def rename(self, i: int, name: str, cmdline: str | None = None) -> None:
        """Overwrite a node's name (and command line), e.g. after an ``execve``."""
        self._names[i] = name
        if cmdline is not None:
            self._cmd[i] = cmdline

    def edge(self, src: int, dst: int, type: str, ts: int) -> None:
        """Add one event ``src -> dst`` (positions from :meth:`node`)."""
        self._src.append(src)
        self._dst.append(dst)
        self._etype.append(type)
        self._ets.append(ts)

    @property
    def n_edges(self) -> int:
        return len(self._src)

    def build(self, meta: dict[str, Any] | None = None) -> ProvenanceGraph:
        """The graph so far (validated), with the parse statistics in ``meta["parse"]``."""
        n = len(self._ids)
        cols: dict[str, pa.Array] = {
            "id": pa.array(self._ids, pa.string()),
            "type": pa.array(self._types, pa.string()),
            "name": pa.array(self._names, pa.string()),
        }
        for col, values, typ in (("cmdline", self._cmd, pa.string()),
                                 ("pid", self._pid, pa.int64()), ("ts", self._ts, pa.int64())):
            if values:
                cols[col] = pa.array([values.get(i) for i in range(n)], typ)
        nodes = pa.table(cols)
        edges = pa.table({
            "src": pa.array(np.asarray(self._src, dtype=np.int32)),
            "dst": pa.array(np.asarray(self._dst, dtype=np.int32)),
            "type": pa.array(self._etype, pa.string()),
            "ts": pa.array(np.asarray(self._ets, dtype=np.int64)),
        })
        info = {"source": self.source, "time": self.time, "parse": self.stats.to_dict()}
        info.update(meta or {})
        g = ProvenanceGraph(nodes, edges, name=self.name, meta=info)
        g.validate()
        return g


@dataclass(frozen=True)
class ProvenanceGraph:
    """A host provenance graph: node and edge tables (see the module docstring).

    Parameters
    ----------
    nodes, edges : pyarrow.Table
        The two tables. Construct through :class:`GraphBuilder`, a parser in
        :mod:`riskscope.io.provenance`, :meth:`from_frames` or :meth:`read`.
    name : str
        A label for messages and reports (file name, graph id).
    meta : dict
        ``source`` (format), ``time`` (``"ns"`` or ``"order"``), ``parse`` statistics and
        anything a stage wants to record (pruning counts...). Must be JSON-serialisable.

    Examples
    --------
    >>> import pandas as pd
    >>> g = ProvenanceGraph.from_frames(
    ...     pd.DataFrame({"id": ["p", "f"], "type": ["process", "file"],
    ...                   "name": ["sh", "/etc/passwd"]}),
    ...     pd.DataFrame({"src": [0], "dst": [1], "type": ["read"], "ts": [5]}))
    >>> g.validate()["edges"]
    1
    >>> g.edge_index().tolist()
    [[0], [1]]
    """

    nodes: pa.Table
    edges: pa.Table
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    # --- construction ------------------------------------------------------------------
    @classmethod
    def from_frames(cls, nodes: Any, edges: Any, *, name: str = "",
                    meta: dict[str, Any] | None = None) -> ProvenanceGraph:
        """Build from pandas/polars/Arrow tables (or dicts of columns), casting the
        standard columns to their types."""
        g = cls(_cast(_as_table(nodes), _NODE_REQUIRED, _NODE_OPTIONAL, "node"),
                _cast(_as_table(edges), _EDGE_REQUIRED, _EDGE_OPTIONAL, "edge"),
                name=name, meta={"time": "ns", **(meta or {})})
        g.validate()
        return g

    # --- facts -------------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return self.nodes.num_rows

    @property
    def n_edges(self) -> int:
        return self.edges.num_rows

    def edge_index(self) -> np.ndarray:
        """``(2, n_edges)`` int64 array of source and target positions (PyG layout)."""
        return np.vstack([self.edges["src"].to_numpy().astype(np.int64, copy=False),
                          self.edges["dst"].to_numpy().astype(np.int64, copy=False)])

    def node_types(self) -> np.ndarray:
        return np.asarray(self.nodes["type"].to_numpy(zero_copy_only=False), dtype=object)

    def summary(self) -> dict[str, Any]:
        """Counts of nodes and edges, by type, and the stored size in bytes (Arrow)."""
        return {
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "node_types": _value_counts(self.nodes["type"]),
            "edge_types": _value_counts(self.edges["type"]),
            "bytes": int(self.nodes.nbytes + self.edges.nbytes),
        }

    def validate(self) -> dict[str, Any]:
        """Check the tables; return :meth:`summary` or raise :class:`SchemaError`.

        Checks: required columns with the right types, node ids present and unique,
        node and edge types present, edge endpoints within the node table, timestamps
        present, ``meta["time"]`` known.
        """
        where = f"graph {self.name!r}" if self.name else "graph"
        _check_columns(self.nodes, _NODE_REQUIRED, _NODE_OPTIONAL, f"{where} nodes")
        _check_columns(self.edges, _EDGE_REQUIRED, _EDGE_OPTIONAL, f"{where} edges")
        for col in ("id", "type"):
            _no_nulls(self.nodes, col, f"{where} nodes")
        _no_nulls(self.edges, "type", f"{where} edges")
        _no_nulls(self.edges, "ts", f"{where} edges")
        ids = self.nodes["id"]
        if pc.count_distinct(ids).as_py() != len(ids):
            first = [v for v, c in _value_counts(ids).items() if c > 1][:_SHOW]
            raise SchemaError(f"{where} nodes: node ids must be unique; found repeated ids "
                              f"{first}; give every entity one row.")
        n = self.n_nodes
        for col in ("src", "dst"):
            arr = self.edges[col].to_numpy(zero_copy_only=False)
            if arr.size and (arr.min() < 0 or arr.max() >= n):
                bad = np.flatnonzero((arr < 0) | (arr >= n))
                raise SchemaError(
                    f"{where} edges: {bad.size} edges have a {col} outside the {n} nodes "
                    f"(edge rows {_rows(bad)}); every edge must point to a node row.")
        time = self.meta.get("time", "ns")
        if time not in _TIME_KINDS:
            raise SchemaError(f"{where}: meta['time'] must be one of {_TIME_KINDS}; got "
                              f"{time!r}.")
        return self.summary()

    # --- derived graphs ----------------------------------------------------------------
    def take_edges(self, rows: np.ndarray, *, drop_isolated: bool = False,
                   meta: dict[str, Any] | None = None) -> ProvenanceGraph:
        """The graph with only the given edge rows (and, optionally, no isolated nodes)."""
        edges = self.edges.take(pa.array(np.asarray(rows, dtype=np.int64)))
        g = ProvenanceGraph(self.nodes, edges, name=self.name, meta={**self.meta, **(meta or {})})
        return g.drop_isolated() if drop_isolated else g

    def take_nodes(self, keep: np.ndarray, *, meta: dict[str, Any] | None = None
                   ) -> ProvenanceGraph:
        """The subgraph on the nodes where ``keep`` (bool mask or positions) holds;
        edges with an endpoint outside are dropped and positions renumbered."""
        keep = np.asarray(keep)
        if keep.dtype == bool:
            mask = keep.copy()
        else:
            mask = np.zeros(self.n_nodes, bool)
            mask[keep] = True
        new_pos = np.full(self.n_nodes, -1, np.int64)
        new_pos[mask] = np.arange(int(mask.sum()))
        src = self.edges["src"].to_numpy()
        dst = self.edges["dst"].to_numpy()
        ok = mask[src] & mask[dst]
        edges = self.edges.filter(pa.array(ok))
        edges = edges.set_column(edges.schema.get_field_index("src"), "src",
                                 pa.array(new_pos[src[ok]].astype(np.int32)))
        edges = edges.set_column(edges.schema.get_field_index("dst"), "dst",
                                 pa.array(new_pos[dst[ok]].astype(np.int32)))
        nodes = self.nodes.filter(pa.array(mask))
        return ProvenanceGraph(nodes, edges, name=self.name, meta={**self.meta, **(meta or {})})

    def drop_isolated(self) -> ProvenanceGraph:
        """The graph without nodes that no edge touches."""
        used = np.zeros(self.n_nodes, bool)
        used[self.edges["src"].to_numpy()] = True
        used[self.edges["dst"].to_numpy()] = True
        return self if used.all() else self.take_nodes(used)

    def time_windows(self, seconds: float) -> list[ProvenanceGraph]:
        """Cut the graph into consecutive windows of ``seconds`` by edge time (the batches
        a streaming detector sees). Each window keeps the nodes its edges touch and is
        named ``"<name>@<k>"`` (``k`` counts windows from the first edge); empty
        windows are left out.

        Examples
        --------
        >>> g = ProvenanceGraph.from_frames(
        ...     {"id": ["p", "f", "g"], "type": ["process", "file", "file"],
        ...      "name": ["a", "b", "c"]},
        ...     {"src": [0, 0], "dst": [1, 2], "type": ["read", "write"], "ts": [0, 5 * 10**9]},
        ...     name="host")
        >>> [(w.name, w.n_nodes, w.n_edges) for w in g.time_windows(2)]
        [('host@0', 2, 1), ('host@2', 2, 1)]
        """
        if seconds <= 0:
            raise ValueError(f"window length must be > 0 seconds; got {seconds}.")
        if self.n_edges == 0:
            return []
        unit = 1e9 if self.meta.get("time", "ns") == "ns" else 1.0
        ts = self.edges["ts"].to_numpy()
        k = ((ts - ts.min()) // max(int(seconds * unit), 1)).astype(np.int64)
        order = np.argsort(k, kind="stable")
        ks = k[order]
        cuts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1], True])
        out = []
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            w = self.take_edges(np.sort(order[a:b]), drop_isolated=True,
                                meta={"window": {"index": int(ks[a]), "seconds": seconds}})
            out.append(ProvenanceGraph(w.nodes, w.edges, name=f"{self.name}@{int(ks[a])}",
                                       meta=w.meta))
        return out

    def with_node_column(self, name: str, values: Sequence | np.ndarray | pa.Array
                         ) -> ProvenanceGraph:
        """A copy with node column ``name`` added or replaced."""
        arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
        i = self.nodes.schema.get_field_index(name)
        nodes = (self.nodes.set_column(i, name, arr) if i >= 0
                 else self.nodes.append_column(name, arr))
        return ProvenanceGraph(nodes, self.edges, name=self.name, meta=self.meta)

    # --- storage -----------------------------------------------------------------------
    def write(self, folder: str | Path) -> Path:
        """Write ``nodes.parquet``, ``edges.parquet`` and ``graph.json`` atomically."""
        import pyarrow.parquet as pq

        from riskscope.report.atomic import atomic_path, write_text

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for part, table in (("nodes", self.nodes), ("edges", self.edges)):
            with atomic_path(folder / f"{part}.parquet") as tmp:
                pq.write_table(table, tmp, compression="zstd")
        write_text(folder / "graph.json",
                   json.dumps({"name": self.name, "meta": self.meta}, indent=2, default=str))
        return folder

    @classmethod
    def read(cls, folder: str | Path) -> ProvenanceGraph:
        """Read a graph written by :meth:`write` (validated)."""
        import pyarrow.parquet as pq

        folder = Path(folder)
        paths = [folder / "nodes.parquet", folder / "edges.parquet"]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise InputError(f"{folder}: not a saved provenance graph (missing "
                             f"{', '.join(missing)}); write one with ProvenanceGraph.write.")
        info = {}
        if (folder / "graph.json").is_file():
            info = json.loads((folder / "graph.json").read_text())
        g = cls(pq.read_table(paths[0]), pq.read_table(paths[1]), name=info.get("name", ""),
                meta=info.get("meta", {}))
        g.validate()
        return g


# --- helpers ---------------------------------------------------------------------------
def _as_table(obj: Any) -> pa.Table:
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, dict):
        return pa.table(obj)
    if hasattr(obj, "to_arrow"):  # polars
        return obj.to_arrow()
    return pa.Table.from_pandas(obj, preserve_index=False)


def _cast(table: pa.Table, required: dict, optional: dict, what: str) -> pa.Table:
    for col, typ in {**required, **optional}.items():
        i = table.schema.get_field_index(col)
        if i < 0:
            continue
        if table.schema.field(i).type != typ:
            try:
                table = table.set_column(i, col, table[col].cast(typ))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaError(f"{what} column {col!r} must be {typ}; found "
                                  f"{table.schema.field(i).type} that does not convert "
                                  f"({exc}).") from None
    return table


def _check_columns(table: pa.Table, required: dict, optional: dict, where: str) -> None:
    names = set(table.column_names)
    missing = [c for c in required if c not in names]
    if missing:
        raise SchemaError(f"{where}: missing column(s) {missing}; found "
                          f"{table.column_names}; a graph needs {list(required)}.")
    for col, typ in {**required, **optional}.items():
        if col in names and table.schema.field(col).type != typ:
            raise SchemaError(f"{where}: column {col!r} must be {typ}; found "
                              f"{table.schema.field(col).type}.")


def _no_nulls(table: pa.Table, col: str, where: str) -> None:
    arr = table[col]
    nulls = arr.null_count
    if nulls:
        rows = np.flatnonzero(pc.is_null(arr).to_numpy(zero_copy_only=False))
        raise SchemaError(f"{where}: column {col!r} has {nulls} missing values (rows "
                          f"{_rows(rows)}); every row needs one.")
    if col in ("id", "type") and len(arr):
        empty = pc.equal(pc.utf8_length(arr), 0)
        n_empty = pc.sum(empty).as_py() or 0
        if n_empty:
            rows = np.flatnonzero(empty.to_numpy(zero_copy_only=False))
            raise SchemaError(f"{where}: column {col!r} has {n_empty} empty values (rows "
                              f"{_rows(rows)}); every row needs one.")


def _rows(rows: Iterable[int]) -> str:
    rows = list(rows)
    shown = ", ".join(str(int(r)) for r in rows[:_SHOW])
    return shown + (", ..." if len(rows) > _SHOW else "")


def _value_counts(arr: pa.ChunkedArray) -> dict[str, int]:
    if len(arr) == 0:
        return {}
    vc = pc.value_counts(arr).to_pylist()
    return dict(sorted(((d["values"], d["counts"]) for d in vc), key=lambda kv: (-kv[1], kv[0])))
