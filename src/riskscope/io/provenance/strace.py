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
"""

from __future__ import annotations

import gc
import gzip
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from riskscope.exceptions import InputError
from riskscope.graph.schema import GraphBuilder, ProvenanceGraph

__all__ = ["EDGE_OF_SYSCALL", "IGNORED", "read", "sniff"]

#: Syscall -> edge type (``None``: handled, no single type: clone, exit, signal...).
EDGE_OF_SYSCALL: dict[str, str | None] = {
    **dict.fromkeys(("read", "pread64", "readv", "preadv", "preadv2"), "read"),
    **dict.fromkeys(("write", "pwrite64", "writev", "pwritev", "pwritev2"), "write"),
    **dict.fromkeys(("sendto", "send", "sendmsg", "sendmmsg"), "send"),
    **dict.fromkeys(("recvfrom", "recv", "recvmsg", "recvmmsg"), "recv"),
    **dict.fromkeys(("open", "creat", "openat", "openat2"), "open"),
    **dict.fromkeys(("execve", "execveat"), "exec"),
    **dict.fromkeys(("clone", "clone3", "fork", "vfork"), "start"),
    "exit_group": "exit",
    **dict.fromkeys(("kill", "tgkill", "tkill"), "signal"),
    **dict.fromkeys(("unlink", "unlinkat", "rmdir"), "delete"),
    **dict.fromkeys(("rename", "renameat", "renameat2"), "rename"),
    **dict.fromkeys(("chmod", "fchmod", "fchmodat", "fchmodat2"), "chmod"),
    **dict.fromkeys(("mkdir", "mkdirat"), "create"),
    **dict.fromkeys(("link", "linkat", "symlink", "symlinkat"), "link"),
    **dict.fromkeys(("truncate", "ftruncate"), "truncate"),
    **dict.fromkeys(("mmap", "mmap2"), "mmap"),
    **dict.fromkeys(("sendfile", "sendfile64", "copy_file_range", "splice"), "write"),
    **dict.fromkeys(("chdir", "fchdir", "getcwd"), None),
    "connect": "connect", "accept": "accept", "accept4": "accept", "bind": "bind",
    "listen": "listen", "close": "close",
}  # fmt: skip

#: Known syscalls with no provenance meaning here: counted as ``ignored``, not unknown.
IGNORED: frozenset[str] = frozenset("""
    access faccessat faccessat2 stat lstat fstat newfstatat statx statfs fstatfs readlink
    readlinkat getdents getdents64 lseek _llseek ioctl fcntl dup dup2 dup3 brk mprotect munmap
    mremap madvise mlock munlock msync membarrier rt_sigaction rt_sigprocmask rt_sigreturn
    rt_sigsuspend rt_sigtimedwait sigaltstack restart_syscall pause nanosleep clock_nanosleep
    clock_gettime clock_getres gettimeofday time times getpid getppid gettid getuid geteuid
    getgid getegid getgroups getresuid getresgid setuid setgid setresuid setresgid setgroups
    getpgrp getpgid setpgid getsid setsid getrlimit setrlimit prlimit64 getrusage getpriority
    setpriority sched_getaffinity sched_setaffinity sched_yield sched_getparam
    sched_getscheduler uname sysinfo umask arch_prctl prctl set_tid_address set_robust_list
    get_robust_list rseq futex futex_waitv getrandom wait4 waitid poll ppoll select pselect6
    epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_pwait2 eventfd eventfd2
    timerfd_create timerfd_settime timerfd_gettime signalfd signalfd4 inotify_init
    inotify_init1 inotify_add_watch inotify_rm_watch pipe pipe2 socket socketpair shutdown
    getsockname getpeername setsockopt getsockopt close_range fadvise64 fallocate fsync
    fdatasync sync syncfs flock utime utimes utimensat futimesat chown fchown lchown fchownat
    capget capset personality alarm setitimer getitimer memfd_create mincore io_uring_setup
    io_uring_enter io_uring_register pkey_alloc pkey_mprotect pkey_free getcpu
    sched_setscheduler exit ioprio_get ioprio_set unshare setns mount umount2 pidfd_open
    pidfd_send_signal statmount listmount landlock_create_ruleset seccomp bpf perf_event_open
    getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr setxattr lsetxattr fsetxattr
    removexattr lremovexattr fremovexattr vhangup tee vmsplice
    """.split())

_CLONES = frozenset(("clone", "clone3", "fork", "vfork"))
_SOCK_IO = frozenset(("send", "recv"))
_NET_EDGE = {"read": "recv", "write": "send", "send": "send", "recv": "recv"}
_FILE_EDGE = {"read": "read", "write": "write", "send": "write", "recv": "read"}
_QSTR = re.compile(r'"((?:[^"\\]|\\.)*)"')
_SO = re.compile(r"\.so(?:\.\d+)*$")
_TS = re.compile(r"^\d{1,10}\.\d{1,9}$")
_SYSCALL = re.compile(r"^[a-z_][a-z0-9_]*\($")
_SNIFF = re.compile(
    r"^(?:\[pid +\d+\] |\d+ +)?(?:\d+(?:\.\d+)? +|\d\d:\d\d:\d\d(?:\.\d+)? +)?"
    r"(?:[a-z_][a-z0-9_]*\(|<\.\.\. [a-z_0-9]+ resumed>|\+\+\+ |--- )")
_INET = re.compile(r'sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]*)"\)')
_INET6 = re.compile(r'sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]*)"')
_SUN = re.compile(r'sun_path=(@?)"((?:[^"\\]|\\.)*)"')
_UNFINISHED = " <unfinished ...>"
_UNFINISHED_NL = " <unfinished ...>\n"
_SPECIAL = frozenset(("<...", "+++ ", "--- "))
_T_MAX = 2**63  # int64 ns
_ESC = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{2})|(.))", re.S)
_SIMPLE_ESC = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f", "a": "\a", "b": "\b",
               "\\": "\\", '"': '"', "'": "'"}


class _Proc:
    """One process life. Threads share their leader's object."""

    __slots__ = ("pos", "pid", "name", "cmd", "cwd", "dead", "exited", "linked")

    def __init__(self, pos: int, pid: str, name: str, cmd: str | None, cwd: str | None,
                 linked: bool) -> None:
        self.pos, self.pid, self.name, self.cmd, self.cwd = pos, pid, name, cmd, cwd
        self.dead = self.exited = False
        self.linked = linked


