"""`riskscope fairness` on a small credit run made here.

What must hold: the audit describes the run's own decisions (recomputed here from its
saved model and data, and equal to fairlearn's numbers); it is recorded as a run with
JSON, tables and a report that states the attribute caveats; out-of-fold predictions
are preferred when the run has them; bad input is one line, exit 1 and no run recorded.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskscope.cli import app
from riskscope.config import Settings
from riskscope.explain.fairness import fairness_audit, german_protected
from riskscope.io.credit import read_credit
from riskscope.pipelines.credit_score import load_credit_model
from riskscope.pipelines.fairness import OOF_TABLE, FairnessConfig, run_fairness

runner = CliRunner()


@pytest.fixture(scope="module")
def credit_run(credit_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished `credit run` (lr_woe, 2 folds x 1) on a private copy of the sample."""
    from riskscope.pipelines.credit import CreditConfig, run_credit

    home = tmp_path_factory.mktemp("fair")
    data = home / "sample.csv"
    shutil.copy(credit_sample, data)
    cfg = CreditConfig(data=str(data), target="class", models=("lr_woe",), folds=2,
                       repeats=1, inner_folds=2)
    return run_credit(cfg, Settings(runs_dir=home / "runs", seed=4))


def _invoke(runs: Path, *args: str):
    return runner.invoke(app, ["--runs-dir", str(runs), "fairness", *args])


def _one_line_error(res, match: str) -> None:
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and match in lines[0], res.output


def _decisions(run: Path) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """The decisions the audit must use: out-of-fold ones where the run saved them."""
    model, _, _ = load_credit_model(run)
    d = read_credit(model.meta["data"], target="class")
    if (run / OOF_TABLE).is_file():
        oof = pd.read_parquet(run / OOF_TABLE)
        oof = oof[oof["repeat"] == 0].sort_values("row")
        p_bad = oof["p_bad"].to_numpy()
        return d.y, np.where(p_bad >= model.cutoff.threshold, "decline", "approve"), d.X
    scores = model.score_frame(d.X[model.columns])
    return d.y, scores["decision"].to_numpy(), d.X


def test_cli_audits_the_runs_own_decisions(credit_run: Path, tmp_path: Path):
    runs = credit_run.parent
    run_id = credit_run.name
    res = _invoke(runs, "--run", run_id, "--protected", "sex,age", "--n-boot", "200",
                  "--seed", "3")
    assert res.exit_code == 0, res.output
    assert f"Audited 300 decisions of {run_id}" in res.output
    assert "sex: disparate impact ratio" in res.output and "age: equal opportunity" in res.output
    out_dir = Path(res.output.split("Run recorded: ")[1].split()[0])
    assert out_dir.parent == runs and out_dir.name.endswith("-fairness")
    saved = orjson.loads((out_dir / "fairness.json").read_bytes())
    assert saved["source_run"] == run_id and saved["seed"] == 3 and saved["n_boot"] == 200
    assert saved["favourable"] == [0, "approve"]
    assert any("mixes sex with marital status" in n for n in saved["notes"])
    assert any("younger than 25" in n for n in saved["notes"])
    # credit run saves its out-of-fold predictions: those decisions are audited
    assert not any("In-sample decisions" in n for n in saved["notes"])
    measures = pd.read_parquet(out_dir / "tables" / "fairness_measures.parquet")
    groups = pd.read_parquet(out_dir / "tables" / "fairness_groups.parquet")
    # the same numbers from the run's model and data, recomputed here
    y, decision, X = _decisions(credit_run)
    protected, _ = german_protected(X)
    again = fairness_audit(y, decision, protected, favourable=(0, "approve"), n_boot=200,
                           seed=3)
    pd.testing.assert_frame_equal(measures, again.measures)
    pd.testing.assert_frame_equal(groups.drop(columns="auc"), again.groups)
    html = (out_dir / "report.html").read_text()
    assert "mixes sex with marital status" in html and "four-fifths" in html
    manifest = orjson.loads((out_dir / "manifest.json").read_bytes())
    assert {i["role"] for i in manifest["inputs"]} == {"model", "data"}
    assert manifest["metrics"]["sex"]["disparate_impact_ratio"] == pytest.approx(
        again.value("sex", "disparate_impact_ratio"))
    # same seed, same numbers
    res2 = _invoke(runs, "--run", run_id, "--n-boot", "200", "--seed", "3")
    assert res2.exit_code == 0
    assert res2.output.splitlines()[1:5] == res.output.splitlines()[1:5]


def test_equals_fairlearn_on_the_runs_decisions(credit_run: Path, tmp_path: Path):
    fm = pytest.importorskip("fairlearn.metrics")
    r = run_fairness(FairnessConfig(run=str(credit_run), n_boot=0),
                     Settings(runs_dir=tmp_path / "runs"))
    y, decision, X = _decisions(credit_run)
    protected, _ = german_protected(X)
    good, approve = (y == 0).astype(int), (decision == "approve").astype(int)
    for attr in ("sex", "age"):
        sf = protected[attr].to_numpy()
        assert r.audit.value(attr, "demographic_parity_difference") == pytest.approx(
            fm.demographic_parity_difference(good, approve, sensitive_features=sf), abs=1e-12)
        assert r.audit.value(attr, "disparate_impact_ratio") == pytest.approx(
            fm.demographic_parity_ratio(good, approve, sensitive_features=sf), abs=1e-12)
        assert r.audit.value(attr, "equalized_odds_difference") == pytest.approx(
            fm.equalized_odds_difference(good, approve, sensitive_features=sf), abs=1e-12)
        tpr = fm.MetricFrame(metrics=fm.true_positive_rate, y_true=good, y_pred=approve,
                             sensitive_features=sf)
        assert r.audit.value(attr, "equal_opportunity_difference") == pytest.approx(
            tpr.difference(), abs=1e-12)


