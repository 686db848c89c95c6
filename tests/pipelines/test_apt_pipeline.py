import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskscope.cli import app

sys.path.insert(0, str(Path(__file__).parents[1] / "graph"))
from _synth import run_graph  # noqa: E402


def _write(folder, seeds, attack=False):
    for s in seeds:
        g, labels = run_graph(s, attack=attack)
        g = g.with_node_column("label", labels)
        g.write(folder / f"{'attack' if attack else 'benign'}-{s}")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("apt")
    _write(root / "benign", range(12))
    _write(root / "test", range(50, 53))
    _write(root / "test", range(60, 63), attack=True)
    runs = root / "runs"
    r = CliRunner().invoke(app, ["--runs-dir", str(runs), "apt", "train", "--benign",
                                 str(root / "benign")])
    assert r.exit_code == 0, r.output
    # the thin-validation warning is one plain line, not Python's warning with its source
    assert "warning: only" in r.output and "UserWarning" not in r.output
    run_dir = next(p for p in runs.iterdir() if p.name.endswith("apt-train"))
    return root, runs, run_dir


def test_train_writes_model_store_and_report(trained):
    root, runs, run_dir = trained
    for rel in ("model/model.json", "model/semantic.npy", "model/context.safetensors",
                "model/detector.txt", "embeddings.duckdb", "report.html", "tables/graphs.parquet"):
        assert (run_dir / rel).is_file(), rel
    split = pd.read_parquet(run_dir / "tables/graphs.parquet")
    assert set(split["split"]) == {"train", "val"} and split["graph"].is_unique
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["metrics"]["edges_after"] < manifest["metrics"]["edges_before"]
    assert not list(run_dir.rglob("*.pkl")) and not list(run_dir.rglob("*.joblib"))
    # 3 small validation graphs are too few for a stable node threshold: said, not hidden
    assert 0.5 <= manifest["metrics"]["node_threshold"] < 1
    report = (run_dir / "report.html").read_text()
    assert "validation nodes of known classes" in report and "fewer than 10 / node_fpr" in report
    assert "argument threshold" in report and "prediction early stopping margin" in report
    model = json.loads((run_dir / "model/model.json").read_text())
    assert model["params"]["n_jobs"] == 1 and model["params"]["node_fpr"] is None
    assert model["params"]["expand"] and model["params"]["count_weights"]
    assert "bash" in model["known_programs"]


def test_detect_finds_attacks_and_writes_outputs(trained):
    root, runs, run_dir = trained
    r = CliRunner().invoke(app, ["--runs-dir", str(runs), "apt", "detect", "--model",
                                 run_dir.name, "--data", str(root / "test")])
    assert r.exit_code == 0, r.output
    assert "Scored 6 graph(s)" in r.output
    det = sorted(p for p in runs.iterdir() if p.name.endswith("apt-detect"))[-1]
    v = pd.read_parquet(det / "tables/verdicts.parquet")
    assert v.set_index("graph")["anomalous"].to_dict() == {
        **{f"benign-{s}": False for s in range(50, 53)},
        **{f"attack-{s}": True for s in range(60, 63)}}
    alerts = pd.read_parquet(det / "tables/alerts.parquet")
    assert set(alerts["graph"]) <= {f"attack-{s}" for s in range(60, 63)}
    assert set(alerts["reason"]) <= {"unseen", "type", "provenance"}
    first = alerts.groupby("graph").head(1)
    assert (first["reason"] == "unseen").all()  # each dropped payload ranks first
    assert list(det.glob("subgraphs/*.graphml")) and list(det.glob("plots/subgraph-1.png"))
    metrics = json.loads((det / "metrics.json").read_text())
    assert metrics["graph"]["precision"] == 1.0 and metrics["graph"]["recall"] == 1.0
    assert 0 < metrics["lenient"]["precision"] <= 1


