"""Facts of an ids flow (TreeSHAP from the booster) and of an apt alert."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskscope.config import Settings
from riskscope.datasets import load_cicids2017_excerpt
from riskscope.exceptions import SchemaError
from riskscope.explain.alert_facts import apt_alert_facts, ids_flow_facts, tree_contributions
from riskscope.io.flows import read_flows
from riskscope.pipelines.ids import IdsConfig, run_ids
from riskscope.pipelines.ids_score import load_ids_model


@pytest.fixture(scope="module")
def ids_run(tmp_path_factory: pytest.TempPathFactory):
    """A finished `ids run` (LightGBM) on 1,000 real flows, and the flows file."""
    df = load_cicids2017_excerpt()
    df = df[df["Label"].isin(["BENIGN", "DoS Hulk", "Portscan", "DDoS"])]
    df = pd.concat([g.sample(min(len(g), 250), random_state=0) for _, g in df.groupby("Label")])
    d = tmp_path_factory.mktemp("ids")
    path = d / "flows.parquet"
    df.reset_index(drop=True).to_parquet(path)
    cfg = IdsConfig(data=str(path), balance=("none",), detectors=("lightgbm",),
                    benign_only="none", held_out_families=False)
    return run_ids(cfg, Settings(runs_dir=d / "runs", seed=3)), path


@pytest.fixture(scope="module")
def ids_model(ids_run):
    run, path = ids_run
    flows = read_flows(path, inf_policy="keep", nan_policy="zero", dedup=False).frame
    return load_ids_model(run), flows


def test_tree_contributions_add_up_to_the_raw_margin(ids_model):
    model, flows = ids_model
    Z = model.preprocessor.transform(flows.iloc[:50]).to_numpy(np.float64)
    phi = tree_contributions(model.detector, Z)
    raw = np.asarray(model.detector.booster_.predict(Z, raw_score=True)).reshape(50, -1)
    assert phi.shape == (50, raw.shape[1], Z.shape[1] + 1)
    np.testing.assert_allclose(phi.sum(axis=2), raw, rtol=1e-6, atol=1e-6)


def test_flow_facts_follow_the_models_decision_and_hide_identifiers(ids_model):
    model, flows = ids_model
    pred = model.predict_frame(flows)
    attack_rows = np.flatnonzero(pred["alert"].to_numpy())
    benign_rows = np.flatnonzero(~pred["alert"].to_numpy())
    assert len(attack_rows) and len(benign_rows)
    for i in (attack_rows[0], benign_rows[0]):
        row = flows.iloc[[i]]
        t = ids_flow_facts(model, row, subject=f"flow {i}", pseudonymize=lambda s: "ip-x")
        assert t.decision.value == ("attack" if pred["alert"].iloc[i] else "benign")
        assert t["predicted_class"].value == pred["predicted"].iloc[i]
        assert t["attack_score"].value == pytest.approx(float(pred["attack_score"].iloc[i]))
        contribs = t.of_kind("contribution")
        assert 1 <= len(contribs) <= 5
        sizes = [abs(c.value) for c in contribs]
        assert sizes == sorted(sizes, reverse=True)
        raw_text = t.to_json().decode()
        for col in ("Source IP", "Destination IP"):
            if col in row.columns:
                assert str(row.iloc[0][col]) not in raw_text
        # same input, same bytes
        again = ids_flow_facts(model, row, subject=f"flow {i}", pseudonymize=lambda s: "ip-x")
        assert again.to_json() == t.to_json()
    with pytest.raises(SchemaError, match=r"explains one flow; got 2 rows"):
        ids_flow_facts(model, flows.iloc[:2], subject="x")


def test_apt_alert_facts_carry_thresholds_and_pseudonymised_names():
    alert = {"graph": "g1", "rank": 2, "node_id": "n9", "type": "netflow",
             "class": "netflow", "predicted": "file", "confidence": 0.91,
             "name": "10.0.0.5:4444"}
    t = apt_alert_facts(alert, node_threshold=0.8, graph_alerts=3, graph_threshold=1,
                        anomalous=True, model_id="m", neighbours=["/usr/bin/nc"],
                        pseudonymize=lambda s: "tok-" + str(len(s)))
    assert t.subject == "node n9 of g1"
    assert t["node_name"].value == "tok-13" and "10.0.0.5" not in t.to_json().decode()
    assert t["confidence"].value > t["threshold"].value
    assert t["n1"].value == "tok-11"


def test_every_ids_narrative_is_grounded(ids_model):
    from test_grounding import assert_grounded

    from riskscope.explain.checker import check
    from riskscope.explain.narrate import TemplateNarrator

    model, flows = ids_model
    names = set(model.preprocessor.features_)
    narrator = TemplateNarrator()
    rows = np.random.default_rng(0).choice(len(flows), 300, replace=False)
    decisions = set()
    for i in rows:
        facts = ids_flow_facts(model, flows.iloc[[i]], subject=f"flow {i}",
                               pseudonymize=lambda s: "ip-0")
        n = narrator.narrate(facts)
        assert_grounded(n, facts, names)
        assert check(n.text, facts, vocabulary=sorted(names)).ok, n.text
        decisions.add(facts.decision.value)
    assert decisions == {"attack", "benign"}


def test_explain_flow_cli_writes_pseudonymised_checked_reports(ids_run, tmp_path):
    import orjson
    from typer.testing import CliRunner

    from riskscope.cli import app

    run, path = ids_run
    runs = tmp_path / "runs"
    res = CliRunner().invoke(app, ["--runs-dir", str(runs), "explain", "flow", "--model",
                                   str(run), "--data", str(path), "--alerts", "2"])
    assert res.exit_code == 0, res.output
    assert res.output.count(": attack (text from template)") == 2
    out = next(p for p in runs.iterdir() if p.name.endswith("-explain"))
    raw = pd.read_parquet(path)
    for rep in (out / "reports").glob("*.json"):
        rec = orjson.loads(rep.read_bytes())
        text = rep.read_text() + (rep.with_suffix(".html")).read_text()
        for col in ("Src IP", "Dst IP"):
            if col in raw.columns:  # no address of the explained flow appears
                row = int(rec["source"]["row"]) - 1
                assert str(raw.iloc[row][col]) not in text
    assert (runs / ".pseudonym.key").stat().st_mode & 0o077 == 0  # owner-only key
    res = CliRunner().invoke(app, ["--runs-dir", str(runs), "explain", "flow", "--model",
                                   str(run), "--data", str(path), "--row", "99999"])
    assert res.exit_code == 1 and "Flow row 99999 not found" in res.output
