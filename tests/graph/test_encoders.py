import os
import subprocess
import sys

import numpy as np
import pytest
from _synth import run_graph

from riskscope.exceptions import NotFittedError, ParameterError
from riskscope.graph.context import ContextEncoder
from riskscope.graph.encode import SemanticEncoder, argument_tokens, name_tokens
from riskscope.graph.rope import rope
from riskscope.graph.schema import GraphBuilder


def test_rope_is_relative_and_norm_preserving():
    rng = np.random.default_rng(1)
    q, k = rng.normal(size=(2, 16)).astype(np.float32)
    for m, n, shift in [(0, 5, 3), (7, 2, 40), (11, 11, 100)]:
        a = rope(np.stack([q, k]), np.array([m, n]))
        b = rope(np.stack([q, k]), np.array([m + shift, n + shift]))
        assert a[0] @ a[1] == pytest.approx(b[0] @ b[1], abs=1e-4)
    r = rope(np.stack([q, q]), np.array([0, 9]))
    assert np.allclose(np.linalg.norm(r, axis=1), np.linalg.norm(q), atol=1e-5)
    assert np.allclose(r[0], q)                 # position 0: no rotation
    assert not np.allclose(r[1], q)


def test_name_tokens_mask_long_digit_runs_only():
    assert name_tokens("/proc/12345/fd/3") == ["proc", "#", "fd", "3"]
    assert name_tokens("10.0.0.7:443") == ["10", "0", "0", "7", "443"]
    assert name_tokens(None) == []


def _pair():
    return [run_graph(s)[0] for s in range(3)]


def test_order_of_events_changes_the_vector():
    def g(first, second):
        b = GraphBuilder()
        p = b.node("p", "process", "/bin/x")
        f = b.node("f", "file", "/tmp/f")
        b.edge(p, f, first, 1)
        b.edge(p, f, second, 2)
        return b.build()
    enc = SemanticEncoder(vector_size=8, epochs=3).fit([g("read", "write"), g("write", "read")])
    a, b_ = enc.transform(g("read", "write")), enc.transform(g("write", "read"))
    assert not np.allclose(a[0], b_[0])


def test_semantic_encoder_same_seed_same_vectors_in_any_process(tmp_path):
    graphs = _pair()
    for i, g in enumerate(graphs):
        g.write(tmp_path / f"g{i}")
    code = (
        "import sys, numpy as np\n"
        "from riskscope.graph.schema import ProvenanceGraph\n"
        "from riskscope.graph.encode import SemanticEncoder\n"
        f"gs = [ProvenanceGraph.read(r'{tmp_path}/g%d' % i) for i in range(3)]\n"
        "enc = SemanticEncoder(vector_size=8, epochs=2, seed=3).fit(gs)\n"
        "np.save(sys.argv[1], enc.transform(gs[0]))\n")
    outs = []
    for hashseed in ("1", "2"):
        out = tmp_path / f"v{hashseed}.npy"
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, env=env)
        outs.append(np.load(out))
    assert np.array_equal(outs[0], outs[1])


def test_semantic_encoder_save_load_and_unknown_tokens(tmp_path):
    graphs = _pair()
    enc = SemanticEncoder(vector_size=8, epochs=2).fit(graphs)
    enc.save(tmp_path)
    back = SemanticEncoder.load(tmp_path)
    assert np.array_equal(back.transform(graphs[1]), enc.transform(graphs[1]))
    b = GraphBuilder()
    b.node("z", "weird", "zzqqx")
    lone = b.build()
    assert np.array_equal(enc.transform(lone), np.zeros((1, 8), np.float32))
    with pytest.raises(NotFittedError, match="fit"):
        SemanticEncoder().transform(lone)
    with pytest.raises(ParameterError, match="even"):
        SemanticEncoder(vector_size=7).fit(graphs)


def test_unseen_arguments_share_per_node():
    b = GraphBuilder()
    b.node("p", "process", "/usr/bin/curl", cmdline="curl -s http://127.0.0.1/index.html")
    b.node("f", "file", "/etc/hosts")
    enc = SemanticEncoder(vector_size=8, epochs=1).fit([b.build()])
    t = GraphBuilder()
    t.node("same", "process", "/usr/bin/curl", cmdline="curl -s http://127.0.0.1/index.html")
    t.node("new", "process", "/usr/bin/curl", cmdline="curl -k -T loot.tgz http://127.0.0.1/")
    t.node("bare", "process", "/usr/bin/curl", cmdline="curl")
    t.node("file", "file", "/etc/hosts")
    t.node("half", "process", "/usr/bin/curl", cmdline="curl -s -Z /tmp/x/y.html")
    share = enc.unseen_arguments(t.build())
    # -k, t, loot, tgz unseen (the URL, a path, is left out); -s seen, -z not
    assert share[0] == 0 and share[1] == 1.0 and share[4] == 0.5
    assert np.isnan(share[2]) and np.isnan(share[3])  # no arguments, no command line
    assert argument_tokens('"C:\\Program Files\\a b.exe" -enc QQ c:\\x') == ["-enc", "qq"]
    with pytest.raises(NotFittedError):
        SemanticEncoder().unseen_arguments(t.build())


