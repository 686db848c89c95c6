"""Windows Sysmon event logs (JSON lines) -> :class:`ProvenanceGraph`.

Reads Windows event-log exports one JSON object per line, plain, gzip or inside a
``.zip`` (member by member, streaming), in the three shapes found in the wild: flat
nxlog/OTRF records (``Channel``, ``EventID``, ``Hostname`` and the event's fields at the
top level), winlogbeat's ECS records (``winlog.channel``, ``winlog.event_id``,
``winlog.event_data``) and ``evtx_dump`` records (``Event.System``, ``Event.EventData``).
Only Sysmon events (channel ``Microsoft-Windows-Sysmon/Operational`` or provider
``Microsoft-Windows-Sysmon``) make the graph; the Security, PowerShell... events that
OTRF exports carry alongside are counted as skipped (``not_sysmon``).

Events -> edges (:data:`EVENTS`), always actor -> object:

====  ======================  =====================================================
id    Sysmon event            edge
====  ======================  =====================================================
1     ProcessCreate           parent -> child ``start``
2     FileCreateTime          process -> file ``filecreatetime`` (time stomping)
3     NetworkConnect          process -> netflow ``connect`` (``accept`` when
                              ``Initiated`` is false)
5     ProcessTerminate        parent -> process ``exit`` (as the EDR tables do;
                              a self-loop when the parent is not in the log)
6     DriverLoad              ``System`` -> module ``load``
7     ImageLoad               process -> module ``load``
8     CreateRemoteThread      process -> target process ``access``
9     RawAccessRead           process -> device (file) ``read``
10    ProcessAccess           process -> target process ``access``
11    FileCreate              process -> file ``create``
12    RegistryEvent           process -> registry ``reg_create`` / ``reg_delete``
13    RegistryEvent           process -> registry ``reg_set``
14    RegistryEvent (rename)  process -> old key and -> new key ``rename``
15    FileCreateStreamHash    process -> file ``create``
17    PipeEvent (created)     process -> pipe ``create``
18    PipeEvent (connected)   process -> pipe ``open``
19    WmiEventFilter          user (principal) -> wmi filter ``create``/``delete``
20    WmiEventConsumer        user (principal) -> wmi consumer ``create``/``delete``
21    WmiEventConsumerToFil.  user (principal) -> wmi consumer
                              ``wmieventconsumertofilter``
22    DNSEvent                process -> dns name ``dnsquery``
23    FileDelete (archived)   process -> file ``delete``
24    ClipboardChange         process -> clipboard ``write``
25    ProcessTampering        process -> itself ``processtampering``
26    FileDeleteDetected      process -> file ``delete``
27    FileBlockExecutable     process -> file ``fileblockexecutable``
28    FileBlockShredding      process -> file ``fileblockshredding``
29    FileExecutableDetected  process -> file ``create``
====  ======================  =====================================================

Events 4, 16 and 255 (Sysmon's own state, configuration and errors) are skipped
(``sysmon_state``); any other id is counted in ``meta["parse"]["unknown"]`` as
``sysmon_event_<id>``. Anonymous pipes are skipped (``anonymous_pipe``): they have no name,
so one node for all of them would join every process that ever used one.

Node ids
    Processes by ``ProcessGuid`` (braces stripped, lower case). Files, modules, registry
    keys and devices by their path, case-folded (Windows paths are case-insensitive);
    names are case-folded too, as in the EDR tables. A path loaded as an image (events 6
    and 7) is a ``module`` wherever else it appears, any other path a ``file``, so a
    DLL written and later loaded stays one node. Pipes are ``\\\\.\\pipe\\<name>``.
    Netflows are ``ip:port`` of the remote end (``[ip]:port`` for IPv6, addresses in
    canonical form), DNS names ``dns:<name>``. A process seen only as a parent or a
    target is named from ``ParentImage`` / ``TargetImage``.

Hosts
    Host names are the ``Hostname`` / ``Computer`` field, lower-cased, domain dropped
    (nxlog's ``host`` is the collector, not the source, and is ignored). ``host=`` keeps
    one host. When the graph holds more than one, host-local ids are prefixed
    ``<host>|`` (Sysmon GUIDs and paths are only unique per machine) while netflow and
    DNS nodes stay shared, so a connection from one host to a service on another joins
    their graphs -- the lateral movement is visible. Loopback addresses are host-local.
    Every node's host is in the ``host`` column (empty for shared nodes).

Time
    ``UtcTime`` (Sysmon's own clock, UTC), else ``@timestamp`` / the record's creation
    time; a time without zone is taken as UTC. Nanoseconds since the epoch.
"""

