"""Tests for riskscope.io.provenance.strace: strace logs -> provenance graphs."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from riskscope.exceptions import InputError
from riskscope.graph.schema import EDGE_TYPES, NODE_TYPES
from riskscope.io.provenance import read_provenance
from riskscope.io.provenance.strace import EDGE_OF_SYSCALL, IGNORED, read, sniff

DATA = Path(__file__).parents[1] / "data" / "provenance" / "strace"
HAND = DATA / "handwritten.log"


def _edges(g) -> list[tuple[str, str, str, int]]:
    ids = g.nodes["id"].to_pylist()
    return [(ids[s], t, ids[d], ts) for s, t, d, ts in zip(
        g.edges["src"].to_pylist(), g.edges["type"].to_pylist(), g.edges["dst"].to_pylist(),
        g.edges["ts"].to_pylist(), strict=True)]


def _write(tmp_path: Path, text: str, name: str = "t.log") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.fixture(scope="module")
def hand():
    return read(HAND)[0]


# --- the hand-written log: every construct once -------------------------------------


def test_handwritten_counts(hand) -> None:
    assert hand.meta["strace"] == {
        "lines": 55, "ignored": 3, "resumed": 6, "failed": 1, "signals": 1, "exits": 3,
        "killed": 1, "processes": 4, "threads": 1, "pid_reuse": 1, "unresolved_paths": 0,
    }  # fmt: skip
    parse = hand.meta["parse"]
    assert parse["records"] == 55
    assert parse["skipped"] == {"malformed": 2, "failed": 1, "signal_delivery": 1,
                                "anon_inode": 1, "signal_probe": 1, "unfinished": 1}
    assert parse["unknown"] == {"frobnicate": 1}
    assert parse["first_bad"] == ["line 51: malformed", "line 52: malformed"]
    s = hand.summary()
    assert s["node_types"] == {"file": 9, "process": 4, "netflow": 2, "module": 1, "pipe": 1}
    assert s["edge_types"] == {
        "exec": 4, "start": 3, "exit": 3, "read": 2, "open": 2, "send": 3, "recv": 2,
        "write": 3, "rename": 2, "connect": 2, "close": 1, "create": 1, "delete": 1,
        "load": 1, "bind": 1, "listen": 1, "accept": 1, "signal": 1,
    }  # fmt: skip
    assert hand.meta["time"] == "ns" and hand.meta["source"] == "strace"


def test_types_are_canonical(hand) -> None:
    assert set(hand.summary()["node_types"]) <= set(NODE_TYPES)
    assert set(hand.summary()["edge_types"]) <= set(EDGE_TYPES)


def test_resumed_call_is_one_event_at_its_start(hand) -> None:
    reads = [e for e in _edges(hand) if e[1] == "read" and e[2] == "/home/u/notes.txt"]
    # the split read started at line 4 and resumed at line 5: one edge, start time
    assert [ts for *_, ts in reads] == [1_700_000_000_000_003_000, 1_700_000_000_000_004_000]


def test_clone_links_parent_and_child_with_inherited_cwd(hand) -> None:
    edges = _edges(hand)
    assert ("100@1700000000.000001", "start", "102@1700000000.000009",
            1_700_000_000_000_009_000) in edges
    names = dict(zip(hand.nodes["id"].to_pylist(), hand.nodes["name"].to_pylist(), strict=True))
    cmds = dict(zip(hand.nodes["id"].to_pylist(), hand.nodes["cmdline"].to_pylist(),
                    strict=True))
    # execve("./tool") of a child that inherited /home/u from its parent
    assert names["102@1700000000.000009"] == "/home/u/tool"
    assert cmds["102@1700000000.000009"] == "./tool -v"


def test_pid_reuse_gives_two_processes(hand) -> None:
    procs = hand.nodes.filter(hand.nodes["pid"].is_valid()).to_pylist()
    by_pid = Counter(p["pid"] for p in procs)
    assert by_pid == {100: 1, 102: 2, 200: 1}
    names = {p["id"]: p["name"] for p in procs}
    assert names["102@1700000000.000009"] == "/home/u/tool"
    assert names["102@1700000000.000027"] == "/usr/bin/curl"


def test_thread_events_belong_to_their_process(hand) -> None:
    assert 201 not in hand.nodes["pid"].to_pylist()
    edges = _edges(hand)
    server = "200@1700000000.000023"
    # the thread's recvfrom came before clone3 returned: held back, then replayed
    assert (server, "recv", "tcp:127.0.0.1:8000", 1_700_000_000_000_035_000) in edges
    assert (server, "open", "/srv/index.html", 1_700_000_000_000_037_000) in edges


def test_relative_paths_resolved(hand) -> None:
    edges = {(t, d) for _, t, d, _ in _edges(hand)}
    assert ("create", "/home/u/work/out.txt") in edges  # open() after chdir("work")
    assert ("rename", "/home/u/work/out.txt") in edges
    assert ("rename", "/home/u/work/final.txt") in edges
    assert ("delete", "/home/u/notes.txt") in edges  # unlink("../notes.txt")


def test_sockets_client_and_server_share_the_service_endpoint(hand) -> None:
    flows = {(s.split("@")[0], t) for s, t, d, _ in _edges(hand) if d == "tcp:127.0.0.1:8000"}
    assert flows == {("200", "bind"), ("200", "listen"), ("200", "accept"), ("200", "recv"),
                     ("200", "send"), ("102", "connect"), ("102", "send"), ("102", "recv")}
    nodes = dict(zip(hand.nodes["id"].to_pylist(), hand.nodes["name"].to_pylist(), strict=True))
    assert nodes["tcp:127.0.0.1:8000"] == "127.0.0.1:8000"
    assert nodes["udp:10.0.0.53:53"] == "10.0.0.53:53"  # unconnected UDP: the sockaddr
    edges = {(t, d) for _, t, d, _ in _edges(hand)}
    assert ("connect", "/run/app.sock") in edges and ("write", "/run/app.sock") in edges
    assert ("write", "pipe:[777]") in edges


def test_exit_kill_signal_and_module(hand) -> None:
    edges = _edges(hand)
    exits = [s for s, t, d, _ in edges if t == "exit"]
    assert all(s == d for s, t, d, _ in edges if t == "exit")
    assert sorted(exits) == ["100@1700000000.000001", "102@1700000000.000009",
                             "102@1700000000.000027"]  # the killed one too
    assert ("100@1700000000.000001", "signal", "200@1700000000.000023",
            1_700_000_000_000_049_000) in edges
    types = dict(zip(hand.nodes["id"].to_pylist(), hand.nodes["type"].to_pylist(), strict=True))
    assert types["/usr/lib/libfoo.so.1"] == "module"
    assert ("102@1700000000.000009", "load", "/usr/lib/libfoo.so.1",
            1_700_000_000_000_018_000) in edges


def test_edges_reference_valid_nodes_and_times_are_ns(hand) -> None:
    ei = hand.edge_index()
    assert ei.min() >= 0 and ei.max() < hand.n_nodes
    ts = hand.edges["ts"].to_numpy()
    assert ts.dtype == np.int64 and ts.min() > 1_600_000_000 * 10**9


# --- recorded excerpts ----------------------------------------------------------------


def test_recorded_excerpt() -> None:
    g = read(DATA / "recorded_default.log.gz")[0]
    assert g.name == "recorded_default"
    assert g.meta["strace"]["processes"] == 5 and g.meta["strace"]["resumed"] == 8
    assert g.meta["parse"]["skipped"] == {"failed": 56, "signal_delivery": 4}
    procs = g.nodes.filter(g.nodes["type"].to_numpy(zero_copy_only=False) == "process")
    assert procs["name"].to_pylist() == ["/usr/bin/sh", "/usr/bin/cat", "/usr/bin/wc",
                                         "/usr/bin/mv", "/usr/bin/rm"]
    edges = {(s.split("@")[0], t, d) for s, t, d, _ in _edges(g)}
    sh, cat, wc, mv, rm = (p.split("@")[0] for p in procs["id"].to_pylist())
    assert {(sh, "create", "/tmp/rs-excerpt/a.txt"), (cat, "read", "/tmp/rs-excerpt/a.txt"),
            (cat, "write", "pipe:[110252]"), (wc, "read", "pipe:[110252]"),
            (mv, "rename", "/tmp/rs-excerpt/b.txt"), (rm, "delete", "/tmp/rs-excerpt/b.txt"),
            (wc, "write", "/tmp/rs-excerpt/n.txt")} <= edges


def test_default_syscall_set_and_full_trace_give_the_same_graph() -> None:
    # Two recordings of one command: with the recorder's default -e trace set, and with
    # every syscall. What the parser keeps must not depend on the filter.
    small = read(DATA / "recorded_default.log.gz")[0].summary()
    full = read(DATA / "recorded_all.log.gz")[0]
    assert full.meta["strace"]["ignored"] == 286 and full.meta["parse"]["unknown"] == {}
    assert {k: v for k, v in full.summary().items() if k != "bytes"} == {
        k: v for k, v in small.items() if k != "bytes"}


def test_dropping_ignored_lines_changes_nothing(tmp_path: Path) -> None:
    lines = gzip.decompress((DATA / "recorded_all.log.gz").read_bytes()).decode().splitlines()
    kept = [ln for ln in lines if ln.split(None, 2)[2].split("(", 1)[0] not in IGNORED]
    assert len(kept) < len(lines)
    a = read(DATA / "recorded_all.log.gz")[0]
    b = read(_write(tmp_path, "\n".join(kept) + "\n"))[0]
    assert _edges(a) == _edges(b)
    assert a.nodes.to_pylist() == b.nodes.to_pylist()


def test_gzip_equals_plain(tmp_path: Path) -> None:
    plain = _write(tmp_path, HAND.read_text(), "h.log")
    packed = tmp_path / "h.log.gz"
    packed.write_bytes(gzip.compress(HAND.read_bytes()))
    a, b = read(plain)[0], read(packed)[0]
    assert _edges(a) == _edges(b) and a.name == b.name == "h"


def test_read_provenance_detects_strace() -> None:
    g = read_provenance(HAND)[0]
    assert g.meta["source"] == "strace" and g.n_edges == read(HAND)[0].n_edges


# --- layouts and decorations -----------------------------------------------------------


def test_log_without_pids_is_one_process(tmp_path: Path) -> None:
    p = _write(tmp_path,
               '1700000000.000001 execve("/bin/cat", ["cat", "a"], 0x1 /* 1 vars */) = 0\n'
               '1700000000.000002 openat(AT_FDCWD</d>, "a", O_RDONLY) = 3</d/a>\n'
               '1700000000.000003 read(3</d/a>, "x", 10) = 1\n')
    g = read(p)[0]
    assert g.summary()["node_types"] == {"file": 2, "process": 1}
    assert [t for _, t, _, _ in _edges(g)] == ["exec", "open", "read"]
    assert "pid" not in g.nodes.column_names


def test_log_without_timestamps_numbers_events(tmp_path: Path) -> None:
    p = _write(tmp_path, '7 execve("/bin/cat", ["cat"], 0x1 /* 1 vars */) = 0\n'
               '7 read(0</d/a>, "x", 10) = 1\n')
    g = read(p)[0]
    assert g.meta["time"] == "order"
    assert g.edges["ts"].to_pylist() == [1, 2]


def test_bracketed_pid_prefix(tmp_path: Path) -> None:
    p = _write(tmp_path, '1700000000.000001 execve("/bin/sh", ["sh"], 0x1 /* 1 vars */) = 0\n'
               '[pid  42] 1700000000.000002 openat(AT_FDCWD</d>, "b", O_RDONLY) = 3</d/b>\n')
    g = read(p)[0]
    assert sorted(g.nodes["pid"].to_pylist(), key=str) == [42, None, None, None]


def test_escaped_deleted_and_device_decorations(tmp_path: Path) -> None:
    p = _write(tmp_path, (
        '5 1700000000.000001 openat(AT_FDCWD</d>, "a>b", O_WRONLY|O_CREAT, 0666) = 3</d/a\\76b>\n'
        '5 1700000000.000002 write(3</d/a\\76b>, "x>, y", 1) = 1\n'
        '5 1700000000.000003 read(4</d/nl\\nx>(deleted), "q", 1) = 1\n'
        '5 1700000000.000004 write(2</dev/null<char 1:3>>, "e", 1) = 1\n'
        '5 1700000000.000005 close(6</d/old (deleted)>) = 0\n'
        '5 1700000000.000006 close(7</d/caf\\303\\251 \\q>) = 0\n'))
    g = read(p)[0]
    assert sorted(d for _, _, d, _ in _edges(g)) == [
        "/d/a>b", "/d/a>b", "/d/café \\q", "/d/nl\nx", "/d/old", "/dev/null"]


def test_copy_calls_read_source_and_write_target(tmp_path: Path) -> None:
    p = _write(tmp_path, (
        '5 1700000000.000001 copy_file_range(3</d/src>, NULL, 4</d/dst>, NULL, 100, 0) = 9\n'
        '5 1700000000.000002 sendfile(5<TCP:[1.2.3.4:5->6.7.8.9:80]>, 3</d/src>, NULL, 9) = 9\n'))
    g = read(p)[0]
    assert [(t, d) for _, t, d, _ in _edges(g)] == [
        ("read", "/d/src"), ("write", "/d/dst"), ("read", "/d/src"),
        ("send", "tcp:6.7.8.9:80")]


def test_create_only_for_new_paths(tmp_path: Path) -> None:
    p = _write(tmp_path, (
        '5 1700000000.000001 openat(AT_FDCWD</d>, "f", O_RDONLY) = 3</d/f>\n'
        '5 1700000000.000002 openat(AT_FDCWD</d>, "f", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3</d/f>\n'
        '5 1700000000.000003 openat(AT_FDCWD</d>, "g", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3</d/g>\n'
        '5 1700000000.000004 openat(AT_FDCWD</d>, "f", O_WRONLY|O_CREAT|O_EXCL, 0600) = 3</d/f>\n'))
    assert [(t, d) for _, t, d, _ in _edges(read(p)[0])] == [
        ("open", "/d/f"), ("open", "/d/f"), ("create", "/d/g"), ("create", "/d/f")]


def test_unresolved_relative_path_is_kept_and_counted(tmp_path: Path) -> None:
    p = _write(tmp_path, '5 1700000000.000001 unlink("rel/x") = 0\n')
    g = read(p)[0]
    assert [(t, d) for _, t, d, _ in _edges(g)] == [("delete", "rel/x")]
    assert g.meta["strace"]["unresolved_paths"] == 1


def test_every_mapped_syscall_has_a_handler() -> None:
    from riskscope.graph.schema import GraphBuilder
    from riskscope.io.provenance.strace import _Parser

    handlers = _Parser(GraphBuilder())._handlers()
    assert set(EDGE_OF_SYSCALL) <= set(handlers)
    assert not set(EDGE_OF_SYSCALL) & IGNORED


# --- errors ---------------------------------------------------------------------------


def test_damaged_lines_never_crash(tmp_path: Path) -> None:
    # Truncated, spliced, duplicated and dropped lines, and wrong digits in the time
    # column: every damage is skipped and counted, or the file is an InputError.
    import random

    base = gzip.decompress((DATA / "recorded_default.log.gz").read_bytes()).decode()
    sources = [HAND.read_text().splitlines(True), base.splitlines(True)]
    r = random.Random(0)
    p = tmp_path / "f.log"
    for _ in range(60):
        lines = list(r.choice(sources))
        for _ in range(r.randint(1, 25)):
            i = r.randrange(len(lines))
            ln = lines[i]
            j = r.randrange(len(ln))
            op = r.randrange(5)
            if op == 0:
                lines[i] = ln[:j] + "\n"
            elif op == 1:
                lines[i] = ln[:j] + r.choice('<>()"=,[]\\ 0-?+9') + ln[j:]
            elif op == 2:
                del lines[i]
            elif op == 3:
                lines.insert(i, r.choice(lines))
            else:
                k = r.randrange(min(24, len(ln)))
                lines[i] = ln[:k] + "9" + ln[k + 1:]
        p.write_text("".join(lines))
        try:
            g = read(p)[0]
        except InputError:
            continue
        assert g.validate()["edges"] == g.n_edges




def test_empty_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no strace record made a provenance event \(0 lines"):
        read(_write(tmp_path, ""))


def test_only_ignored_calls_is_input_error(tmp_path: Path) -> None:
    p = _write(tmp_path, "5 1700000000.000001 brk(NULL) = 0x5\n5 1700000000.000002 getpid() = 5\n")
    with pytest.raises(InputError, match=r"2 lines, 2 without provenance meaning.*-e trace"):
        read(p)


def test_binary_garbage_is_input_error(tmp_path: Path) -> None:
    p = tmp_path / "g.log"
    p.write_bytes(bytes(range(256)) * 50)
    with pytest.raises(InputError, match=r"binary data, not an strace text log"):
        read(p)


def test_text_garbage_is_input_error(tmp_path: Path) -> None:
    p = _write(tmp_path, "hello world\nthis is not strace\n")
    with pytest.raises(InputError, match=r"skipped \{'malformed': 2\}"):
        read(p)


def test_damaged_gzip_is_input_error(tmp_path: Path) -> None:
    p = tmp_path / "t.log.gz"
    p.write_bytes(gzip.compress(HAND.read_bytes())[:300])
    with pytest.raises(InputError, match=r"gzip stream ends early or is damaged"):
        read(p)


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no such file; pass an strace log"):
        read(tmp_path / "nope.log")


def test_error_messages_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no strace record") as err:
        read(_write(tmp_path, "x y z\n"))
    assert "\n" not in str(err.value)


# --- sniff -----------------------------------------------------------------------------

STRACE_HEADS = [
    b'123  1700000000.000001 execve("/bin/sh", ["sh"], 0x1 /* 1 vars */) = 0\n',
    b'1700000000.000001 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3\n',
    b'[pid  12] 1700000000.000001 read(3</x>, "", 1) = 0\n',
    b'execve("/bin/true", ["true"], 0x7ffc /* 3 vars */) = 0\n',
    b'123  1700000000.000001 <... read resumed>"", 1) = 0\n',
]
OTHER_HEADS = [
    b'{"datum": {"com.bbn.tc.schema.avro.cdm18.Event": {"uuid": "a", "type": "EVENT_READ"}}}\n',
    b'{"EventID": 1, "Image": "C:\\\\Windows\\\\System32\\\\cmd.exe", "ProcessGuid": "{x}"}\n',
    b"0\ta\t1\tb\tc\t0\n1\ta\t2\tc\tq\t0\n",
    b"src,dst,type\n1,2,read\n",
    bytes(range(256)),
]


@pytest.mark.parametrize("head", STRACE_HEADS)
def test_sniff_strace(head: bytes) -> None:
    assert sniff(head)
    assert sniff(gzip.compress(head))


@pytest.mark.parametrize("head", OTHER_HEADS)
def test_sniff_rejects_other_formats(head: bytes) -> None:
    assert not sniff(head)
