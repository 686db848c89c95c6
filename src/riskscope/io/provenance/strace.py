"""Reader of strace logs (``strace -f -ttt -yy -s 256 -o LOG -- CMD``) into a provenance graph.

This is the Linux front door of ``riskscope apt``: one log, written by
:func:`riskscope.io.provenance.record.record` or by hand, becomes one
:class:`~riskscope.graph.schema.ProvenanceGraph`. Any ``-e trace=`` subset parses;
plain and gzip-compressed (``.gz``) logs are read line by line.

Nodes
    ``process``: one per process life, id ``PID@SECONDS.MICROS`` (the pid and the log
    time it was first seen), so a reused pid never merges two processes. Threads
    (``clone`` with ``CLONE_THREAD``) are folded into their process. Name: the
    executable after ``execve``, else the parent's (a forked child runs the parent's
    image); ``cmdline`` is the ``execve`` argv joined by spaces.
    ``file``: one per absolute path (id = name = path). Paths come from the ``-yy``
    decorations when present (they are absolute and symlink-resolved), else from the
    argument resolved against the ``dirfd`` decoration or the process's working
    directory (tracked through ``chdir``, ``fchdir``, ``getcwd``, ``AT_FDCWD<...>`` and
    inherited on ``fork``); a relative path whose base is unknown is kept as written
    and counted in ``meta["strace"]["unresolved_paths"]``. Named UNIX sockets are
    files too (the socket's path), as in CDM's ``FILE_OBJECT_UNIX_SOCKET``.
    ``module``: a path that names a shared object (``*.so``, ``*.so.N``), whatever the
    call (open, read, mmap), so a library is one node; another file mapped with
    ``PROT_EXEC`` keeps the type it was first given.
    ``netflow``: one per service endpoint ``ip:port`` (id ``tcp:ip:port`` or
    ``udp:ip:port``). A client's connection is named by its remote end; a server's
    accepted connection by its own local, listening end (the peer's ephemeral port is
    noise), so client and server of one loopback service share one node. A local
    endpoint is a server's when its port was seen in ``listen``/``accept``.
    ``pipe``: ``pipe:[inode]`` and anonymous UNIX socket pairs ``unix:[a-b]``.
    Events on ``anon_inode`` descriptors (eventfd, epoll, timerfd), netlink and
    unconnected sockets carry no provenance and are skipped by reason.

Edges (actor -> object, one per event; ts = the call's start time in ns)
    ``clone``/``fork``/``vfork``/``clone3`` -> ``start`` (parent -> child);
    ``execve``/``execveat`` -> ``exec`` (process -> executable; renames the process);
    ``open``/``openat``/``openat2``/``creat`` -> ``open``, or ``create`` when ``O_CREAT``
    meets a path not seen earlier in the log (or ``O_EXCL``); ``mkdir`` -> ``create``;
    ``read``/``pread64``/``readv``/``preadv`` -> ``read`` and the ``write`` family ->
    ``write``, except on a netflow, where they are ``recv``/``send`` like
    ``recvfrom``/``recvmsg`` and ``sendto``/``sendmsg`` (which are ``read``/``write`` on
    pipes and files); ``connect``, ``accept``/``accept4``, ``bind``, ``listen``;
    ``unlink``/``unlinkat``/``rmdir`` -> ``delete``; ``rename``/``renameat``/``renameat2``
    -> two ``rename`` edges with the same time, to the old path then to the new one;
    ``link``/``symlink`` (and ``*at``) -> ``link`` to the new path; ``chmod`` family ->
    ``chmod``; ``truncate``/``ftruncate`` -> ``truncate``; ``mmap`` of a descriptor ->
    ``load`` with ``PROT_EXEC``, else ``mmap``; ``sendfile``/``copy_file_range``/
    ``splice`` -> ``read`` of the source and ``write`` of the target;
    ``exit_group`` (or ``+++ exited``/``+++ killed`` when no ``exit_group`` was
    seen) -> ``exit`` (process -> itself); ``kill``/``tgkill``/``tkill`` -> ``signal``
    (process -> target; signal 0 is a probe and skipped); ``close`` -> ``close``.

Skipped and counted (``graph.meta["parse"]``): failed calls (``= -1 E...``, except a
non-blocking ``connect``'s ``EINPROGRESS``), calls with no result (``= ?``), signal
deliveries (``--- SIG... ---``), calls never resumed, malformed lines. Syscalls with no
provenance meaning (``brk``, ``fstat``, ``futex``...) are counted as ``ignored``;
syscalls the parser does not know are counted by name in ``parse["unknown"]``.
Descriptor events need ``-yy``: without it they are skipped as ``no_fd_path``.

This module holds the line loop (layouts, split and resumed calls, process lives) and
the public API; the syscall tables and the handler of each syscall live in
:mod:`riskscope.io.provenance._strace_calls`.
"""

