"""Tests for riskscope.io.provenance.sysmon (Windows Sysmon JSON lines)."""

from __future__ import annotations

import gzip
import importlib
import json
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from riskscope.exceptions import InputError
from riskscope.graph.schema import ProvenanceGraph
from riskscope.io import provenance
from riskscope.io.provenance import detect_format, read_provenance, sysmon

DATA = Path(__file__).resolve().parents[1] / "data" / "provenance" / "sysmon"
EVENTS = DATA / "events.jsonl"
P1 = "ws1|1a2b3c4d-0001-5f51-0100-000000000500"
P2 = "ws1|1a2b3c4d-0002-5f51-0100-000000000500"
P3 = "ws1|1a2b3c4d-0003-5f51-0100-000000000500"
P4 = "ws1|1a2b3c4d-0004-5f51-0100-000000000500"
P9 = "ws1|1a2b3c4d-0009-5f51-0100-000000000500"
Q1 = "ws2|9f8e7d6c-0001-5f52-0100-000000000600"
STRACE = b'1234 1700000000.123456 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3</etc/passwd>\n'
CDM = b'{"datum": {"com.bbn.tc.schema.avro.cdm18.Event": {"uuid": "E"}}, "CDMVersion": "18"}\n'


@pytest.fixture(scope="module")
def graph() -> ProvenanceGraph:
    (g,) = sysmon.read(EVENTS)
    return g


def _edges(g: ProvenanceGraph) -> list[tuple[str, str, str]]:
    ids = g.nodes["id"].to_pylist()
    return [(ids[e["src"]], ids[e["dst"]], e["type"]) for e in g.edges.to_pylist()]


def _node(g: ProvenanceGraph, node_id: str) -> dict:
    (row,) = [r for r in g.nodes.to_pylist() if r["id"] == node_id]
    return row


def _ns(text: str) -> int:
    dt = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(dt.timestamp()) * 10**9 + dt.microsecond * 1000


def _one_line(err: pytest.ExceptionInfo) -> None:
    assert "\n" not in str(err.value)


# --- the hand-made log: exact counts ----------------------------------------------------
def test_counts_and_parse_stats(graph: ProvenanceGraph) -> None:
    assert (graph.n_nodes, graph.n_edges) == (29, 35)
    parse = graph.meta["parse"]
    assert parse["records"] == 48  # 49 lines, one blank
    assert parse["skipped"] == {"malformed": 3, "sysmon_state": 3, "not_sysmon": 2,
                                "anonymous_pipe": 1, "no_process": 1, "no_object": 1,
                                "no_time": 1, "no_parent": 1}
    assert parse["unknown"] == {"sysmon_event_99": 1}
    assert parse["first_bad"][0] == "events.jsonl:3: malformed"
    assert graph.meta["hosts"] == {"ws1": 36, "ws2": 2}
    assert graph.meta["source"] == "sysmon" and graph.meta["time"] == "ns"
    assert graph.name == "events"


def test_edge_and_node_types(graph: ProvenanceGraph) -> None:
    assert graph.summary()["edge_types"] == {
        "create": 6, "load": 3, "access": 2, "connect": 2, "delete": 2, "exit": 2,
        "reg_create": 2, "rename": 2, "start": 2, "accept": 1, "dnsquery": 1,
        "fileblockexecutable": 1, "fileblockshredding": 1, "filecreatetime": 1, "open": 1,
        "processtampering": 1, "read": 1, "reg_delete": 1, "reg_set": 1,
        "wmieventconsumertofilter": 1, "write": 1}
    assert graph.summary()["node_types"] == {
        "file": 7, "process": 7, "registry": 4, "module": 3, "netflow": 2, "wmi": 2,
        "clipboard": 1, "dns": 1, "pipe": 1, "principal": 1}


def test_process_create_normalises_guids(graph: ProvenanceGraph) -> None:
    edges = _edges(graph)
    # braces, upper and lower case spellings of the same GUID are one node
    assert (P1, P2, "start") in edges and (P2, P3, "start") in edges
    child = _node(graph, P3)
    assert child["name"].endswith("\\windowspowershell\\v1.0\\powershell.exe")
    assert child["cmdline"] == "powershell -enc AAAA" and child["pid"] == 1376
    assert child["ts"] == _ns("2020-09-04 07:30:01.250")


def test_parent_and_target_only_processes_are_named(graph: ProvenanceGraph) -> None:
    assert _node(graph, P1)["name"] == "c:\\windows\\explorer.exe"
    assert _node(graph, P1)["pid"] == 100
    assert _node(graph, P4)["name"] == "c:\\windows\\system32\\lsass.exe"
    assert Counter(e for e in _edges(graph) if e[2] == "access") == {(P3, P4, "access"): 2}


def test_exit_goes_parent_to_child_or_loops(graph: ProvenanceGraph) -> None:
    exits = [e for e in _edges(graph) if e[2] == "exit"]
    assert exits == [(P2, P3, "exit"), (P9, P9, "exit")]