def _unescape(s: str) -> str:
    """Undo strace's C escapes (``\\n``, ``\\"``, ``\\76`` for '>', octal bytes of UTF-8)."""
    if "\\" not in s:
        return s
    out = bytearray()
    pos = 0
    for m in _ESC.finditer(s):
        out += s[pos: m.start()].encode("utf-8", "surrogateescape")
        octal, hexa, char = m.groups()
        if octal:
            out.append(int(octal, 8) & 0xFF)
        elif hexa:
            out.append(int(hexa, 16))
        else:  # an unknown escape stays as written
            out += _SIMPLE_ESC.get(char, "\\" + char).encode("utf-8", "surrogateescape")
        pos = m.end()
    out += s[pos:].encode("utf-8", "surrogateescape")
    return out.decode("utf-8", "replace")


class _Parser:
    """State of one log: processes by tid, pending split calls, netflow sides."""

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

    # --- objects -----------------------------------------------------------------------
    def _file(self, path: str) -> int:
        pos = self.fcache.get(path)
        if pos is None:
            kind = "module" if _SO.search(path) else "file"
            pos = self.fcache[path] = self.b.node(path, kind, path)
        return pos

    def _target(self, deco: str) -> tuple[int, Any]:
        """(position, is_netflow) of an fd decoration; (-1, reason) when skipped."""
        hit = self.dcache.get(deco)
        if hit is None:
            hit = self._classify(deco)
            if hit[0] >= 0:
                self.dcache[deco] = hit
        return hit

    def _classify(self, deco: str) -> tuple[int, Any]:
        if deco[:1] == "/":
            return self._file(_clean(deco)), False
        colon = deco.find(":[")
        kind = deco[:colon]
        inner = deco[colon + 2: -1]
        if kind == "pipe":
            return self.b.node(deco, "pipe", deco), False
        if kind[:3] in ("TCP", "UDP"):
            local, arrow, remote = inner.partition("->")
            if arrow:
                ep = local if local.rpartition(":")[2] in self.listen_ports else remote
            elif kind[:3] == "TCP" and not local.isdigit():
                ep = local  # a listening socket
            else:
                return -1, "unconnected_socket"
            return self._net(kind[:3].lower(), ep), True
        if kind.startswith("UNIX"):
            return self._unix(inner), False
        if deco.startswith("anon_inode:"):
            return -1, "anon_inode"
        return -1, "other_fd"

    def _net(self, proto: str, ep: str) -> int:
        return self.b.node(f"{proto}:{ep}", "netflow", ep)

    def _unix(self, inner: str) -> int:
        inodes, _, path = inner.partition(',"')
        a, _, b = inodes.partition("->")
        if path:
            path = _unescape(path[:-1])
            self.unix_paths[a] = path
            if b:
                self.unix_paths[b] = path
        else:
            path = self.unix_paths.get(a) or self.unix_paths.get(b, "")
        if path:
            return self._file(path)
        key = f"unix:[{'-'.join(sorted(filter(None, (a, b))))}]"
        return self.b.node(key, "pipe", key)

    def _fd(self, args: str, start: int = 0) -> tuple[int, Any]:
        """Target of the descriptor argument starting at ``args[start]``."""
        lt = args.find("<", start)
        if lt <= start or not args[start:lt].isdigit():
            return -1, "no_fd_path"
        # Cache key: the text up to the first '>', which is the whole decoration except
        # for devices ("/dev/null<char 1:3" still names one file) and connected sockets
        # ("TCP:[a:1->b:2]", keyed in full below).
        gt = args.find(">", lt)
        key = args[lt + 1: gt]
        hit = self.dcache.get(key)
        if hit is not None:
            return hit
        end = _deco_end(args, lt)
        if end != gt and args[lt + 1] != "/":
            key = args[lt + 1: end]
            hit = self.dcache.get(key)
            if hit is not None:
                return hit
        hit = self._classify(args[lt + 1: end])
        if hit[0] >= 0:
            self.dcache[key] = hit
        return hit

    def _path_arg(self, rec: _Proc, args: str, start: int, at: bool) -> tuple[str, int]:
        """(absolute path, end) of a path argument, after its ``dirfd`` when ``at``."""
        base = rec.cwd
        if at:
            if args.startswith("AT_FDCWD", start):
                if args.startswith("<", start + 8):
                    gt = args.index(">", start + 9)
                    base = rec.cwd = _unescape(args[start + 9: gt])
            else:
                lt = args.find("<", start)
                comma = args.find(", ", start)
                if 0 <= lt < comma:
                    gt = args.index(">", lt)
                    base = _clean(args[lt + 1: gt])
                else:
                    base = None
        m = _QSTR.search(args, start)
        if m is None:
            return "", len(args)
        path = _unescape(m.group(1))
        if path[:1] != "/":
            if base:
                path = os.path.normpath(os.path.join(base, path))
            else:
                self.count["unresolved_paths"] += 1
        return path, m.end()

    # --- handlers ----------------------------------------------------------------------
    def _handlers(self) -> dict[str, Any]:
        by_type = {
            "read": self._io, "write": self._io, "send": self._io, "recv": self._io,
            "open": self._open, "exec": self._exec, "start": self._start,
            "exit": self._exit, "signal": self._signal, "rename": self._rename,
            "mmap": self._mmap, "connect": self._connect, "bind": self._bind,
            "listen": self._listen, "accept": self._accept, "close": self._fd_event,
            "delete": self._path_event, "chmod": self._path_event,
            "create": self._path_event, "link": self._path_event,
            "truncate": self._path_event, None: self._cwd,
        }  # fmt: skip
        h = {name: by_type[etype] for name, etype in EDGE_OF_SYSCALL.items()}
        h.update(ftruncate=self._fd_event, fchmod=self._fd_event, sendfile=self._copy,
                 sendfile64=self._copy, copy_file_range=self._copy, splice=self._copy)
        return h

    def _io(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        etype = EDGE_OF_SYSCALL[name]
        if etype in _SOCK_IO and "_port=htons(" in args:
            # sendto/recvfrom on an unconnected (UDP) socket: the peer is the sockaddr.
            kind = args[args.find("<") + 1: args.find(":[")]
            pos, net = self._net("udp" if kind.startswith("UDP") else "tcp", _inet(args)), True
        else:
            # _fd's cache lookup inlined: this is the most frequent event
            lt = args.find("<")
            hit = self.dcache.get(args[lt + 1: args.find(">", lt)]) \
                if lt > 0 and args[:lt].isdigit() else None
            pos, net = hit or self._fd(args)
            if pos < 0:
                self.stats.skip(net)
                return
        self.b.edge(rec.pos, pos, (_NET_EDGE if net else _FILE_EDGE)[etype], t)

    def _fd_event(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        lt = args.find("<")
        hit = self.dcache.get(args[lt + 1: args.find(">", lt)]) \
            if lt > 0 and args[:lt].isdigit() else None
        pos, why = hit or self._fd(args)
        if pos < 0:
            self.stats.skip(why)
            return
        self.b.edge(rec.pos, pos, EDGE_OF_SYSCALL[name], t)

    def _copy(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        # sendfile(out, in, ...), copy_file_range(in, off, out, ...), splice(in, off, out, ...)
        first = self._fd(args)
        lt = args.find("<")
        rest = args[_deco_end(args, lt) + 1:] if lt > 0 else args
        rest = rest[rest.find(", ") + 2:]
        if name.startswith("sendfile"):
            src, dst = self._fd(rest), first
        else:
            src, dst = first, self._fd(rest[rest.find(", ") + 2:])
        t = t
        for (pos, net), etype in ((src, "read"), (dst, "write")):
            if pos >= 0:
                self.b.edge(rec.pos, pos, (_NET_EDGE if net else _FILE_EDGE)[etype], t)
            else:
                self.stats.skip(net)

    def _open(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        lt = ret.find("<")
        if lt < 0:  # no -yy decoration on the result: resolve the argument
            path, end = self._path_arg(rec, args, 0, name in ("openat", "openat2"))
            if not path:
                self.stats.skip("no_path", where=f"line {n}")
                return
            deco, flags = path, args[end:]
        else:
            if args.startswith("AT_FDCWD<"):  # learn the cwd for later relative paths
                cwd = args[9: args.find(">", 9)]
                rec.cwd = _unescape(cwd) if "\\" in cwd else cwd
            deco, flags = ret[lt + 1: ret.rfind(">")], args[args.rfind('"'):]
        etype = "open"
        if name == "creat" or "O_CREAT" in flags:
            # "create" when the file is new to this log (or O_EXCL made sure it was new)
            if "O_EXCL" in flags or (deco[:1] == "/" and _clean(deco) not in self.b):
                etype = "create"
        pos, why = self._target(deco) if lt > 0 else (self._file(deco), False)
        if pos < 0:
            self.stats.skip(why)
            return
        self.b.edge(rec.pos, pos, etype, t)

    def _path_event(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        at = name.endswith("at") or name == "fchmodat2"
        start = 0
        if name in ("symlink", "symlinkat", "link", "linkat"):
            # the new name is the last path argument
            m = _QSTR.search(args)
            start = m.end() + 2 if m else 0
            if name == "symlinkat":
                at = True
        path, _ = self._path_arg(rec, args, start, at)
        if not path:
            self.stats.skip("no_path", where=f"line {n}")
            return
        self.b.edge(rec.pos, self._file(path), EDGE_OF_SYSCALL[name], t)

    def _rename(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        at = name != "rename"
        old, end = self._path_arg(rec, args, 0, at)
        new, _ = self._path_arg(rec, args, end + 2, at)
        t = t
        for path in (old, new):
            if path:
                self.b.edge(rec.pos, self._file(path), "rename", t)

    def _exec(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        path, end = self._path_arg(rec, args, 0, name == "execveat")
        if not path:
            self.stats.skip("no_path", where=f"line {n}")
            return
        argv: list[str] = []
        bracket = args.find("[", end)
        m = _QSTR.match(args, bracket + 1) if bracket > 0 else None
        while m:
            argv.append(_unescape(m.group(1)))
            j = m.end()
            if args.startswith("...", j):
                j += 3
            m = _QSTR.match(args, j + 2) if args.startswith(", ", j) else None
        cmd = " ".join(argv) or None
        self.b.edge(rec.pos, self._file(path), "exec", t)
        self.b.rename(rec.pos, path, cmd)
        rec.name, rec.cmd = path, cmd

    def _start(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        child = ret.split(None, 1)[0]
        if not child.isdigit():
            self.stats.skip("no_child", where=f"line {n}")
            return
        if "CLONE_THREAD" in args:
            self.procs[child] = rec
            self.count["threads"] += 1
        else:
            crec = self.procs.get(child)
            if crec is None or crec.dead or crec.linked or child in self.buffer:
                crec = self._new(child, ts, rec)
            else:  # seen before its parent's clone returned, without buffering
                crec.linked = True
            self.b.edge(rec.pos, crec.pos, "start", t)
        self._replay(child)

    def _exit(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        if not rec.exited:
            rec.exited = True
            self.count["exits"] += 1
            self.b.edge(rec.pos, rec.pos, "exit", t)

    def _signal(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        parts = args.rstrip(") ").split(", ")
        target, sig = parts[0], parts[-1]
        if sig == "0":
            self.stats.skip("signal_probe")
            return
        if not target.isdigit():  # kill(0 or -pgid): a process group
            self.stats.skip("group_signal")
            return
        trec = self.procs.get(target)
        if trec is None or trec.dead:
            trec = self._new(target, ts, None)
        self.b.edge(rec.pos, trec.pos, "signal", t)

    def _cwd(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        if name == "fchdir":
            lt = args.find("<")
            if lt > 0:
                rec.cwd = _clean(args[lt + 1: args.rfind(">")])
            return
        path, _ = self._path_arg(rec, args, 0, False)
        if path[:1] == "/":
            rec.cwd = path

    def _connect(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        self._sock_event(rec, args, "connect", t)

    def _bind(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        self._sock_event(rec, args, "bind", t)

    def _sock_event(self, rec: _Proc, args: str, etype: str, t: int) -> None:
        lt = args.find("<")
        kind = args[lt + 1: args.find(":[", lt)] if lt > 0 else ""
        if "AF_UNIX" in args:
            m = _SUN.search(args)
            if not m:
                self.stats.skip("no_address")
                return
            path = ("@" if m.group(1) else "") + _unescape(m.group(2))
            if path[:1] not in "/@" and rec.cwd:
                path = os.path.normpath(os.path.join(rec.cwd, path))
            inode = args[args.find(":[", lt) + 2: args.find("]", lt)] if lt > 0 else ""
            if inode.isdigit():
                self.unix_paths[inode] = path
            pos = self._file(path)
        else:
            ep = _inet(args)
            if not ep:
                self.stats.skip("no_address")
                return
            if ep.endswith(":0"):  # ephemeral bind: the endpoint is known at listen
                self.stats.skip("ephemeral_bind")
                return
            pos = self._net("udp" if kind.startswith("UDP") else "tcp", ep)
        self.b.edge(rec.pos, pos, etype, t)

    def _listen(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        self._listening(args)
        self._fd_event(rec, "listen", args, ret, ts, t, n)

    def _listening(self, args: str) -> None:
        lt = args.find("<")
        deco = args[lt + 1: args.find(">", lt)] if lt > 0 else ""
        inner = deco[deco.find(":[") + 2: -1]
        if deco[:3] in ("TCP", "UDP") and "->" not in inner:
            port = inner.rpartition(":")[2]
            if port not in self.listen_ports:
                self.listen_ports.add(port)
                self.dcache.clear()  # sides decided before this port was known

    def _accept(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        self._listening(args)
        lt = ret.find("<")
        if lt < 0:
            self.stats.skip("no_fd_path")
            return
        pos, net = self._target(ret[lt + 1: ret.rfind(">")])
        if pos < 0:
            self.stats.skip(net)
            return
        self.b.edge(rec.pos, pos, "accept", t)

    def _mmap(self, rec: _Proc, name: str, args: str, ret: str, ts: str,
            t: int, n: int) -> None:
        lt = args.find("<")
        if lt < 0:  # anonymous memory
            self.count["ignored"] += 1
            return
        start = args.rfind(", ", 0, lt) + 2
        pos, why = self._fd(args, start)
        if pos < 0:
            self.stats.skip(why)
            return
        self.b.edge(rec.pos, pos, "load" if "PROT_EXEC" in args else "mmap", t)


def _clean(deco: str) -> str:
    """The path of a ``-yy`` decoration: device suffix and ``(deleted)`` removed."""
    if deco[-1] == ">":  # "/dev/null<char 1:3>"
        deco = deco[: deco.rfind("<")]
    if deco.endswith(" (deleted)"):
        deco = deco[:-10]
    return _unescape(deco)


def _deco_end(s: str, lt: int) -> int:
    """Position of the ``>`` closing the decoration that opens at ``s[lt]``."""
    gt = s.find(">", lt + 1)
    if s[lt + 1] == "/":
        # strace escapes < and > in paths; a nested <...> is a device: "/dev/null<char 1:3>"
        if s.find("<", lt + 1, gt) >= 0:
            gt = s.find(">", gt + 1)
    else:
        while s[gt - 1] == "-":  # the arrow of "TCP:[a->b]", "UNIX-STREAM:[1->2]"
            gt = s.find(">", gt + 1)
    return gt


def _inet(args: str) -> str:
    m = _INET.search(args)
    if m:
        return f"{m.group(2)}:{m.group(1)}"
    m = _INET6.search(args)
    if m:
        return f"[{m.group(2)}]:{m.group(1)}"
    return ""


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
