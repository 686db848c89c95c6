"""The saved credit model and `credit score`.

What must hold: the JSON model round-trips and scores exactly as the scorecard fitted in
memory on the same rows; points sum to the score; the cut-off comes from out-of-fold
predictions of the training rows and never from the scored file; new applicants are read
by column name, with a one-line error for missing columns.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskscope.cli import app
from riskscope.config import Settings
from riskscope.evaluation.credit import repeated_cv_evaluate
from riskscope.evaluation.cutoff import choose_cutoff
from riskscope.exceptions import InputError, SchemaError
from riskscope.io.credit import read_credit
from riskscope.pipelines.credit_score import CreditModel, load_credit_model, score_applicants
from riskscope.scorecard import Scorecard

runner = CliRunner()


def _json(run: Path) -> dict:
    return orjson.loads((run / "model" / "model.json").read_bytes())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def in_memory(credit_sample: Path) -> tuple:
    d = read_credit(credit_sample, target="class")
    return d, Scorecard().fit(d.X, d.y)


def test_saved_model_round_trips_and_scores_like_the_in_memory_card(
        credit_model: Path, credit_sample: Path, in_memory: tuple, tmp_path: Path) -> None:
    raw = _json(credit_model)
    model = CreditModel.from_dict(raw)
    assert orjson.loads(orjson.dumps(model.to_dict())) == raw  # JSON round trip is identical
    res = score_applicants(credit_model, credit_sample, tmp_path / "scores.parquet",
                           settings=Settings(runs_dir=tmp_path / "runs"))
    out = pd.read_parquet(tmp_path / "scores.parquet")
    d, card = in_memory
    assert out["row"].tolist() == list(range(1, len(d.y) + 1))
    np.testing.assert_allclose(out["p_bad"], card.predict_proba(d.X)[:, 1], rtol=1e-10)
    np.testing.assert_allclose(out["score"], card.credit_score(d.X), rtol=1e-10)
    points = out.filter(like="points_").rename(columns=lambda c: c.removeprefix("points_"))
    np.testing.assert_allclose(points.to_numpy(), card.points(d.X).to_numpy(), rtol=1e-10)
    expected = np.where(out["p_bad"] >= model.cutoff.threshold, "decline", "approve")
    assert (out["decision"] == expected).all() and res.declined == (expected == "decline").sum()
    assert set(out["decision"]) == {"approve", "decline"}
    assert res.notes == ["1 column(s) the model does not use were ignored: class"]
    assert not list(credit_model.rglob("*.pkl")) and not list(credit_model.rglob("*.joblib"))


@pytest.mark.parametrize("name", ["scores.csv", "scores.csv.gz", "scores.parquet"])
def test_points_sum_to_the_score(credit_model: Path, credit_sample: Path, tmp_path: Path,
                                 name: str) -> None:
    score_applicants(credit_model, credit_sample, tmp_path / name,
                     settings=Settings(runs_dir=tmp_path / "runs"))
    out = (pd.read_parquet if name.endswith("parquet") else pd.read_csv)(tmp_path / name)
    assert out.columns[:4].tolist() == ["row", "p_bad", "decision", "score"]
    np.testing.assert_allclose(out.filter(like="points_").sum(axis=1), out["score"],
                               rtol=0, atol=1e-8)
    assert not list(tmp_path.glob(".tmp-*"))  # written atomically


def test_cutoff_comes_from_training_oof_not_from_scored_data(
        credit_model: Path, credit_sample: Path, in_memory: tuple, credit_seed: int,
        tmp_path: Path) -> None:
    d, _ = in_memory
    model, _, _ = load_credit_model(credit_model)
    # lr_woe's outer CV of this run, recomputed apart: the cut-off is chosen on it alone
    cv = repeated_cv_evaluate(Scorecard(), d.X, d.y, n_splits=2, n_repeats=1,
                              random_state=credit_seed)
    assert model.cutoff == choose_cutoff(d.y, cv.oof_proba.ravel())
    assert "outer CV" in model.meta["cutoff_source"]
    # two different files scored: same cut-off, the model file untouched, and a row's
    # result does not depend on the other rows of its file
    before = _sha(credit_model / "model" / "model.json")
    frame = pd.read_csv(credit_sample)
    head = frame.head(40)
    risky = pd.concat([head, frame[frame["class"] == "bad"].assign(credit_amount=20000)])
    settings = Settings(runs_dir=tmp_path / "runs")
    a = score_applicants(credit_model, head, tmp_path / "a.csv", settings=settings)
    b = score_applicants(credit_model, risky, tmp_path / "b.csv", settings=settings)
    assert a.threshold == b.threshold == model.cutoff.threshold
    assert b.declined / b.rows > a.declined / a.rows
    assert _sha(credit_model / "model" / "model.json") == before
    sa, sb = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv").head(40)
    pd.testing.assert_frame_equal(sa, sb)


def test_bad_cost_and_the_inner_cv_when_lr_woe_was_not_evaluated(
        credit_sample: Path, in_memory: tuple, tmp_path: Path) -> None:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from riskscope.pipelines.credit import CreditConfig, run_credit

    cfg = CreditConfig(data=str(credit_sample), target="class", models=("rf",), folds=2,
                       repeats=1, inner_folds=3, bad_cost=5)
    run = run_credit(cfg, Settings(runs_dir=tmp_path / "runs", seed=1))
    model, _, _ = load_credit_model(run)
    d, _ = in_memory
    folds = StratifiedKFold(3, shuffle=True, random_state=1)
    p = cross_val_predict(Scorecard(), d.X, d.y, cv=folds, method="predict_proba")[:, 1]
    assert model.cutoff == choose_cutoff(d.y, p, bad_cost=5)
    assert model.cutoff.bad_cost == 5 and model.cutoff.threshold < 0.4
    assert "3-fold CV of the scorecard" in model.meta["cutoff_source"]


# --- the command line --------------------------------------------------------------------
def _one_error_line(res) -> str:
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    assert "Traceback" not in res.output
    return lines[0]


def test_cli_score_by_run_id(credit_model: Path, credit_sample: Path, tmp_path: Path) -> None:
    new = pd.read_csv(credit_sample).drop(columns="class").head(25)
    new.insert(0, "applicant_id", range(25))
    new.columns = [c.upper() for c in new.columns]  # names match ignoring case
    new.to_csv(tmp_path / "new.csv", index=False)
    res = runner.invoke(app, ["--runs-dir", str(credit_model.parent), "credit", "score",
                              "--model", credit_model.name, "--data", str(tmp_path / "new.csv"),
                              "--out", str(tmp_path / "out.csv")])
    assert res.exit_code == 0, res.output
    assert f"Scored 25 applicants with {credit_model.name}" in res.output
    assert "note: 1 column(s) the model does not use were ignored: APPLICANT_ID" in res.output
    assert "Run recorded:" in res.output
    assert len(pd.read_csv(tmp_path / "out.csv")) == 25


def test_cli_missing_columns_one_line_exit_1(credit_model: Path, credit_sample: Path,
                                             tmp_path: Path) -> None:
    new = pd.read_csv(credit_sample).drop(columns=["savings", "purpose"])
    new.to_csv(tmp_path / "new.csv", index=False)
    res = runner.invoke(app, ["--runs-dir", str(tmp_path / "runs"), "credit", "score",
                              "--model", str(credit_model), "--data", str(tmp_path / "new.csv"),
                              "--out", str(tmp_path / "out.csv")])
    line = _one_error_line(res)
    assert "lacks 2 column(s) the model needs: 'purpose', 'savings'" in line
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(("out", "message"), [("out.xlsx", "must end in .parquet, .csv"),
                                              ("out.csv", "holds no credit model")])
def test_cli_bad_out_or_model_one_line(credit_model: Path, credit_sample: Path,
                                       tmp_path: Path, out: str, message: str) -> None:
    model = credit_model if out.endswith("xlsx") else tmp_path
    res = runner.invoke(app, ["--runs-dir", str(tmp_path / "runs"), "credit", "score",
                              "--model", str(model), "--data", str(credit_sample),
                              "--out", str(tmp_path / out)])
    assert message in _one_error_line(res)


def test_malformed_model_json(credit_model: Path, tmp_path: Path) -> None:
    raw = _json(credit_model)
    bad = tmp_path / "model.json"
    bad.write_bytes(orjson.dumps({**raw, "kind": "riskscope-ids-model"}))
    with pytest.raises(SchemaError, match="Not a riskscope credit model"):
        load_credit_model(bad)
    del raw["cutoff"]["threshold"]
    bad.write_bytes(orjson.dumps(raw))
    with pytest.raises(SchemaError, match="Cut-off JSON is incomplete"):
        load_credit_model(bad)
    bad.write_text("{")
    with pytest.raises(InputError, match="not valid JSON"):
        load_credit_model(bad)
