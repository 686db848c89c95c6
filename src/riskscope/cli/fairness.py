"""``riskscope fairness``: audit a credit run's decisions for group fairness."""

from __future__ import annotations

from typing import Annotated

import typer

from riskscope.cli._common import RichStageProgress, command, out, state

__all__ = ["fairness"]


@command
def fairness(
    run: Annotated[str, typer.Option(
        "--run", help="A credit run id (or a unique part of it, see `riskscope runs list`) "
        "or its folder.")],
    protected: Annotated[str | None, typer.Option(
        "--protected", help="Comma list of protected attributes: sex (from personal_status), "
        "age (cut by --age-cut) or column names of the run's data (default: sex,age).")] = None,
    age_cut: Annotated[float | None, typer.Option(
        "--age-cut", help="Age groups: younger than this vs the rest (default 25).")] = None,
    n_boot: Annotated[int | None, typer.Option(
        "--n-boot", help="Bootstrap samples for the 95% intervals (default 1000; 0: none).")
    ] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed of the bootstrap (default: the global --seed).")] = None,
) -> None:
    """Group fairness of a credit run's approve/decline decisions, with bootstrap intervals."""
    # Per group: n, approval rate, TPR, FPR, FNR; across groups: demographic-parity
    # difference, disparate-impact ratio (flag < 0.8), equalized-odds and equal-opportunity
    # differences (riskscope.explain.fairness). The help text stays one line: typer's rich
    # mode keeps a docstring's line breaks.
    from riskscope.config import resolve
    from riskscope.pipelines.fairness import FairnessConfig, run_fairness

    st = state()
    cfg = resolve(FairnessConfig, cli={"run": run, "protected": protected, "age_cut": age_cut,
                                       "n_boot": n_boot},
                  file=st.file_section("fairness"), section=None, prefix="RISKSCOPE_FAIRNESS_")
    settings = st.settings()
    if seed is not None:  # the command's own --seed wins over the global one
        settings = settings.model_copy(update={"seed": seed})
    r = run_fairness(cfg, settings, progress=RichStageProgress())
    out.print(f"Audited {r.rows:,} decisions of {r.source_run} ({r.decisions}).")
    for row in r.audit.measures.itertuples():
        if row.measure in ("disparate_impact_ratio", "equal_opportunity_difference"):
            out.print(f"  {row.attribute}: {row.measure.replace('_', ' ')} {row.value:.3f} "
                      f"[{row.low:.3f}, {row.high:.3f}] ({row.lowest} lowest, {row.highest} "
                      "highest)")
    for flag in r.audit.flags:
        out.print(f"flag: {flag}")
    out.print(f"Run recorded: {r.run_path.resolve()}")
    out.print(f"Open the report: {(r.run_path / 'report.html').resolve()}")
