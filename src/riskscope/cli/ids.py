"""``riskscope ids``: train and compare flow detectors; score new flows with a saved one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskscope.cli._common import RichStageProgress, command, out, split_csv, state
from riskscope.cli.groups import GROUPS

__all__ = ["app"]

app = GROUPS["ids"]


# Options `ids run` and `ids prep` share.
DataOpt = Annotated[str | None, typer.Option(
    "--data", help="Flow CSV/Parquet file, folder or glob, or a dataset name "
    "(default: the bundled cicids2017_excerpt).")]
SplitOpt = Annotated[str | None, typer.Option(
    "--split", help="stratified (default), day (by Timestamp) or conversation "
    "(no endpoint pair in two splits).")]
TargetOpt = Annotated[str | None, typer.Option(
    "--target", help="label (every attack label, default), group (taxonomy) or binary.")]
InfOpt = Annotated[str | None, typer.Option(
    "--inf-policy", help="nan (default; then --nan-policy applies), clip, drop or error.")]
NanOpt = Annotated[str | None, typer.Option(
    "--nan-policy", help="drop (default), zero or error.")]


@app.command("run")
@command
def run(
    data: DataOpt = None,
    split: SplitOpt = None,
    balance: Annotated[str | None, typer.Option(
        "--balance", help="Comma list of: none, class_weight, random_under, random_over, "
        "smote, smoteenn. Each is compared.")] = None,
    detectors: Annotated[str | None, typer.Option(
        "--detectors", help="Comma list of: lightgbm, xgboost, random_forest, mlp.")] = None,
    benign_only: Annotated[str | None, typer.Option(
        "--benign-only", help="autoencoder (default), isolation_forest or none.")] = None,
    target: TargetOpt = None,
    inf_policy: InfOpt = None,
    nan_policy: NanOpt = None,
) -> None:
    """Ingest flows, train and compare detectors, write the run record and report."""
    from riskscope.config import resolve
    from riskscope.pipelines.ids import IdsConfig, run_ids

    st = state()
    cli = {"data": data, "split": split, "balance": split_csv(balance),
           "detectors": split_csv(detectors), "benign_only": benign_only, "target": target,
           "inf_policy": inf_policy, "nan_policy": nan_policy}
    cfg = resolve(IdsConfig, cli=cli, file=st.file_section("ids"), section=None,
                  prefix="RISKSCOPE_IDS_")
    run_dir = run_ids(cfg, st.settings(), progress=RichStageProgress())
    out.print(f"Run recorded: {run_dir.resolve()}")
    out.print(f"Open the report: {(run_dir / 'report.html').resolve()}")


@app.command("prep")
@command
def prep(
    data: DataOpt = None,
    split: SplitOpt = None,
    balance: Annotated[str | None, typer.Option(
        "--balance", help="One of: none (default), class_weight, random_under, random_over, "
        "smote, smoteenn; applied to the training split only.")] = None,
    target: TargetOpt = None,
    floor: Annotated[int | None, typer.Option(
        "--floor", help="random_over: grow every class below this many flows to it "
        "(default 5000, the reference notebook's).")] = None,
    inf_policy: InfOpt = None,
    nan_policy: NanOpt = None,
) -> None:
    """Prepare flows without training: clean, split, prune, scale, rebalance, write Parquet."""
    from riskscope.config import resolve
    from riskscope.pipelines.ids import IdsConfig, run_ids_prep

    st = state()
    cli = {"data": data, "split": split, "balance": split_csv(balance), "target": target,
           "floor": floor, "inf_policy": inf_policy, "nan_policy": nan_policy}
    cfg = resolve(IdsConfig, cli=cli, file=st.file_section("ids"), section=None,
                  prefix="RISKSCOPE_IDS_")
    if cfg.balance == IdsConfig.model_fields["balance"].default:  # run's comparison set
        cfg = cfg.model_copy(update={"balance": ("none",)})
    if len(cfg.balance) != 1:
        from riskscope.exceptions import ParameterError

        raise ParameterError(f"--balance for `ids prep` takes one strategy; got "
                             f"{', '.join(cfg.balance)}. Compare several with `ids run`.")
    run_dir = run_ids_prep(cfg, st.settings(), progress=RichStageProgress())
    out.print(f"Prepared splits: {(run_dir / 'tables').resolve()}")
    out.print(f"Run recorded: {run_dir.resolve()}")


@app.command("score")
@command
def score(
    model: Annotated[str, typer.Option(
        "--model", help="An ids run id (see `riskscope runs list`) or its folder / model folder.")],
    data: Annotated[str, typer.Option(
        "--data", help="Flow CSV/Parquet file, folder or glob to score.")],
    out_path: Annotated[Path, typer.Option(
        "--out", help="Predictions file to write (.parquet or .csv).")],
) -> None:
    """Score new flows with a saved detector: labels, per-class probabilities, alerts."""
    from riskscope.pipelines.ids_score import score_flows

    st = state()
    result = score_flows(model, data, out_path, settings=st.settings())
    out.print(f"Scored {result.rows:,} flows with {result.model_id}: "
              f"{result.alerts:,} alert(s) at threshold {result.threshold_text}.")
    for note in result.notes:
        out.print(f"note: {note}")
    out.print(f"Predictions: {Path(out_path).resolve()}")
