"""StreamSpot TSV reader: one graph per graph id, letter codes, malformed lines,
format detection, and the real example file."""

from __future__ import annotations

import collections
import gzip
from pathlib import Path

import pytest

from riskscope.exceptions import InputError
from riskscope.io import provenance
from riskscope.io.provenance import cdm, read_provenance
from riskscope.io.provenance import streamspot as ss

DATA = Path(__file__).resolve().parents[1] / "data" / "provenance"
SMALL = DATA / "streamspot" / "small.tsv"

STRACE_LINES = (
    b'1234 1700000000.123456 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3</etc/passwd>\n'
    b"1234 1700000000.124000 close(3</etc/passwd>) = 0\n"
)
SYSMON_LINES = (
    b'{"EventID": 1, "SourceName": "Microsoft-Windows-Sysmon", "Image": "C:\\\\cmd.exe"}\n'
    b'{"EventID": 3, "SourceName": "Microsoft-Windows-Sysmon", "DestinationIp": "10.0.0.5"}\n'
)
CLEAN = b"4\ta\t5\tc\tp\t0\n4\ta\t6\tc\tv\t0\n4\ta\t7\tb\tm\t0\n7\tb\t5\tc\tG\t1\n"


def _naive(path: Path) -> dict[str, tuple[set, int, collections.Counter]]:
    """Reference count: per graph id, the node ids, edge count and node letters."""
    out: dict[str, list] = {}
    for line in path.read_text().splitlines():
        f = line.split("\t")
        if len(f) != 6:
            continue
        nodes, n, letters = out.setdefault(f[5], [set(), 0, collections.Counter()])
        for node, letter in ((f[0], f[1]), (f[2], f[3])):
            if node not in nodes:
                letters[letter] += 1
            nodes.add(node)
        out[f[5]][1] += 1
    return {k: tuple(v) for k, v in out.items()}


# --- the hand-written file ---------------------------------------------------------------
def test_small_file_graphs_counts_and_types():
    graphs = ss.read(SMALL)
    assert [g.name for g in graphs] == ["100", "300"]  # first-seen order
    g100, g300 = graphs
    assert (g100.n_nodes, g100.n_edges, g300.n_nodes, g300.n_edges) == (9, 12, 4, 4)
    ids, types = g100.nodes["id"].to_pylist(), g100.nodes["type"].to_pylist()
    assert dict(zip(ids, types, strict=True)) == {
        "1": "process", "2": "file", "3": "thread", "4": "file", "5": "map_anonymous",
        "6": "stdin", "7": "stdout", "8": "stderr", "9": "na",
    }  # fmt: skip
    assert g100.edges["type"].to_pylist() == [
        "open", "read", "start", "write", "mmap", "fstat", "write", "write",
        "check_file_attributes", "Z", "read", "close",
    ]  # fmt: skip
    assert g300.edges["type"].to_pylist() == ["exec", "connect", "delete", "recv"]
    for g in graphs:
        g.validate()
        assert g.meta["source"] == "streamspot" and g.meta["time"] == "order"
        assert set(g.nodes["name"].to_pylist()) == {""}


def test_small_file_parse_statistics():
    p100, p300 = (g.meta["parse"] for g in ss.read(SMALL))
    # line 1 (a comment) comes before any graph and is reported with the first one
    assert p100["records"] == 15 and p300["records"] == 4
    assert p100["skipped"] == {"malformed": 3} and p300["skipped"] == {}
    assert p100["first_bad"] == ["line 1: malformed", "line 12: malformed",
                                 "line 13: malformed"]
    assert p100["unknown"] == {"Z": 1}  # a letter outside the alphabet: counted, kept
    assert (p100["type_conflicts"], p300["type_conflicts"]) == (2, 0)


def test_timestamps_are_line_numbers_and_ids_match_positions():
    g100, g300 = ss.read(SMALL)
    assert g100.edges["ts"].to_pylist() == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 17]
    assert g300.edges["ts"].to_pylist() == [15, 16, 19, 20]  # line 16 ends in \r\n
    ids = g300.nodes["id"].to_pylist()
    assert [(ids[s], ids[d]) for s, d in g300.edge_index().T] == [
        ("0", "1"), ("0", "10"), ("0", "11"), ("0", "1")]
    assert g300.nodes["ts"].to_pylist() == [15, 15, 16, 19]  # first seen


def test_every_unknown_letter_is_counted_and_kept(tmp_path):
    f = tmp_path / "z.tsv"
    f.write_bytes(CLEAN + b"4\ta\t5\tc\tZ\t0\n4\ta\t5\tc\tZ\t0\n4\ta\t5\tc\tI\t1\n"
                  b"4\ta\t5\tc\t??\t1\n")
    g0, g1 = ss.read(f)
    assert g0.meta["parse"]["unknown"] == {"Z": 2} and g1.meta["parse"]["unknown"] == {"I": 1}
    assert g0.edges["type"].to_pylist()[-2:] == ["Z", "Z"]
    assert g1.meta["parse"]["skipped"] == {"malformed": 1}  # "??" is no letter


def test_graph_ids_select_graphs():
    (g,) = ss.read(SMALL, graph_ids=[300])
    assert (g.name, g.n_edges) == ("300", 4)
    # graph 100's lines, well-formed or not, are passed over; line 1 precedes every graph
    # and is reported with the first one returned
    assert g.meta["parse"]["records"] == 5
    assert g.meta["parse"]["first_bad"] == ["line 1: malformed"]