from __future__ import annotations

import gzip
import html
import io
import ipaddress
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
import pyarrow as pa

from riskscope.exceptions import InputError
from riskscope.graph.schema import GraphBuilder, ProvenanceGraph

__all__ = ["EVENTS", "read", "sniff"]

#: Sysmon event id -> (Sysmon's name for it, edge type it becomes). ``None``: skipped on
#: purpose (Sysmon's own state). See the module docstring for actor and object.
EVENTS: dict[int, tuple[str, str | None]] = {
    1: ("ProcessCreate", "start"), 2: ("FileCreateTime", "filecreatetime"),
    3: ("NetworkConnect", "connect"), 4: ("ServiceStateChange", None),
    5: ("ProcessTerminate", "exit"), 6: ("DriverLoad", "load"), 7: ("ImageLoad", "load"),
    8: ("CreateRemoteThread", "access"), 9: ("RawAccessRead", "read"),
    10: ("ProcessAccess", "access"), 11: ("FileCreate", "create"),
    12: ("RegistryEvent", "reg_create"), 13: ("RegistryEvent", "reg_set"),
    14: ("RegistryEvent", "rename"), 15: ("FileCreateStreamHash", "create"),
    16: ("ServiceConfigurationChange", None), 17: ("PipeEvent", "create"),
    18: ("PipeEvent", "open"), 19: ("WmiEventFilter", "create"),
    20: ("WmiEventConsumer", "create"),
    21: ("WmiEventConsumerToFilter", "wmieventconsumertofilter"),
    22: ("DnsQuery", "dnsquery"), 23: ("FileDelete", "delete"),
    24: ("ClipboardChange", "write"), 25: ("ProcessTampering", "processtampering"),
    26: ("FileDeleteDetected", "delete"), 27: ("FileBlockExecutable", "fileblockexecutable"),
    28: ("FileBlockShredding", "fileblockshredding"), 29: ("FileExecutableDetected", "create"),
    255: ("Error", None),
}  # fmt: skip

_CHANNEL = "microsoft-windows-sysmon/operational"
_PROVIDER = "microsoft-windows-sysmon"
_NULL_GUID = "00000000-0000-0000-0000-000000000000"
_SYSTEM = "system"  # actor of driver loads (event 6 names no process: the kernel loads)
_SEP = "|"  # host prefix separator: appears in no Windows path, GUID or address
_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)
_BUFFER = 1 << 20
_NAME_RE = re.compile(r'Name\s*=\s*"([^"]*)"')


def sniff(head: bytes) -> bool:
    """Whether ``head`` looks like Windows event-log JSON lines (Sysmon or not).

    Any Windows event-log export is claimed, not only one whose first events are
    Sysmon's: OTRF files often open with Security events, and :func:`read` then says
    plainly whether any Sysmon event was found. A gzip head is decompressed first.

    Examples
    --------
    >>> sniff(b'{"SourceName":"Microsoft-Windows-Sysmon","EventID":1}\\n')
    True
    >>> sniff(b'{"Channel":"Security","EventID":4688,"Hostname":"WS1"}\\n')
    True
    >>> sniff(b'1234 1700000000.123456 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3\\n')
    False
    >>> sniff(b'{"datum": {"com.bbn.tc.schema.avro.cdm18.Event": {}}}\\n')
    False
    """
    head = _gunzip_head(head)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] != b"{" or b"com.bbn.tc.schema" in head or b'"datum"' in head:
        return False
    if b"Microsoft-Windows-Sysmon" in head:
        return True
    first = text.split(b"\n", 1)[0]
    return (b'"EventID"' in first and (b'"Channel"' in first or b'"SourceName"' in first)
            ) or b'"winlog"' in first or (b'"Event"' in first and b'"System"' in first)


