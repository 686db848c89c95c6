"""DARPA Transparent Computing CDM JSON lines -> :class:`ProvenanceGraph`.

The DARPA TC engagements (E3: CADETS, THEIA, TRACE, ClearScope, FiveDirections) publish
their audit data in the Common Data Model (CDM18; E5 uses CDM19/20), an Avro schema whose
JSON form (``avro-tools tojson``) is one record per line::

    {"datum": {"com.bbn.tc.schema.avro.cdm18.Event": {...}}, "CDMVersion": "18",
     "source": "SOURCE_FREEBSD_DTRACE_CADETS"}

Avro unions appear wrapped (``{"string": "/etc/passwd"}``, ``{"long": 5}``,
``{"com.bbn.tc.schema.avro.cdm18.UUID": "..."}``, ``{"map": {...}}``) or as ``null``;
they are unwrapped generically, so any CDM version's namespace works.

Entities (``Subject``, ``FileObject``, ``NetFlowObject``, ``UnnamedPipeObject``,
``MemoryObject``, ``SrcSinkObject``, ``RegistryKeyObject``, ``PacketSocketObject``,
``Principal``) become nodes keyed by their UUID, and every ``Event`` becomes one edge
``subject -> predicateObject`` (and a second one to ``predicateObject2`` where present),
typed by :data:`EVENT_TYPES`. Only entities some event references become nodes. Control
records (``Host``, ``TimeMarker``, ``StartMarker``, ``EndMarker``, ``UnitDependency``,
``ProvenanceTagNode``) are counted as skipped.

The streams are time-ordered, so an event may name an entity whose record comes later
(or, when an engagement's data is split over several files, in another file). Such a
node is created as a placeholder and completed when its record arrives; one that never
arrives is typed ``process`` if it acted as an event's subject or was forked (CDM
defines subjects as the actors), else ``other``, and counted in
``meta["parse"]["undefined_nodes"]``.

Processes are named after their image: an ``EVENT_EXECUTE`` renames its subject to the
executable's path (and takes the event's ``cmdLine`` property); its second object, the
loader, gets a ``load`` edge. A forked child that nothing else names takes its parent's
name at the fork.

Per-performer differences handled here:

- CADETS (FreeBSD) subjects carry neither a path nor a command line: a process is named
  from its events' ``properties.map.exec`` and its files from the events'
  ``predicateObjectPath`` (``"<unknown>"`` is ignored).
- THEIA names processes in ``Subject.properties.map.path`` (``cmdLine`` may be
  ``"N/A"``) and files in ``baseObject.properties.map.filename``; it types regular files
  ``FILE_OBJECT_BLOCK`` and fills unused object slots with the all-zero UUID.
- TRACE names processes in ``properties.map.name`` and files in
  ``baseObject.properties.map.path``; its BEEP execution units are ``SUBJECT_UNIT``
  subjects (node type ``unit``), linked to their process by ``EVENT_UNIT`` edges.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from array import array
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from riskscope.exceptions import InputError, SchemaError
from riskscope.graph.schema import ParseStats, ProvenanceGraph
from riskscope.io.provenance._cdm_fields import (
    _HANDLERS,
    _I64,
    _LO,
    _NULL_UUID,
    EVENT_TYPES,
    OBJECT_TYPES,
    _keys,
    _object,
    _path,
    _un,
    _uuid,
)

__all__ = ["EVENT_TYPES", "OBJECT_TYPES", "read", "sniff"]

_MARK = b"com.bbn.tc.schema.avro.cdm"
_BUFFER = 1 << 16  # read buffer: the fastest line iteration measured (8 KiB-1 MiB tried)
_BOM = b"\xef\xbb\xbf"

_CONTROL = frozenset({"Host", "TimeMarker", "StartMarker", "EndMarker", "UnitDependency",
                      "ProvenanceTagNode", "ProvenanceAssertion"})
_ENTITIES = frozenset({"Subject", "FileObject", "NetFlowObject", "UnnamedPipeObject",
                       "MemoryObject", "SrcSinkObject", "RegistryKeyObject",
                       "PacketSocketObject", "Principal"})
_EVENT, _ENTITY, _SKIP = 0, 1, 2
_NOT_CDM_LIMIT = 1000  # JSON objects without a CDM datum before giving up on the file
# Edge types are stored as 1-byte codes while parsing (a bytearray, whose append is a third
# of array's; 2-byte codes should unknown event types add more than 256 names): a file of
# 30M events keeps 30 MB, not 240 MB of pointers. Code -> name for the known names;
# unknown types are appended per parse.
_TYPE_NAMES = sorted(set(EVENT_TYPES.values()) | {"load"})
_CODES = {et: _TYPE_NAMES.index(name) for et, name in EVENT_TYPES.items()}
_START, _EXEC, _LOAD = (_TYPE_NAMES.index(x) for x in ("start", "exec", "load"))
# int64 arrays: C long where it has 64 bits, as its append converts faster than long long's
_INT64 = "l" if array("l").itemsize == 8 else "q"


def sniff(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file) looks like CDM JSON lines.

    Gzip-compressed heads are decompressed as far as they go.

    Examples
    --------
    >>> sniff(b'{"datum":{"com.bbn.tc.schema.avro.cdm18.Host":{}},"CDMVersion":"18"}\\n')
    True
    >>> sniff(b'{"EventID": 1, "SourceName": "Microsoft-Windows-Sysmon"}\\n')
    False
    """
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16).decompress(head)
        except zlib.error:
            return False
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")  # a UTF-8 BOM, blank lines
    return head[:1] == b"{" and b'"datum"' in head and _MARK in head