def test_train_refuses_attack_graphs(trained, tmp_path):
    root, runs, _ = trained
    r = CliRunner().invoke(app, ["--runs-dir", str(tmp_path / "r"), "apt", "train",
                                 "--benign", str(root / "test")])
    assert r.exit_code == 1
    assert "benign logs only" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("content, match", [
    (b"", "empty"),
    (bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), "not a known"),
])
def test_bad_logs_give_one_line(tmp_path, content, match):
    bad = tmp_path / "x.log"
    bad.write_bytes(content)
    r = CliRunner().invoke(app, ["--runs-dir", str(tmp_path / "r"), "apt", "train",
                                 "--benign", str(bad)])
    assert r.exit_code == 1 and match in r.output
    assert r.output.strip().count("\n") == 0 and "Traceback" not in r.output


def test_one_graph_needs_a_window(tmp_path):
    _write(tmp_path / "b", [1])
    r = CliRunner().invoke(app, ["--runs-dir", str(tmp_path / "r"), "apt", "train",
                                 "--benign", str(tmp_path / "b")])
    assert r.exit_code == 1 and "--window" in r.output


def test_bundled_recorded_pair_detects_the_drive_by(tmp_path):
    """Train on the bundled benign strace runs, detect on the bundled test runs."""
    from riskscope.datasets import apt_recorded_runs

    runs = tmp_path / "runs"
    train = [a for r in apt_recorded_runs("train") for a in ("--benign", str(r.log))]
    r = CliRunner().invoke(app, ["--runs-dir", str(runs), "--seed", "0", "apt", "train",
                                 *train])
    assert r.exit_code == 0, r.output
    model = next(p for p in runs.iterdir() if p.name.endswith("apt-train"))
    test = [a for r in apt_recorded_runs("test") for a in ("--data", str(r.log))]
    r = CliRunner().invoke(app, ["--runs-dir", str(runs), "--seed", "0", "apt", "detect",
                                 "--model", model.name, *test])
    assert r.exit_code == 0, r.output
    det = next(p for p in runs.iterdir() if p.name.endswith("apt-detect"))
    v = pd.read_parquet(det / "tables/verdicts.parquet").set_index("graph")
    ev = pd.read_parquet(det / "tables/evaluation.parquet").set_index("graph")
    drive = [g for g in v.index if "driveby" in g]
    assert v.loc[drive, "anomalous"].all()
    assert (ev.loc[drive, "true_alerts"] > 0).all()      # the payload chain is alerted
    # seven training runs for five kinds: a benign verdict can go either way (one of the
    # two validation graphs sets the graph threshold), the alert counts separate
    attack = v["attack"].astype(bool)
    assert v.loc[attack, "alerts"].min() > v.loc[~attack, "alerts"].max()
    alerts = pd.read_parquet(det / "tables/alerts.parquet")
    for g in drive:   # the dropped payload, a program never run in training, ranks first
        top = alerts[alerts["graph"] == g].iloc[0]
        assert top["reason"] == "unseen" and top["class"] == "process:new"
        assert not top["name"].startswith(("/usr/", "/bin/"))


def test_record_command_writes_a_log_that_parses(tmp_path):
    import shutil

    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    log = tmp_path / "run.log"
    r = CliRunner().invoke(app, ["apt", "record", "--out", str(log), "--", "sh", "-c",
                                 f"echo hi > {tmp_path / 'x.txt'}"])
    if r.exit_code == 1 and "ptrace" in r.output:
        pytest.skip("ptrace is not permitted here")
    assert r.exit_code == 0, r.output
    assert "exit code 0" in r.output
    from riskscope.io.provenance import read_provenance

    g = read_provenance(log)[0]
    assert str(tmp_path / "x.txt") in g.nodes["name"].to_pylist()


def test_record_without_command_is_one_line(tmp_path):
    r = CliRunner().invoke(app, ["apt", "record", "--out", str(tmp_path / "x.log")])
    assert r.exit_code == 1 and "needs a command after `--`" in r.output


def test_detect_with_unknown_model_is_one_line(tmp_path):
    r = CliRunner().invoke(app, ["--runs-dir", str(tmp_path), "apt", "detect", "--model",
                                 str(tmp_path), "--data", str(tmp_path)])
    assert r.exit_code == 1 and "holds no apt model" in r.output