def _gunzip_head(head: bytes) -> bytes:
    """The first bytes of a gzip stream, decompressed as far as they go."""
    if head[:2] != b"\x1f\x8b":
        return head
    try:
        return zlib.decompressobj(wbits=zlib.MAX_WBITS | 16).decompress(head)
    except zlib.error:
        return b""


def read(path: str | Path, *, host: str | None = None, name: str | None = None
         ) -> list[ProvenanceGraph]:
    """Parse Sysmon JSON lines (``.json``, ``.json.gz`` or a ``.zip`` of them) into a graph.

    Parameters
    ----------
    path : str or Path
        The log. A ``.zip`` is read member by member (every file in it), streaming.
    host : str, optional
        Keep only this host's events (``"workstation5"`` or
        ``"WORKSTATION5.theshire.local"``: compared lower-cased without the domain).
        Default: all hosts in one graph (ids prefixed by host when there are several;
        see the module docstring).
    name : str, optional
        The graph's name; default the file name without its extensions.

    Returns
    -------
    list of ProvenanceGraph
        One graph. ``meta["hosts"]`` lists the hosts (events per host),
        ``meta["parse"]`` the records read, skipped (by reason) and unknown event ids.

    Raises
    ------
    InputError
        The file is missing, or no Sysmon event in it made an edge (the message says
        what was found instead), or ``host`` is not in the log.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> ev = {"Channel": "Microsoft-Windows-Sysmon/Operational", "Hostname": "WS1.corp",
    ...       "EventID": 1, "UtcTime": "2020-09-04 07:30:12.728",
    ...       "ParentProcessGuid": "{AAAA-1}", "ParentImage": "C:\\\\Windows\\\\explorer.exe",
    ...       "ProcessGuid": "{BBBB-2}", "Image": "C:\\\\Windows\\\\System32\\\\cmd.exe",
    ...       "CommandLine": "cmd.exe /c whoami", "ProcessId": "42"}
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "tiny.json"
    >>> _ = p.write_text(json.dumps(ev) + "\\n" + "not json\\n")
    >>> (g,) = read(p)
    >>> g.nodes.select(["id", "type", "name", "pid"]).to_pylist()[0]
    {'id': 'bbbb-2', 'type': 'process', 'name': 'c:\\\\windows\\\\system32\\\\cmd.exe', 'pid': 42}
    >>> g.edges.to_pylist()  # parent (row 1) starts child (row 0)
    [{'src': 1, 'dst': 0, 'type': 'start', 'ts': 1599204612728000000}]
    >>> g.meta["parse"]["skipped"]
    {'malformed': 1}
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; pass a Sysmon JSON-lines log (.json, "
                         ".json.gz or .zip).")
    want = _host(host) if host is not None else None
    parser = _Parser(want)
    for member, lines in _members(path):
        parser.run(member, lines)
    return [parser.finish(path, name or _stem(path))]


# --- reading ---------------------------------------------------------------------------
def _stem(path: Path) -> str:
    name = path.name
    for ext in (".gz", ".zip", ".jsonl", ".json"):
        name = name.removesuffix(ext)
    return name


def _members(path: Path) -> Iterator[tuple[str, IO[bytes]]]:
    """(member name, binary line stream) for each file in the log."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                # ZipExtFile.readline is pure Python, byte by byte: buffer it
                with zf.open(info) as raw, io.BufferedReader(raw, _BUFFER) as fh:
                    if info.filename.endswith(".gz"):
                        with gzip.open(fh, "rb") as gz:
                            yield info.filename, gz
                    else:
                        yield info.filename, fh
        return
    with open(path, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    with opener(path, "rb") as fh:
        yield path.name, fh


@lru_cache(maxsize=64)
def _host(value: str) -> str:
    """Host key: lower case, domain dropped (an IP address stays whole)."""
    h = value.strip().lower()
    if not h:
        return "unknown"
    return h if h.replace(".", "").isdigit() else h.split(".", 1)[0]


def _guid(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    g = value.strip().strip("{}").lower()
    return g if g and g != _NULL_GUID else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _ns(value: Any) -> int | None:
    """Nanoseconds since the epoch from an ISO time (naive = UTC); None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return (dt - _EPOCH) // _US * 1000


@lru_cache(maxsize=4096)
def _endpoint(ip: str, port: str) -> tuple[str, bool]:
    """(``ip:port`` in canonical form, whether the address is loopback)."""
    ip = ip.strip()
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return f"{ip.lower()}:{port}", ip.lower() == "localhost"
    if addr.version == 6:
        mapped = addr.ipv4_mapped
        if mapped is not None:
            addr = mapped
    text = f"[{addr.compressed}]" if addr.version == 6 else addr.compressed
    return f"{text}:{port}", addr.is_loopback


def _flatten(rec: dict) -> tuple[str, str, Any, str, dict, Any]:
    """(channel, provider, event id, computer, event fields, fallback time) of a record."""
    w = rec.get("winlog")
    if isinstance(w, dict):  # winlogbeat (ECS)
        data = w.get("event_data")
        hst = rec.get("host")
        computer = w.get("computer_name") or (hst.get("name") if isinstance(hst, dict) else "")
        return (w.get("channel") or "", w.get("provider_name") or "", w.get("event_id"),
                computer or "", data if isinstance(data, dict) else {}, rec.get("@timestamp"))
    ev = rec.get("Event")
    if isinstance(ev, dict) and isinstance(ev.get("System"), dict):  # evtx_dump
        sys_ = ev["System"]
        prov = sys_.get("Provider")
        provider = ""
        if isinstance(prov, dict):
            attrs = prov.get("#attributes", prov)
            provider = attrs.get("Name", "") if isinstance(attrs, dict) else ""
        eid = sys_.get("EventID")
        if isinstance(eid, dict):
            eid = eid.get("#text")
        created = sys_.get("TimeCreated")
        time = None
        if isinstance(created, dict):
            attrs = created.get("#attributes", created)
            time = attrs.get("SystemTime") if isinstance(attrs, dict) else None
        data = ev.get("EventData")
        return (sys_.get("Channel") or "", provider, eid, sys_.get("Computer") or "",
                data if isinstance(data, dict) else {}, time)
    # flat (nxlog, OTRF Security-Datasets): the event's fields are the record's own
    return (rec.get("Channel") or "", rec.get("SourceName") or rec.get("ProviderName") or "",
            rec.get("EventID"), rec.get("Hostname") or rec.get("Computer") or "", rec,
            rec.get("@timestamp") or rec.get("TimeCreated") or rec.get("EventTime"))


# --- the parser ------------------------------------------------------------------------
class _Parser:
    """Turns records into builder calls; keeps the per-host bookkeeping."""

    def __init__(self, host: str | None) -> None:
        self.want = host
        self.b = GraphBuilder(source="sysmon")
        self.stats = self.b.stats
        self.local: list[str] = []      # node id without the host prefix, by position
        self.node_host: list[str] = []  # "" for nodes shared between hosts
        self.loaded: set[int] = set()   # path nodes loaded as an image -> module
        self.parent: dict[int, int] = {}
        self.hosts: Counter = Counter()
        self.other: Counter = Counter()  # channels of non-Sysmon events
        self.members: list[str] = []
        self.handlers: dict[int, Callable[[str, dict, int, int], bool]] = {
            1: self._create, 2: self._file, 3: self._net, 5: self._exit, 6: self._driver,
            7: self._file, 8: self._access, 9: self._file, 10: self._access,
            11: self._file, 12: self._reg, 13: self._reg, 14: self._reg_rename,
            15: self._file, 17: self._pipe, 18: self._pipe, 19: self._wmi, 20: self._wmi,
            21: self._wmi, 22: self._dns, 23: self._file, 24: self._clipboard,
            25: self._tamper, 26: self._file, 27: self._file, 28: self._file, 29: self._file,
        }

    # nodes
    def _node(self, host: str, key: str, ntype: str, name: str = "", *, shared: bool = False,
              cmdline: str | None = None, pid: int | None = None, ts: int | None = None
              ) -> int:
        node_id = key if shared else f"{host}{_SEP}{key}"
        i = self.b.node(node_id, ntype, name, cmdline=cmdline, pid=pid, ts=ts)
        if i == len(self.local):
            self.local.append(key)
            self.node_host.append("" if shared else host)
        return i

    def _proc(self, host: str, guid: Any, image: Any = None, cmdline: Any = None,
              pid: Any = None, ts: int | None = None) -> int | None:
        g = _guid(guid)
        if g is None:
            return None
        name = image.casefold() if isinstance(image, str) else ""
        cmd = cmdline if isinstance(cmdline, str) and cmdline else None
        return self._node(host, g, "process", name, cmdline=cmd, pid=_int(pid), ts=ts)

    def _actor(self, host: str, d: dict, ts: int) -> int | None:
        i = self._proc(host, d.get("ProcessGuid"), d.get("Image"), pid=d.get("ProcessId"),
                       ts=ts)
        if i is None:
            self.stats.skip("no_process")
        return i

    def _path(self, host: str, value: Any, ntype: str, ts: int) -> int | None:
        if not isinstance(value, str) or not value.strip():
            self.stats.skip("no_object")
            return None
        key = value.strip().casefold()
        return self._node(host, key, ntype, key, ts=ts)

    # handlers: return True when the record made an edge
    def _create(self, host: str, d: dict, ts: int, eid: int) -> bool:
        child = self._proc(host, d.get("ProcessGuid"), d.get("Image"), d.get("CommandLine"),
                           d.get("ProcessId"), ts)
        if child is None:
            self.stats.skip("no_process")
            return False
        parent = self._proc(host, d.get("ParentProcessGuid"), d.get("ParentImage"),
                            d.get("ParentCommandLine"), d.get("ParentProcessId"), ts)
        if parent is None:
            self.stats.skip("no_parent")
            return False
        self.parent[child] = parent
        self.b.edge(parent, child, "start", ts)
        return True

    def _exit(self, host: str, d: dict, ts: int, eid: int) -> bool:
        p = self._actor(host, d, ts)
        if p is None:
            return False
        self.b.edge(self.parent.get(p, p), p, "exit", ts)
        return True

    def _file(self, host: str, d: dict, ts: int, eid: int) -> bool:
        p = self._actor(host, d, ts)
        if p is None:
            return False
        if eid == 7:
            f = self._path(host, d.get("ImageLoaded"), "module", ts)
        elif eid == 9:
            f = self._path(host, d.get("Device"), "file", ts)
        else:
            f = self._path(host, d.get("TargetFilename"), "file", ts)
        if f is None:
            return False
        if eid == 7:
            self.loaded.add(f)
        self.b.edge(p, f, EVENTS[eid][1], ts)
        return True

    def _driver(self, host: str, d: dict, ts: int, eid: int) -> bool:
        f = self._path(host, d.get("ImageLoaded"), "module", ts)
        if f is None:
            return False
        self.loaded.add(f)
        kernel = self._node(host, _SYSTEM, "process", "system", pid=4, ts=ts)
        self.b.edge(kernel, f, "load", ts)
        return True

    def _access(self, host: str, d: dict, ts: int, eid: int) -> bool:
        # event 8 spells the fields ...Guid, event 10 ...GUID
        src = self._proc(host, d.get("SourceProcessGUID") or d.get("SourceProcessGuid"),
                         d.get("SourceImage"), pid=d.get("SourceProcessId"), ts=ts)
        dst = self._proc(host, d.get("TargetProcessGUID") or d.get("TargetProcessGuid"),
                         d.get("TargetImage"), pid=d.get("TargetProcessId"), ts=ts)
        if src is None or dst is None:
            self.stats.skip("no_process" if src is None else "no_object")
            return False
        self.b.edge(src, dst, "access", ts)
        return True

    def _net(self, host: str, d: dict, ts: int, eid: int) -> bool:
        p = self._actor(host, d, ts)
        if p is None:
            return False
        ip, port = d.get("DestinationIp"), d.get("DestinationPort")
        if not ip or port in (None, ""):
            self.stats.skip("no_object")
            return False
        key, loopback = _endpoint(str(ip), str(port))
        n = self._node(host, key, "netflow", key, shared=not loopback, ts=ts)
        initiated = d.get("Initiated")
        inbound = initiated is False or str(initiated).lower() == "false"
        self.b.edge(p, n, "accept" if inbound else "connect", ts)
        return True

    def _reg(self, host: str, d: dict, ts: int, eid: int) -> bool:
        p = self._actor(host, d, ts)
        if p is None:
            return False
        r = self._path(host, d.get("TargetObject"), "registry", ts)
        if r is None:
            return False
        etype = "reg_set"
        if eid == 12:
            # EventType CreateKey / DeleteKey / DeleteValue; nxlog exports may drop it, and
            # creation is the common case
            kind = str(d.get("EventType") or "").lower()
            etype = "reg_delete" if kind.startswith("delete") else "reg_create"
        self.b.edge(p, r, etype, ts)
        return True

    def _reg_rename(self, host: str, d: dict, ts: int, eid: int) -> bool:
        p = self._actor(host, d, ts)
        if p is None:
            return False
        old = self._path(host, d.get("TargetObject"), "registry", ts)
        if old is None:
            return False
        self.b.edge(p, old, "rename", ts)
        new = d.get("NewName")
        if isinstance(new, str) and new.strip():
            self.b.edge(p, self._path(host, new, "registry", ts), "rename", ts)
        return True

    def _pipe(self, host: str, d: dict, ts: int, eid: int) -> bool:
        p = self._actor(host, d, ts)
        if p is None:
            return False
        pipe = html.unescape(str(d.get("PipeName") or "")).strip()
        if not pipe or "anonymous" in pipe.lower():
            self.stats.skip("anonymous_pipe" if pipe else "no_object")
            return False
        key = "\\\\.\\pipe\\" + pipe.lstrip("\\").casefold()
        n = self._node(host, key, "pipe", key, ts=ts)
        self.b.edge(p, n, EVENTS[eid][1], ts)
        return True

    def _wmi(self, host: str, d: dict, ts: int, eid: int) -> bool:
        user = d.get("User")
        if not isinstance(user, str) or not user.strip():
            self.stats.skip("no_process")
            return False
        u = user.strip().casefold()
        actor = self._node(host, f"principal:{u}", "principal", u, ts=ts)
        if eid == 21:
            m = _NAME_RE.search(str(d.get("Consumer") or ""))
            obj, kind, etype = (m.group(1) if m else ""), "consumer", EVENTS[21][1]
        else:
            obj = str(d.get("Name") or "").strip().strip('"')
            kind = "filter" if eid == 19 else "consumer"
            op = str(d.get("Operation") or "created").lower()
            etype = "delete" if op.startswith("delete") else "create"
        if not obj:
            self.stats.skip("no_object")
            return False
        key = f"wmi:{kind}:{obj.casefold()}"
        self.b.edge(actor, self._node(host, key, "wmi", key, ts=ts), etype, ts)
        return True

    def _dns(self, host: str, d: dict, ts: int, eid: int) -> bool:
        p = self._actor(host, d, ts)
        if p is None:
            return False
        q = str(d.get("QueryName") or "").strip().casefold()
        if not q:
            self.stats.skip("no_object")
            return False
        n = self._node(host, f"dns:{q}", "dns", q, shared=True, ts=ts)
        self.b.edge(p, n, "dnsquery", ts)
        return True

    def _clipboard(self, host: str, d: dict, ts: int, eid: int) -> bool:
        p = self._actor(host, d, ts)
        if p is None:
            return False
        self.b.edge(p, self._node(host, "clipboard", "clipboard", "clipboard", ts=ts),
                    "write", ts)
        return True

    def _tamper(self, host: str, d: dict, ts: int, eid: int) -> bool:
        p = self._actor(host, d, ts)
        if p is None:
            return False
        self.b.edge(p, p, "processtampering", ts)
        return True

    # the loop
    def run(self, member: str, lines: IO[bytes]) -> None:
        self.members.append(member)
        stats, skip, handlers, loads = self.stats, self.stats.skip, self.handlers, orjson.loads
        count = 0
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            count += 1
            try:
                rec = loads(line)
                channel, provider, eid, computer, d, fallback = _flatten(rec)
            except (orjson.JSONDecodeError, AttributeError, TypeError):
                skip("malformed", where=f"{member}:{lineno}")
                continue
            if not (str(channel).lower() == _CHANNEL or str(provider).lower() == _PROVIDER):
                self.other[str(channel or provider or "?")] += 1
                skip("not_sysmon")
                continue
            eid = _int(eid)
            if eid is None:
                skip("malformed", where=f"{member}:{lineno}")
                continue
            host = _host(str(computer))
            if self.want is not None and host != self.want:
                self.hosts[host] += 0  # remembered for the message when nothing matches
                skip("other_host")
                continue
            handler = handlers.get(eid)
            if handler is None:
                if eid in EVENTS:
                    skip("sysmon_state")
                else:
                    stats.unknown[f"sysmon_event_{eid}"] += 1
                continue
            ts = _ns(d.get("UtcTime")) or _ns(fallback)
            if ts is None:
                skip("no_time", where=f"{member}:{lineno}")
                continue
            self.hosts[host] += 1
            handler(host, d, ts, eid)
        stats.records += count

    def finish(self, path: Path, name: str) -> ProvenanceGraph:
        stats = self.stats
        seen = {h: c for h, c in self.hosts.items() if c}
        if self.want is not None and not seen:
            raise InputError(f"{path}: no Sysmon event from host {self.want!r}; the log's "
                             f"hosts are {sorted(self.hosts) or 'none'}; pass one of them "
                             "as host= (or none for all).")
        if self.b.n_edges == 0:
            found = dict(self.other.most_common(3))
            raise InputError(
                f"{path}: no Sysmon event made a graph edge ({stats.records} records; "
                f"skipped {dict(stats.skipped.most_common(4))}"
                + (f"; channels seen {found}" if found else "")
                + "); pass Windows event-log JSON lines that hold Sysmon events (channel "
                "Microsoft-Windows-Sysmon/Operational), e.g. an OTRF Security-Datasets "
                "host log.")
        g = self.b.build(meta={"hosts": dict(sorted(seen.items())), "members": self.members,
                               "host_prefix": len(seen) > 1})
        nodes = g.nodes
        if self.loaded:
            types = np.asarray(nodes["type"].to_pylist(), dtype=object)
            types[np.fromiter(self.loaded, np.int64)] = "module"
            nodes = nodes.set_column(nodes.schema.get_field_index("type"), "type",
                                     pa.array(types.tolist(), pa.string()))
        if len(seen) <= 1:
            # one host: its name in every id would only be noise
            nodes = nodes.set_column(0, "id", pa.array(self.local, pa.string()))
        nodes = nodes.append_column("host", pa.array(self.node_host, pa.string()))
        out = ProvenanceGraph(nodes, g.edges, name=name, meta=g.meta)
        out.validate()
        return out
