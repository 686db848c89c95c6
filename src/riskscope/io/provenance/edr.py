"""EDR telemetry as two tables (nodes, edges) -> :class:`ProvenanceGraph`.

Endpoint detection and response exports (Carbon Black, e.g. the Carbanak graph of the
REAPr project) often come as a node table (``id, type, name, time, ...``) and an edge
table (``src, dst, type, time, ...``) whose ``src``/``dst`` name node ids. Both may be
Parquet or CSV (``.csv.gz`` too). The path is a folder holding ``nodes.*`` and
``edges.*`` (or one ``*nodes*`` / ``*edges*`` pair), or either table, whose partner is
found by name (``h3_attack_nodes.parquet`` <-> ``h3_attack_edges.parquet``).

Columns are found by name (case-insensitive, first match wins; see :data:`COLUMNS`) and
each can be named explicitly (``src="from_id"``...). The node id column is the one whose
kind (integer or text) matches the edges' endpoints. Node ids become text in the graph;
the table's other columns are carried along untouched (``uuid`` for Carbanak).

Types
    Node and edge kinds are mapped onto the canonical vocabulary where the meaning
    matches (:data:`NODE_TYPES`, :data:`EDGE_TYPES`: ``regkey`` -> ``registry``,
    ``socket`` -> ``netflow``, ``filemod`` -> ``write``, ``regmod`` -> ``reg_set``,
    ``moduleload`` -> ``load``, ``crossproc`` -> ``access``, ``netconn`` -> ``connect``,
    ``procstart`` -> ``start``, ``procend`` -> ``exit``); others keep their lower-cased
    name and are counted in ``meta["parse"]["unknown"]``. ``scriptload`` is kept on
    purpose: a script is interpreted, neither an image load nor a plain read, and the
    difference matters for detection. Node types are only renamed, never inferred from
    edges (a file that is loaded stays a ``file``).

Direction (actor -> object)
    Carbon Black records several kinds from the object's side or twice, once each way
    (Carbanak: every ``moduleload`` and ``scriptload`` is file -> process, 19 % of
    ``filemod`` and half of ``netconn`` are the mirror of another edge, and every
    ``crossproc`` appears both ways). Two vectorised rules put the actor first:
    (1) an edge between a process and a non-process starts at the process;
    (2) for other process -> process edges than ``start``/``exit``, when both tables
    have an actor column (default ``uuid``: Carbon Black stamps each edge with the
    acting process's id) and the edge's value names its target but not its source,
    the edge is turned round. ``start`` and ``exit`` stay parent -> child as recorded.
    Turned edges are counted in ``meta["orient"]``; ``orient=False`` keeps the tables'
    directions. Mirrored twins then become exact repeats; they are kept (counts match
    the source), pruning may merge them.

Time
    Integer (or float) times are read in the unit their magnitude implies for dates
    after 1973: median ``|t|`` < 1e11 -> seconds, < 1e14 -> milliseconds, < 1e17 ->
    microseconds, else nanoseconds (``time_unit=`` overrides); timestamp columns and
    ISO-8601 text are converted directly. All become nanoseconds since the epoch. An
    edge table with no time column numbers its rows instead (``meta["time"] ==
    "order"``).

Errors
    Edges naming a node id that is not in the node table, and repeated node ids, are
    :class:`~riskscope.exceptions.SchemaError` (the message gives counts, examples and
    the fix). Rows with a missing endpoint, edge type or time are skipped and counted.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskscope.exceptions import InputError, SchemaError
from riskscope.graph.schema import ParseStats, ProvenanceGraph

__all__ = ["COLUMNS", "EDGE_TYPES", "NODE_TYPES", "from_tables", "read", "sniff"]

#: Column names tried for each role, in order (compared case-insensitively).
COLUMNS: dict[str, tuple[str, ...]] = {
    "node_id": ("id", "node_id", "nodeid", "uuid", "node_uuid", "vertex_id", "key"),
    "node_type": ("type", "node_type", "nodetype", "kind", "category", "object_type"),
    "node_name": ("name", "path", "label", "node_name", "value", "exe", "image"),
    "node_time": ("time", "timestamp", "ts", "first_seen", "event_time", "datetime"),
    "src": ("src", "source", "src_id", "source_id", "from", "u", "subject", "actor_id"),
    "dst": ("dst", "target", "dst_id", "target_id", "dest", "to", "v", "object"),
    "edge_type": ("type", "event_type", "edge_type", "etype", "relation", "action",
                  "operation", "kind", "label"),
    "edge_time": ("time", "timestamp", "ts", "event_time", "datetime"),
}

#: Source node kind (lower case, ``_``/``-``/space removed) -> canonical node type.
NODE_TYPES: dict[str, str] = {
    "regkey": "registry", "registrykey": "registry", "reg": "registry",
    "registry": "registry", "socket": "netflow", "netflow": "netflow",
    "network": "netflow", "netconn": "netflow", "flow": "netflow", "proc": "process",
    "process": "process", "subject": "process", "file": "file", "fileobject": "file",
    "module": "module", "dll": "module", "pipe": "pipe", "namedpipe": "pipe",
}  # fmt: skip

#: Source edge kind (normalised as for nodes) -> canonical edge type.
EDGE_TYPES: dict[str, str] = {
    "filemod": "write", "filewrite": "write", "fileread": "read", "filecreate": "create",
    "filedelete": "delete", "regmod": "reg_set", "regset": "reg_set",
    "regcreate": "reg_create", "regdelete": "reg_delete", "moduleload": "load",
    "modload": "load", "imageload": "load", "crossproc": "access",
    "processaccess": "access", "netconn": "connect", "procstart": "start",
    "childproc": "start", "processstart": "start", "procend": "exit", "processend": "exit",
}  # fmt: skip

# known kinds deliberately kept under their own name (not counted as unknown)
_KEEP = frozenset({"scriptload"})
_UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".tsv")
_SHOW = 5
_HEADER_FIELD = re.compile(r"[a-z_][\w .\-]*")


def sniff(head: bytes) -> bool:
    """Whether ``head`` is a Parquet file or a CSV header (plain or gzip) naming node or
    edge columns.

    Examples
    --------
    >>> sniff(b"src,dst,type,time\\n1,2,filemod,1715108819076939\\n")
    True
    >>> sniff(b"id,type,name\\n0,file,c:\\\\x\\n")
    True
    >>> sniff(b'1234 1700000000.123456 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3\\n')
    False
    >>> sniff(b"1\\tprocess\\t2\\tfile\\tread\\t0\\n")  # StreamSpot TSV
    False
    """
    if head[:4] == b"PAR1":
        return True
    if head[:2] == b"\x1f\x8b":  # .csv.gz: the header is in the first block
        try:
            head = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16).decompress(head)
        except zlib.error:
            return False
    line = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8", "replace")
    if "\t" in line or "," not in line:
        return False
    fields = [f.strip().strip('"').lower() for f in line.strip().split(",")]
    if not all(_HEADER_FIELD.fullmatch(f) for f in fields):
        return False
    have = set(fields)
    edge = have & set(COLUMNS["src"]) and have & set(COLUMNS["dst"])
    node = have & set(COLUMNS["node_id"]) and have & set(COLUMNS["node_type"])
    return bool(edge or node)


def read(path: str | Path, *, edges: str | Path | None = None, **options: Any
         ) -> list[ProvenanceGraph]:
    """Read an EDR node table and edge table into one provenance graph.

    Parameters
    ----------
    path : str or Path
        A folder with the two tables, or either table (its partner is found by name).
    edges : str or Path, optional
        The edge table, when its name does not follow the node table's.
    **options
        Passed to :func:`from_tables`: column names (``node_id``, ``node_type``,
        ``node_name``, ``node_time``, ``src``, ``dst``, ``edge_type``, ``edge_time``,
        ``actor``), ``time_unit``, ``node_types``, ``edge_types``, ``orient``,
        ``keep_columns``, ``name``.

    Returns
    -------
    list of ProvenanceGraph
        One graph, named after the node table (``h3_attack`` for
        ``h3_attack_nodes.parquet``).

    Raises
    ------
    InputError
        A table is missing or unreadable, or holds no usable edge.
    SchemaError
        A needed column is missing, node ids repeat, or edges name unknown nodes.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "nodes.csv").write_text("id,type,name\\n0,process,cmd.exe\\n1,regkey,hklm\\n")
    >>> _ = (d / "edges.csv").write_text("src,dst,type,time\\n0,1,regmod,1715108819076939\\n")
    >>> (g,) = read(d)
    >>> g.nodes.select(["id", "type"]).to_pylist()
    [{'id': '0', 'type': 'process'}, {'id': '1', 'type': 'registry'}]
    >>> g.edges.to_pylist()
    [{'src': 0, 'dst': 1, 'type': 'reg_set', 'ts': 1715108819076939000}]
    """
    path = Path(path)
    nodes_path, edges_path = _locate(path, None if edges is None else Path(edges))
    # "nodes.parquet" says nothing: a folder of plain nodes/edges tables names the graph
    plain = path.is_dir() and nodes_path.name.lower().startswith("nodes.")
    options.setdefault("name", path.name if plain else _stem(nodes_path))
    g = from_tables(_read_table(nodes_path), _read_table(edges_path),
                    where=(str(nodes_path), str(edges_path)), **options)
    g.meta["files"] = [str(nodes_path), str(edges_path)]
    return [g]


def from_tables(nodes: Any, edges: Any, *, node_id: str | None = None,
                node_type: str | None = None, node_name: str | None = None,
                node_time: str | None = None, src: str | None = None,
                dst: str | None = None, edge_type: str | None = None,
                edge_time: str | None = None, actor: str | None = "auto",
                time_unit: str = "auto", node_types: Mapping[str, str] | None = None,
                edge_types: Mapping[str, str] | None = None, orient: bool = True,
                keep_columns: bool = True, name: str = "",
                where: tuple[str, str] = ("node table", "edge table")) -> ProvenanceGraph:
    """Build a graph from in-memory node and edge tables (pandas, polars or Arrow).

    Parameters
    ----------
    nodes, edges : DataFrame or pyarrow.Table
        The two tables.
    node_id, node_type, node_name, node_time, src, dst, edge_type, edge_time : str, optional
        Column names; default: found among :data:`COLUMNS`.
    actor : str or None
        Column present in both tables whose edge value names the acting node (see the
        module docstring, rule 2). ``"auto"``: ``uuid`` when both tables have it.
    time_unit : {"auto", "s", "ms", "us", "ns"}
        Unit of integer times; ``"auto"`` judges by magnitude.
    node_types, edge_types : mapping, optional
        Extra kind -> type mappings, applied before :data:`NODE_TYPES` /
        :data:`EDGE_TYPES` (keys compared like them).
    orient : bool
        Put the actor first (module docstring); ``False`` keeps the tables' directions.
    keep_columns : bool
        Carry the tables' other columns along.
    name : str
        The graph's name.
    where : (str, str)
        How messages name the two tables.

    Returns
    -------
    ProvenanceGraph
        Validated; ``meta`` holds ``parse``, ``columns``, ``time_unit`` and ``orient``.

    Examples
    --------
    >>> import pandas as pd
    >>> nodes = pd.DataFrame({"id": [7, 8], "type": ["file", "process"],
    ...                       "name": ["c:\\\\a.dll", "c:\\\\b.exe"]})
    >>> edges = pd.DataFrame({"src": [7], "dst": [8], "type": ["moduleload"],
    ...                       "time": [1_715_108_819]})
    >>> g = from_tables(nodes, edges)
    >>> g.edges.to_pylist()  # turned round: the process loads the file
    [{'src': 1, 'dst': 0, 'type': 'load', 'ts': 1715108819000000000}]
    """
    nt, et = _as_table(nodes), _as_table(edges)
    nwhere, ewhere = where
    stats = ParseStats(records=nt.num_rows + et.num_rows)
    given = {"node_id": node_id, "node_type": node_type, "node_name": node_name,
             "node_time": node_time, "src": src, "dst": dst, "edge_type": edge_type,
             "edge_time": edge_time}
    cols = _columns(nt, et, given, nwhere, ewhere)
    nt = _clean_nodes(nt, cols["node_id"], stats, nwhere)
    et = _clean_edges(et, cols, stats, ewhere)
    keys, s, d = _positions(nt[cols["node_id"]], et, cols, nwhere, ewhere)

    ntype_col = _text(nt[cols["node_type"]])
    no_type = _missing(ntype_col)
    if no_type.any():
        stats.unknown["node type <missing>"] += int(no_type.sum())
        ntype_col = pc.if_else(pa.array(no_type), "other", ntype_col)
    ntypes = _map_kinds(ntype_col, NODE_TYPES, node_types, set(), stats, "node type")
    etypes = _map_kinds(et[cols["edge_type"]], EDGE_TYPES, edge_types, _KEEP, stats,
                        "edge type")

    units: dict[str, str] = {}
    if cols["edge_time"]:
        ets, units["edges"] = _to_ns(et[cols["edge_time"]], time_unit, ewhere,
                                     cols["edge_time"])
    else:
        ets = np.arange(et.num_rows, dtype=np.int64)
    node_cols: dict[str, Any] = {
        "id": keys.cast(pa.string()), "type": ntypes,
        "name": (pc.fill_null(_text(nt[cols["node_name"]]), "") if cols["node_name"]
                 else pa.array([""] * nt.num_rows, pa.string())),
    }
    if cols["node_time"]:
        nts, units["nodes"] = _to_ns(nt[cols["node_time"]], time_unit, nwhere,
                                     cols["node_time"])
        node_cols["ts"] = pa.array(nts, pa.int64(), mask=nts == _NAT)

    orient_info: dict[str, Any] = {"enabled": False}
    if orient:
        s, d, orient_info = _orient(s, d, ntypes, etypes, nt, et, actor)
    edge_cols: dict[str, Any] = {
        "src": pa.array(s.astype(np.int32)), "dst": pa.array(d.astype(np.int32)),
        "type": etypes, "ts": pa.array(ets, pa.int64()),
    }
    if keep_columns:
        _extras(nt, {cols[k] for k in ("node_id", "node_type", "node_name", "node_time")},
                node_cols)
        _extras(et, {cols[k] for k in ("src", "dst", "edge_type", "edge_time")}, edge_cols)
    meta = {"source": "edr", "time": "ns" if cols["edge_time"] else "order",
            "parse": stats.to_dict(), "columns": {k: v for k, v in cols.items() if v},
            "time_unit": units, "orient": orient_info}
    return ProvenanceGraph.from_frames(pa.table(node_cols), pa.table(edge_cols), name=name,
                                       meta=meta)


def _clean_nodes(nt: pa.Table, id_col: str, stats: ParseStats, where: str) -> pa.Table:
    """Drop rows without an id (counted); refuse repeated ids."""
    no_id = _missing(nt[id_col])
    if no_id.any():
        _count(stats, "node_no_id", np.flatnonzero(no_id), where)
        nt = nt.filter(pa.array(~no_id))
    _unique(nt[id_col], where)
    return nt


def _clean_edges(et: pa.Table, cols: dict[str, str | None], stats: ParseStats,
                 where: str) -> pa.Table:
    """Drop (and count) rows without endpoints, type or time; refuse an empty result."""
    need = [("no_endpoint", cols["src"]), ("no_endpoint", cols["dst"]),
            ("no_type", cols["edge_type"])]
    if cols["edge_time"]:
        need.append(("no_time", cols["edge_time"]))
    keep = np.ones(et.num_rows, bool)
    for reason, col in need:
        bad = _missing(et[col]) & keep
        if bad.any():
            _count(stats, reason, np.flatnonzero(bad), where)
            keep &= ~bad
    if keep.all():
        return et
    if not keep.any():
        raise InputError(f"{where}: no usable edge ({et.num_rows} rows; skipped "
                         f"{dict(stats.skipped)}); pass an edge table with source, target "
                         "and type on every row.")
    return et.filter(pa.array(keep))


def _positions(ids: pa.ChunkedArray, et: pa.Table, cols: dict[str, str | None],
               nwhere: str, ewhere: str) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Node ids (comparable form) and each edge's endpoint rows: a hash lookup, no loop
    per edge."""
    keys, ends = _keys(ids, et[cols["src"]], et[cols["dst"]])
    pos = []
    for end, vals in zip(("src", "dst"), ends, strict=True):
        idx = pc.index_in(vals, value_set=keys)
        if idx.null_count:
            _dangling(vals, idx, end, cols[end], nwhere, ewhere)
        pos.append(idx.to_numpy(zero_copy_only=False).astype(np.int64))
    return keys, pos[0], pos[1]


