"""StreamSpot edge lists (6-column TSV) -> one :class:`ProvenanceGraph` per graph id.

The StreamSpot data set (Manzoor et al., KDD 2016; github.com/sbustreamspot/sbustreamspot-data)
holds 600 system-call graphs of browsing and drive-by-download scenarios, one edge a
line, tab-separated::

    source-id  source-type  destination-id  destination-type  edge-type  graph-id

Types are single letters (the data set's ``preprocess.py``): nodes ``a`` process, ``b``
thread, ``c`` file, ``d`` MAP_ANONYMOUS, ``e`` NA, ``f`` stdin, ``g`` stdout, ``h``
stderr; edges ``i`` accept ... ``H`` writev (see :data:`EDGE_TYPES`). Lines carry no
time stamp but are in time order, so each edge's ``ts`` is its line number
(``meta["time"] == "order"``). Node ids are kept as given (unique within a graph); the
data set has no names, so ``name`` is empty.
"""

from __future__ import annotations

import gzip
import itertools
import zlib
from array import array
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskscope.exceptions import InputError
from riskscope.graph.schema import ParseStats, ProvenanceGraph

__all__ = ["EDGE_TYPES", "NODE_TYPES", "read", "sniff"]

#: Node-type letter -> node type. A thread stays ``thread`` rather than ``process``: the
#: data set (and detectors evaluated on it, e.g. ThreaTrace) tell the two apart, and
#: threads do most of a browser's I/O, so merging them would hide structure. The
#: entities with no canonical type keep readable names.
NODE_TYPES: dict[str, str] = {
    "a": "process", "b": "thread", "c": "file", "d": "map_anonymous", "e": "na",
    "f": "stdin", "g": "stdout", "h": "stderr",
}  # fmt: skip

#: Edge-type letter -> edge type: canonical where the system call's meaning matches,
#: else the call's name. ``access(2)`` becomes ``check_file_attributes`` (CDM's name for
#: it) because the canonical ``access`` means one process opening another.
EDGE_TYPES: dict[str, str] = {
    "i": "accept", "j": "check_file_attributes", "k": "bind", "l": "chmod", "m": "start",
    "n": "close", "o": "connect", "p": "exec", "q": "fstat", "r": "truncate",
    "s": "listen", "t": "mmap", "u": "open", "v": "read", "w": "recv", "x": "recv",
    "y": "recv", "z": "send", "A": "send", "B": "send", "C": "stat", "D": "truncate",
    "E": "delete", "F": "waitpid", "G": "write", "H": "write",
}  # fmt: skip

_SNIFF_LINES = 50


def sniff(head: bytes) -> bool:
    """Whether ``head`` looks like StreamSpot TSV: 6 tab-separated fields a line, the
    type columns single letters.

    Examples
    --------
    >>> sniff(b"4\\ta\\t5\\tc\\tp\\t0\\n4\\ta\\t6\\tc\\tv\\t0\\n")
    True
    >>> sniff(b'1234 1700000000.123456 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3\\n')
    False
    """
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16).decompress(head)
        except zlib.error:
            return False
    lines = head.split(b"\n")
    if len(lines) > 1:
        lines.pop()  # possibly cut short by the head's length (or empty after the last \n)
    checked = 0
    for line in lines:
        line = line.rstrip(b"\r")
        if not line:
            continue
        if not _looks_like_edge(line):
            return False
        checked += 1
        if checked == _SNIFF_LINES:
            break
    return checked > 0


def _looks_like_edge(line: bytes) -> bool:
    f = line.split(b"\t")
    # ids and the graph id: one non-empty word each
    return (len(f) == 6 and all(len(f[k]) == 1 and f[k].isalpha() for k in (1, 3, 4))
            and all(f[k].split() == [f[k]] for k in (0, 2, 5)))