def test_in_sample_decisions_without_out_of_fold_predictions(credit_run: Path,
                                                              tmp_path: Path):
    run = tmp_path / credit_run.name
    shutil.copytree(credit_run, run)
    (run / OOF_TABLE).unlink()  # a run from before credit run saved them
    r = run_fairness(FairnessConfig(run=str(run), n_boot=0),
                     Settings(runs_dir=tmp_path / "runs"))
    assert any("In-sample decisions" in n for n in r.notes)
    y, decision, X = _decisions(run)
    protected, _ = german_protected(X)
    want = fairness_audit(y, decision, protected, favourable=(0, "approve"), n_boot=0)
    pd.testing.assert_frame_equal(r.audit.measures, want.measures)


def test_out_of_fold_predictions_are_preferred(credit_run: Path, tmp_path: Path):
    run = tmp_path / credit_run.name
    shutil.copytree(credit_run, run)
    y, _, X = _decisions(credit_run)
    p_bad = np.random.default_rng(0).random(len(y))
    table = pd.DataFrame({"repeat": 0, "row": np.arange(1, len(y) + 1), "p_bad": p_bad})
    table.iloc[::-1].to_parquet(run / OOF_TABLE)  # row order must not matter
    r = run_fairness(FairnessConfig(run=str(run), n_boot=0),
                     Settings(runs_dir=tmp_path / "runs"))
    assert "out-of-fold" in r.decisions and not any("In-sample" in n for n in r.notes)
    threshold = load_credit_model(run)[0].cutoff.threshold
    decision = np.where(p_bad >= threshold, "decline", "approve")
    protected, _ = german_protected(X)
    want = fairness_audit(y, decision, protected, favourable=(0, "approve"), n_boot=0)
    pd.testing.assert_frame_equal(r.audit.measures, want.measures)
    table.iloc[:-1].to_parquet(run / OOF_TABLE)
    with pytest.raises(Exception, match="does not hold one prediction per applicant"):
        run_fairness(FairnessConfig(run=str(run), n_boot=0), Settings(runs_dir=tmp_path / "r"))


def test_bad_inputs_one_line_exit_1_and_no_run(credit_run: Path, tmp_path: Path):
    runs = tmp_path / "runs"
    _one_line_error(_invoke(runs, "--run", "nope"), "No runs recorded")
    _one_line_error(_invoke(credit_run.parent, "--run", "20990101T000000Z-nope"), "not found")
    _one_line_error(_invoke(runs, "--run", str(credit_run), "--protected", "sex,religion"),
                    "Protected attribute 'religion' needs a column 'religion'")
    _one_line_error(_invoke(runs, "--run", str(credit_run), "--n-boot", "-3"), "n_boot")
    assert not runs.exists() or not any(runs.glob("*fairness*"))
    # a fairness run is not a credit run
    ok = _invoke(runs, "--run", str(credit_run), "--n-boot", "0")
    assert ok.exit_code == 0, ok.output
    done = next(runs.glob("*-fairness"))
    _one_line_error(_invoke(runs, "--run", done.name), "fairness run; pass a complete credit")


def test_changed_data_is_refused(credit_sample: Path, tmp_path: Path):
    from riskscope.pipelines.credit import CreditConfig, run_credit

    data = tmp_path / "sample.csv"
    shutil.copy(credit_sample, data)
    cfg = CreditConfig(data=str(data), target="class", models=("lr_woe",), folds=2,
                       repeats=1, inner_folds=2)
    run = run_credit(cfg, Settings(runs_dir=tmp_path / "runs", seed=1))
    data.write_text(data.read_text().replace("male : single", "male : married/widowed", 1))
    _one_line_error(_invoke(tmp_path / "runs", "--run", run.name), "has changed since the run")
    data.unlink()
    _one_line_error(_invoke(tmp_path / "runs", "--run", run.name), "is no longer at")


def test_age_cut_and_protected_from_flags_and_environment(credit_run: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    runs = tmp_path / "runs"
    res = _invoke(runs, "--run", str(credit_run), "--protected", "age", "--age-cut", "30",
                  "--n-boot", "0")
    assert res.exit_code == 0, res.output
    assert "age: disparate impact ratio" in res.output and "sex:" not in res.output
    out_dir = Path(res.output.split("Run recorded: ")[1].split()[0])
    saved = orjson.loads((out_dir / "fairness.json").read_bytes())
    assert {g["group"] for g in saved["groups"]} == {"< 30", ">= 30"}
    assert any("younger than 30" in n for n in saved["notes"])
    monkeypatch.setenv("RISKSCOPE_FAIRNESS_PROTECTED", "foreign_worker")
    res = _invoke(runs, "--run", str(credit_run), "--n-boot", "0")
    assert res.exit_code == 0, res.output
    assert "foreign_worker: disparate impact ratio" in res.output and "age:" not in res.output
