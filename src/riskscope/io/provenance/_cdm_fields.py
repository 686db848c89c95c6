"""CDM18 vocabulary and field readers for :mod:`riskscope.io.provenance.cdm`: event and
entity kinds, Avro union unwrapping, and the entity handlers that turn a record's body
into the node it defines. Kept apart from the reader's loop, which imports them once.
"""

from __future__ import annotations

from typing import Any

import orjson

_NULL_UUID = "00000000-0000-0000-0000-000000000000"
_I64 = 1 << 63  # timestamps and pids are int64 columns: anything outside is malformed
_LO = -_I64

#: CDM18 ``EventType`` -> edge type. Canonical :data:`~riskscope.graph.schema.EDGE_TYPES`
#: where the meaning matches; the other CDM18 kinds keep their name without the
#: ``EVENT_`` prefix, lower-cased. An event type outside CDM18 is counted in
#: ``meta["parse"]["unknown"]`` and kept under the same naming rule.
EVENT_TYPES: dict[str, str] = {
    "EVENT_READ": "read", "EVENT_WRITE": "write", "EVENT_EXECUTE": "exec",
    "EVENT_FORK": "start", "EVENT_CLONE": "start", "EVENT_CREATE_THREAD": "start",
    "EVENT_EXIT": "exit", "EVENT_CONNECT": "connect", "EVENT_ACCEPT": "accept",
    "EVENT_BIND": "bind", "EVENT_SENDTO": "send", "EVENT_SENDMSG": "send",
    "EVENT_RECVFROM": "recv", "EVENT_RECVMSG": "recv", "EVENT_OPEN": "open",
    "EVENT_CLOSE": "close", "EVENT_MMAP": "mmap", "EVENT_UNLINK": "delete",
    "EVENT_RENAME": "rename", "EVENT_LINK": "link", "EVENT_TRUNCATE": "truncate",
    # chmod, chown and utimes all map here in CADETS; the canonical name is the nearest
    "EVENT_MODIFY_FILE_ATTRIBUTES": "chmod",
    "EVENT_LOADLIBRARY": "load", "EVENT_CREATE_OBJECT": "create", "EVENT_SIGNAL": "signal",
}
EVENT_TYPES.update({
    k: k[6:].lower() for k in (
        "EVENT_ADD_OBJECT_ATTRIBUTE", "EVENT_BLIND", "EVENT_BOOT", "EVENT_CHANGE_PRINCIPAL",
        "EVENT_CHECK_FILE_ATTRIBUTES", "EVENT_DUP", "EVENT_FLOWS_TO", "EVENT_FCNTL",
        "EVENT_LOGCLEAR", "EVENT_LOGIN", "EVENT_LOGOUT", "EVENT_LSEEK",
        "EVENT_MODIFY_PROCESS", "EVENT_MOUNT", "EVENT_MPROTECT", "EVENT_OTHER",
        "EVENT_READ_SOCKET_PARAMS", "EVENT_SERVICEINSTALL", "EVENT_SHM",
        "EVENT_STARTSERVICE", "EVENT_UMOUNT", "EVENT_UNIT", "EVENT_UPDATE", "EVENT_WAIT",
        "EVENT_WRITE_SOCKET_PARAMS",
    )
})  # fmt: skip

#: CDM entity kind (record type, or its ``type`` field) -> node type. Every
#: ``FileObject`` is a ``file`` (THEIA types regular files ``FILE_OBJECT_BLOCK``) except
#: named pipes (``pipe``) and Unix sockets, which are neither files nor network flows
#: and keep their own name.
OBJECT_TYPES: dict[str, str] = {
    "SUBJECT_PROCESS": "process", "SUBJECT_THREAD": "thread", "SUBJECT_UNIT": "unit",
    "SUBJECT_BASIC_BLOCK": "basic_block",
    "FILE_OBJECT_FILE": "file", "FILE_OBJECT_DIR": "file", "FILE_OBJECT_LINK": "file",
    "FILE_OBJECT_BLOCK": "file", "FILE_OBJECT_CHAR": "file", "FILE_OBJECT_PEFILE": "file",
    "FILE_OBJECT_NAMED_PIPE": "pipe", "FILE_OBJECT_UNIX_SOCKET": "unix_socket",
    "NetFlowObject": "netflow", "UnnamedPipeObject": "pipe", "MemoryObject": "memory",
    "SrcSinkObject": "srcsink", "RegistryKeyObject": "registry",
    "PacketSocketObject": "packet_socket", "Principal": "principal",
}  # fmt: skip


def _un(v: Any) -> Any:
    """Avro JSON union ``{"branch": value}`` -> value; anything else unchanged."""
    if v.__class__ is dict and len(v) == 1:
        for x in v.values():
            return x
    return v


