"""What each strace syscall means, for :mod:`riskscope.io.provenance.strace`.

The syscall tables (:data:`EDGE_OF_SYSCALL`, :data:`IGNORED`), one handler per syscall
(``_SyscallHandlers``: the call's arguments and result -> edges), and the decoding they
share: C escapes, ``-yy`` descriptor decorations, path arguments resolved against the
working directory, socket addresses. The reader's line loop, which splits lines, pairs
split calls and tracks process lives, stays in ``strace``; it dispatches to these
handlers through the table ``_SyscallHandlers._handlers`` builds once per log.
"""

from __future__ import annotations

import os
import re
from typing import Any

from riskscope.graph.schema import GraphBuilder, ParseStats

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

_SOCK_IO = frozenset(("send", "recv"))
_NET_EDGE = {"read": "recv", "write": "send", "send": "send", "recv": "recv"}
_FILE_EDGE = {"read": "read", "write": "write", "send": "write", "recv": "read"}
_QSTR = re.compile(r'"((?:[^"\\]|\\.)*)"')
_SO = re.compile(r"\.so(?:\.\d+)*$")
_INET = re.compile(r'sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]*)"\)')
_INET6 = re.compile(r'sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]*)"')
_SUN = re.compile(r'sun_path=(@?)"((?:[^"\\]|\\.)*)"')
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
    """``ip:port`` (``[ip6]:port``) of the first IPv4/IPv6 sockaddr in ``args``; else ""."""
    m = _INET.search(args)
    if m:
        return f"{m.group(2)}:{m.group(1)}"
    m = _INET6.search(args)
    if m:
        return f"[{m.group(2)}]:{m.group(1)}"
    return ""


class _SyscallHandlers:
    """Per-syscall handlers and the node lookups they share; ``_Parser`` inherits them.

    Every handler takes ``(rec, name, args, ret, ts, t, n)``: the calling process, the
    syscall name, the text between the parentheses, the text after `` = ``, the log time
    as written and in ns, and the line number. The parser owns the state below and
    provides ``_new(tid, ts, parent)`` (a process life starts) and ``_replay(tid)`` (a
    child's held lines, once its parent's clone returned), which ``_start`` and
    ``_signal`` call.
    """

    b: GraphBuilder
    stats: ParseStats
    procs: dict[str, _Proc]
    buffer: dict[str, list[tuple[str, str, int]]]
    listen_ports: set[str]
    unix_paths: dict[str, str]
    dcache: dict[str, tuple[int, Any]]
    fcache: dict[str, int]
    count: dict[str, int]

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