def _gnn_data():
    g = run_graph(5)[0]
    x = SemanticEncoder(vector_size=8, epochs=2).fit([g]).transform(g)
    return g, x


def test_context_encoder_invariant_to_edge_order_and_deterministic(tmp_path):
    g, x = _gnn_data()
    ei = g.edge_index()
    enc = ContextEncoder(hidden=8, epochs=10, seed=1).fit([x], [ei], [g.node_types()])
    perm = np.random.default_rng(0).permutation(ei.shape[1])
    h1 = enc.transform(x, ei)
    h2 = enc.transform(x, ei[:, perm])
    assert np.allclose(h1, h2, atol=1e-5)
    again = ContextEncoder(hidden=8, epochs=10, seed=1).fit([x], [ei], [g.node_types()])
    assert np.array_equal(again.transform(x, ei), h1)
    enc.save(tmp_path)
    assert np.array_equal(ContextEncoder.load(tmp_path).transform(x, ei), h1)


def test_context_encoder_learns_types():
    g, x = _gnn_data()
    enc = ContextEncoder(hidden=16, epochs=80, seed=0).fit([x], [g.edge_index()],
                                                           [g.node_types()])
    assert enc.loss_[-1] < enc.loss_[0] / 3
    p = enc.predict_proba(x, g.edge_index())
    classes = np.array(enc.classes_, dtype=object)
    assert (classes[p.argmax(1)] == g.node_types()).mean() > 0.9


def test_context_encoder_needs_two_types():
    b = GraphBuilder()
    b.edge(b.node("a", "process", "a"), b.node("b", "process", "b"), "start", 1)
    g = b.build()
    with pytest.raises(ParameterError, match="at least two types"):
        ContextEncoder(epochs=1).fit([np.zeros((2, 4), np.float32)], [g.edge_index()],
                                     [g.node_types()])


def test_count_weighted_mean_equals_plain_mean_and_duplicated_edges():
    g, x = _gnn_data()
    ei = g.edge_index()
    enc = ContextEncoder(hidden=8, epochs=10, seed=1).fit([x], [ei], [g.node_types()])
    plain = enc.transform(x, ei)
    assert np.allclose(enc.transform(x, ei, np.ones(ei.shape[1])), plain, atol=1e-5)
    counts = np.random.default_rng(2).integers(1, 5, ei.shape[1])
    weighted = enc.transform(x, ei, counts)
    repeated = enc.transform(x, np.repeat(ei, counts, axis=1))
    assert np.allclose(weighted, repeated, atol=1e-5)
    assert not np.allclose(weighted, plain, atol=1e-3)   # the weights do matter
    perm = np.random.default_rng(3).permutation(ei.shape[1])
    assert np.allclose(enc.transform(x, ei[:, perm], counts[perm]), weighted, atol=1e-5)
    with pytest.raises(ParameterError, match="one positive number per edge"):
        enc.transform(x, ei, np.zeros(ei.shape[1]))


def test_count_weighted_training_is_deterministic_and_matches_repeated_edges():
    g, x = _gnn_data()
    ei = g.edge_index()
    counts = np.random.default_rng(4).integers(1, 4, ei.shape[1])
    kw = {"hidden": 8, "epochs": 15, "seed": 1, "dropout": 0.0}
    a = ContextEncoder(**kw).fit([x], [ei], [g.node_types()], [counts])
    b = ContextEncoder(**kw).fit([x], [ei], [g.node_types()], [counts])
    assert np.array_equal(a.transform(x, ei, counts), b.transform(x, ei, counts))
    rep = ContextEncoder(**kw).fit([x], [np.repeat(ei, counts, axis=1)], [g.node_types()])
    assert np.allclose(a.loss_, rep.loss_, atol=1e-4)


def test_apt_detector_weights_gnn_by_pruning_counts():
    from riskscope.graph.model import AptDetector
    from riskscope.graph.prune import GraphPruner

    g = GraphPruner().fit_transform(run_graph(7)[0])
    det = AptDetector()
    assert np.array_equal(det._weights(g), g.edges["count"].to_numpy())
    assert (g.edges["count"].to_numpy() > 1).any()
    assert AptDetector(count_weights=False)._weights(g) is None
    assert det._weights(run_graph(7)[0]) is None   # unpruned: no counts, plain mean
