"""The sandbox every run works in, and helpers the kinds share."""

from __future__ import annotations

import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

INFRA = Path(__file__).with_name("infra.py")
TOOLS = ("sh", "python3", "curl", "gcc", "make", "git", "tar", "gzip", "gunzip", "grep",
         "sed", "awk", "sort", "uniq", "wc", "sha256sum", "find", "cp", "chmod", "ln")
WORDS = """alpha beta gamma delta river stone cloud forest amber copper silver orbit
    signal vector kernel packet socket buffer thread module import export ledger harbor
    meadow canyon summit glacier lantern compass anchor beacon cipher quartz ember
    falcon heron otter willow cedar maple birch aspen lotus orchid tulip violet indigo
    scarlet crimson azure cobalt saffron umber ochre marble granite basalt slate shale
    report budget invoice receipt account balance credit debit margin profit revenue
    meeting agenda minutes summary draft review release patch update version branch
    commit merge rebase deploy staging build test lint format parse render cache queue
    """.split()


@dataclass
class Plan:
    """What one run records: the script, and the ground truth of its attack (if any)."""

    script: str
    attack: bool = False
    processes: list[str] = field(default_factory=list)  # executables / script paths
    markers: list[str] = field(default_factory=list)  # unique names in attack cmdlines
    files: list[str] = field(default_factory=list)
    netflows: list[str] = field(default_factory=list)  # "ip:port"
    notes: dict = field(default_factory=dict)


class Context:
    """One run's sandbox, seeded random source and out-of-trace servers.

    Layout under ``root``: ``home/`` (the fake HOME with planted fake credentials),
    ``work/`` (the traced script's working directory), ``tmp/`` (TMPDIR) and
    ``infra/`` (files of servers that run outside the trace).
    """

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root, self.rng = root, rng
        self.home, self.work = root / "home", root / "work"
        self.tmp, self.infra = root / "tmp", root / "infra"
        self._servers: list[subprocess.Popen] = []
        if root.exists():
            shutil.rmtree(root)
        for d in (self.home, self.work, self.tmp, self.infra):
            d.mkdir(parents=True)
        self._plant_home()

    # --- sandbox -----------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """A fresh environment: no proxies, no user config, loopback only."""
        return {
            "HOME": str(self.home), "TMPDIR": str(self.tmp), "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "USER": "analyst", "LOGNAME": "analyst",
            "SHELL": "/bin/sh", "TERM": "dumb", "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Ana Lyst", "GIT_AUTHOR_EMAIL": "analyst@example.invalid",
            "GIT_COMMITTER_NAME": "Ana Lyst", "GIT_COMMITTER_EMAIL": "analyst@example.invalid",
            "PYTHONDONTWRITEBYTECODE": "1",
        }  # fmt: skip

    def _plant_home(self) -> None:
        # Planted in every run, benign or not, so their mere presence is no signal.
        r = self.rng
        key = "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                      for _ in range(64 * 12))
        lines = [key[i:i + 64] for i in range(0, len(key), 64)]
        self.write(self.home / ".ssh/id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                   "FAKE-KEY-FOR-A-BENCHMARK-SANDBOX\n" + "\n".join(lines) +
                   "\n-----END OPENSSH PRIVATE KEY-----\n", mode=0o600)
        self.write(self.home / ".ssh/known_hosts", "127.0.0.1 ssh-ed25519 AAAAFAKE\n")
        self.write(self.home / ".aws/credentials",
                   f"[default]\naws_access_key_id = AKIAFAKE{r.randrange(10**8):08d}\n"
                   f"aws_secret_access_key = fake/{self.token(30)}\n", mode=0o600)
        self.write(self.home / ".netrc", f"machine 127.0.0.1 login analyst password "
                   f"fake-{self.token(12)}\n", mode=0o600)
        self.write(self.home / ".profile", "export PATH=$HOME/.local/bin:$PATH\n")
        self.write(self.home / "Documents/notes.txt", self.text(20))
        (self.home / ".config").mkdir()
        (self.home / ".cache").mkdir()

    def write(self, path: Path, text: str | bytes, mode: int | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        if mode is not None:
            path.chmod(mode)
        return path

    # --- random content ----------------------------------------------------------------
    def token(self, n: int = 6) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

    def word(self) -> str:
        return self.rng.choice(WORDS)

    def text(self, n_lines: int) -> str:
        r = self.rng
        return "".join(" ".join(r.choice(WORDS) for _ in range(r.randint(4, 12))) + "\n"
                       for _ in range(n_lines))

    def pause(self) -> str:
        """A small random sleep between steps (timing varies per run)."""
        return f"sleep 0.{self.rng.randint(1, 9):02d}"

    # --- servers outside the trace -----------------------------------------------------
    def start_infra(self, *args: str) -> int:
        """Start ``infra.py ARGS`` (untraced, loopback); return the port it listens on."""
        port_file = self.infra / f"port-{len(self._servers)}"
        proc = subprocess.Popen([sys.executable, str(INFRA), *args, "--port-file",
                                 str(port_file)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        self._servers.append(proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if port_file.exists():
                return int(port_file.read_text())
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        raise RuntimeError(f"infra server {args[0]} did not start")

    def wait_infra(self, timeout: float = 5.0) -> None:
        """Give servers that end by themselves (sink, c2) a moment to finish writing."""
        deadline = time.monotonic() + timeout
        for proc in self._servers:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass

    def close(self) -> None:
        """Kill every out-of-trace server (and anything it started)."""
        for proc in self._servers:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        self._servers.clear()

    @staticmethod
    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def q(value: object) -> str:
    """Shell-quote a value for the scripts."""
    return shlex.quote(str(value))


def script(ctx: Context, steps: list[str], *, prelude: str = "") -> str:
    """A POSIX sh script running ``steps`` in order with small random pauses."""
    body = []
    for step in steps:
        body.append(step.strip("\n"))
        if ctx.rng.random() < 0.5:
            body.append(ctx.pause())
    return "set -u\ncd " + q(ctx.work) + "\n" + prelude + "\n".join(body) + "\n"