# --- files -----------------------------------------------------------------------------
def _stem(path: Path) -> str:
    stem = path.name
    for suffix in (".gz", *_SUFFIXES):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[_.\-]?nodes$", "", stem, flags=re.IGNORECASE) or stem


def _partner(path: Path, have: str, want: str) -> Path:
    """``path`` with its last ``have`` replaced by ``want`` (case-insensitive)."""
    i = path.name.lower().rfind(have)
    return path.with_name(path.name[:i] + want + path.name[i + len(have):])


def _locate(path: Path, edges: Path | None) -> tuple[Path, Path]:
    if path.is_dir():
        for suffix in _SUFFIXES:
            n, e = path / f"nodes{suffix}", path / f"edges{suffix}"
            if n.is_file() and e.is_file():
                return n, e
        pairs = [(p, _partner(p, "nodes", "edges")) for p in sorted(path.iterdir())
                 if "nodes" in p.name.lower() and p.name.lower().endswith(_SUFFIXES)]
        pairs = [(n, e) for n, e in pairs if e.is_file()]
        if len(pairs) != 1:
            found = [p.name for p in sorted(path.iterdir())][:_SHOW]
            raise InputError(f"{path}: expected one node table and one edge table "
                             f"(nodes.parquet + edges.parquet, or *_nodes.* + *_edges.*); "
                             f"found {len(pairs)} pairs among {found}; pass the node table "
                             "itself.")
        return pairs[0]
    if not path.is_file():
        raise InputError(f"{path}: no such file; pass an EDR node table, edge table or "
                         "the folder holding both.")
    low = path.name.lower()
    if edges is None and "edges" in low and "nodes" not in low:
        path, edges = _partner(path, "edges", "nodes"), path
        if not path.is_file():
            raise InputError(f"{edges}: found no node table beside this edge table "
                             f"(looked for {path.name}); pass the node table and edges=.")
    if edges is None:
        if "nodes" not in low:
            raise InputError(f"{path}: cannot tell where the edge table is (the name has "
                             "no 'nodes' to replace by 'edges'); pass edges=PATH.")
        edges = _partner(path, "nodes", "edges")
    if not edges.is_file():
        raise InputError(f"{path}: found no edge table beside this node table (looked for "
                         f"{edges.name}); pass edges=PATH.")
    return path, edges


