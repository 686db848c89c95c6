"""Record a command's host activity with strace, as input for ``riskscope apt``.

:func:`record` runs ``strace -f -ttt -yy -s 256 -o LOG -- CMD`` and returns what it
wrote; :mod:`riskscope.io.provenance.strace` parses the log. Linux only (strace uses
ptrace).
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from riskscope.exceptions import InputError, RunError
from riskscope.io.provenance.strace import EDGE_OF_SYSCALL

__all__ = ["DEFAULT_SYSCALLS", "RecordResult", "record", "strace_version"]

#: The ``-e trace=`` set used when ``syscalls`` is None: exactly the calls the parser
#: turns into nodes or edges (process, file, network, descriptor I/O, cwd tracking).
#: Each name has strace's ``?`` prefix, so a name this architecture lacks (``mmap2``,
#: ``send``) or this strace does not know yet (``fchmodat2``) is skipped, not an error.
#: Stat, seek, memory-protection and signal-setup calls are left out: they are half of
#: a full trace and carry no provenance. Pass ``syscalls="all"`` for everything.
DEFAULT_SYSCALLS: str = ",".join(f"?{name}" for name in sorted(EDGE_OF_SYSCALL))

_INSTALL = ("install it (Debian/Ubuntu: apt-get install strace; Fedora/RHEL: dnf install "
            "strace; Alpine: apk add strace)")
_KILL_GRACE_S = 2.0


@dataclass(frozen=True)
class RecordResult:
    """What one recording produced.

    Attributes
    ----------
    command : list of str
        The traced command.
    log : Path
        The strace log (complete: it is moved into place only when strace finished).
    returncode : int
        The command's exit status as strace passes it on (``128 + N`` or ``-N`` when a
        signal ended it; ``-9`` after a timeout).
    seconds : float
        Wall time of the recording.
    bytes, lines : int
        Size of the log and its number of lines.
    syscalls : str
        The ``-e trace=`` set (``"all"`` for no filter).
    timed_out : bool
        True when ``timeout`` expired and the command's process group was killed; the
        log then ends where the kill cut it.
    strace_version : str
        ``strace -V``'s version, e.g. ``"6.1"``.
    """

    command: list[str]
    log: Path
    returncode: int
    seconds: float
    bytes: int
    lines: int
    syscalls: str
    timed_out: bool
    strace_version: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the log path as a string)."""
        return {**asdict(self), "log": str(self.log)}


