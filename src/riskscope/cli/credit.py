"""``riskscope credit``: evaluate credit models honestly on any credit table."""

from __future__ import annotations

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
        "lightgbm (default: all).")] = None,
    n_jobs: Annotated[int | None, typer.Option(
        "--n-jobs", help="Outer folds in parallel (default 1; -1: all cores).")] = None,
) -> None:
    """Read a credit table, cross-validate every model, write the run record and report."""
    from riskscope.config import resolve
    from riskscope.pipelines.credit import CreditConfig, run_credit

    st = state()
    cli = {"data": data, "target": target, "bad": bad, "folds": folds, "repeats": repeats,
           "models": split_csv(models), "n_jobs": n_jobs}
    cfg = resolve(CreditConfig, cli=cli, file=st.file_section("credit"), section=None,
                  prefix="RISKSCOPE_CREDIT_")
    run_dir = run_credit(cfg, st.settings(), progress=RichStageProgress())
    out.print(f"Run recorded: {run_dir.resolve()}")
    out.print(f"Open the report: {(run_dir / 'report.html').resolve()}")
