"""`riskscope runs`: the run catalog (runs/catalog.duckdb)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from riskscope.cli._common import command, out, state
from riskscope.report.run import PARTIAL_PREFIX

__all__ = ["app"]

app = typer.Typer(help="Recorded runs: list them, show one.", no_args_is_help=True)

_STATUS_STYLE = {"complete": "green", "failed": "red", "interrupted": "yellow"}


@app.command("list")
@command
def list_(
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only this pipeline.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most N runs.")] = 30,
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="Re-index every manifest.json before listing.")] = False,
) -> None:
    """List recorded runs, newest first."""
    from riskscope.report.catalog import Catalog

    runs_dir = state().settings().runs_dir
    cat = Catalog(runs_dir)
    if rebuild:
        out.print(f"Re-indexed {cat.rebuild()} run(s).")
    df = cat.list_runs(pipeline=pipeline, limit=limit)
    if df.empty:
        out.print(f"No runs recorded in {runs_dir.resolve()}; try `riskscope demo`.")
        return
    table = Table(title=f"runs in {runs_dir}")
    for col in ("run id", "pipeline", "status", "started (UTC)", "duration", "seed"):
        table.add_column(col, no_wrap=col == "run id")
    for r in df.itertuples(index=False):
        style = _STATUS_STYLE.get(r.status, "")
        table.add_row(r.run_id, r.pipeline, f"[{style}]{r.status}[/]" if style else r.status,
                      str(r.started_at)[:19], f"{r.duration_s:.1f} s", str(r.seed))
    out.print(table)
    stale = [p.name for p in runs_dir.glob(PARTIAL_PREFIX + "*")]
    if stale:
        out.print(f"{len(stale)} unfinished staging folder(s) ({stale[0]}, ...) are left from "
                  "interrupted runs; they are not runs and can be deleted.")


@app.command("show")
@command
def show(
    run_id: Annotated[str, typer.Argument(help="A run id, or a unique prefix/suffix of one.")],
) -> None:
    """Show one run: status, parameters, metrics, inputs, artifacts and its report."""
    from riskscope.report.catalog import Catalog

    info = Catalog(state().settings().runs_dir).get(run_id)
    style = _STATUS_STYLE.get(info["status"], "")
    out.print(f"[bold]{info['run_id']}[/]  [{style}]{info['status']}[/]")
    out.print(f"pipeline {info['pipeline']} | seed {info['seed']} | "
              f"started {str(info['started_at'])[:19]} UTC | {info['duration_s']:.2f} s")
    out.print(f"folder: {info['path']}")
    if info.get("error"):
        out.print(f"[red]error:[/] {info['error']}")
    if info["parameters"]:
        out.print("parameters: " + ", ".join(f"{k}={v}" for k, v in info["parameters"].items()))
    if info["metrics"]:
        mt = Table(title="metrics")
        mt.add_column("name")
        mt.add_column("value", justify="right")
        for k, v in info["metrics"].items():
            mt.add_row(k, f"{v:,.6g}")
        out.print(mt)
    for title, frame in (("inputs", info["inputs"]), ("artifacts", info["artifacts"])):
        if len(frame):
            t = Table(title=title)
            for c in frame.columns:
                t.add_column(str(c), overflow="fold")
            for row in frame.itertuples(index=False):
                t.add_row(*[str(v)[:16] if c == "sha256" else str(v)
                            for c, v in zip(frame.columns, row, strict=True)])
            out.print(t)
    report = [a for a in info["artifacts"]["path"] if a in ("report.html", "index.html")]
    if report:
        out.print(f"Open the report: {info['path']}/{report[0]}")
