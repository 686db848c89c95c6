"""The credit pipeline end to end on a stratified sample of the bundled German credit.

What must hold: the run writes its record, CV tables and a report with the paper's tables
beside ours; nothing the evaluated models learn sees an outer test row; the same seed
gives the same numbers; bad inputs give one line and exit 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner

import riskscope.cli.credit  # noqa: F401  (registers `credit run` until cli/__init__ imports it)
from riskscope.cli import app
from riskscope.config import Settings
from riskscope.pipelines.credit import CreditConfig, run_credit
from riskscope.scorecard import WoeBinner

runner = CliRunner()

# Cheap settings: 2 outer folds x 1 repeat, a tiny forest grid, 2 inner folds.
FAST = dict(folds=2, repeats=1, inner_folds=2, rf_n_estimators=15, rf_max_features=(2, 4),
            rf_min_samples_split=(2,))


@pytest.fixture(scope="module")
def german_csv(credit_sample: Path) -> Path:
    """300 German-credit rows (70/30 kept), named columns, target 'class' good/bad
    (the shared sample of ``conftest.py``)."""
    return credit_sample


def _manifest(run_dir: Path) -> dict:
    return orjson.loads((run_dir / "manifest.json").read_bytes())


def test_run_writes_record_tables_and_report(german_csv: Path, tmp_path: Path) -> None:
    cfg = CreditConfig(data=str(german_csv), target="class",
                       models=("iv_xgb_rf", "rf", "lr_woe"), **FAST)
    out = run_credit(cfg, Settings(runs_dir=tmp_path / "runs", seed=3))
    m = _manifest(out)
    assert m["status"] == "complete"
    folds = pd.read_parquet(out / "tables" / "cv_folds.parquet")
    assert sorted(folds["model"].unique()) == ["iv_xgb_rf", "lr_woe", "rf"]
    assert len(folds) == 3 * 2
    summary = pd.read_parquet(out / "tables" / "cv_summary.parquet")
    auc = summary.query("metric == 'roc_auc'").set_index("model")["mean"]
    assert ((auc > 0.55) & (auc < 0.95)).all()
    assert (out / "ingest.json").is_file() and (out / "ttest.json").is_file()
    ttest = orjson.loads((out / "ttest.json").read_bytes())
    assert [t["metric"] for t in ttest] == ["accuracy", "roc_auc"]
    html = (out / "report.html").read_text()
    for heading in ("Information value (descriptive, whole table)", "Descriptive only",
                    "our Table 5 beside the paper", "Can the accuracy and the AUC both be true",
                    "corrected resampled t-test", "ROC curves",
                    "What IV-XGBoost-RF chose in each outer fold", "Chosen feature count",
                    "Final scorecard", "Points per attribute bin", "PDO 20"):
        assert heading.lower() in html.lower(), heading
    assert (out / "plots" / "roc.png").is_file()
    # the final scorecard: plain JSON, its points table in the record and the report
    model = orjson.loads((out / "model" / "model.json").read_bytes())
    assert model["kind"] == "riskscope-credit-model" and "cutoff" in model
    points = pd.read_parquet(out / "tables" / "scorecard_points.parquet")
    assert points.columns.tolist() == ["feature", "bin", "woe", "points"]
    assert set(points["feature"]) == set(pd.read_csv(german_csv).columns) - {"class"}
    assert not list(out.rglob("*.pkl")) and not list(out.rglob("*.joblib"))


def test_per_fold_choices_come_from_each_outer_training_fold(german_csv: Path,
                                                             tmp_path: Path) -> None:
    from sklearn.model_selection import RepeatedStratifiedKFold

    from riskscope.io.credit import read_credit
    from riskscope.pipelines.credit import make_model

    cfg = CreditConfig(data=str(german_csv), target="class", models=("iv_xgb_rf",),
                       **{**FAST, "folds": 3})
    out = run_credit(cfg, Settings(runs_dir=tmp_path / "runs", seed=5))
    choices = pd.read_parquet(out / "tables" / "cv_choices.parquet")
    folds = pd.read_parquet(out / "tables" / "cv_folds.parquet")
    assert len(choices) == len(folds) == 3  # one row per outer fold
    assert choices[["repeat", "fold"]].values.tolist() == [[0, 0], [0, 1], [0, 2]]
    assert (choices["n_features"] == choices["features"].map(len)).all()
    assert (choices["n_features"] <= choices["n_after_iv"]).all()
    assert set(choices["max_features"]) <= {2, 4} and set(choices["min_samples_split"]) == {2}
    assert np.allclose(choices["test_accuracy"], folds["accuracy"])
    # the recorded choices are those of the model fitted on that outer training fold
    d = read_credit(german_csv, target="class")
    train, _ = next(iter(RepeatedStratifiedKFold(n_splits=3, n_repeats=1, random_state=5)
                         .split(d.X, d.y)))
    est = make_model("iv_xgb_rf", cfg, d.numeric, d.categorical, 5)
    own = est.fit(d.X.iloc[train], d.y[train]).choices_
    first = choices.iloc[0]
    assert list(first["features"]) == own["features"]
    assert (first["max_features"], first["min_samples_split"]) == (own["max_features"],
                                                                   own["min_samples_split"])


def test_models_fit_binners_on_outer_training_rows_only(german_csv: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Spy on every WoeBinner.fit: during evaluation each sees only one fold's train rows."""
    from riskscope.pipelines import credit as pipeline

    seen: list[tuple[str, frozenset[int]]] = []
    stage = {"name": ""}
    real_fit = WoeBinner.fit

    def spy(self: WoeBinner, X: pd.DataFrame, y: object) -> WoeBinner:
        seen.append((stage["name"], frozenset(X.index)))
        return real_fit(self, X, y)

    monkeypatch.setattr(WoeBinner, "fit", spy)
    def named(name: str, fn):
        def wrapped(s: dict) -> None:
            stage["name"] = name
            fn(s)
        return wrapped

    wrap = {"evaluate": "evaluate", "describe (whole data)": "describe",
            "final scorecard": "final"}
    stages = tuple(pipeline.Stage(st.name, named(wrap[st.name], st.fn) if st.name in wrap
                                  else st.fn) for st in pipeline.STAGES)
    monkeypatch.setattr(pipeline, "STAGES", stages)
    cfg = CreditConfig(data=str(german_csv), target="class", models=("iv_xgb_rf", "lr_woe"),
                       **FAST)
    run_credit(cfg, Settings(runs_dir=tmp_path / "runs", seed=0))

    from sklearn.model_selection import RepeatedStratifiedKFold

    n = 300
    data = pd.read_csv(german_csv)
    y = (data["class"] == "bad").to_numpy(int)
    splits = list(RepeatedStratifiedKFold(n_splits=2, n_repeats=1, random_state=0)
                  .split(np.zeros(n), y))
    train_sets = [frozenset(tr) for tr, _ in splits]
    fits = [rows for where, rows in seen if where == "evaluate"]
    assert len(fits) >= 2 * 2  # both models, both folds
    for rows in fits:
        assert rows in train_sets, "a binner inside the evaluation saw outer test rows"
    # The descriptive stage does bin the whole table, and so does the final scorecard,
    # refitted on every row after the evaluation is done (its cut-off: see test_credit_score).
    assert any(where == "describe" and len(rows) == n for where, rows in seen)
    assert [len(rows) for where, rows in seen if where == "final"] == [n]