def test_written_then_loaded_path_is_one_module(graph: ProvenanceGraph) -> None:
    node = "ws1|c:\\users\\public\\payload.dll"
    assert _node(graph, node)["type"] == "module"
    touching = sorted(e for e in _edges(graph) if e[1] == node)
    assert touching == [(P2, node, "load"), (P3, node, "create"),
                        (P3, node, "filecreatetime")]
    assert ("ws1|system", "ws1|c:\\windows\\system32\\drivers\\evil.sys", "load") \
        in _edges(graph)


def test_registry_events(graph: ProvenanceGraph) -> None:
    reg = [(d.split("|")[1], t) for s, d, t in _edges(graph) if t.startswith("reg") or
           t == "rename"]
    assert reg == [
        ("hku\\s-1-5-21\\software\\classes\\ms-settings\\shell", "reg_create"),
        ("hku\\s-1-5-21\\software\\classes\\ms-settings\\shell", "reg_delete"),
        ("hklm\\software\\evil", "reg_create"),  # EventType missing: creation
        ("hklm\\software\\microsoft\\windows\\currentversion\\run\\evil", "reg_set"),
        ("hklm\\software\\evil", "rename"), ("hklm\\software\\good", "rename")]


def test_netflows_join_hosts_but_loopback_stays_local(graph: ProvenanceGraph) -> None:
    edges = _edges(graph)
    assert (P3, "10.0.0.7:445", "connect") in edges
    assert (Q1, "10.0.0.7:445", "accept") in edges
    assert _node(graph, "10.0.0.7:445")["host"] == ""
    assert (P3, "ws1|127.0.0.1:8080", "connect") in edges
    assert ("ws1|1a2b3c4d-0003-5f51-0100-000000000500", "dns:evil.example.com",
            "dnsquery") in edges


def test_pipes_and_wmi(graph: ProvenanceGraph) -> None:
    pipe = "ws1|\\\\.\\pipe\\msagent_fedac123"
    assert [e for e in _edges(graph) if e[1] == pipe] == [(P3, pipe, "create"),
                                                          (P2, pipe, "open")]
    wmi = [(s, d, t) for s, d, t in _edges(graph) if s == "ws1|principal:corp\\admin"]
    assert wmi == [
        ("ws1|principal:corp\\admin", "ws1|wmi:filter:updater", "create"),
        ("ws1|principal:corp\\admin", "ws1|wmi:consumer:updater", "create"),
        ("ws1|principal:corp\\admin", "ws1|wmi:consumer:updater",
         "wmieventconsumertofilter")]


def test_every_edge_timed_in_ns(graph: ProvenanceGraph) -> None:
    ts = graph.edges["ts"].to_pylist()
    assert min(ts) == _ns("2020-09-04 07:30:00.250")
    assert max(ts) == _ns("2020-09-04 07:30:33.250")


def test_timestamp_fallback(tmp_path: Path) -> None:
    rec = json.loads(EVENTS.read_text().splitlines()[10])  # an image load
    del rec["UtcTime"]
    rec["@timestamp"] = "2021-06-11T09:07:15.635Z"
    p = tmp_path / "one.json"
    p.write_text(json.dumps(rec) + "\n")
    (g,) = sysmon.read(p)
    assert g.edges["ts"].to_pylist() == [_ns("2021-06-11 09:07:15.635")]


def test_validates_and_round_trips(graph: ProvenanceGraph, tmp_path: Path) -> None:
    graph.validate()
    back = ProvenanceGraph.read(graph.write(tmp_path / "g"))
    assert back.nodes.equals(graph.nodes) and back.edges.equals(graph.edges)


# --- hosts ------------------------------------------------------------------------------
def test_host_filter_keeps_one_host_without_prefix() -> None:
    (g,) = sysmon.read(EVENTS, host="WS2.other.domain")
    assert _edges(g) == [("9f8e7d6c-0001-5f52-0100-000000000600", "10.0.0.7:445",
                          "accept")]
    assert g.meta["parse"]["skipped"]["other_host"] == 41
    assert g.meta["hosts"] == {"ws2": 2} and g.meta["host_prefix"] is False


def test_unknown_host_raises() -> None:
    with pytest.raises(InputError, match=r"no Sysmon event from host 'ws9'.*\['ws1', "
                                         r"'ws2'\]") as err:
        sysmon.read(EVENTS, host="ws9")
    _one_line(err)


# --- containers and record shapes ---------------------------------------------------------
def test_zip_and_gzip_equal_plain(graph: ProvenanceGraph, tmp_path: Path) -> None:
    z = tmp_path / "events.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(EVENTS, "events.json")
    gz = tmp_path / "events.json.gz"
    gz.write_bytes(gzip.compress(EVENTS.read_bytes()))
    for path in (z, gz):
        (g,) = sysmon.read(path)
        assert g.nodes.equals(graph.nodes) and g.edges.equals(graph.edges)
        assert g.meta["parse"]["records"] == 48


def test_zip_members_are_read_in_turn(tmp_path: Path) -> None:
    lines = EVENTS.read_text().splitlines()
    z = tmp_path / "two.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("a.json", "\n".join(lines[:20]) + "\n")
        zf.writestr("b/", "")
        zf.writestr("b/c.json.gz", gzip.compress(("\n".join(lines[20:]) + "\n").encode()))
    (g,) = sysmon.read(z)
    assert (g.n_nodes, g.n_edges) == (29, 35)
    assert g.meta["members"] == ["a.json", "b/c.json.gz"]