from __future__ import annotations

import gc
import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from riskscope.exceptions import InputError
from riskscope.graph.schema import GraphBuilder, ProvenanceGraph
from riskscope.io.provenance._strace_calls import (
    EDGE_OF_SYSCALL,
    IGNORED,
    _Proc,
    _SyscallHandlers,
)

__all__ = ["EDGE_OF_SYSCALL", "IGNORED", "read", "sniff"]

_CLONES = frozenset(("clone", "clone3", "fork", "vfork"))
_TS = re.compile(r"^\d{1,10}\.\d{1,9}$")
_SYSCALL = re.compile(r"^[a-z_][a-z0-9_]*\($")
_SNIFF = re.compile(
    r"^(?:\[pid +\d+\] |\d+ +)?(?:\d+(?:\.\d+)? +|\d\d:\d\d:\d\d(?:\.\d+)? +)?"
    r"(?:[a-z_][a-z0-9_]*\(|<\.\.\. [a-z_0-9]+ resumed>|\+\+\+ |--- )")
_UNFINISHED = " <unfinished ...>"
_UNFINISHED_NL = " <unfinished ...>\n"
_SPECIAL = frozenset(("<...", "+++ ", "--- "))
_T_MAX = 2**63  # int64 ns


class _Parser(_SyscallHandlers):
    """State of one log: processes by tid, pending split calls, netflow sides.

    The line loop and process lives are here; what each syscall means (the handlers in
    ``self.h``) is inherited from ``_strace_calls._SyscallHandlers``.
    """

    def __init__(self, builder: GraphBuilder) -> None:
        self.b = builder
        self.stats = builder.stats
        self.procs: dict[str, _Proc] = {}
        self.pending: dict[str, tuple[str, str, str]] = {}  # tid -> (name, head, ts)
        self.cloning: set[str] = set()  # tids with a clone call in flight
        self.buffer: dict[str, list[tuple[str, str, int]]] = {}
        self.listen_ports: set[str] = set()
        self.unix_paths: dict[str, str] = {}
        self.dcache: dict[str, tuple[int, Any]] = {}
        self.fcache: dict[str, int] = {}
        self.count = dict.fromkeys(("lines", "ignored", "resumed", "failed", "signals",
                                    "exits", "killed", "processes", "threads",
                                    "pid_reuse", "unresolved_paths"), 0)
        self.scale = 1000  # ns per unit of the log's last digit (-ttt: microseconds)
        self.n_dec, self.ts_len = 6, 17  # "1700000000.000001"
        self.order = False
        self.h = self._handlers()

    # --- the line loop -----------------------------------------------------------------
    def run(self, lines: Iterable[str]) -> None:
        # The hot loop (one pass per line, ~5 us budget): complete successful calls and
        # split calls of live processes are handled inline; everything rarer goes to
        # _line. Kept as one function on purpose: every call costs here.
        ignored, h, line_, procs, pending = IGNORED, self.h, self._line, self.procs, \
            self.pending
        layout = None
        n = n_ign = n_res = 0
        for line in lines:
            n += 1
            if layout is None:
                if not _SNIFF.match(line):
                    if line.strip():
                        self.stats.skip("malformed", where=f"line {n}")
                    continue
                layout = self._layout(line)
                scale, ts_len = self.scale, self.ts_len
            try:
                if layout == 3 and line[0] != "[":  # PID TS rest: what -f -ttt -o writes
                    tid, ts, rest = line.split(None, 2)
                else:
                    tid, ts, rest = self._split(line, layout, n)
            except ValueError:
                if line.strip():
                    self.stats.skip("malformed", where=f"line {n}")
                continue
            p = rest.find("(")
            name = rest[:p]
            handler = h.get(name)
            rec = procs.get(tid)
            if handler is None:
                if name in ignored:
                    n_ign += 1
                    continue
                if rest[:4] != "<...":
                    self._other(tid, ts, rest, n)
                    continue
                end = rest.find(" resumed>")  # "<... read resumed>tail"
                name = rest[5:end]
                head = pending.get(tid)
                if name in ignored:
                    n_ign += 1
                    continue
                if rec is None or rec.dead or head is None or head[0] != name:
                    self._other(tid, ts, rest, n)
                    continue
                del pending[tid]
                n_res += 1
                self.cloning.discard(tid)
                rest, ts, p, handler = head[1] + rest[end + 9:], head[2], len(name), h[name]
            elif rest.endswith(_UNFINISHED_NL) and rec is not None and not rec.dead:
                pending[tid] = (name, rest[: -len(_UNFINISHED_NL)], ts)
                if name in _CLONES:
                    self.cloning.add(tid)
                continue
            eq = rest.rfind(" = ")
            try:
                if (rec is None or rec.dead or eq < 0 or rest[eq + 3] in "-?"
                        or rest[-1] != "\n" or len(ts) != ts_len):
                    line_(tid, ts, rest, n)
                else:
                    t = int(ts.replace(".", "", 1)) * scale
                    if t >= _T_MAX:  # a damaged time: ns() says why
                        raise ValueError(ts)
                    handler(rec, name, rest[p + 1: eq], rest[eq + 3:], ts, t, n)
            except (ValueError, IndexError):  # a damaged number or decoration
                self.stats.skip("malformed", where=f"line {n}")
        self._finish(n, n_ign, n_res)

    def _split(self, line: str, layout: int, n: int) -> tuple[str, str, str]:
        """(tid, ts, rest) for the layouts other than ``PID TS rest``."""
        if line[0] == "[":  # "[pid  123] ..." as strace prints to a terminal
            head, _, rest = line.partition("]")
            tid = head[4:].strip()
            if layout >= 2:
                ts, _, rest = rest.strip().partition(" ")
            else:
                ts = str(n)
            return tid, ts, rest.lstrip()
        if layout == 2:
            ts, rest = line.split(None, 1)
            return "0", ts, rest
        if layout == 1:
            tid, rest = line.split(None, 1)
            return tid, str(n), rest
        return "0", str(n), line.lstrip()

    def _other(self, tid: str, ts: str, rest: str, n: int) -> None:
        """Exit, signal and resumed lines, and unknown calls."""
        if rest[:4] in _SPECIAL:
            try:
                self._line(tid, ts, rest, n)
            except (ValueError, IndexError):
                self.stats.skip("malformed", where=f"line {n}")
        else:
            self._unknown(rest, n)

    def _finish(self, n: int, n_ign: int, n_res: int) -> None:
        self.count["lines"] = n
        self.count["ignored"] += n_ign
        self.count["resumed"] += n_res
        for tid in list(self.buffer):  # children whose clone never returned
            self._replay(tid)
        for _ in self.pending.values():
            self.stats.skip("unfinished")
        self.stats.records = n

    def ns(self, ts: str) -> int:
        """The log's ``SECONDS.FRACTION`` (or event number) as int ns; checked."""
        sec, _, frac = ts.partition(".")
        if not (sec.isdigit() and (frac.isdigit() if frac else not self.ts_len)
                and len(frac) == self.n_dec):
            raise ValueError(f"bad time {ts!r}")
        t = int(sec + frac) * self.scale
        if t >= _T_MAX:  # past 2262: not a clock, a damaged line
            raise ValueError(f"bad time {ts!r}")
        return t

    def _layout(self, line: str) -> int:
        """0: ``rest``; 1: ``PID rest``; 2: ``TS rest``; 3: ``PID TS rest``."""
        if line.startswith("[pid"):
            line = "0 " + line.partition("]")[2]
        tok = line.split(None, 2)
        has_pid = tok[0].isdigit() and len(tok) > 1
        ts = tok[1] if has_pid else tok[0]
        epoch = bool(_TS.match(ts))
        clock = ts[:2].isdigit() and ts[2:3] == ":"
        if epoch:
            # -ttt times have a fixed width; the loop sends any other width to ns()'s check
            self.n_dec, self.ts_len = len(ts.partition(".")[2]), len(ts)
            self.scale = 10 ** (9 - self.n_dec)
        else:  # no clock, or -tt time of day (not an epoch): number the events instead
            self.order, self.scale, self.n_dec, self.ts_len = True, 1, 0, 0
        return 2 * (epoch or clock) + has_pid

    def _unknown(self, rest: str, n: int) -> None:
        name = rest[: rest.find("(") + 1]
        if _SYSCALL.match(name):
            self.stats.unknown[name[:-1]] += 1
        else:
            self.stats.skip("malformed", where=f"line {n}")

    def _proc(self, tid: str, ts: str, rest: str, n: int) -> _Proc | None:
        """The process of ``tid``; None when the line waits for its parent's clone."""
        rec = self.procs.get(tid)
        if rec is not None and not rec.dead:
            return rec
        if self.cloning or tid in self.buffer:
            # A child's first lines come before the parent's clone returns its pid: hold
            # them until then, so the child is linked (and a thread folded) first.
            self.buffer.setdefault(tid, []).append((ts, rest, n))
            return None
        return self._new(tid, ts, None)

    def _new(self, tid: str, ts: str, parent: _Proc | None) -> _Proc:
        old = self.procs.get(tid)
        if old is not None:
            self.count["pid_reuse"] += 1
        node_id = f"{tid}@{ts}"
        while node_id in self.b:
            node_id += "+"
        name, cmd, cwd = (parent.name, parent.cmd, parent.cwd) if parent else ("", None, None)
        pid = int(tid) if tid != "0" else None
        if pid is not None and pid >= 2**31:
            raise ValueError(f"bad pid {tid!r}")
        pos = self.b.node(node_id, "process", name, cmdline=cmd, pid=pid, ts=self.ns(ts))
        rec = self.procs[tid] = _Proc(pos, tid, name, cmd, cwd, parent is not None)
        self.count["processes"] += 1
        return rec

    def _replay(self, tid: str) -> None:
        for ts, rest, n in self.buffer.pop(tid, ()):
            try:
                if self.procs.get(tid) is None or self.procs[tid].dead:
                    if rest.startswith("+++"):
                        continue
                    self._new(tid, ts, None)
                self._line(tid, ts, rest, n)
            except (ValueError, IndexError):
                self.stats.skip("malformed", where=f"line {n}")

    def _line(self, tid: str, ts: str, rest: str, n: int) -> None:
        rec = self._proc(tid, ts, rest, n)
        if rec is None:
            return
        rest = rest.rstrip()
        c = rest[0]
        if c == "<":  # "<... read resumed>tail"
            end = rest.find(" resumed>")
            name = rest[5:end]
            if name not in self.h:  # counted as ignored or unknown at its start
                if name in IGNORED:
                    self.count["ignored"] += 1
                return
            head = self.pending.pop(tid, None)
            if head is None or end < 0 or head[0] != name:
                self.stats.skip("resumed_without_start", where=f"line {n}")
                return
            self.count["resumed"] += 1
            self.cloning.discard(tid)
            rest, ts = head[1] + rest[end + 9:], head[2]
        elif c == "+":
            self._gone(tid, rec, ts, rest)
            return
        elif c == "-":
            self.count["signals"] += 1
            self.stats.skip("signal_delivery")
            return
        p = rest.find("(")
        name = rest[:p]
        handler = self.h.get(name)
        if handler is None:
            self._unknown(rest, n)
            return
        if rest.endswith(_UNFINISHED):
            self.pending[tid] = (name, rest[: -len(_UNFINISHED)], ts)
            if name in _CLONES:
                self.cloning.add(tid)
            return
        eq = rest.rfind(" = ")
        if eq < 0:
            self.stats.skip("malformed", where=f"line {n}")
            return
        ret = rest[eq + 3:]
        if ret[0] == "-" and not (name == "connect" and "EINPROGRESS" in ret):
            self.count["failed"] += 1
            self.stats.skip("failed")
            return
        if ret[0] == "?" and name != "exit_group":
            self.stats.skip("no_return")
            return
        handler(rec, name, rest[p + 1: eq], ret, ts, self.ns(ts), n)

    def _gone(self, tid: str, rec: _Proc, ts: str, rest: str) -> None:
        """``+++ exited with N +++`` / ``+++ killed by SIG +++``."""
        if self.pending.pop(tid, None) is not None:  # died inside a call
            self.stats.skip("unfinished")
        self.cloning.discard(tid)
        if rec.pid != tid:  # a thread ends; its process goes on
            del self.procs[tid]
            return
        if "killed" in rest:
            self.count["killed"] += 1
        elif "superseded" in rest:
            return
        self._exit(rec, "exit_group", "", "?", ts, self.ns(ts), 0)
        rec.dead = True


