import numpy as np
import pytest
from _synth import run_graph

from riskscope.exceptions import InputError, NotFittedError, ParameterError, SchemaError
from riskscope.graph.detector import NodeTypeDetector
from riskscope.graph.model import AptDetector
from riskscope.graph.store import EmbeddingStore
from riskscope.graph.subgraph import alert_subgraph


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    F = np.r_[rng.normal(0, 1, (80, 4)), rng.normal(5, 1, (80, 4))].astype(np.float32)
    t = np.array(["process"] * 80 + ["file"] * 80, dtype=object)
    return F, t


def test_thresholds_come_from_validation_only():
    F, t = _blobs()
    det = NodeTypeDetector(n_estimators=20, min_child_samples=5, node_fpr=0.05).fit([F], [t])
    with pytest.raises(NotFittedError, match="calibrate"):
        det.alerts(F, t)
    Fv, tv = _blobs(1)
    det.calibrate([Fv[:80], Fv[80:]], [tv[:80], tv[80:]])
    _, conf = det.score(Fv, tv)
    assert det.node_threshold_ == max(0.5, np.quantile(conf, 0.95))
    assert det.calibration_["alerts_per_graph"] and det.graph_threshold_ == max(
        det.calibration_["alerts_per_graph"])
    # a process that looks like a file is an alert; an unseen type always is
    alert, pred, conf = det.alerts(np.array([[5, 5, 5, 5], [0, 0, 0, 0]], np.float32),
                                   np.array(["process", "socket"], dtype=object))
    assert alert.tolist() == [True, True] and conf[1] == 1.0 and pred[0] == "file"


def test_detector_save_load(tmp_path):
    F, t = _blobs()
    det = NodeTypeDetector(n_estimators=10, min_child_samples=5).fit([F], [t]).calibrate([F], [t])
    det.save(tmp_path)
    back = NodeTypeDetector.load(tmp_path)
    assert np.array_equal(back.predict_proba(F), det.predict_proba(F))
    assert back.node_threshold_ == det.node_threshold_ and back.classes_ == det.classes_


def test_detector_rejects_one_type():
    F, t = _blobs()
    with pytest.raises(ParameterError, match="two types"):
        NodeTypeDetector().fit([F[:80]], [t[:80]])


def test_store_round_trip_replace_and_similar(tmp_path):
    g = run_graph(0)[0]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(g.n_nodes, 4)).astype(np.float32)
    h = rng.normal(size=(g.n_nodes, 2)).astype(np.float32)
    with EmbeddingStore(tmp_path / "e.duckdb") as st:
        st.put(g, x, h, split="train")
        st.put(g, x, h, split="train")  # replaces, does not duplicate
        assert st.count() == g.n_nodes == st.count(g.name)
    with EmbeddingStore(tmp_path / "e.duckdb", read_only=True) as st:
        ids, sx, sh = st.get(g.name)
        order = np.argsort(g.nodes["id"].to_pylist())
        assert np.array_equal(sx, x[order]) and np.array_equal(sh, h[order])
        top = st.similar(x[3], k=1)
        assert top["node_id"].iloc[0] == g.nodes["id"][3].as_py()
        assert top["similarity"].iloc[0] == pytest.approx(1.0, abs=1e-5)
        with pytest.raises(SchemaError, match="sizes"):
            st.put(g, x[:, :2], h)


def test_store_rejects_misaligned_vectors():
    g = run_graph(0)[0]
    with EmbeddingStore() as st, pytest.raises(SchemaError, match="one vector per node"):
        st.put(g, np.zeros((2, 4)), np.zeros((2, 2)))


@pytest.fixture(scope="module")
def fitted():
    train = [run_graph(s)[0] for s in range(12)]
    val = [run_graph(s)[0] for s in range(12, 16)]
    return AptDetector(w2v_epochs=3, gnn_epochs=30, n_estimators=20, seed=0).fit(train, val)


def test_apt_detector_flags_the_attack_graph_not_benign(fitted):
    benign = [fitted.score(run_graph(s)[0]) for s in range(100, 104)]
    attack = [fitted.score(run_graph(s, attack=True)[0]) for s in range(100, 104)]
    assert not any(r.anomalous for r in benign)
    assert all(r.anomalous for r in attack)
    frame = attack[0].alerts_frame()
    assert frame["confidence"].is_monotonic_decreasing
    assert (frame["class"] != frame["predicted"]).all()


def test_apt_detector_save_load_same_scores(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    back = AptDetector.load(tmp_path / "m")
    g = run_graph(200, attack=True)[0]
    a, b = fitted.score(g), back.score(g)
    assert np.array_equal(a.confidence, b.confidence) and a.anomalous == b.anomalous
    with pytest.raises(InputError, match="no apt model"):
        AptDetector.load(tmp_path)


def test_classifier_never_sees_test_graphs(fitted):
    # the model's training and validation graphs are named benign-0..15; nothing else
    names = {g.name for _, g, _, _ in fitted.fitted_}
    assert names == {f"benign-{s}" for s in range(16)}


def test_subgraph_export(fitted, tmp_path):
    r = fitted.score(run_graph(300, attack=True)[0])
    sub = alert_subgraph(r.graph, r.alert, r.confidence, predicted=r.predicted)
    assert sub.graph.nodes["alert"].to_pylist().count(True) == r.n_alerts
    import networkx as nx

    back = nx.read_graphml(sub.write_graphml(tmp_path / "s.graphml"))
    assert back.number_of_nodes() == sub.graph.n_nodes
    import json

    d = json.loads(sub.write_json(tmp_path / "s.json").read_text())
    assert len(d["edges"]) == sub.graph.n_edges
    fig = sub.plot()
    assert fig.axes[0].get_title(loc="left").startswith("Alerts and their neighbourhood")
