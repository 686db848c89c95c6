"""Tests for riskscope.io.provenance.edr (EDR node and edge tables)."""

from __future__ import annotations

import gzip
import importlib
import shutil
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from riskscope.exceptions import InputError, SchemaError
from riskscope.graph.schema import ProvenanceGraph
from riskscope.io import provenance
from riskscope.io.provenance import detect_format, edr, read_provenance

DATA = Path(__file__).resolve().parents[1] / "data" / "provenance" / "edr"
NODES, EDGES = DATA / "small_nodes.csv", DATA / "small_edges.csv"
EXCERPT = Path(str(files("riskscope.datasets") / "carbanak_excerpt"))
T0 = 1_715_108_819 * 10**9  # the fixture's first time, in ns


@pytest.fixture(scope="module")
def graph() -> ProvenanceGraph:
    (g,) = edr.read(NODES)
    return g


def _edges(g: ProvenanceGraph) -> list[tuple[str, str, str]]:
    ids = g.nodes["id"].to_pylist()
    return [(ids[e["src"]], ids[e["dst"]], e["type"]) for e in g.edges.to_pylist()]


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return (pcsv.read_csv(NODES).to_pandas(), pcsv.read_csv(EDGES).to_pandas())


def _same(a: ProvenanceGraph, b: ProvenanceGraph) -> None:
    # carried-along columns keep their source type (pandas gives large_string): values only
    for part in ("nodes", "edges"):
        ta, tb = getattr(a, part), getattr(b, part)
        assert ta.column_names == tb.column_names
        for col in ta.column_names:
            assert ta[col].to_pylist() == tb[col].to_pylist(), (part, col)


def _one_line(err: pytest.ExceptionInfo) -> None:
    assert "\n" not in str(err.value)


# --- the hand-made tables: exact results -------------------------------------------------
def test_small_tables(graph: ProvenanceGraph) -> None:
    assert (graph.n_nodes, graph.n_edges) == (8, 12)
    assert graph.name == "small"
    assert graph.nodes["type"].to_pylist() == ["process", "process", "file", "file",
                                               "registry", "netflow", "process", "thread"]
    assert graph.nodes["name"].to_pylist()[7] == ""
    assert graph.nodes["ts"].to_pylist()[0] == T0
    assert graph.nodes["uuid"].to_pylist()[:2] == ["P-0", "P-1"]  # carried along
    assert _edges(graph) == [
        ("0", "1", "start"), ("1", "2", "write"), ("1", "2", "write"), ("1", "3", "load"),
        ("1", "4", "reg_set"), ("1", "5", "connect"), ("1", "5", "connect"),
        ("1", "6", "access"), ("1", "6", "access"), ("1", "2", "scriptload"),
        ("1", "7", "injectthread"), ("0", "1", "exit")]
    assert graph.edges["ts"].to_pylist()[0] == T0 + 11 * 10**9


def test_small_parse_meta(graph: ProvenanceGraph) -> None:
    parse = graph.meta["parse"]
    assert parse["records"] == 22
    assert parse["skipped"] == {"no_endpoint": 1, "no_type": 1}
    assert parse["first_bad"] == [f"{EDGES} row 12: no_endpoint", f"{EDGES} row 11: no_type"]
    assert parse["unknown"] == {"node type thread": 1, "edge type injectthread": 1}
    assert graph.meta["orient"] == {"enabled": True, "actor": "uuid",
                                    "turned_to_process": 4, "turned_by_actor": 1}
    assert graph.meta["time_unit"] == {"edges": "us", "nodes": "us"}
    assert graph.meta["time"] == "ns" and graph.meta["source"] == "edr"


def test_orient_false_keeps_recorded_directions() -> None:
    (g,) = edr.read(NODES, orient=False)
    recorded = [(str(s), str(d)) for s, d in
                pcsv.read_csv(EDGES).select(["src", "dst"]).to_pandas()
                .dropna().astype(int).itertuples(index=False)]
    kept = [(s, d) for s, d, _ in _edges(g)]
    assert kept == [e for i, e in enumerate(recorded) if i != 11]  # row 11 has no type
    assert g.meta["orient"] == {"enabled": False}


def test_extra_type_maps_win() -> None:
    (g,) = edr.read(NODES, edge_types={"inject_thread": "access"},
                    node_types={"Thread": "process"})
    assert _edges(g)[10] == ("1", "7", "access")
    assert g.nodes["type"].to_pylist()[7] == "process"
    assert g.meta["parse"]["unknown"] == {}


