"""The ids pipeline end to end on a small slice of the bundled CICIDS2017 excerpt.

What must hold: nothing learned ever sees validation or test rows; the same seed gives
the same numbers; a saved model reloads and scores new flows; bad inputs give one line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskscope.cli import app
from riskscope.config import Settings
from riskscope.datasets import load_cicids2017_excerpt
from riskscope.io import _flow_schema as fs
from riskscope.pipelines.ids import IdsConfig, run_ids, run_ids_prep
from riskscope.pipelines.ids_score import load_ids_model, score_flows

runner = CliRunner()

# Classes big enough in the excerpt to stratify a small sample, and cheap settings.
FAST = dict(detectors=("lightgbm",), benign_only="isolation_forest", held_out_families=False)


@pytest.fixture(scope="module")
def flows_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~2,400 real flows of 6 classes in the corrected layout, as a Parquet file."""
    df = load_cicids2017_excerpt()
    keep = ["BENIGN", "DoS Hulk", "DDoS", "Portscan", "FTP-Patator", "Botnet"]
    df = df[df["Label"].isin(keep)]
    parts = [g.sample(min(len(g), 400), random_state=0) for _, g in df.groupby("Label")]
    df = pd.concat(parts)
    path = tmp_path_factory.mktemp("flows") / "flows.parquet"
    df.reset_index(drop=True).to_parquet(path)
    return path


def _manifest(run_dir: Path) -> dict:
    return orjson.loads((run_dir / "manifest.json").read_bytes())


def test_run_records_comparison_model_and_report(flows_file: Path, tmp_path: Path) -> None:
    cfg = IdsConfig(data=str(flows_file), balance=("none", "random_over"), floor=300, **FAST)
    out = run_ids(cfg, Settings(runs_dir=tmp_path / "runs"))
    m = _manifest(out)
    assert m["status"] == "complete"
    comp = pd.read_parquet(out / "tables" / "comparison.parquet")
    assert sorted(comp["balance"]) == ["none", "random_over"]
    assert comp["chosen"].sum() == 1
    # The chosen trial is the best on validation, whatever the test column says.
    assert comp.loc[comp["chosen"], "val_macro_f1"].iloc[0] == comp["val_macro_f1"].max()
    assert 0.5 < m["metrics"]["test_macro_f1"] <= 1.0
    lo, hi = m["metrics"]["test_macro_f1_ci95"]
    assert lo <= m["metrics"]["test_macro_f1"] <= hi
    for f in ("model.json", "preprocessor.json", "labels.json"):
        assert (out / "model" / f).is_file()
    html = (out / "report.html").read_text()
    for part in ("Detectors x rebalancing", "Chosen detector on the test split",
                 "data:image/png;base64", "Exact duplicates removed",
                 "Rows per class before and after", "95% bootstrap interval"):
        assert part in html
    assert not list(out.rglob("*.pkl")) and not list(out.rglob("*.joblib"))