def _read_table(path: Path) -> pa.Table:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    with open(path, "rb") as fh:
        magic = fh.read(4)
    try:
        if magic == b"PAR1":
            return pq.read_table(path)
        opts = pcsv.ParseOptions(delimiter="\t" if path.name.endswith(".tsv") else ",")
        return pcsv.read_csv(path, parse_options=opts)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: cannot read the table ({exc}); pass Parquet or CSV "
                         "with a header row.") from None


def _as_table(obj: Any) -> pa.Table:
    if isinstance(obj, pa.Table):
        return obj
    if hasattr(obj, "to_arrow"):  # polars
        return obj.to_arrow()
    return pa.Table.from_pandas(obj, preserve_index=False)


# --- columns ---------------------------------------------------------------------------
def _is_int(t: pa.DataType) -> bool:
    return pa.types.is_integer(t)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t)


def _find(table: pa.Table, role: str, given: str | None, where: str, taken: set[str],
          want: Any = None) -> str | None:
    names = {c.lower(): c for c in table.column_names}
    if given is not None:
        if given not in table.column_names:
            raise SchemaError(f"{where}: column {given!r} (given as {role}=) is not among "
                              f"{table.column_names}; pass one of them.")
        return given
    hits = [names[c] for c in COLUMNS[role] if c in names and names[c] not in taken]
    if want is not None:
        hits = [h for h in hits if want(table.schema.field(h).type)] or hits
    return hits[0] if hits else None