# --- equivalences -------------------------------------------------------------------------
def test_renamed_columns_and_ms_times_give_the_same_graph(graph: ProvenanceGraph) -> None:
    (g,) = edr.read(DATA / "renamed_edges.csv")  # partner found from the edge table
    _same(g, graph)
    assert g.meta["columns"] == {
        "src": "source", "dst": "target", "node_id": "node_id", "node_type": "kind",
        "node_name": "path", "node_time": "first_seen", "edge_type": "event_type",
        "edge_time": "timestamp"}
    assert g.meta["time_unit"] == {"edges": "ms", "nodes": "ms"}


@pytest.mark.parametrize(("unit", "scale"), [("s", 10**-6), ("ms", 10**-3), ("ns", 10**3)])
def test_time_units_are_detected(graph: ProvenanceGraph, unit: str, scale: float) -> None:
    nodes, edges = _frames()
    for frame in (nodes, edges):
        frame["time"] = (frame["time"] * scale).astype("int64")
    g = edr.from_tables(nodes, edges, name="small")
    assert g.meta["time_unit"] == {"edges": unit, "nodes": unit}
    _same(g, graph)


def test_float_seconds_iso_text_and_datetimes_agree(graph: ProvenanceGraph) -> None:
    nodes, edges = _frames()
    seconds = edges.assign(time=edges["time"] / 1e6)
    stamps = pd.to_datetime(edges["time"], unit="us")
    iso = edges.assign(time=stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f"))
    for variant in (seconds, iso, edges.assign(time=stamps)):
        g = edr.from_tables(nodes, variant, name="small")
        assert g.edges["ts"].equals(graph.edges["ts"])


def test_explicit_time_unit(graph: ProvenanceGraph) -> None:
    (g,) = edr.read(NODES, time_unit="us")
    _same(g, graph)
    (ns,) = edr.read(NODES, time_unit="ns")
    assert ns.edges["ts"].to_pylist()[0] == graph.edges["ts"].to_pylist()[0] // 1000
    with pytest.raises(SchemaError, match=r"column 'time' read in 'ms' runs past the year "
                                          r"2262 \(largest value 1715108840000000\)") as err:
        edr.read(NODES, time_unit="ms")
    _one_line(err)


def test_parquet_equals_csv(graph: ProvenanceGraph, tmp_path: Path) -> None:
    pq.write_table(pcsv.read_csv(NODES), tmp_path / "h_nodes.parquet")
    pq.write_table(pcsv.read_csv(EDGES), tmp_path / "h_edges.parquet")
    (g,) = edr.read(tmp_path / "h_nodes.parquet")
    _same(g, graph)
    assert g.name == "h"


def test_folder_of_plain_tables(graph: ProvenanceGraph, tmp_path: Path) -> None:
    folder = tmp_path / "host7"
    folder.mkdir()
    pq.write_table(pcsv.read_csv(NODES), folder / "nodes.parquet")
    pq.write_table(pcsv.read_csv(EDGES), folder / "edges.parquet")
    (g,) = edr.read(folder)
    _same(g, graph)
    assert g.name == "host7"


def test_edge_order_does_not_matter(graph: ProvenanceGraph) -> None:
    nodes, edges = _frames()
    rng = np.random.default_rng(0)
    shuffled = edges.iloc[rng.permutation(len(edges))]
    g = edr.from_tables(nodes.iloc[rng.permutation(len(nodes))], shuffled)
    key = lambda h: sorted(  # noqa: E731
        (*e, t) for e, t in zip(_edges(h), h.edges["ts"].to_pylist(), strict=True))
    assert key(g) == key(graph)


def test_no_time_column_numbers_the_rows() -> None:
    nodes, edges = _frames()
    g = edr.from_tables(nodes, edges.drop(columns="time"))
    assert g.meta["time"] == "order"
    assert g.edges["ts"].to_pylist() == list(range(12))


def test_string_node_ids(graph: ProvenanceGraph) -> None:
    nodes, edges = _frames()
    nodes["id"] = "n" + nodes["id"].astype(str)
    edges["src"] = "n" + edges["src"].astype(str)
    edges["dst"] = edges["dst"].map(lambda v: None if pd.isna(v) else f"n{int(v)}")
    g = edr.from_tables(nodes, edges)
    assert g.nodes["id"].to_pylist()[:2] == ["n0", "n1"]
    assert g.edges.select(["src", "dst", "type", "ts"]).equals(
        graph.edges.select(["src", "dst", "type", "ts"]))


def test_explicit_columns() -> None:
    nodes, edges = _frames()
    nodes = nodes.rename(columns={"id": "nid", "type": "cls", "name": "what", "time": "seen"})
    edges = edges.rename(columns={"src": "a", "dst": "b", "type": "rel", "time": "when"})
    with pytest.raises(SchemaError, match=r"no src column \(looked for \['src', .*found "
                                          r"\['a', 'b', 'rel', 'when', 'uuid'\]\); pass "
                                          r"src=NAME") as err:
        edr.from_tables(nodes, edges)
    _one_line(err)
    g = edr.from_tables(nodes, edges, node_id="nid", node_type="cls", node_name="what",
                        node_time="seen", src="a", dst="b", edge_type="rel",
                        edge_time="when")
    assert (g.n_nodes, g.n_edges) == (8, 12)
    with pytest.raises(SchemaError, match=r"column 'zz' \(given as src=\) is not among"):
        edr.from_tables(nodes, edges, src="zz")


# --- errors -------------------------------------------------------------------------------
def test_edges_to_unknown_nodes_raise() -> None:
    nodes, edges = _frames()
    edges.loc[[3, 5], "dst"] = [98, 99]
    with pytest.raises(SchemaError, match=r"2 edges have a dst \('dst'\) that is not a node "
                                          r"id in node table \(edge rows 3, 5; ids \[98, "
                                          r"99\]\); give every endpoint a node row") as err:
        edr.from_tables(nodes, edges)
    _one_line(err)


def test_repeated_node_ids_raise() -> None:
    nodes, edges = _frames()
    nodes.loc[7, "id"] = 3
    with pytest.raises(SchemaError, match=r"node ids must be unique; 1 ids repeat on 2 rows "
                                          r"\(e\.g\. \[3\]\); keep one row per entity") as err:
        edr.from_tables(nodes, edges)
    _one_line(err)


def test_missing_partner_and_ambiguous_folder_raise(tmp_path: Path) -> None:
    shutil.copy(NODES, tmp_path / "x_nodes.csv")
    with pytest.raises(InputError, match=r"found no edge table beside this node table "
                                         r"\(looked for x_edges\.csv\); pass edges=PATH"):
        edr.read(tmp_path / "x_nodes.csv")
    (g,) = edr.read(tmp_path / "x_nodes.csv", edges=EDGES)
    assert g.n_edges == 12
    with pytest.raises(InputError, match=r"expected one node table and one edge table.*found "
                                         r"2 pairs"):
        edr.read(DATA)
    with pytest.raises(InputError, match="no such file"):
        edr.read(tmp_path / "absent_nodes.csv")


def test_no_usable_edge_raises() -> None:
    nodes, edges = _frames()
    edges["type"] = ""
    with pytest.raises(InputError, match=r"no usable edge .*skipped \{'no_endpoint': 1, "
                                         r"'no_type': 13\}"):
        edr.from_tables(nodes, edges)


def test_bad_time_column_raises() -> None:
    nodes, edges = _frames()
    edges["time"] = "soon"
    with pytest.raises(SchemaError, match=r"column 'time' holds neither numbers nor "
                                          r"ISO-8601 times"):
        edr.from_tables(nodes, edges)
    with pytest.raises(SchemaError, match="time_unit must be 'auto' or one of"):
        edr.from_tables(*_frames(), time_unit="h")


# --- sniffing and the registry ------------------------------------------------------------
@pytest.mark.parametrize(("head", "expected"), [
    (NODES.read_bytes(), True),
    (EDGES.read_bytes(), True),
    ((DATA / "renamed_nodes.csv").read_bytes(), True),
    (b"PAR1\x15\x04", True),
    (b'1234 1700000000.123456 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3</etc/passwd>\n',
     False),
    (b'{"datum": {"com.bbn.tc.schema.avro.cdm18.Event": {}}}\n', False),
    (b'{"SourceName":"Microsoft-Windows-Sysmon","EventID":1}\n', False),
    (b"1\tprocess\t2\tfile\tread\t0\n", False),
    (b"amount,rate,label\n100,0.5,good\n", False),
    (gzip.compress(EDGES.read_bytes()), True),
])  # fmt: skip
def test_sniff(head: bytes, expected: bool) -> None:
    assert edr.sniff(head) is expected


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


@pytest.mark.usefixtures("importable_formats")
def test_auto_detects_tables(tmp_path: Path) -> None:
    assert detect_format(NODES) == "edr"
    assert detect_format(EXCERPT) == "edr"
    (g,) = read_provenance(NODES)
    assert g.n_edges == 12
    for src in (NODES, EDGES):
        (tmp_path / f"{src.name}.gz").write_bytes(gzip.compress(src.read_bytes()))
    assert detect_format(tmp_path / "small_nodes.csv.gz") == "edr"
    (gz,) = read_provenance(tmp_path / "small_nodes.csv.gz")
    _same(gz, g)


# --- the bundled Carbanak excerpt ---------------------------------------------------------
@pytest.fixture(scope="module")
def excerpt() -> ProvenanceGraph:
    (g,) = read_provenance(EXCERPT, format="edr")
    return g


def test_excerpt_counts(excerpt: ProvenanceGraph) -> None:
    s = excerpt.summary()
    assert (s["nodes"], s["edges"]) == (1174, 3610)
    assert s["node_types"] == {"file": 548, "registry": 351, "process": 243, "netflow": 32}
    assert s["edge_types"] == {"write": 1491, "load": 835, "reg_set": 625, "access": 330,
                               "start": 172, "connect": 104, "exit": 53}
    assert excerpt.name == "carbanak_excerpt"
    assert excerpt.meta["parse"]["unknown"] == {} and excerpt.meta["parse"]["skipped"] == {}


def _carbanak_invariants(g: ProvenanceGraph, raw_edges: pa.Table) -> None:
    types = np.asarray(g.nodes["type"].to_pylist(), dtype=object)
    src = g.edges["src"].to_numpy()
    etype = np.asarray(g.edges["type"].to_pylist(), dtype=object)
    # every event is done by a process
    assert (types[src] == "process").all()
    # the process that reported an event (the edge's uuid) is its source
    nuuid = np.asarray(g.nodes["uuid"].to_pylist(), dtype=object)
    euuid = np.asarray(g.edges["uuid"].to_pylist(), dtype=object)
    lineage = np.isin(etype, ["start", "exit"])
    assert (nuuid[src[~lineage]] == euuid[~lineage]).all()
    # start/exit keep the table's parent -> child direction
    ids = np.asarray(g.nodes["id"].to_pylist(), dtype=object)
    rows = np.flatnonzero(lineage)
    got = list(zip(ids[src[rows]], ids[g.edges["dst"].to_numpy()[rows]], strict=True))
    raw = raw_edges.to_pandas()
    want = raw[raw["type"].isin(["procstart", "procend"])]
    assert got == list(zip(want["src"].astype(str), want["dst"].astype(str), strict=True))


def test_excerpt_is_actor_first(excerpt: ProvenanceGraph) -> None:
    _carbanak_invariants(excerpt, pq.read_table(EXCERPT / "edges.parquet"))


# --- the full Carbanak graph --------------------------------------------------------------
@pytest.mark.needs_shared_data
def test_full_carbanak_graph(shared_data: Path) -> None:
    folder = shared_data / "provenance" / "carbanak_h3"
    (g,) = read_provenance(folder / "h3_attack_nodes.parquet")
    assert (g.n_nodes, g.n_edges) == (132_707, 663_861)
    assert g.name == "h3_attack"
    s = g.summary()
    assert s["node_types"] == {"registry": 72064, "file": 54480, "process": 4645,
                               "netflow": 1518}
    assert s["edge_types"] == {"write": 421521, "reg_set": 138195, "load": 67272,
                               "access": 16474, "connect": 12576, "start": 4329,
                               "exit": 3345, "scriptload": 149}
    assert g.meta["orient"]["turned_to_process"] == 78973 + 6288 + 67272 + 149
    assert g.meta["orient"]["turned_by_actor"] == 16474 // 2
    _carbanak_invariants(g, pq.read_table(folder / "h3_attack_edges.parquet"))


@pytest.mark.needs_shared_data
def test_filtered_carbanak_graph(shared_data: Path) -> None:
    folder = shared_data / "provenance" / "carbanak_h3"
    (g,) = edr.read(folder / "h3_attack_filtered_edges.parquet")
    assert (g.n_nodes, g.n_edges) == (115_034, 491_654)