def read(path: str | Path, *, max_records: int | None = None) -> list[ProvenanceGraph]:
    """Parse a CDM JSON-lines file (plain or gzip) into one provenance graph.

    Parameters
    ----------
    path : str or Path
        The ``.json`` file (or ``.json.gz``; gzip is recognised by its magic bytes).
    max_records : int, optional
        Stop after this many records (non-blank lines), e.g. for a quick look at a large
        file.

    Returns
    -------
    list of ProvenanceGraph
        One graph named after the file. ``meta["parse"]`` holds the counts of records,
        skipped records by reason, unknown event types, ``undefined_nodes`` and
        ``unreferenced_entities``; ``meta["cdm_source"]`` the instrumentation (e.g.
        ``SOURCE_FREEBSD_DTRACE_CADETS``). Network-flow nodes are named
        ``remote_ip:remote_port`` and carry their local end in the ``local`` column.

    Raises
    ------
    InputError
        The file is missing, empty, not JSON lines, or holds no event with a subject
        and an object.
    SchemaError
        The file is JSON lines but not CDM records.

    Examples
    --------
    A process reads a file whose record arrives after the event (a forward reference):

    >>> import json, pathlib, tempfile
    >>> ns = "com.bbn.tc.schema.avro.cdm18"
    >>> lines = [
    ...     {"datum": {f"{ns}.Subject": {"uuid": "P", "type": "SUBJECT_PROCESS", "cid": 7,
    ...      "cmdLine": {"string": "cat /etc/passwd"},
    ...      "properties": {"map": {"path": "/bin/cat"}}}}},
    ...     {"datum": {f"{ns}.Event": {"uuid": "E", "type": "EVENT_READ", "timestampNanos": 5,
    ...      "subject": {f"{ns}.UUID": "P"}, "predicateObject": {f"{ns}.UUID": "F"},
    ...      "predicateObjectPath": {"string": "/etc/passwd"}}}},
    ...     {"datum": {f"{ns}.FileObject": {"uuid": "F", "type": "FILE_OBJECT_FILE"}}}]
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "tiny.json").write_text("\\n".join(json.dumps(x) for x in lines))
    >>> (g,) = read(folder / "tiny.json")
    >>> g.nodes.select(["id", "type", "name", "pid"]).to_pylist()[1]
    {'id': 'F', 'type': 'file', 'name': '/etc/passwd', 'pid': None}
    >>> g.edges.to_pylist()
    [{'src': 0, 'dst': 1, 'type': 'read', 'ts': 5}]
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; pass a DARPA TC CDM JSON-lines file.")
    parser = _Parser(path)
    # The file object's own line iterator (C) is the cheapest way to lines: splitting
    # large blocks costs more in a fresh process (new memory for every block).
    gz = _is_gzip(path)
    with gzip.open(path, "rb") if gz else open(path, "rb", buffering=_BUFFER) as fh:
        parser.run(fh if max_records is None else _limited(fh, max_records))
    return [parser.finish()]


def _limited(lines, limit: int):
    """The first ``limit`` non-blank lines (blank ones pass through uncounted)."""
    for line in lines:
        if line.strip():
            if limit <= 0:
                return
            limit -= 1
        yield line


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


class _Parser:
    """One file's parse: the node and edge columns under construction, and the counts.

    Nodes live in plain lists indexed by position, because a placeholder's type and name
    are filled in when its record arrives. The graph's tables are built from the lists by
    :meth:`finish`, in one go rather than row by row through :class:`GraphBuilder`: at
    ~5 microseconds a record, a method call per edge and per node is a visible share.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stats = ParseStats()
        # nodes
        # UUID -> node row; or, for an entity no event has referenced yet, its record
        # (a handler's tuple): one dict, so that an entity costs one look-up, not two
        self.index: dict[str, int | tuple] = {}
        self.ids: list[str] = []
        self.types: list[str | None] = []
        self.names: list[str] = []
        self.first_ts = array(_INT64)  # first seen (or the subject's start)
        self.cmd: dict[int, str] = {}
        self.pid: dict[int, int] = {}
        self.local: dict[int, str] = {}
        self.inherit: dict[int, str] = {}  # fork child -> parent's name at the fork
        # execve of a file not yet named: process -> image file, file -> processes
        self.exec_image: dict[int, int] = {}
        self.exec_waiting: dict[int, list[int]] = {}
        # edges, in typed arrays: 17 bytes an edge where lists of ints take ~100
        self.src = array("i")
        self.dst = array("i")
        self.ecodes: bytearray | array = bytearray()
        self.ets = array(_INT64)
        self.codes = dict(_CODES)  # CDM18 event type -> code
        self.unknown_codes: dict[str, int] = {}  # kept apart, so each one is counted
        self.type_names = list(_TYPE_NAMES)
        # records
        self.event_key = ""  # datum key of events, e.g. "com.bbn.tc.schema.avro.cdm18.Event"
        self.uuid_key = ""  # and of UUIDs in the same namespace
        self.kinds: dict[str, tuple[int, Any, str]] = {}
        # datum key -> entity handler, or a control record's skip reason: what run()
        # handles itself (the rest goes through _other)
        self.handlers: dict[str, Any] = {}
        self.lines = self.blank = self.bad_json = self.not_cdm = 0
        self.first_line = b""
        self.not_cdm_keys: tuple[int, list[str]] | None = None
        self.cdm_source: str | None = None
        self.give_up = False

    # --- node table ---------------------------------------------------------------------
    def _new(self, uuid: str, ts: int, d: tuple | None = None) -> int:
        """A node for ``uuid``, first referenced at ``ts``: from its record ``d``, or a
        placeholder."""
        i = self.index[uuid] = len(self.ids)
        self.ids.append(uuid)
        if d is None:
            self.types.append(None)
            self.names.append("")
            self.first_ts.append(ts)
            return i
        ntype, name, cmd, pid, start, local = d
        self.types.append(ntype)
        self.names.append(name)
        self.first_ts.append(start if start and start < ts else ts)
        if cmd:
            self.cmd[i] = cmd
        if pid is not None:
            self.pid[i] = pid
        if local:
            self.local[i] = local
        return i

    def _define(self, uuid: str, i: int | tuple, new: tuple) -> None:
        """Record an entity met before (``i``: its node row or earlier record), ``new``
        as a handler returns it; the first record wins, later ones only fill gaps."""
        if i.__class__ is tuple:
            self.index[uuid] = tuple(new[k] if v is None or v == "" else v
                                     for k, v in enumerate(i))
            return
        ntype, name, cmd, pid, start, local = new
        if self.types[i] is None:
            self.types[i] = ntype
        if name and not self.names[i]:
            self.names[i] = name
            for si in self.exec_waiting.pop(i, ()):
                if self.exec_image.get(si) == i:  # not exec'd into another image since
                    del self.exec_image[si]
                    self.names[si] = name
        if cmd and i not in self.cmd:
            self.cmd[i] = cmd
        if pid is not None and i not in self.pid:
            self.pid[i] = pid
        if start and start < self.first_ts[i]:
            self.first_ts[i] = start  # the subject's own start beats "first referenced"
        if local and i not in self.local:
            self.local[i] = local

    # --- records other than events -------------------------------------------------------
    def _kind(self, key: str) -> tuple[int, Any, str]:
        """Classify a datum key once: (kind, handler or record type, namespace UUID key).
        Entity and control kinds are also entered in ``handlers`` for :meth:`run`."""
        ns, _, rtype = key.rpartition(".")
        if not ns.startswith("com.bbn.tc.schema.avro"):
            kind = (-1, rtype, "")
        elif rtype == "Event":
            kind = (_EVENT, rtype, _keys(ns + ".UUID")[0])
        elif rtype in _ENTITIES:
            handler = _HANDLERS.get(rtype) or functools.partial(_object, rtype)
            kind = (_ENTITY, handler, "")
            self.handlers[key] = handler
        else:
            kind = (_SKIP, rtype, "")
            if rtype in _CONTROL:
                self.handlers[key] = rtype
        self.kinds[key] = kind
        return kind

    def _other(self, rec: Any, line: bytes, n: int) -> dict | None:
        """Every record :meth:`run` does not handle itself (events of the known namespace,
        entities and control records of kinds met before): count or record it. Returns
        the body of an event met first (or in a new namespace) after switching to it."""
        if rec is None:  # not JSON
            return self._not_json(line, n)
        try:
            ((key, body),) = rec["datum"].items()
            kind, what, uuid_key = self.kinds.get(key) or self._kind(key)
        except (KeyError, TypeError, ValueError, AttributeError):
            kind = -1
        if self.cdm_source is None and kind >= 0:
            src = rec.get("source")
            self.cdm_source = src if src.__class__ is str else ""
        if kind == _ENTITY:
            self._entity(what, body, n)
        elif kind == _SKIP:
            if what in _CONTROL:
                self.stats.skip(what)
            else:
                self.stats.skip(f"unknown record {what}", where=f"line {n}")
        elif kind == _EVENT:
            self.event_key, self.uuid_key = key, uuid_key
            return body
        else:
            self._not_cdm_record(rec, n)
        return None

    def _entity(self, handler: Any, body: Any, n: int) -> None:
        try:
            uuid = body["uuid"]
            if uuid.__class__ is not str or uuid == _NULL_UUID:
                uuid = _uuid(uuid)
                if uuid is None:
                    raise ValueError("entity without uuid")
            new = handler(body)
        except (KeyError, TypeError, ValueError, AttributeError):
            self.stats.skip("malformed", where=f"line {n}")
            return
        i = self.index.setdefault(uuid, new)
        if i is not new:
            self._define(uuid, i, new)

    def _not_json(self, line: bytes, n: int) -> dict | None:
        if not line.strip():
            self.blank += 1
            return None
        if n == 1 and line.startswith(_BOM):  # a UTF-8 byte-order mark is not JSON
            try:
                return self._other(orjson.loads(line[3:]), line[3:], n)
            except orjson.JSONDecodeError:
                line = line[3:]
        self.bad_json += 1
        self.first_line = self.first_line or line[:60].rstrip()
        self.stats.skip("malformed", where=f"line {n}")
        return None

    def _not_cdm_record(self, rec: Any, n: int) -> None:
        self.not_cdm += 1
        self.stats.skip("not_cdm", where=f"line {n}")
        if self.not_cdm_keys is None:
            keys = list(rec)[:8] if rec.__class__ is dict else [type(rec).__name__]
            self.not_cdm_keys = (n, keys)
        if self.not_cdm >= _NOT_CDM_LIMIT and self.not_cdm == n - self.blank:
            self.give_up = True  # a thousand JSON objects and none is CDM

    # --- events: the hot loop -------------------------------------------------------------
    def run(self, lines) -> None:  # noqa: C901 - one hot loop, kept flat for speed
        """Parse every record of ``lines`` (an iterable of byte strings)."""
        # Everything the loop touches is a local: attribute and global lookups are a
        # measurable share of the cost at a few microseconds a record.
        loads, JSONDecodeError = orjson.loads, orjson.JSONDecodeError
        skip, unknown = self.stats.skip, self.stats.unknown
        index, names, new, other = self.index, self.names, self._new, self._other
        ids, handlers, define, keep = self.ids, self.handlers, self._define, index.setdefault
        add_id, add_type, add_name = ids.append, self.types.append, names.append
        add_first = self.first_ts.append
        add_src, add_dst = self.src.append, self.dst.append
        add_code, add_ts = self.ecodes.append, self.ets.append
        codes, lo, hi, null = self.codes, _LO, _I64, _NULL_UUID
        start_code, exec_code, load_code = _START, _EXEC, _LOAD
        event_key, uk = self.event_key, self.uuid_key
        k_datum, k_uuid, k_type, k_ts, k_subject, k_object, k_object2 = _keys(
            "datum", "uuid", "type", "timestampNanos", "subject", "predicateObject",
            "predicateObject2")
        last_sid = last_oid = last_si = last_oi = None
        n = self.lines
        try:
            for line in lines:
                n += 1
                try:
                    rec = loads(line)
                    datum = rec[k_datum]
                    body = datum.get(event_key)
                except JSONDecodeError:
                    rec = datum = body = None
                except (KeyError, TypeError, AttributeError):
                    datum = body = None
                if body is None:
                    # entity and control records of kinds met before are handled here, not
                    # in _other: up to 40% of the records, and a call each is a visible share
                    try:  # datum is a dict here (it has .get), or None
                        (key,) = datum  # one key: the record type
                        handler = handlers.get(key)
                    except (TypeError, ValueError):
                        handler = None
                    if handler.__class__ is str:  # a control record
                        skip(handler)
                        continue
                    if handler is not None:
                        # _entity inlined: it would be a call per entity record, and up to
                        # 40% of a file are entities (_entity serves the first of a kind)
                        try:
                            body = datum[key]
                            uuid = body[k_uuid]
                            if uuid.__class__ is not str or uuid == null:
                                uuid = _uuid(uuid)
                                if uuid is None:
                                    raise ValueError("entity without uuid")
                            d = handler(body)
                        except (KeyError, TypeError, ValueError, AttributeError):
                            skip("malformed", where=f"line {n}")
                            continue
                        # one probe of the index, not two; d itself comes back for a new
                        # UUID (a handler builds a new tuple every call)
                        i = keep(uuid, d)
                        if i is not d:
                            define(uuid, i, d)
                        continue
                    body = other(rec, line, n)
                    if body is None:
                        if self.give_up:
                            self.lines = n
                            return
                        continue
                    event_key, uk = self.event_key, self.uuid_key
                # an event: subject -> predicateObject (and -> predicateObject2)
                try:
                    et = body[k_type]
                    code = codes.get(et)
                    if code is None:
                        code = self._unknown_type(et)
                        unknown[et] += 1
                        add_code = self.ecodes.append  # may have widened to 2 bytes
                    ts = body[k_ts]
                    if ts.__class__ is not int:
                        ts = _un(ts)
                        if ts.__class__ is not int:
                            raise TypeError("timestampNanos")
                    if not lo <= ts < hi:
                        raise ValueError("timestampNanos out of the int64 range")
                    # optional fields may be absent instead of null
                    # the generic _uuid only for shapes other than {uuid_key: "..."}
                    s = body.get(k_subject)
                    sid = s.get(uk) if s.__class__ is dict else None
                    if sid.__class__ is not str or sid == null:
                        sid = _uuid(s)
                        if sid is None:
                            skip("no_subject")
                            continue
                    po = body.get(k_object)
                    oid = None
                    if po is not None:
                        oid = po.get(uk) if po.__class__ is dict else None
                        if oid == null:
                            oid = None
                        elif oid.__class__ is not str:
                            oid = _uuid(po)
                    po2 = body.get(k_object2)
                    oid2 = None
                    if po2 is not None:
                        oid2 = po2.get(uk) if po2.__class__ is dict else None
                        if oid2 == null:  # THEIA fills unused slots with the zero UUID
                            oid2 = None
                        elif oid2.__class__ is not str:
                            oid2 = _uuid(po2)
                    if oid is None and oid2 is None:
                        skip("no_object")
                        continue
                    # consecutive events often share their subject (and object): a string
                    # comparison is cheaper than hashing the fresh UUID string for a look-up
                    if sid == last_sid:
                        si = last_si
                    else:
                        si = index.get(sid)
                        if si is None:  # a placeholder, inline: the most common new node
                            si = index[sid] = len(ids)
                            add_id(sid)
                            add_type(None)
                            add_name("")
                            add_first(ts)
                        elif si.__class__ is tuple:
                            si = new(sid, ts, si)
                        last_sid, last_si = sid, si
                    if not names[si]:
                        # CADETS names a process only in its events' properties
                        props = body.get("properties")
                        if props.__class__ is dict:
                            props = props.get("map") or _un(props)
                            if props.__class__ is dict:
                                exe = props.get("exec")
                                if exe.__class__ is str:
                                    names[si] = exe
                    if oid is not None:
                        if oid == last_oid:
                            oi = last_oi
                        else:
                            oi = index.get(oid)
                            if oi is None:
                                oi = index[oid] = len(ids)
                                add_id(oid)
                                add_type(None)
                                add_name("")
                                add_first(ts)
                            elif oi.__class__ is tuple:
                                oi = new(oid, ts, oi)
                            last_oid, last_oi = oid, oi
                        if not names[oi]:
                            p = body.get("predicateObjectPath")
                            if p is not None:
                                p = p.get("string") if p.__class__ is dict else p
                                if p.__class__ is not str:
                                    names[oi] = _path(body.get("predicateObjectPath"))
                                elif p != "<unknown>":
                                    names[oi] = p
                        add_ts(ts)
                        add_src(si)
                        add_dst(oi)
                        add_code(code)
                        if code == start_code or code == exec_code:
                            self._start_or_exec(code, si, oi, body)
                    if oid2 is not None:
                        oi = index.get(oid2)
                        if oi.__class__ is not int:
                            oi = new(oid2, ts, oi)
                        if not names[oi]:
                            p = body.get("predicateObject2Path")
                            if p is not None:
                                names[oi] = _path(p)
                        add_ts(ts)
                        add_src(si)
                        add_dst(oi)
                        # execve's second object is the loader (ld.so) the kernel maps in
                        add_code(load_code if code == exec_code else code)
                except (KeyError, TypeError, ValueError, AttributeError):
                    skip("malformed", where=f"line {n}")
        except (OSError, EOFError, zlib.error) as exc:
            # a damaged gzip stream: keep every line before the damage
            self.stats.skip("truncated_gzip", where=f"{type(exc).__name__}: {exc}")
        self.lines = n

    def _unknown_type(self, et: Any) -> int:
        """A code for an event type outside CDM18, named by the usual rule."""
        if et.__class__ is not str:
            raise TypeError("event type")
        code = self.unknown_codes.get(et)
        if code is not None:
            return code
        name = et[6:].lower() if et.startswith("EVENT_") else et.lower()
        if name in self.type_names:
            code = self.type_names.index(name)
        elif len(self.type_names) < 0xFFFF:
            code = len(self.type_names)
            self.type_names.append(name)
            if code == 0x100:  # widen the codes to 2 bytes
                wide = np.frombuffer(self.ecodes, dtype=np.uint8).astype(np.uint16)
                self.ecodes = array("H", wide.tobytes())
        else:
            raise ValueError("too many distinct event types")
        self.unknown_codes[et] = code
        return code

    def _start_or_exec(self, code: int, si: int, oi: int, body: dict) -> None:
        names = self.names
        if code == _START:
            if not names[oi] and names[si]:
                # a fork runs its parent's image: the fallback name, should neither the
                # child's record nor its events name it
                self.inherit[oi] = names[si]
            return
        # after execve the process runs the new image: rename it (and its command line)
        props = _un(body.get("properties"))
        props = props if props.__class__ is dict else {}
        image = names[oi] or props.get("exec")
        cmd = props.get("cmdLine")
        if image.__class__ is str and image:
            names[si] = image
            self.exec_image.pop(si, None)
        else:  # the image file's record comes later: rename the process then
            self.exec_image[si] = oi
            self.exec_waiting.setdefault(oi, []).append(si)
        if cmd.__class__ is str and cmd:
            self.cmd[si] = cmd

    # --- the end --------------------------------------------------------------------------
    def finish(self) -> ProvenanceGraph:
        stats, where = self.stats, self.path
        records = self.lines - self.blank
        stats.records = records
        if records == 0:
            if stats.skipped["truncated_gzip"]:
                raise InputError(f"{where}: the gzip stream is corrupt from the start "
                                 f"({stats.first_bad[0]}); download the file again.")
            raise InputError(f"{where}: the CDM log is empty (0 records); pass a non-empty "
                             "DARPA TC CDM JSON-lines file.")
        if self.bad_json == records:
            raise InputError(f"{where}: none of the {records} lines is JSON (first "
                             f"line {self.first_line!r}); pass a DARPA TC CDM JSON-lines "
                             "file (avro-tools tojson output) or choose another --format.")
        if self.bad_json + self.not_cdm == records:
            n, keys = self.not_cdm_keys or (0, [])
            raise SchemaError(f"{where}: JSON lines but not DARPA TC CDM records (line {n} "
                              f"has top-level keys {keys}; CDM records are "
                              '{"datum": {"com.bbn.tc.schema.avro.cdm18.<Type>": ...}}); '
                              "choose the matching --format.")
        if not self.src:
            n_cdm = records - self.bad_json - self.not_cdm
            raise InputError(f"{where}: {n_cdm} CDM records but no event with a subject and "
                             f"an object (skipped: {dict(stats.skipped.most_common(5))}); "
                             "pass a file that holds the engagement's Event records.")
        return self._graph()

    def _graph(self) -> ProvenanceGraph:
        n = len(self.ids)
        types, names = self.types, self.names
        src = np.frombuffer(self.src, dtype=np.int32)
        dst = np.frombuffer(self.dst, dtype=np.int32)
        codes = np.frombuffer(self.ecodes, dtype=np.uint16 if self.ecodes.__class__ is array
                              else np.uint8)
        undefined = [i for i, t in enumerate(types) if t is None] if None in types else []
        if undefined:
            # CDM's actors are subjects: what acted (or was forked) is a process
            actor = np.zeros(n, dtype=bool)
            actor[src] = True
            actor[dst[codes == _START]] = True
            for i, a in zip(undefined, actor[undefined].tolist(), strict=True):
                types[i] = "process" if a else "other"
        for i, name in self.inherit.items():
            if not names[i]:
                names[i] = name
        cols: dict[str, pa.Array] = {
            "id": pa.array(self.ids, pa.string()),
            "type": pa.array(types, pa.string()),
            "name": pa.array(names, pa.string()),
        }
        if self.cmd:
            cols["cmdline"] = _sparse(self.cmd, n, pa.string())
        if self.pid:
            cols["pid"] = _sparse(self.pid, n, pa.int64())
        cols["ts"] = pa.array(np.frombuffer(self.first_ts, dtype=np.int64))
        if self.local:
            cols["local"] = _sparse(self.local, n, pa.string())
        edges = pa.table({
            "src": pa.array(src),
            "dst": pa.array(dst),
            "type": pc.take(pa.array(self.type_names, pa.string()), pa.array(codes)),
            "ts": pa.array(np.frombuffer(self.ets, dtype=np.int64)),
        })
        parse = {**self.stats.to_dict(), "undefined_nodes": len(undefined),
                 "unreferenced_entities": len(self.index) - n}
        meta = {"source": "cdm", "time": "ns", "parse": parse,
                "cdm_source": self.cdm_source or ""}
        g = ProvenanceGraph(pa.table(cols), edges, name=self.path.name, meta=meta)
        g.validate()
        return g


def _sparse(values: dict[int, Any], n: int, typ: pa.DataType) -> pa.Array:
    """A column of ``n`` rows from {row: value}, null elsewhere (few rows are set)."""
    col: list[Any] = [None] * n
    for i, v in values.items():
        col[i] = v
    return pa.array(col, typ)