def read(path: str | Path, *, graph_ids: Iterable[str | int] | None = None,
         max_records: int | None = None) -> list[ProvenanceGraph]:
    """Parse a StreamSpot TSV file into one graph per graph id.

    Parameters
    ----------
    path : str or Path
        The edge list (plain or gzip).
    graph_ids : iterable of str or int, optional
        Keep only these graphs (e.g. ``range(300, 400)``, the attack scenario); the
        other lines are passed over without being counted.
    max_records : int, optional
        Stop after this many lines.

    Returns
    -------
    list of ProvenanceGraph
        In order of first appearance, each named by its graph id, ``meta["time"] ==
        "order"``. Malformed lines are counted in the ``meta["parse"]`` of the graph
        being read when they occur (those before the first graph in the first one);
        ``meta["parse"]["type_conflicts"]`` counts lines that give a known node id
        another type (the first type is kept).

    Raises
    ------
    InputError
        Missing or empty file, no well-formed line, or a requested graph id absent.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "ss.tsv"
    >>> _ = f.write_text("4\\ta\\t5\\tc\\tp\\t0\\n4\\ta\\t5\\tc\\tv\\t0\\n9\\ta\\t2\\tb\\tm\\t1\\n")
    >>> [(g.name, g.n_nodes, g.n_edges) for g in read(f)]
    [('0', 2, 2), ('1', 2, 1)]
    >>> read(f)[0].edges.to_pylist()[1]
    {'src': 0, 'dst': 1, 'type': 'read', 'ts': 2}
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; pass a StreamSpot edge list (TSV).")
    wanted = None if graph_ids is None else {str(g) for g in graph_ids}
    reader = _Reader(wanted)
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    # the text file's own line iterator (C) is the cheapest way to lines; newline=""
    # keeps "\r\n" as it is, so the graph id is stripped of either ending
    opened = (gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="") if gz
              else open(path, encoding="utf-8", errors="replace", newline="",
                        buffering=1 << 16))
    with opened as fh:
        reader.run(fh if max_records is None else itertools.islice(fh, max_records))
    return reader.finish(path)


class _Graph:
    """One graph's node table and edge columns while the file is read."""

    __slots__ = ("gid", "stats", "index", "ids", "types", "first", "src", "dst", "codes",
                 "ts", "conflicts")

    def __init__(self, gid: str) -> None:
        self.gid = gid
        self.stats = ParseStats()
        self.index: dict[str, int] = {}
        self.ids: list[str] = []
        self.types: list[str] = []
        self.first = array("q")
        # typed arrays, 17 bytes an edge: the full data set has ~90M edges
        self.src, self.dst, self.codes, self.ts = array("i"), array("i"), array("B"), array("q")
        self.conflicts = 0


