import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from riskscope.exceptions import InputError, SchemaError
from riskscope.graph.schema import GraphBuilder, ProvenanceGraph


def _frames():
    nodes = pd.DataFrame({"id": ["p", "f", "n"], "type": ["process", "file", "netflow"],
                          "name": ["/bin/sh", "/etc/passwd", "10.0.0.1:443"]})
    edges = pd.DataFrame({"src": [0, 0, 0], "dst": [1, 2, 1], "type": ["read", "connect", "read"],
                          "ts": [3, 1, 2]})
    return nodes, edges


def test_builder_dedupes_ids_and_keeps_first_attributes():
    b = GraphBuilder(source="t")
    a = b.node("p1", "process", "", pid=5)
    assert b.node("p1", "process", "/bin/sh", cmdline="sh -c x", pid=9) == a
    f = b.node("f", "file", "/tmp/x")
    b.edge(a, f, "write", 10)
    g = b.build()
    assert g.nodes["name"].to_pylist() == ["/bin/sh", "/tmp/x"]  # empty name filled later
    assert g.nodes["pid"].to_pylist() == [5, None]
    assert g.meta["source"] == "t" and g.meta["parse"]["records"] == 0


@pytest.mark.parametrize("change, match", [
    (lambda n, e: (n.assign(id=["p", "p", "n"]), e), "node ids must be unique.*'p'"),
    (lambda n, e: (n, e.assign(dst=[1, 5, 1])), "1 edges have a dst outside the 3 nodes.*rows 1"),
    (lambda n, e: (n, e.assign(src=[-1, 0, 0])), "src outside"),
    (lambda n, e: (n.drop(columns="type"), e), r"missing column\(s\) \['type'\]"),
    (lambda n, e: (n.assign(type=["process", None, "file"]), e), "'type' has 1 missing"),
    (lambda n, e: (n.assign(type=["process", "", "file"]), e), "'type' has 1 empty"),
    (lambda n, e: (n, e.assign(ts=["a", "b", "c"])), "'ts' must be int64"),
])
def test_validate_reports_what_and_where(change, match):
    nodes, edges = change(*_frames())
    with pytest.raises(SchemaError, match=match):
        ProvenanceGraph.from_frames(nodes, edges)


def test_write_read_round_trip(tmp_path):
    g = ProvenanceGraph.from_frames(*_frames(), name="g", meta={"source": "x"})
    back = ProvenanceGraph.read(g.write(tmp_path / "g"))
    assert back.nodes.equals(g.nodes) and back.edges.equals(g.edges)
    assert back.name == "g" and back.meta["source"] == "x"
    with pytest.raises(InputError, match="not a saved provenance graph"):
        ProvenanceGraph.read(tmp_path)


def test_take_nodes_renumbers_and_drops_dangling_edges():
    g = ProvenanceGraph.from_frames(*_frames())
    sub = g.take_nodes(np.array([True, False, True]))
    assert sub.nodes["id"].to_pylist() == ["p", "n"]
    assert sub.edges["dst"].to_pylist() == [1] and sub.edges["type"].to_pylist() == ["connect"]
    assert sub.take_nodes(np.array([0, 1])).n_nodes == 2  # positions work too


def test_time_windows_partition_edges():
    nodes, edges = _frames()
    edges = edges.assign(ts=[0, 3 * 10**9, 7 * 10**9])
    g = ProvenanceGraph.from_frames(nodes, edges, name="h")
    ws = g.time_windows(3)
    assert [w.name for w in ws] == ["h@0", "h@1", "h@2"]
    assert sum(w.n_edges for w in ws) == g.n_edges
    assert all(w.validate()["nodes"] == 2 for w in ws)


def test_summary_counts_types():
    s = ProvenanceGraph.from_frames(*_frames()).summary()
    assert s["edge_types"] == {"read": 2, "connect": 1}
    assert s["node_types"] == {"file": 1, "netflow": 1, "process": 1}
    assert isinstance(s["bytes"], int) and s["bytes"] > 0


def test_with_node_column_adds_and_replaces():
    g = ProvenanceGraph.from_frames(*_frames())
    g2 = g.with_node_column("label", pa.array([True, False, False]))
    assert g2.nodes["label"].to_pylist() == [True, False, False]
    g3 = g2.with_node_column("label", [False, False, True])
    assert g3.nodes["label"].to_pylist() == [False, False, True]