def test_same_seed_same_metrics(german_csv: Path, tmp_path: Path) -> None:
    cfg = CreditConfig(data=str(german_csv), target="class", models=("lr_woe", "xgboost"),
                       **FAST)
    a = run_credit(cfg, Settings(runs_dir=tmp_path / "a", seed=7))
    b = run_credit(cfg, Settings(runs_dir=tmp_path / "b", seed=7))
    fa = pd.read_parquet(a / "tables" / "cv_folds.parquet")
    fb = pd.read_parquet(b / "tables" / "cv_folds.parquet")
    pd.testing.assert_frame_equal(fa, fb)
    assert _manifest(a)["metrics"] == _manifest(b)["metrics"]


@pytest.mark.parametrize(("rows", "args", "message"), [
    ("a,b,target\n1,x,good\n2,y,good\n3,x,good\n", ["--target", "target"], "one class"),
    ("a,b,target\n1,x,good\n2,y,bad\n3,x,good\n", ["--target", "nope"], "nope"),
    ("a,b,target\n1,,good\n2,,bad\n3,,good\n", ["--target", "target"], "entirely missing"),
    ("a,b,target\n1,x,good\n2,y,bad\n3,x,maybe\n", ["--target", "target"], "distinct values"),
])
def test_cli_bad_input_one_line_exit_1(tmp_path: Path, rows: str, args: list[str],
                                       message: str) -> None:
    path = tmp_path / "loans.csv"
    path.write_text(rows)
    res = runner.invoke(app, ["--runs-dir", str(tmp_path / "runs"), "credit", "run",
                              "--data", str(path), "--models", "lr_woe", *args])
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    assert message in lines[0]
    assert "Traceback" not in res.output


def test_cli_unknown_model_is_one_line(tmp_path: Path, german_csv: Path) -> None:
    res = runner.invoke(app, ["--runs-dir", str(tmp_path / "runs"), "credit", "run",
                              "--data", str(german_csv), "--models", "lr_woe,gbm"])
    assert res.exit_code == 1
    assert "gbm" in res.output and "Traceback" not in res.output