def test_unknown_graph_id_is_an_error():
    with pytest.raises(InputError, match=r"graph id\(s\) \['42'\] not in the file"):
        ss.read(SMALL, graph_ids=["300", "42"])


def test_max_records():
    (g,) = ss.read(SMALL, max_records=5)
    assert (g.name, g.n_edges, g.meta["parse"]["records"]) == ("100", 4, 5)


def test_gzip_and_crlf_do_not_change_the_graphs(tmp_path):
    ref = ss.read(SMALL)
    gz = tmp_path / "small.tsv.gz"
    gz.write_bytes(gzip.compress(SMALL.read_bytes()))
    crlf = tmp_path / "crlf.tsv"
    crlf.write_bytes(SMALL.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    for path in (gz, crlf):
        got = ss.read(path)
        assert [g.name for g in got] == [g.name for g in ref]
        for a, b in zip(got, ref, strict=True):
            assert a.nodes.equals(b.nodes) and a.edges.equals(b.edges)
            assert a.meta == b.meta


def test_truncated_gzip_keeps_what_was_read(tmp_path):
    lines = b"".join(b"%d\ta\t%d\tc\tv\t%d\n" % (i, i + 1, i // 1000) for i in range(20000))
    data = gzip.compress(lines)
    f = tmp_path / "cut.tsv.gz"
    f.write_bytes(data[: len(data) // 2])
    graphs = ss.read(f)
    assert 0 < sum(g.n_edges for g in graphs) < 20000
    assert graphs[-1].meta["parse"]["skipped"]["truncated_gzip"] == 1


# --- bad inputs -----------------------------------------------------------------------
def test_empty_file(tmp_path):
    f = tmp_path / "e.tsv"
    f.write_bytes(b"")
    with pytest.raises(InputError, match=r"e\.tsv: the StreamSpot file is empty"):
        ss.read(f)


@pytest.mark.parametrize("path", [DATA / "cdm" / "garbage.bin", DATA / "cdm" / "cadets.json"],
                         ids=["garbage", "cdm"])
def test_not_streamspot(path):
    with pytest.raises(InputError, match=r"none of the \d+ lines is a StreamSpot edge .*"
                                         r"6 tab-separated fields"):
        ss.read(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        ss.read(tmp_path / "nope.tsv")


# --- sniffing and the registry -----------------------------------------------------------
def test_sniff():
    assert ss.sniff(CLEAN)
    assert ss.sniff(CLEAN[:-5])  # the head may cut the last line short
    assert ss.sniff(gzip.compress(CLEAN))
    assert ss.sniff(CLEAN.replace(b"\n", b"\r\n"))


@pytest.mark.parametrize("head", [
    STRACE_LINES, SYSMON_LINES, b"", b"\n\n", (DATA / "cdm" / "cadets.json").read_bytes(),
    (DATA / "cdm" / "garbage.bin").read_bytes(), SMALL.read_bytes(),
    b"4\ta\t5\tc\tp\n", b"4\taa\t5\tc\tp\t0\n", b"4 4\ta\t5\tc\tp\t0\n", b"a\tb\tc\td\te\tf\tg\n",
], ids=["strace", "sysmon", "empty", "blank", "cdm", "garbage", "comment-first", "5-fields",
        "long-type", "space-in-id", "7-fields"])
def test_sniff_rejects(head):
    assert not ss.sniff(head)


def test_cdm_sniff_rejects_streamspot():
    assert not cdm.sniff(CLEAN)


def test_auto_detects_streamspot(monkeypatch, tmp_path):
    monkeypatch.setattr(provenance, "FORMATS", {"cdm": "cdm", "streamspot": "streamspot"})
    f = tmp_path / "edges.tsv"
    f.write_bytes(CLEAN)
    assert provenance.detect_format(f) == "streamspot"
    assert [g.name for g in read_provenance(f)] == ["0", "1"]
    for content in (STRACE_LINES, SYSMON_LINES):
        f.write_bytes(content)
        with pytest.raises(InputError, match="not a known audit-log format"):
            provenance.detect_format(f)


def test_full_registry_detects_streamspot(tmp_path):
    """With every registered reader that exists so far (others are written alongside)."""
    for module in provenance.FORMATS.values():
        pytest.importorskip(f"riskscope.io.provenance.{module}")
    f = tmp_path / "edges.tsv"
    f.write_bytes(CLEAN)
    assert provenance.detect_format(f) == "streamspot"


# --- the real example ----------------------------------------------------------------------
@pytest.mark.needs_shared_data
def test_streamspot_example_matches_a_naive_count(shared_data):
    path = shared_data / "provenance" / "streamspot_example" / "data.txt"
    graphs = read_provenance(path, format="streamspot")
    ref = _naive(path)
    assert [g.name for g in graphs] == list(ref) == ["0"]
    (g,) = graphs
    nodes, n_edges, letters = ref["0"]
    assert (g.n_nodes, g.n_edges) == (len(nodes), n_edges) == (34, 100)
    assert g.validate()["node_types"] == {
        ss.NODE_TYPES[k]: v for k, v in letters.items()} == {
        "file": 29, "map_anonymous": 1, "process": 1, "stderr": 1, "stdin": 1, "stdout": 1}
    assert g.meta["parse"] == {"records": 100, "skipped": {}, "unknown": {}, "first_bad": [],
                               "type_conflicts": 0}
    assert g.edges["ts"].to_pylist() == list(range(1, 101))
    assert ss.sniff(path.read_bytes()[:65536])
