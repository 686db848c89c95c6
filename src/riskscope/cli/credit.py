"""``riskscope credit``: evaluate credit models honestly, score applicants, monitor stability."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskscope.cli._common import RichStageProgress, command, out, split_csv, state
from riskscope.cli.groups import GROUPS

__all__ = ["app"]

app = GROUPS["credit"]


@app.command("run")
@command
def run(
    data: Annotated[str | None, typer.Option(
        "--data", help="Credit table (CSV, whitespace text such as german.data, Parquet) or a "
        "dataset name (default: the bundled german_credit).")] = None,
    target: Annotated[str | None, typer.Option(
        "--target", help="Target column (default: the last column).")] = None,
    bad: Annotated[str | None, typer.Option(
        "--bad", help="Target value meaning bad, e.g. 2 for german.data (inferred only for "
        "good/bad and 0/1).")] = None,
    folds: Annotated[int | None, typer.Option("--folds", help="Outer CV folds (default 5).")
                     ] = None,
    repeats: Annotated[int | None, typer.Option(
        "--repeats", help="Repeats of the outer CV (default 5).")] = None,
    models: Annotated[str | None, typer.Option(
        "--models", help="Comma list of: iv_xgb_rf, rf, lr_woe, svm, mlp, xgboost, "
        "lightgbm, lr_tuned, xgboost_tuned, soft_vote, stack (default: all but the costly "
        "xgboost_tuned and stack).")] = None,
    n_jobs: Annotated[int | None, typer.Option(
        "--n-jobs", help="Outer folds in parallel (default 1; -1: all cores).")] = None,
    bad_cost: Annotated[float | None, typer.Option(
        "--bad-cost", help="Cost of approving a bad applicant relative to declining a good "
        "one, for the saved scorecard's cut-off (default 1: best accuracy; German credit's "
        "documented cost matrix says 5).")] = None,
) -> None:
    """Read a credit table, cross-validate every model, save the scorecard, write the report."""
    from riskscope.config import resolve
    from riskscope.pipelines.credit import CreditConfig, run_credit

    st = state()
    cli = {"data": data, "target": target, "bad": bad, "folds": folds, "repeats": repeats,
           "models": split_csv(models), "n_jobs": n_jobs, "bad_cost": bad_cost}
    cfg = resolve(CreditConfig, cli=cli, file=st.file_section("credit"), section=None,
                  prefix="RISKSCOPE_CREDIT_")
    run_dir = run_credit(cfg, st.settings(), progress=RichStageProgress())
    out.print(f"Run recorded: {run_dir.resolve()}")
    out.print(f"Open the report: {(run_dir / 'report.html').resolve()}")


ModelOpt = Annotated[str, typer.Option(
    "--model", help="A credit run id (see `riskscope runs list`), its folder or its "
    "model/model.json.")]


@app.command("score")
@command
def score(
    model: ModelOpt,
    data: Annotated[str, typer.Option(
        "--data", help="Applicants to score (CSV, text or Parquet) with the training "
        "columns, matched by name; extra columns are ignored.")],
    out_path: Annotated[Path, typer.Option(
        "--out", help="File to write: .csv, .csv.gz or .parquet.")],
) -> None:
    """Score applicants with a saved scorecard: P(bad), decision, score, points per feature."""
    from riskscope.pipelines.credit_score import score_applicants

    st = state()
    r = score_applicants(model, data, out_path, settings=st.settings())
    out.print(f"Scored {r.rows:,} applicants with {r.model_id}: {r.declined:,} declined at "
              f"P(bad) >= {r.threshold:.4f} (score <= {r.score_cutoff:.1f}).")
    for note in r.notes:
        out.print(f"note: {note}")
    out.print(f"Scores: {Path(out_path).resolve()}")
    out.print(f"Run recorded: {r.run_path.resolve()}")


@app.command("monitor")
@command
def monitor(
    model: ModelOpt,
    data: Annotated[str, typer.Option(
        "--data", help="New applicants (CSV, text or Parquet) to compare with the training "
        "rows; read as `credit score` reads them.")],
) -> None:
    """Population stability (PSI) of the score and every feature against the training rows."""
    from riskscope.pipelines.credit_monitor import monitor_applicants

    st = state()
    r = monitor_applicants(model, data, settings=st.settings())
    counts = r.summary.query("kind == 'feature'")["status"].value_counts()
    out.print(f"Score PSI {r.score.psi:.3f} ({r.score.status}) on {r.rows:,} applicants; "
              f"features: {counts.get('stable', 0)} stable, {counts.get('moderate', 0)} "
              f"moderate, {counts.get('shift', 0)} shift.")
    for note in r.notes:
        out.print(f"note: {note}")
    out.print(f"Run recorded: {r.run_path.resolve()}")
    out.print(f"Open the report: {(r.run_path / 'report.html').resolve()}")