# --- public API ----------------------------------------------------------------------


def sniff(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file) looks like an strace log.

    Gzip-compressed logs are recognised by decompressing the head. The first non-empty
    line must look like ``[PID] [TIME] syscall(`` (or a resumed, exit or signal line).

    Examples
    --------
    >>> sniff(b'123  1700000000.000001 openat(AT_FDCWD</tmp>, "x", O_RDONLY) = 3</tmp/x>\\n')
    True
    >>> sniff(b'{"datum": {"com.bbn.tc.schema.avro.cdm18.Event": {}}}\\n')
    False
    """
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
        except zlib.error:
            return False
    if b"\x00" in head:
        return False
    text = head.decode("utf-8", "replace")
    for line in text.splitlines():
        if line.strip():
            return bool(_SNIFF.match(line))
    return False


def _open_text(path: Path) -> Iterator[str]:
    with open(path, "rb") as fh:
        head = fh.read(64 * 1024)
    packed = head[:2] == b"\x1f\x8b"
    if packed:
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
        except zlib.error as exc:
            raise InputError(f"{path}: a damaged gzip file ({exc}); re-compress the strace "
                             "log or pass it uncompressed.") from None
    if b"\x00" in head:
        raise InputError(f"{path}: binary data, not an strace text log (NUL bytes in the "
                         "first 64 KiB); pass the file strace -o wrote (riskscope apt record "
                         "--out LOG -- CMD).")
    opener = gzip.open if packed else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        try:
            yield from fh
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{path}: the gzip stream ends early or is damaged ({exc}); "
                             "re-compress the strace log.") from None


def read(path: str | Path, *, name: str | None = None) -> list[ProvenanceGraph]:
    """Parse an strace log into one provenance graph.

    Parameters
    ----------
    path : str or Path
        Log written by ``strace -f -ttt -yy -s 256 -o LOG -- CMD`` (any ``-e trace=``
        set; without ``-f`` or ``-ttt`` too), plain or ``.gz``.
    name : str, optional
        Graph name; default: the file name without ``.log``/``.gz``.

    Returns
    -------
    list of ProvenanceGraph
        One graph; ``meta["parse"]`` holds skipped and unknown counts and
        ``meta["strace"]`` the log's counts (lines, resumed calls, failed calls,
        signals, exits, processes, threads, pid reuse, unresolved relative paths).

    Raises
    ------
    InputError
        If the file is missing, binary, or holds no line that makes an event.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "t.log"
    >>> _ = log.write_text(
    ...     '10 1700000000.000001 execve("/usr/bin/cat", ["cat", "a"], 0x7f /* 3 vars */) = 0\\n'
    ...     '10 1700000000.000002 openat(AT_FDCWD</home/u>, "a", O_RDONLY) = 3</home/u/a>\\n'
    ...     '10 1700000000.000003 read(3</home/u/a>, "hi", 131072) = 2\\n'
    ...     '10 1700000000.000004 exit_group(0) = ?\\n'
    ...     '10 1700000000.000005 +++ exited with 0 +++\\n')
    >>> g = read(log)[0]
    >>> g.nodes.select(["id", "type", "name"]).to_pylist()[0]
    {'id': '10@1700000000.000001', 'type': 'process', 'name': '/usr/bin/cat'}
    >>> g.edges["type"].to_pylist()
    ['exec', 'open', 'read', 'exit']
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; pass an strace log (strace -f -ttt -yy -o "
                         "LOG -- CMD).")
    stem = path.name.removesuffix(".gz").removesuffix(".log")
    b = GraphBuilder(source="strace", name=name or stem)
    parser = _Parser(b)
    # The parser makes no reference cycles; the collector would only rescan its millions
    # of young objects (about 10% of the time).
    enabled = gc.isenabled()
    gc.disable()
    try:
        parser.run(_open_text(path))
    finally:
        if enabled:
            gc.enable()
    if parser.order:
        b.time = "order"
    if b.n_edges == 0:
        s = b.stats
        found = (f"{s.records} lines, {parser.count['ignored']} without provenance meaning, "
                 f"skipped {dict(s.skipped.most_common(3))}, unknown "
                 f"{dict(s.unknown.most_common(3))}")
        raise InputError(f"{path}: no strace record made a provenance event ({found}); "
                         "record with `strace -f -ttt -yy -s 256 -o LOG -- CMD` (riskscope "
                         "apt record) and keep file, process and network calls in -e trace.")
    return [b.build(meta={"strace": parser.count, "file": path.name})]