@functools.lru_cache(maxsize=4)
def strace_version(strace: str = "strace") -> str:
    """The version of the ``strace`` on PATH (``""`` when it cannot be run)."""
    try:
        out = subprocess.run([strace, "-V"], capture_output=True, text=True, timeout=10,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    first = out.splitlines()[0] if out else ""
    return first.rsplit(" ", 1)[-1] if first else ""


def _at_least(version: str, wanted: tuple[int, ...]) -> bool:
    try:
        return tuple(int(x) for x in version.split(".")[:2]) >= wanted
    except ValueError:
        return False


def _check_command(command: Sequence[str], cwd: str | os.PathLike[str] | None,
                   env: Mapping[str, str] | None) -> None:
    if not command:
        raise InputError("record needs a command to trace; got an empty command (e.g. "
                         "riskscope apt record --out run.log -- make).")
    exe = command[0]
    if os.sep in exe:
        full = Path(cwd or ".") / exe if not os.path.isabs(exe) else Path(exe)
        if not (full.is_file() and os.access(full, os.X_OK)):
            raise InputError(f"command {exe!r} not found or not executable (looked at "
                             f"{full}); check the path.")
        return
    path = (env or os.environ).get("PATH", os.defpath)
    if shutil.which(exe, path=path) is None:
        raise InputError(f"command {exe!r} not found on PATH ({path}); install it or give "
                         "its full path.")


def _strace_failure(stderr: str) -> str | None:
    """strace's own error (its lines start with ``strace:``), as a one-line message."""
    lines = [ln for ln in stderr.splitlines() if ln.startswith("strace: ")]
    if not lines:
        return None
    text = " ".join(lines)
    if "ptrace" in text.lower() and ("Operation not permitted" in text
                                     or "Permission denied" in text):
        return ("strace cannot trace here: ptrace is not permitted (" + lines[0][8:80] +
                "); in a container start it with --cap-add=SYS_PTRACE (Docker/Podman), on "
                "a host set kernel.yama.ptrace_scope=0 or 1, or record on another machine.")
    if "Can't stat" in text:
        return f"the command was not found ({lines[0][8:]}); check its name or give its path."
    if "exec" in text.lower() and "No such file" in text:
        return f"the command could not be started ({lines[0][8:]}); check its path."
    return None


def _kill_group(proc: subprocess.Popen) -> None:
    # strace and every tracee share the session started for strace; SIGKILL to the group
    # ends them all (a tracee detached by strace's death would otherwise keep running).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=_KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _count_lines(path: Path) -> int:
    n = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def record(command: Sequence[str], out: str | os.PathLike[str], *, syscalls: str | None = None,
           env: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None,
           timeout: float | None = None, quiet: bool = False) -> RecordResult:
    """Run ``command`` under ``strace -f -ttt -yy -s 256`` and write its log to ``out``.

    strace writes to a temporary file beside ``out``, which is renamed to ``out`` once
    strace has finished, so ``out`` is never a torn log. The command's exit status is
    reported, not raised: a failing command still leaves a valid recording.

    Parameters
    ----------
    command : sequence of str
        The program and its arguments (no shell: pass ``["sh", "-c", "..."]`` for one).
    out : path
        The log to write (parent folders are created; an existing file is replaced).
    syscalls : str, optional
        strace's ``-e trace=`` set, e.g. ``"%file,%process"`` or ``"openat,read"``;
        None: :data:`DEFAULT_SYSCALLS` (what the parser uses); ``"all"``: no filter.
    env : mapping, optional
        The command's environment (default: this process's).
    cwd : path, optional
        The command's working directory.
    timeout : float, optional
        Seconds before the command and all its children are killed; the log then ends
        there and ``timed_out`` is True.
    quiet : bool, default False
        Discard the command's standard output (its errors are always captured and,
        unless quiet, printed after the run).

    Returns
    -------
    RecordResult
        Log path, exit status, duration, size and line count.

    Raises
    ------
    RunError
        Not Linux; strace missing (with how to install it); ptrace not permitted (e.g. a
        container without ``SYS_PTRACE``); strace failed without writing a log.
    InputError
        Empty command, or the command is not found.

    Examples
    --------
    >>> import tempfile, pathlib, shutil
    >>> from riskscope.io.provenance.strace import read
    >>> if shutil.which("strace"):  # doctest: +SKIP
    ...     d = pathlib.Path(tempfile.mkdtemp())
    ...     res = record(["sh", "-c", "echo hi > x"], d / "run.log", cwd=d)
    ...     g = read(res.log)[0]
    ...     str(d / "x") in g.nodes["name"].to_pylist()
    True
    """
    if not sys.platform.startswith("linux"):
        raise RunError(f"recording needs Linux (strace and ptrace); this is {sys.platform}. "
                       "Record on a Linux host and copy the log here.")
    strace = shutil.which("strace")
    if strace is None:
        raise RunError(f"strace is not installed (not on PATH); {_INSTALL}.")
    command = [str(c) for c in command]
    _check_command(command, cwd, env)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    trace = syscalls or DEFAULT_SYSCALLS
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{out.name}.", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    argv = [strace, "-f", "-ttt", "-yy", "-s", "256", "-o", str(tmp)]
    version = strace_version(strace)
    if trace != "all":
        argv += ["-e", f"trace={trace}"]
        if _at_least(version, (5, 3)):
            # the kernel then stops the tracee only for traced calls: several times faster
            argv.append("--seccomp-bpf")
    argv += ["--", *command]
    t0 = time.perf_counter()
    timed_out = False
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as err:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL if quiet else None, stderr=err,
                                    env=None if env is None else dict(env), cwd=cwd,
                                    start_new_session=True)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise RunError(f"could not start strace ({exc}); {_INSTALL}.") from None
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            rc = -signal.SIGKILL
        except BaseException:
            _kill_group(proc)
            tmp.unlink(missing_ok=True)
            raise
        else:
            # A child that outlived the command (a daemon, a stray server) would keep
            # running untraced: end the whole group.
            _kill_group(proc)
        seconds = time.perf_counter() - t0
        err.seek(0)
        stderr = err.read()
    failure = _strace_failure(stderr)
    size = tmp.stat().st_size if tmp.exists() else 0
    if failure is not None and size == 0:
        tmp.unlink(missing_ok=True)
        raise (InputError if "not found" in failure else RunError)(
            f"recording {command[0]!r} failed: {failure}")
    if size == 0 and not timed_out:
        tmp.unlink(missing_ok=True)
        tail = stderr.strip().splitlines()[-1:] or ["no message"]
        raise RunError(f"strace wrote no log for {command[0]!r} (exit {rc}, {tail[0][:200]}); "
                       "run the strace command by hand to see why.")
    if stderr and not quiet:
        sys.stderr.write(stderr)
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return RecordResult(command=command, log=out, returncode=rc, seconds=round(seconds, 3),
                        bytes=size, lines=_count_lines(out), syscalls=syscalls or "default",
                        timed_out=timed_out,
                        strace_version=version)
