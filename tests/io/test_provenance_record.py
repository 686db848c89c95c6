"""Tests for riskscope.io.provenance.record (strace recordings) and .scenario (truth)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest

from riskscope.exceptions import InputError, RunError
from riskscope.io.provenance import record as rec
from riskscope.io.provenance.record import DEFAULT_SYSCALLS, record
from riskscope.io.provenance.scenario import label_graph, read_truth
from riskscope.io.provenance.strace import EDGE_OF_SYSCALL, read

BUNDLE = resources.files("riskscope.datasets") / "apt_recorded"


def _can_trace() -> str | None:
    """Why strace cannot record here, or None when it can."""
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if shutil.which("strace") is None:
        return "strace is not installed"
    probe = subprocess.run(["strace", "-f", "-o", os.devnull, "--", "true"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"strace cannot trace here: {probe.stderr.strip()[:120]}"
    return None


needs_strace = pytest.mark.skipif(_can_trace() is not None, reason=str(_can_trace()))


# --- real recordings -------------------------------------------------------------------


@needs_strace
def test_record_short_command_parses(tmp_path: Path) -> None:
    res = record(["sh", "-c", "cat /etc/hostname > x; ls"], tmp_path / "run.log",
                 cwd=tmp_path, quiet=True)
    assert res.returncode == 0 and not res.timed_out and res.syscalls == "default"
    assert res.lines > 10 and res.bytes == (tmp_path / "run.log").stat().st_size
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []
    g = read(res.log)[0]
    procs = g.nodes.filter(g.nodes["type"].to_numpy(zero_copy_only=False) == "process")
    assert sorted(Path(n).name for n in procs["name"].to_pylist()) == ["cat", "ls", "sh"]
    ids = g.nodes["id"].to_pylist()
    edges = {(g.nodes["name"][s].as_py(), t, ids[d]) for s, t, d in zip(
        g.edges["src"].to_pylist(), g.edges["type"].to_pylist(), g.edges["dst"].to_pylist(),
        strict=True)}
    x = str(tmp_path.resolve() / "x")
    sh = next(n for n in procs["name"].to_pylist() if n.endswith("/sh"))
    assert (sh, "create", x) in edges
    cat = next(n for n in procs["name"].to_pylist() if n.endswith("/cat"))
    assert (cat, "write", x) in edges
    if Path("/etc/hostname").exists():
        assert (cat, "read", "/etc/hostname") in edges
    assert sum(1 for _, t, _ in edges if t == "start") >= 1


@needs_strace
def test_record_subset_of_syscalls(tmp_path: Path) -> None:
    res = record(["sh", "-c", "echo a > y"], tmp_path / "s.log", cwd=tmp_path,
                 syscalls="execve,openat", quiet=True)
    assert res.syscalls == "execve,openat"
    text = res.log.read_text()
    assert "execve(" in text and "write(" not in text
    assert {t for t in read(res.log)[0].edges["type"].to_pylist()} <= {"exec", "open", "create",
                                                                      "exit"}


@needs_strace
def test_record_exit_status_is_reported_not_raised(tmp_path: Path) -> None:
    res = record(["sh", "-c", "exit 3"], tmp_path / "e.log", quiet=True)
    assert res.returncode == 3 and res.log.is_file()


@needs_strace
def test_record_timeout_kills_every_child(tmp_path: Path) -> None:
    marker = "31.4159"
    t0 = time.monotonic()
    res = record(["sh", "-c", f"sleep {marker} & sleep {marker}"], tmp_path / "t.log",
                 timeout=1, quiet=True)
    assert res.timed_out and res.returncode == -9 and time.monotonic() - t0 < 10
    assert res.log.is_file()
    time.sleep(0.2)
    alive = [p for p in Path("/proc").iterdir() if p.name.isdigit()
             and marker in (p / "cmdline").read_bytes().decode(errors="replace")
             if (p / "cmdline").exists()]
    assert alive == []


# --- failures ----------------------------------------------------------------------------


def test_command_not_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rec.shutil, "which", lambda name, path=None: (
        "/usr/bin/strace" if name == "strace" else None))
    monkeypatch.setattr(rec.sys, "platform", "linux")
    with pytest.raises(InputError, match=r"command 'no-such-tool-xyz' not found on PATH"):
        record(["no-such-tool-xyz"], tmp_path / "a.log")
    with pytest.raises(InputError, match=r"command './nope' not found or not executable"):
        record(["./nope"], tmp_path / "a.log", cwd=tmp_path)
    with pytest.raises(InputError, match=r"record needs a command to trace"):
        record([], tmp_path / "a.log")


def test_strace_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rec.sys, "platform", "linux")
    monkeypatch.setattr(rec.shutil, "which", lambda name, path=None: None)
    with pytest.raises(RunError, match=r"strace is not installed.*apt-get install strace"):
        record(["true"], tmp_path / "a.log")


def test_not_linux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rec.sys, "platform", "darwin")
    with pytest.raises(RunError, match=r"recording needs Linux.*this is darwin"):
        record(["true"], tmp_path / "a.log")


def _fake_strace(tmp_path: Path, message: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "strace"
    fake.write_text('#!/bin/sh\nif [ "$1" = -V ]; then echo "strace -- version 6.1"; exit 0; fi\n'
                    f"echo {message!r} >&2\nexit 1\n")
    fake.chmod(0o755)
    return bin_dir


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a POSIX sh")
def test_ptrace_not_permitted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = _fake_strace(tmp_path, "strace: test_ptrace_get_syscall_info: PTRACE_TRACEME: "
                                     "Operation not permitted")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    with pytest.raises(RunError, match=r"ptrace is not permitted.*SYS_PTRACE") as err:
        record(["true"], tmp_path / "out" / "a.log")
    assert "\n" not in str(err.value)
    assert list((tmp_path / "out").iterdir()) == []  # no torn log, no temp file left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a POSIX sh")
def test_strace_cannot_stat_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = _fake_strace(tmp_path, "strace: Can't stat 'gone': No such file or directory")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    with pytest.raises(InputError, match=r"the command was not found \(Can't stat 'gone'"):
        record(["true"], tmp_path / "a.log")


def test_default_syscalls_cover_the_parser() -> None:
    names = {s.lstrip("?") for s in DEFAULT_SYSCALLS.split(",")}
    assert names == set(EDGE_OF_SYSCALL)


# --- scenario truth ------------------------------------------------------------------------


def _bundled(name: str) -> Path:
    res = BUNDLE / name
    if not res.is_file():
        pytest.skip(f"bundled apt_recorded/{name} not present")
    return Path(str(res))


def test_truth_labels_the_driveby_payload() -> None:
    truth = read_truth(_bundled("test-driveby-000.truth.json"))
    g = read(_bundled("test-driveby-000.log.gz"))[0]
    mask = label_graph(g, truth)
    names = g.nodes["name"].to_pylist()
    types = g.nodes["type"].to_pylist()
    payload = truth["notes"]["payload"]
    marked_procs = {names[i] for i in mask.nonzero()[0] if types[i] == "process"}
    assert payload in marked_procs  # the payload process itself
    assert any(n.endswith("/tar") for n in marked_procs)  # started by the payload
    marked_files = {names[i] for i in mask.nonzero()[0] if types[i] != "process"}
    assert payload in marked_files and any(n.endswith(".ssh/id_rsa") or
                                           n.endswith(".aws/credentials") for n in marked_files)
    root = next(i for i, t in enumerate(types) if t == "process")
    assert not mask[root]  # the benign-looking shell that ran it is not attack
    assert 0 < mask.sum() < len(mask) // 2


def test_truth_labels_the_reverse_shell() -> None:
    truth = read_truth(_bundled("test-revshell-000.truth.json"))
    g = read(_bundled("test-revshell-000.log.gz"))[0]
    mask = label_graph(g, truth)
    cmds = g.nodes["cmdline"].to_pylist()
    marked = [cmds[i] or "" for i in mask.nonzero()[0]]
    assert any(truth["markers"][0] in c for c in marked)
    assert any(c.startswith(("/bin/sh", "cat ")) for c in marked)
    assert any(t == "netflow" for t in g.nodes["type"].to_numpy(zero_copy_only=False)[mask])


def test_benign_truth_labels_nothing() -> None:
    truth = read_truth(_bundled("train-archive-000.truth.json"))
    assert truth["attack"] is False
    assert not label_graph(read(_bundled("train-archive-000.log.gz"))[0], truth).any()


def test_read_truth_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no such truth file"):
        read_truth(tmp_path / "x.truth.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(InputError, match=r"not valid JSON"):
        read_truth(bad)
    bad.write_text(json.dumps({"kind": "web", "attack": "yes", "processes": [], "files": [],
                               "command": "x"}))
    with pytest.raises(InputError, match=r"truth field 'attack' must be bool; found str"):
        read_truth(bad)
    bad.write_text(json.dumps({"kind": "web"}))
    with pytest.raises(InputError, match=r"truth field 'attack' is missing"):
        read_truth(bad)