def test_nothing_is_fitted_on_validation_or_test_rows(flows_file: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from riskscope.features import preprocess
    from riskscope.pipelines import ids

    seen: dict[str, int] = {}
    real_fit = preprocess.FlowPreprocessor.fit

    def spy_fit(self, X, y):
        seen["preprocessor"] = len(X)
        return real_fit(self, X, y)

    real_split = ids._split

    def spy_split(s):
        real_split(s)
        seen["train"] = len(s["split"].train)

    monkeypatch.setattr(preprocess.FlowPreprocessor, "fit", spy_fit)
    monkeypatch.setattr(ids, "STAGES", tuple(
        ids.Stage(st.name, spy_split) if st.name == "split" else st for st in ids.STAGES))
    import riskscope.sampling as sampling

    real_make = sampling.make_sampler

    def spy_make(name, **kw):
        sampler = real_make(name, **kw)
        real_fr = sampler.fit_resample

        def fr(X, y):
            seen["sampler"] = len(X)
            return real_fr(X, y)

        sampler.fit_resample = fr
        return sampler

    monkeypatch.setattr(sampling, "make_sampler", spy_make)
    cfg = IdsConfig(data=str(flows_file), balance=("random_over",), floor=300, **FAST)
    run_ids(cfg, Settings(runs_dir=tmp_path / "runs"))
    assert seen["preprocessor"] == seen["train"] == seen["sampler"]


def test_same_seed_same_numbers_and_reloaded_model_scores(flows_file: Path,
                                                         tmp_path: Path) -> None:
    cfg = IdsConfig(data=str(flows_file), balance=("none",), **FAST)
    a = run_ids(cfg, Settings(runs_dir=tmp_path / "a", seed=7))
    b = run_ids(cfg, Settings(runs_dir=tmp_path / "b", seed=7))
    ma, mb = _manifest(a)["metrics"], _manifest(b)["metrics"]
    assert ma == mb
    settings = Settings(runs_dir=tmp_path / "scores")
    r1 = score_flows(a, flows_file, tmp_path / "p1.parquet", settings=settings)
    r2 = score_flows(b / "model", flows_file, tmp_path / "p2.csv", settings=settings)
    p1 = pd.read_parquet(tmp_path / "p1.parquet")
    p2 = pd.read_csv(tmp_path / "p2.csv")
    n = len(pd.read_parquet(flows_file))
    assert r1.rows == r2.rows == len(p1) == n  # nothing dropped when scoring
    assert (p1["predicted"].to_numpy() == p2["predicted"].to_numpy()).all()
    np.testing.assert_allclose(p1["attack_score"], p2["attack_score"], rtol=1e-5, atol=1e-6)
    assert {"p_BENIGN", "attack_score", "alert", "anomaly_score"} <= set(p1.columns)
    # The detector saw most of these rows in training: a sanity floor, not a benchmark.
    assert r1.metrics["accuracy"] > 0.9
    model = load_ids_model(a)
    assert model.meta["detector"] == "lightgbm"


def test_a_flow_with_infinity_scores_the_same_alone_and_in_a_batch(flows_file: Path,
                                                                  tmp_path: Path) -> None:
    cfg = IdsConfig(data=str(flows_file), balance=("none",), **FAST)
    run = run_ids(cfg, Settings(runs_dir=tmp_path / "runs"))
    kept = load_ids_model(run).preprocessor.features_
    df = pd.read_parquet(flows_file).head(50).reset_index(drop=True)
    df[kept] = 0.0  # the batch's finite maximum is 0: clipping to it would give 0 ...
    df.loc[0, kept] = np.inf  # ... where this flow alone would get float32's maximum
    df.to_parquet(tmp_path / "batch.parquet")
    df.head(1).to_parquet(tmp_path / "one.parquet")
    settings = Settings(runs_dir=tmp_path / "scores")
    score_flows(run, tmp_path / "batch.parquet", tmp_path / "pb.parquet", settings=settings)
    score_flows(run, tmp_path / "one.parquet", tmp_path / "p1.parquet", settings=settings)
    batch = pd.read_parquet(tmp_path / "pb.parquet")
    one = pd.read_parquet(tmp_path / "p1.parquet")
    assert len(batch) == 50 and len(one) == 1
    for col in ("attack_score", "anomaly_score"):
        assert one[col].iloc[0] == pytest.approx(batch[col].iloc[0], rel=1e-6, abs=1e-9)


def test_prep_writes_splits_with_train_only_resampling(flows_file: Path,
                                                       tmp_path: Path) -> None:
    cfg = IdsConfig(data=str(flows_file), balance=("random_over",), floor=350, target="group")
    out = run_ids_prep(cfg, Settings(runs_dir=tmp_path / "runs"))
    tr = pd.read_parquet(out / "tables" / "train.parquet")
    va = pd.read_parquet(out / "tables" / "val.parquet")
    assert tr["y"].value_counts().min() >= 350  # every class raised to the floor
    assert va["y"].value_counts().min() < 350   # validation keeps the real mix


def _one_error(res) -> str:
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    assert "Traceback" not in res.output
    return lines[0]


def _mlcve(rows: list[dict[str, str]]) -> str:
    """MachineLearningCVE text: every feature 1, label BENIGN, unless a row says otherwise."""
    names = [h.strip() for h in fs.MACHINE_LEARNING_CVE_HEADER]
    lines = [",".join(fs.MACHINE_LEARNING_CVE_HEADER)]
    for at in rows:
        lines.append(",".join(at.get(n, "BENIGN" if n == "Label" else "1") for n in names))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("content, match", [
    ("", "empty"),
    ("Flow Duration,Total Fwd Packets\n1,2\n", "label"),
    ("user,amount,Flow Duration,Label\nann,3,1,good\n", "unknown column layout"),
    (_mlcve([{}, {"Flow Duration": "abc"}]), "not numeric"),
    (_mlcve([{"Flow Bytes/s": "NaN"}, {"Flow Bytes/s": "NaN"}]), "empty (nan or blank)"),
])
def test_cli_bad_input_is_one_line(tmp_path: Path, content: str, match: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    res = runner.invoke(app, ["--runs-dir", str(tmp_path / "runs"), "ids", "run",
                              "--data", str(bad), "--detectors", "lightgbm"])
    assert match in _one_error(res).lower()
    assert not any((tmp_path / "runs").glob("*-ids"))  # no published run


def test_cli_unknown_detector_and_missing_model(tmp_path: Path) -> None:
    res = runner.invoke(app, ["ids", "run", "--detectors", "svm"])
    assert "svm" in _one_error(res)
    res = runner.invoke(app, ["--runs-dir", str(tmp_path), "ids", "score", "--model",
                              str(tmp_path), "--data", "x.csv", "--out", "y.parquet"])
    assert "no ids model" in _one_error(res)


def test_cli_prep_writes_splits_and_refuses_two_strategies(flows_file: Path,
                                                          tmp_path: Path) -> None:
    res = runner.invoke(app, ["--runs-dir", str(tmp_path), "ids", "prep", "--data",
                              str(flows_file), "--balance", "random_over", "--floor", "300"])
    assert res.exit_code == 0, res.output
    run_dir = next(p for p in tmp_path.iterdir() if p.name.endswith("ids-prep"))
    train = pd.read_parquet(run_dir / "tables" / "train.parquet")
    assert train["y"].value_counts().min() >= 300  # every class raised to the floor
    assert _manifest(run_dir)["metrics"]["balance"] == "random_over"
    res = runner.invoke(app, ["--runs-dir", str(tmp_path / "b"), "ids", "prep", "--data",
                              str(flows_file), "--balance", "none,smote"])
    assert res.exit_code == 1
    assert "takes one strategy" in res.output and len(res.output.strip().splitlines()) == 1
