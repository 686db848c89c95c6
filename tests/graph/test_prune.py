import numpy as np
import pytest
from _synth import run_graph

from riskscope.exceptions import ParameterError
from riskscope.graph.prune import GraphPruner
from riskscope.graph.schema import GraphBuilder

MS = 1_000_000


def _graph():
    b = GraphBuilder(name="g")
    sh = b.node("sh", "process", "/bin/sh")
    cat = b.node("cat", "process", "/bin/cat")
    out = b.node("out", "file", "/tmp/out")
    conf = b.node("conf", "file", "/etc/conf")        # read by cat only: private read
    shared = b.node("shared", "file", "/etc/hosts")   # read by two processes: kept
    b.edge(sh, cat, "start", 0)
    for t in range(1, 6):
        b.edge(sh, out, "write", t * MS)              # 5 repeats -> 1 edge, count 5
    b.edge(cat, conf, "read", 2 * MS)
    b.edge(cat, shared, "read", 3 * MS)
    b.edge(sh, shared, "read", 4 * MS)
    b.edge(cat, cat, "exit", 200 * MS)
    b.edge(sh, out, "close", 300 * MS)
    return b.build()


def test_rules_and_counts():
    g = _graph()
    p = GraphPruner(short_lived_ms=0, drop_private_reads=True)
    pg = p.fit_transform(g)
    rep = p.report_
    assert rep["removed"]["low_priority_events"] == 2          # exit + close
    assert rep["removed"]["private_read_object_events"] == 1   # cat -> /etc/conf
    assert rep["removed"]["duplicate_edges"] == 4
    assert set(pg.nodes["id"].to_pylist()) == {"sh", "cat", "out", "shared"}
    w = [c for t, c in zip(pg.edges["type"].to_pylist(), pg.edges["count"].to_pylist(),
                           strict=True) if t == "write"]
    assert w == [5]
    assert rep["before"]["edges"] == g.n_edges == 11 and rep["after"]["edges"] == pg.n_edges
    assert pg.meta["prune"]["edge_reduction"] == pytest.approx(1 - pg.n_edges / 11)
    pg.validate()


def test_short_lived_quiet_process_dropped_but_active_one_kept():
    b = GraphBuilder()
    sh = b.node("sh", "process", "/bin/sh")
    quiet = b.node("q", "process", "/bin/true")
    loud = b.node("l", "process", "/bin/curl")
    f = b.node("f", "file", "/etc/hosts")
    o = b.node("o", "file", "/tmp/o")
    b.edge(sh, quiet, "start", 0)
    b.edge(sh, loud, "start", 0)
    slow = b.node("s", "process", "/bin/sleep")
    b.edge(sh, slow, "start", 0)
    b.edge(quiet, f, "read", 1 * MS)
    b.edge(loud, o, "write", 2 * MS)
    b.edge(sh, f, "read", 3 * MS)
    b.edge(slow, f, "read", 3 * MS)
    b.edge(quiet, quiet, "exit", 4 * MS)   # quiet, 4 ms: dropped
    b.edge(loud, loud, "exit", 5 * MS)     # wrote a file: kept
    b.edge(slow, slow, "exit", 900 * MS)   # quiet but long-lived: kept
    g = GraphPruner(drop_private_reads=False, merge=False).fit_transform(b.build())
    assert set(g.nodes["id"].to_pylist()) == {"sh", "l", "s", "f", "o"}


def test_merge_digit_variants_of_one_owner():
    b = GraphBuilder()
    p = b.node("p", "process", "/usr/bin/ps")
    for k in range(5):
        f = b.node(f"f{k}", "file", f"/proc/{4000 + k}/stat")
        b.edge(p, f, "write", k)
    g = GraphPruner(drop_private_reads=False).fit_transform(b.build())
    assert g.n_nodes == 2 and g.nodes["merged"].to_pylist() == [1, 5]
    assert g.edges["count"].to_pylist() == [5]


@pytest.mark.parametrize("private", [False, True])
def test_pruning_is_idempotent_on_counts(private):
    g1 = GraphPruner(drop_private_reads=private).fit_transform(_graph())
    g2 = GraphPruner(drop_private_reads=private).fit_transform(g1)
    assert g2.n_edges == g1.n_edges
    assert g2.edges["count"].to_pylist() == g1.edges["count"].to_pylist()


def test_attack_nodes_and_event_types_survive_pruning():
    g, labels = run_graph(7, attack=True)
    pg = GraphPruner().fit_transform(g)
    kept = set(pg.nodes["id"].to_pylist())
    bad = set(np.asarray(g.nodes["id"].to_pylist())[labels])
    # credential files are read by two attack processes, so none is private
    assert bad <= kept
    lost = set(g.summary()["edge_types"]) - set(pg.summary()["edge_types"])
    assert lost <= {"exit", "close"}
    assert pg.n_edges < g.n_edges


def test_bad_parameters():
    with pytest.raises(ParameterError, match="short_lived_ms"):
        GraphPruner(short_lived_ms=-1).fit()
    with pytest.raises(ParameterError, match="drop_events"):
        GraphPruner(drop_events="exit").fit()


def test_recorded_attacks_keep_every_labelled_node_and_type():
    """On the bundled recorded attacks (real strace logs), default pruning keeps every
    ground-truth node (payload, its tools, the credential files they read, the archive,
    the listener's netflow) and every node and edge type except exit and close."""
    from riskscope.datasets import apt_recorded_runs
    from riskscope.pipelines.apt import load_graphs

    attacks = [str(r.log) for r in apt_recorded_runs("test") if r.attack]
    for lg in load_graphs(attacks):
        g = lg.graph
        pg = GraphPruner().fit_transform(g)
        bad = set(np.asarray(g.nodes["id"].to_pylist())[lg.labels])
        assert bad and bad <= set(pg.nodes["id"].to_pylist()), g.name
        assert set(g.summary()["node_types"]) == set(pg.summary()["node_types"])
        assert set(g.summary()["edge_types"]) - set(pg.summary()["edge_types"]) <= {
            "exit", "close"}
        assert pg.meta["prune"]["edge_reduction"] > 0.5