def test_flat_winlogbeat_and_evtx_shapes_agree() -> None:
    graphs = [sysmon.read(DATA / f"shape_{s}.jsonl")[0] for s in ("flat", "winlogbeat",
                                                                 "evtx")]
    for g in graphs[1:]:
        assert g.nodes.equals(graphs[0].nodes) and g.edges.equals(graphs[0].edges)
    # one host: ids carry no prefix; IPv6 written canonically
    ids = graphs[0].nodes["id"].to_pylist()
    assert "1a2b3c4d-0002-5f51-0100-000000000500" in ids
    assert "[fe80::5d54:ed5a:760f:c4ff]:445" in ids


# --- errors -------------------------------------------------------------------------------
def test_log_without_sysmon_raises(tmp_path: Path) -> None:
    p = tmp_path / "security.json"
    p.write_text("\n".join(EVENTS.read_text().splitlines()[:3]) + "\n")
    with pytest.raises(InputError, match=r"no Sysmon event made a graph edge \(3 records.*"
                                         r"channels seen \{'Security': 1") as err:
        sysmon.read(p)
    _one_line(err)


def test_empty_and_missing_files_raise(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(InputError, match=r"no Sysmon event made a graph edge \(0 records"):
        sysmon.read(empty)
    with pytest.raises(InputError, match="no such file"):
        sysmon.read(tmp_path / "absent.json")


# --- sniffing -----------------------------------------------------------------------------
@pytest.mark.parametrize(("head", "expected"), [
    (EVENTS.read_bytes()[:4096], True),
    ((DATA / "shape_winlogbeat.jsonl").read_bytes(), True),
    ((DATA / "shape_evtx.jsonl").read_bytes(), True),
    (b'{"Channel":"Security","EventID":4624,"Hostname":"DC1"}\n', True),
    (STRACE, False),
    (CDM, False),
    (b"src,dst,type,time\n1,2,filemod,5\n", False),
    (b"", False),
    (gzip.compress(EVENTS.read_bytes())[:2048], True),
])  # fmt: skip
def test_sniff(head: bytes, expected: bool) -> None:
    assert sysmon.sniff(head) is expected


@pytest.fixture
def importable_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sibling readers are written in parallel; detection is tested against those present.
    ok = {}
    for fmt, mod in provenance.FORMATS.items():
        try:
            importlib.import_module(f"riskscope.io.provenance.{mod}")
        except ImportError:
            continue
        ok[fmt] = mod
    monkeypatch.setattr(provenance, "FORMATS", ok)


def _detected(path: Path) -> str | None:
    try:
        return detect_format(path)
    except InputError:
        return None


@pytest.mark.usefixtures("importable_formats")
def test_auto_detects_sysmon_also_in_zip(tmp_path: Path) -> None:
    z = tmp_path / "events.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(EVENTS, "events.json")
    assert detect_format(EVENTS) == "sysmon"
    assert detect_format(z) == "sysmon"
    (g,) = read_provenance(z)
    assert g.n_edges == 35


@pytest.mark.usefixtures("importable_formats")
def test_auto_does_not_claim_strace_or_cdm(tmp_path: Path) -> None:
    for name, text in (("trace.log", STRACE), ("cdm.json", CDM)):
        p = tmp_path / name
        p.write_bytes(text)
        assert _detected(p) != "sysmon"


# --- the real OTRF logs -------------------------------------------------------------------
OTRF = {  # zip: (records, not Sysmon, nodes, edges, hosts)
    "aptsimulator_cobaltstrike.zip": (2611, 347, 381, 2264, {"workstation5": 2264}),
    "empire_psexec_dcerpc_tcp_svcctl.zip": (4348, 1407, 839, 2939,
                                            {"workstation5": 558, "workstation6": 2383}),
    "empire_uac_shellapi_fodhelper.zip": (4139, 1221, 775, 2908,
                                          {"mordordc": 46, "workstation5": 2826,
                                           "workstation6": 46}),
}


@pytest.mark.needs_shared_data
@pytest.mark.parametrize("zip_name", sorted(OTRF))
def test_otrf_logs_parse(shared_data: Path, zip_name: str) -> None:
    records, not_sysmon, nodes, edges, hosts = OTRF[zip_name]
    (g,) = read_provenance(shared_data / "provenance" / "otrf" / zip_name)
    parse = g.meta["parse"]
    assert parse["records"] == records and parse["skipped"]["not_sysmon"] == not_sysmon
    assert parse["unknown"] == {}
    assert (g.n_nodes, g.n_edges) == (nodes, edges)
    assert g.meta["hosts"] == hosts
    types = g.summary()["edge_types"]
    assert types["access"] > 900 and types["load"] > 300 and types["start"] >= 6
    # every process create names its image
    procs = [r for r in g.nodes.select(["type", "name"]).to_pylist() if r["type"] == "process"]
    assert sum(not r["name"] for r in procs) == 0
