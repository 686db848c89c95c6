"""`credit monitor`: PSI per score band and per feature against the saved training rows."""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskscope.cli import app
from riskscope.config import Settings
from riskscope.pipelines.credit_monitor import monitor_applicants

runner = CliRunner()


def test_training_rows_against_themselves_are_stable(credit_model: Path, credit_sample: Path,
                                                     tmp_path: Path) -> None:
    r = monitor_applicants(credit_model, credit_sample,
                           settings=Settings(runs_dir=tmp_path / "runs"))
    assert r.score.psi == pytest.approx(0.0, abs=1e-12)
    assert len(r.score.bands) == 10
    assert all(f.psi == pytest.approx(0.0, abs=1e-12) for f in r.features.values())
    assert set(r.summary["status"]) == {"stable"} and r.rows == 300
    assert r.notes == ["1 column(s) the model does not use were ignored: class"]
    run = r.run_path
    assert orjson.loads((run / "manifest.json").read_bytes())["pipeline"] == "credit-monitor"
    summary = pd.read_parquet(run / "tables" / "psi_summary.parquet")
    assert summary["kind"].tolist()[0] == "score" and len(summary) == 1 + 20
    assert (run / "tables" / "psi_bands.parquet").is_file() and (run / "psi.json").is_file()
    assert (run / "plots" / "psi.png").is_file()
    assert "population stability" in (run / "report.html").read_text().lower()


def test_a_shifted_column_is_flagged(credit_model: Path, credit_sample: Path,
                                     tmp_path: Path) -> None:
    new = pd.read_csv(credit_sample).drop(columns="class")
    new["age_years"] = new["age_years"] + 25  # an older population
    r = monitor_applicants(credit_model, new, settings=Settings(runs_dir=tmp_path / "runs"),
                           name="older applicants")
    manifest = orjson.loads((r.run_path / "manifest.json").read_bytes())
    assert manifest["parameters"]["data"] == "older applicants"  # in-memory data, named
    age = r.features["age_years"]
    assert age.psi > 0.25 and age.status == "shift"
    others = [f.psi for name, f in r.features.items() if name != "age_years"]
    assert max(others) == pytest.approx(0.0, abs=1e-12)  # unchanged columns stay at 0
    assert r.summary.iloc[1]["name"] == "age_years"  # features sorted by PSI
    html = (r.run_path / "report.html").read_text()
    assert "age_years" in html and "above 0.25" in html and "older applicants" in html


def test_cli_monitor(credit_model: Path, credit_sample: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["--runs-dir", str(tmp_path / "runs"), "credit", "monitor",
                              "--model", str(credit_model), "--data", str(credit_sample)])
    assert res.exit_code == 0, res.output
    assert "Score PSI 0.000 (stable) on 300 applicants; features: 20 stable" in res.output
    assert "Open the report:" in res.output
    pd.read_csv(credit_sample).drop(columns="age_years").to_csv(tmp_path / "n.csv", index=False)
    bad = runner.invoke(app, ["--runs-dir", str(tmp_path / "runs"), "credit", "monitor",
                              "--model", str(credit_model), "--data", str(tmp_path / "n.csv")])
    assert bad.exit_code == 1 and "'age_years'" in bad.output and "Traceback" not in bad.output