def test_cli_run_prints_run_and_report(tmp_path: Path, german_csv: Path) -> None:
    res = runner.invoke(app, ["--runs-dir", str(tmp_path / "runs"), "credit", "run",
                              "--data", str(german_csv), "--target", "class",
                              "--models", "lr_woe", "--folds", "2", "--repeats", "1"])
    assert res.exit_code == 0, res.output
    assert "Run recorded:" in res.output and "report.html" in res.output


def test_tuned_and_ensemble_models_run_through_credit_run(german_csv: Path,
                                                          tmp_path: Path) -> None:
    new = ("lr_tuned", "xgboost_tuned", "soft_vote", "stack")
    cfg = CreditConfig(data=str(german_csv), target="class", models=new, xgb_tune_iter=2,
                       **FAST)
    out = run_credit(cfg, Settings(runs_dir=tmp_path / "runs", seed=3))
    summary = pd.read_parquet(out / "tables" / "cv_summary.parquet")
    auc = summary.query("metric == 'roc_auc'").set_index("model")["mean"]
    assert sorted(auc.index) == sorted(new) and ((auc > 0.55) & (auc < 0.95)).all()
    # what each outer fold's own search or stacking chose, one row per setting and fold
    tuning = pd.read_parquet(out / "tables" / "cv_tuning.parquet")
    assert tuning.columns.tolist() == ["model", "repeat", "fold", "parameter", "value"]
    assert set(tuning["model"]) == {"lr_tuned", "xgboost_tuned", "stack"}
    per_model = tuning.groupby("model")["parameter"].agg(set)
    assert per_model["lr_tuned"] == {"C", "inner_roc_auc"}
    assert {"max_depth", "n_estimators", "inner_roc_auc"} <= per_model["xgboost_tuned"]
    assert per_model["stack"] == {"weight_lr_woe", "weight_rf", "weight_xgboost",
                                  "weight_svm", "intercept"}
    assert (tuning.groupby(["model", "parameter"]).size() == 2).all()  # 2 outer folds
    html = (out / "report.html").read_text().lower()
    assert "what the tuned models chose in each outer fold" in html
    assert "what iv-xgboost-rf chose" not in html  # not evaluated in this run


def test_cli_runs_the_new_models(tmp_path: Path, german_csv: Path) -> None:
    res = runner.invoke(app, ["--runs-dir", str(tmp_path / "runs"), "credit", "run",
                              "--data", str(german_csv), "--target", "class",
                              "--models", "lr_tuned,soft_vote", "--folds", "2",
                              "--repeats", "1"])
    assert res.exit_code == 0, res.output
    run_dir = next((tmp_path / "runs").glob("*/manifest.json")).parent
    metrics = _manifest(run_dir)["metrics"]
    assert {"lr_tuned_roc_auc", "soft_vote_roc_auc"} <= set(metrics)
    assert "xgboost_roc_auc" not in metrics


def test_leakage_flag_on_other_tables_flags_a_leaked_column_only(tmp_path: Path) -> None:
    # not German credit: an honest AUC near 0.9 is no alarm; a column that copies the
    # outcome (and so separates it perfectly) is
    from riskscope.report.credit import OTHER_LEAKAGE_LIMIT

    rng = np.random.default_rng(0)
    n = 400
    income = rng.normal(0, 1, n)
    bad = (income + rng.normal(0, 0.45, n) < -0.5).astype(int)
    df = pd.DataFrame({"income": income, "age": rng.integers(20, 70, n),
                       "region": rng.choice(["n", "s", "e"], n), "status": bad})
    leaked = df.assign(paid_late=bad * 30 + rng.integers(0, 3, n))
    reports = {}
    for name, table in {"honest": df, "leaked": leaked}.items():
        path = tmp_path / f"{name}.csv"
        table.to_csv(path, index=False)
        cfg = CreditConfig(data=str(path), target="status", models=("lr_tuned",), **FAST)
        out = run_credit(cfg, Settings(runs_dir=tmp_path / name, seed=1))
        auc = pd.read_parquet(out / "tables" / "cv_summary.parquet").query(
            "metric == 'roc_auc'")["mean"].iloc[0]
        reports[name] = (auc, (out / "report.html").read_text())
    honest_auc, honest_html = reports["honest"]
    leaked_auc, leaked_html = reports["leaked"]
    assert 0.85 < honest_auc < OTHER_LEAKAGE_LIMIT
    assert "Suspected leakage" not in honest_html
    assert leaked_auc > OTHER_LEAKAGE_LIMIT
    assert "Suspected leakage" in leaked_html and "encodes the outcome" in leaked_html