def _columns(nt: pa.Table, et: pa.Table, given: dict[str, str | None], nwhere: str,
             ewhere: str) -> dict[str, str | None]:
    cols: dict[str, str | None] = {}
    cols["src"] = _find(et, "src", given["src"], ewhere, set())
    cols["dst"] = _find(et, "dst", given["dst"], ewhere, {cols["src"]} - {None})
    for role in ("src", "dst"):
        if cols[role] is None:
            raise SchemaError(f"{ewhere}: no {role} column (looked for "
                              f"{list(COLUMNS[role])}; found {et.column_names}); pass "
                              f"{role}=NAME.")
    endpoint_type = et.schema.field(cols["src"]).type
    numeric = _is_int(endpoint_type) or pa.types.is_floating(endpoint_type)
    kind = (lambda t: _is_int(t) or pa.types.is_floating(t)) if numeric else _is_text
    cols["node_id"] = _find(nt, "node_id", given["node_id"], nwhere, set(), kind)
    if cols["node_id"] is None:
        raise SchemaError(f"{nwhere}: no node id column (looked for "
                          f"{list(COLUMNS['node_id'])}; found {nt.column_names}); pass "
                          "node_id=NAME.")
    taken = {cols["node_id"]}
    cols["node_type"] = _find(nt, "node_type", given["node_type"], nwhere, taken, _is_text)
    taken.add(cols["node_type"])
    cols["node_name"] = _find(nt, "node_name", given["node_name"], nwhere, taken, _is_text)
    if cols["node_name"] and not _is_text(nt.schema.field(cols["node_name"]).type) \
            and given["node_name"] is None:
        cols["node_name"] = None  # e.g. a boolean ground-truth 'label' is not a name
    taken.add(cols["node_name"])
    cols["node_time"] = _find(nt, "node_time", given["node_time"], nwhere, taken)
    etaken = {cols["src"], cols["dst"]}
    cols["edge_type"] = _find(et, "edge_type", given["edge_type"], ewhere, etaken, _is_text)
    etaken.add(cols["edge_type"])
    cols["edge_time"] = _find(et, "edge_time", given["edge_time"], ewhere, etaken)
    for role, where, table in (("node_type", nwhere, nt), ("edge_type", ewhere, et)):
        if cols[role] is None:
            raise SchemaError(f"{where}: no {role.replace('_', ' ')} column (looked for "
                              f"{list(COLUMNS[role])}; found {table.column_names}); pass "
                              f"{role}=NAME.")
    return cols