def _uuid(v: Any) -> str | None:
    """A UUID field, wrapped in its union or plain; None for null or the zero UUID."""
    if v.__class__ is dict:
        v = _un(v)
    if v.__class__ is not str or not v or v == _NULL_UUID:
        return None
    return v


def _path(v: Any) -> str:
    """A path field (string union); empty for null and CADETS' ``<unknown>``."""
    v = _un(v)
    return v if v.__class__ is str and v != "<unknown>" else ""


def _props(obj: Any) -> dict:
    """``obj.properties`` (a map union, a plain map, or null) as a dict."""
    if obj.__class__ is not dict:
        return {}
    props = obj.get("properties")
    if props.__class__ is dict:
        inner = props.get("map")
        if inner.__class__ is dict:
            return inner
        props = _un(props)
    return props if props.__class__ is dict else {}


def _endpoint(addr: Any, port: Any) -> str:
    """``ip:port`` of a flow end (either may be a union); empty when the address is."""
    if addr.__class__ is str and addr and port.__class__ is int:  # CDM18's own shapes
        return f"{addr}:{port}"
    addr, port = _un(addr), _un(port)
    if addr is None or addr == "":
        return ""
    return f"{addr}:{port}" if port is not None else str(addr)


# Entity handlers: a record's body -> the node it defines, as the tuple (type, name,
# cmdline, pid, start, local) that _Parser.index holds until an event names the entity.
# The common union shapes ({"map": ...}, {"string": ...}) are unwrapped inline and _un
# kept for the rest: entities are up to 40% of a file.
def _name(v: Any) -> str:
    v = v if v.__class__ is str else str(v)
    return "" if v == "<unknown>" else v


def _file(body: dict) -> tuple:
    try:
        props = body["baseObject"]["properties"]["map"]
    except (KeyError, TypeError):
        props = None
    if props.__class__ is not dict:
        props = _props(body.get("baseObject"))
    ftype = body.get("type") or "FILE_OBJECT_FILE"
    ntype = OBJECT_TYPES.get(ftype) or ftype.lower()
    name = props.get("filename") or props.get("path") or ""
    if name.__class__ is not str or name == "<unknown>":
        name = _name(name)
    return (ntype, name, None, None, None, "")


def _netflow(body: dict) -> tuple:
    name = _endpoint(body.get("remoteAddress"), body.get("remotePort"))
    return ("netflow", "" if name == "<unknown>" else name, None, None, None,
            _endpoint(body.get("localAddress"), body.get("localPort")))


def _object(rtype: str, body: dict) -> tuple:
    if rtype == "MemoryObject":
        addr = _un(body.get("memoryAddress"))
        name = hex(addr) if addr.__class__ is int else ""
    elif rtype == "SrcSinkObject":
        name = str(body.get("type") or "")
    elif rtype == "RegistryKeyObject":
        name = str(_un(body.get("key")) or "")
    elif rtype == "Principal":
        name = str(_un(body.get("username")) or body.get("userId") or "")
    else:  # UnnamedPipeObject, PacketSocketObject
        name = _props(body.get("baseObject")).get("path") or ""
    return (OBJECT_TYPES[rtype], _name(name), None, None, None, "")


def _subject(body: dict) -> tuple:
    try:
        props = body["properties"]["map"]
    except (KeyError, TypeError):
        props = None
    if props.__class__ is not dict:
        props = _props(body)
    cmd = body.get("cmdLine")
    if cmd.__class__ is dict:
        cmd = cmd.get("string") or _un(cmd)
    if cmd.__class__ is not str or cmd == "" or cmd == "N/A":
        cmd = None
    name = props.get("path") or props.get("name") or ""
    if not name and cmd:
        name = (cmd.split(None, 1) or [""])[0]  # a blank command line names nothing
    pid = body.get("cid")
    if pid.__class__ is not int:
        pid = _un(pid)
    start = body.get("startTimestampNanos")
    if start.__class__ is not int:
        start = _un(start)
    stype = body.get("type") or "SUBJECT_PROCESS"
    return (OBJECT_TYPES.get(stype) or stype.lower(),
            name if name.__class__ is str else str(name), cmd,
            pid if pid.__class__ is int and _LO <= pid < _I64 else None,
            start if start.__class__ is int and 0 < start < _I64 else None, "")


_HANDLERS = {"Subject": _subject, "FileObject": _file, "NetFlowObject": _netflow}


def _keys(*names: str) -> tuple[str, ...]:
    """``names`` as the very str objects orjson gives as dict keys: orjson keeps one object
    per distinct key (its key cache), and a look-up with the identical object skips the
    string comparison (~10 ns of ~25). Should the cache drop one, look-ups still work."""
    return tuple(orjson.loads(orjson.dumps(dict.fromkeys(names, 0))))