class _Reader:
    def __init__(self, wanted: set[str] | None) -> None:
        self.wanted = wanted
        self.graphs: dict[str, _Graph] = {}
        self.pending = ParseStats()  # malformed lines before the first graph
        self.ignored = ParseStats()  # ... after lines of graphs not asked for
        self.lines = 0
        self.first_line = ""
        self.io_errors: list[str] = []
        self.current: _Graph | None = None  # the graph being read when the file ended
        self.codes = {letter: k for k, letter in enumerate(EDGE_TYPES)}
        self.unknown_codes: dict[str, int] = {}  # kept apart, so each one is counted
        self.type_names = list(EDGE_TYPES.values())

    def _graph(self, gid: str) -> _Graph:
        first = not self.graphs
        g = self.graphs[gid] = _Graph(gid)
        if first:
            # lines that failed before any graph started are reported with the first
            g.stats.skipped.update(self.pending.skipped)
            g.stats.first_bad.extend(self.pending.first_bad)
        return g

    def _unknown(self, et: str) -> int | None:
        """A code for an edge letter outside the data set's alphabet (kept, counted)."""
        code = self.unknown_codes.get(et)
        if code is None and len(et) == 1 and et.isalpha():
            code = self.unknown_codes[et] = len(self.type_names)
            self.type_names.append(et)
        return code

    def run(self, lines) -> None:  # noqa: C901 - one hot loop, kept flat for speed
        node_types, codes, wanted = NODE_TYPES, self.codes, self.wanted
        n = 0
        cur_raw, g = None, None  # the last graph-id field as read (with its line end)
        stats = self.pending
        try:
            for line in lines:
                n += 1
                f = line.split("\t")
                if len(f) != 6:
                    if line.strip():
                        self.first_line = self.first_line or line[:60].rstrip()
                        stats.skip("malformed", where=f"line {n}")
                    continue
                src, st, dst, dt, et, graw = f
                if graw != cur_raw:
                    gid = graw.rstrip()
                    cur_raw = graw
                    if wanted is not None and gid not in wanted:
                        # lines that follow, malformed or not, belong to no graph asked for
                        g, stats = None, self.ignored
                        continue
                    g = self.graphs.get(gid)
                    if g is None:
                        if not gid:
                            cur_raw = None
                            stats.skip("malformed", where=f"line {n}")
                            continue
                        g = self._graph(gid)
                    stats, index, types, ids, first = g.stats, g.index, g.types, g.ids, g.first
                    add_src, add_dst = g.src.append, g.dst.append
                    add_code, add_ts = g.codes.append, g.ts.append
                elif g is None:
                    continue
                stype = node_types.get(st)
                dtype = node_types.get(dt)
                code = codes.get(et)
                if stype is None or dtype is None or code is None or not src or not dst:
                    if stype is None or dtype is None or not src or not dst:
                        stats.skip("malformed", where=f"line {n}")
                        continue
                    code = self._unknown(et)  # a letter outside the alphabet: kept
                    if code is None:
                        stats.skip("malformed", where=f"line {n}")
                        continue
                    stats.unknown[et] += 1
                si = index.get(src)
                if si is None:
                    si = index[src] = len(ids)
                    ids.append(src)
                    types.append(stype)
                    first.append(n)
                elif types[si] != stype:
                    g.conflicts += 1
                di = index.get(dst)
                if di is None:
                    di = index[dst] = len(ids)
                    ids.append(dst)
                    types.append(dtype)
                    first.append(n)
                elif types[di] != dtype:
                    g.conflicts += 1
                add_src(si)
                add_dst(di)
                add_code(code)
                add_ts(n)
        except (OSError, EOFError, zlib.error) as exc:
            # a damaged gzip stream: keep every line before the damage
            self.io_errors.append(f"{type(exc).__name__}: {exc}")
        self.lines, self.current = n, g

    def finish(self, path: Path) -> list[ProvenanceGraph]:
        if self.io_errors:
            if self.current is None and not self.graphs:
                raise InputError(f"{path}: the gzip stream is corrupt from the start "
                                 f"({self.io_errors[0]}); download the file again.")
            last = self.current or next(reversed(self.graphs.values()))
            last.stats.skip("truncated_gzip", where=self.io_errors[0])
        if self.wanted is not None:
            missing = sorted(self.wanted - set(self.graphs))
            if missing:
                raise InputError(
                    f"{path}: graph id(s) {missing[:5]}{' ...' if len(missing) > 5 else ''} "
                    f"not in the file (found {len(self.graphs)} of the requested); check "
                    "graph_ids against the file's sixth column.")
        if not self.graphs:
            bad = sum(self.pending.skipped.values())
            if bad == 0:
                raise InputError(f"{path}: the StreamSpot file is empty (0 edges); pass a "
                                 "non-empty edge list.")
            raise InputError(
                f"{path}: none of the {bad} lines is a StreamSpot edge (first "
                f"line {self.first_line!r}); each line needs 6 tab-separated fields "
                "'src_id src_type dst_id dst_type edge_type graph_id' with letter types, "
                "or choose another --format.")
        names = pa.array(self.type_names, pa.string())
        return [self._build(g, names) for g in self.graphs.values()]

    @staticmethod
    def _build(g: _Graph, type_names: pa.Array) -> ProvenanceGraph:
        stats = g.stats
        # every line given to a graph is an edge or a skipped line
        stats.records = len(g.src) + sum(v for k, v in stats.skipped.items()
                                         if k != "truncated_gzip")
        nodes = pa.table({
            "id": pa.array(g.ids, pa.string()),
            "type": pa.array(g.types, pa.string()),
            "name": pa.array([""] * len(g.ids), pa.string()),
            "ts": pa.array(np.frombuffer(g.first, dtype=np.int64)),
        })
        edges = pa.table({
            "src": pa.array(np.frombuffer(g.src, dtype=np.int32)),
            "dst": pa.array(np.frombuffer(g.dst, dtype=np.int32)),
            "type": pc.take(type_names, pa.array(np.frombuffer(g.codes, dtype=np.uint8))),
            "ts": pa.array(np.frombuffer(g.ts, dtype=np.int64)),
        })
        meta = {"source": "streamspot", "time": "order", "graph_id": g.gid,
                "parse": {**stats.to_dict(), "type_conflicts": g.conflicts}}
        graph = ProvenanceGraph(nodes, edges, name=g.gid, meta=meta)
        graph.validate()
        return graph
