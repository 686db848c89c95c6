"""`riskscope datasets`: what data is at hand (bundled and shared) and what it looks like."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from riskscope.cli._common import command, out, state

__all__ = ["app"]

app = typer.Typer(help="Bundled and shared datasets: list them, profile one.",
                  no_args_is_help=True)


def _labels(counts: dict, top: int = 4) -> str:
    if not counts:
        return "-"
    items = list(counts.items())
    head = ", ".join(f"{k} {v:,}" for k, v in items[:top])
    more = f", +{len(items) - top} more" if len(items) > top else ""
    return f"{len(items)}: {head}{more}"


@app.command("list")
@command
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List bundled and shared datasets with rows, label counts, licence and citation."""
    from riskscope.io.registry import list_datasets

    infos = list_datasets(shared_root=state().settings().shared_data)
    if as_json:
        rows = [{k: (str(v) if k == "path" and v is not None else v)
                 for k, v in vars(i).items()} for i in infos]
        out.print_json(orjson.dumps(rows).decode())
        return
    table = Table(title="riskscope datasets", show_lines=True, expand=False)
    for col, kw in [("name", {"style": "bold", "no_wrap": True}), ("origin", {}), ("kind", {}),
                    ("rows", {"justify": "right"}), ("labels", {"max_width": 40}),
                    ("licence", {"max_width": 18}), ("citation", {"max_width": 48})]:
        table.add_column(col, **kw)
    for i in infos:
        table.add_row(i.name, i.origin, i.kind, f"{i.rows:,}" if i.rows is not None else "?",
                      _labels(i.label_counts), i.licence or "-", i.citation or "-")
    out.print(table)
    if not any(i.origin == "shared" for i in infos):
        out.print("No shared data folder found (../shared/data or --shared-data); "
                  "showing bundled datasets only.")


@app.command("show")
@command
def show(
    name: Annotated[str, typer.Argument(help="Dataset name from `riskscope datasets list`.")],
    columns: Annotated[int, typer.Option(
        "--columns", min=0, help="How many per-column rows to print (0: none).")] = 25,
) -> None:
    """Profile one dataset: rows, labels, missing/infinite values, constant columns."""
    from riskscope.io.profile import profile_frame
    from riskscope.io.registry import get_dataset, load_dataset

    shared = state().settings().shared_data
    info = get_dataset(name, shared_root=shared)
    df = load_dataset(name, shared_root=shared)
    prof = profile_frame(df, label=info.label_column, name=info.name)
    out.print(f"[bold]{info.title}[/] ({info.name}, {info.origin}, {info.kind})")
    if info.description:
        out.print(info.description)
    out.print(f"licence: {info.licence or '-'}\ncitation: {info.citation or '-'}")
    m = prof.metrics()
    out.print(
        f"rows {m['rows']:,} | columns {m['columns']} | duplicate rows {m['duplicate_rows']:,} | "
        f"missing cells {m['missing_cells']:,} | infinite cells {m['inf_cells']:,} | "
        f"constant columns {m['constant_columns']}"
    )
    if prof.label_counts:
        lt = Table(title=f"label '{prof.label}'")
        lt.add_column("label")
        lt.add_column("count", justify="right")
        lt.add_column("share", justify="right")
        total = sum(prof.label_counts.values())
        for k, v in prof.label_counts.items():
            lt.add_row(str(k), f"{v:,}", f"{100 * v / total:.2f}%")
        out.print(lt)
    if prof.constant_columns:
        out.print("constant columns: " + ", ".join(prof.constant_columns))
    if columns:
        frame = prof.to_frame().head(columns)
        ct = Table(title=f"columns (first {len(frame)} of {m['columns']})")
        for c in frame.columns:
            ct.add_column(str(c), overflow="fold")
        for row in frame.itertuples(index=False):
            ct.add_row(*["" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))
                         for v in row])
        out.print(ct)