def _text(arr: pa.ChunkedArray | pa.Array) -> pa.Array:
    """``arr`` as one plain string array."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr.cast(pa.string())


def _count(stats: ParseStats, reason: str, rows: np.ndarray, where: str) -> None:
    for r in rows[:_SHOW]:
        stats.skip(reason, where=f"{where} row {int(r)}")
    stats.skipped[reason] += max(rows.size - _SHOW, 0)


def _missing(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Null, or blank text (CSV readers give empty strings, not nulls)."""
    bad = pc.is_null(arr)
    if _is_text(arr.type):
        text = _text(arr)
        bad = pc.or_(bad, pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0))
    return pc.fill_null(bad, True).to_numpy(zero_copy_only=False)


def _key(arr: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Ids as int64 when they are whole numbers (pandas makes a column with a gap
    float), else as text."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if _is_int(arr.type):
        return arr.cast(pa.int64())
    if pa.types.is_floating(arr.type):
        try:
            return arr.cast(pa.int64())  # safe cast: fails on a fraction
        except pa.ArrowInvalid:
            pass
    return arr.cast(pa.string())


def _keys(keys: pa.ChunkedArray, src: pa.ChunkedArray, dst: pa.ChunkedArray
          ) -> tuple[pa.Array, tuple[pa.Array, pa.Array]]:
    """Node ids and both endpoint columns in one comparable type."""
    arrs = [_key(a) for a in (keys, src, dst)]
    if any(pa.types.is_string(a.type) for a in arrs):
        arrs = [a.cast(pa.string()) for a in arrs]
    return arrs[0], (arrs[1], arrs[2])


def _unique(keys: pa.ChunkedArray, where: str) -> None:
    if pc.count_distinct(keys).as_py() == len(keys):
        return
    vc = pc.value_counts(keys)
    counts = vc.field("counts").to_numpy()
    rep = np.flatnonzero(counts > 1)
    examples = [vc.field("values")[int(i)].as_py() for i in rep[:_SHOW]]
    raise SchemaError(f"{where}: node ids must be unique; {rep.size} ids repeat on "
                      f"{int(counts[rep].sum())} rows (e.g. {examples}); keep one row per "
                      "entity.")


def _dangling(vals: pa.Array, idx: pa.Array, end: str, col: str, nwhere: str,
              ewhere: str) -> None:
    bad = np.flatnonzero(pc.is_null(idx).to_numpy(zero_copy_only=False))
    ids = list(dict.fromkeys(vals.take(pa.array(bad[:50])).to_pylist()))[:_SHOW]
    rows = ", ".join(str(int(r)) for r in bad[:_SHOW]) + (", ..." if bad.size > _SHOW else "")
    raise SchemaError(f"{ewhere}: {bad.size} edges have a {end} ({col!r}) that is not a "
                      f"node id in {nwhere} (edge rows {rows}; ids {ids}); give every "
                      "endpoint a node row or drop those edges.")


def _norm(kind: str) -> str:
    return re.sub(r"[\s_\-]", "", kind.strip().lower())


def _map_kinds(arr: pa.ChunkedArray, table: Mapping[str, str],
               extra: Mapping[str, str] | None, keep: frozenset | set, stats: ParseStats,
               what: str) -> pa.Array:
    """Map kinds by their (few) distinct values, then expand: vectorised."""
    from riskscope.graph import schema

    canonical = set(schema.NODE_TYPES) | set(schema.EDGE_TYPES)
    extra_n = {_norm(k): v for k, v in (extra or {}).items()}
    enc = pc.dictionary_encode(_text(arr))
    out = []
    counts = np.bincount(enc.indices.to_numpy(zero_copy_only=False),
                         minlength=len(enc.dictionary))
    for j, kind in enumerate(enc.dictionary.to_pylist()):
        low, key = kind.strip().lower(), _norm(kind)
        if key in extra_n:
            out.append(extra_n[key])
        elif low in canonical:
            out.append(low)
        elif key in table:
            out.append(table[key])
        else:
            out.append(low)
            if key not in keep and counts[j]:
                stats.unknown[f"{what} {low}"] += int(counts[j])
    return pa.array(out, pa.string()).take(enc.indices)


# --- time ------------------------------------------------------------------------------
_NAT = np.iinfo(np.int64).min


def _to_ns(arr: pa.ChunkedArray, unit: str, where: str, col: str) -> tuple[np.ndarray, str]:
    """Times as int64 ns (nulls -> _NAT) and the unit they were read in."""
    if unit not in ("auto", *_UNITS):
        raise SchemaError(f"time_unit must be 'auto' or one of {list(_UNITS)}; got {unit!r}.")
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        vals = arr.cast(pa.timestamp("ns")).cast(pa.int64())
        return pc.fill_null(vals, _NAT).to_numpy(zero_copy_only=False), "timestamp"
    if _is_text(t):
        try:
            arr = arr.cast(pa.int64())
            t = arr.type
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            try:
                vals = arr.cast(pa.timestamp("ns")).cast(pa.int64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise SchemaError(f"{where}: column {col!r} holds neither numbers nor "
                                  "ISO-8601 times (e.g. "
                                  f"{arr.drop_null()[:1].to_pylist()}); pass edge_time= / "
                                  "node_time= for the right column.") from None
            return pc.fill_null(vals, _NAT).to_numpy(zero_copy_only=False), "iso"
    if not (pa.types.is_integer(t) or pa.types.is_floating(t)):
        raise SchemaError(f"{where}: column {col!r} of type {t} is not a time; pass "
                          "edge_time= / node_time= for the right column.")
    vals = arr.to_numpy(zero_copy_only=False)
    valid = ~pc.is_null(arr).to_numpy(zero_copy_only=False)
    if unit == "auto":
        med = float(np.median(np.abs(vals[valid]))) if valid.any() else 0.0
        unit = "s" if med < 1e11 else "ms" if med < 1e14 else "us" if med < 1e17 else "ns"
    scale = _UNITS[unit]
    top = float(np.max(np.abs(vals[valid]))) if valid.any() else 0.0
    if top * scale >= 2**63:
        raise SchemaError(f"{where}: column {col!r} read in {unit!r} runs past the year 2262 "
                          f"(largest value {top:.0f}); its values are in a finer unit; pass "
                          "time_unit='auto' or the right unit.")
    if pa.types.is_floating(t):
        out = np.where(valid, np.round(np.nan_to_num(vals) * scale), 0).astype(np.int64)
    else:
        out = vals.astype(np.int64) * scale
    out[~valid] = _NAT
    return out, unit


# --- direction -------------------------------------------------------------------------
def _orient(s: np.ndarray, d: np.ndarray, ntypes: pa.Array, etypes: pa.Array,
            nt: pa.Table, et: pa.Table, actor: str | None
            ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    is_proc = pc.equal(ntypes, "process").to_numpy(zero_copy_only=False)
    ps, pd_ = is_proc[s], is_proc[d]
    flip_proc = ~ps & pd_
    flip_actor = np.zeros_like(flip_proc)
    if actor == "auto":
        actor = "uuid" if "uuid" in nt.column_names and "uuid" in et.column_names else None
    if actor is not None:
        for table in (nt, et):
            if actor not in table.column_names:
                raise SchemaError(f"actor column {actor!r} must be in both tables; found "
                                  f"nodes {nt.column_names}, edges {et.column_names}.")
        lineage = pc.is_in(etypes, value_set=pa.array(["start", "exit"]))
        cand = ps & pd_ & ~lineage.to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(cand)
        if rows.size:
            who = _text(et[actor]).take(pa.array(rows))
            nid = _text(nt[actor])
            at_src = pc.equal(who, nid.take(pa.array(s[rows]))).fill_null(False)
            at_dst = pc.equal(who, nid.take(pa.array(d[rows]))).fill_null(False)
            turn = (at_dst.to_numpy(zero_copy_only=False)
                    & ~at_src.to_numpy(zero_copy_only=False))
            flip_actor[rows[turn]] = True
    flip = flip_proc | flip_actor
    s2, d2 = np.where(flip, d, s), np.where(flip, s, d)
    return s2, d2, {"enabled": True, "actor": actor, "turned_to_process": int(flip_proc.sum()),
                    "turned_by_actor": int(flip_actor.sum())}


def _extras(table: pa.Table, used: set, out: dict[str, Any]) -> None:
    for col in table.column_names:
        if col in used or col in out:
            continue
        arr = table[col]
        if col in ("cmdline", "pid", "label", "ts"):
            want = {"cmdline": pa.string(), "pid": pa.int64(), "label": pa.bool_(),
                    "ts": pa.int64()}[col]
            try:
                arr = arr.cast(want)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                col = f"{col}_source"  # keep it, under a name the schema does not check
        out[col] = arr
