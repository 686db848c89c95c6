"""`riskscope review`: human review of explanation reports (draft -> approved / rejected)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from riskscope.cli._common import command, out, state

__all__ = ["app"]

app = typer.Typer(help="Review explanation reports: list drafts, show one, approve or reject.",
                  no_args_is_help=True)

_STYLE = {"draft": "yellow", "approved": "green", "rejected": "red"}


def _text(value: object) -> str:
    """A cell of a catalog frame as text; a missing value (None, NaN) is empty."""
    return value if isinstance(value, str) else ""


def _book():
    from riskscope.explain.review import ReviewBook

    return ReviewBook(state().settings().runs_dir)


@app.command("list")
@command
def list_(
    status: Annotated[str | None, typer.Option(
        "--status", help="Only reports in this state: draft, approved or rejected.")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only reports of this run.")] = None,
) -> None:
    """List reports and their review state, oldest first."""
    df = _book().items(status=status, run_id=run)
    if df.empty:
        out.print("No reports match; `riskscope explain` drafts them.")
        return
    table = Table(title="reports")
    for col in ("report id", "subject", "status", "reviewer", "decided (UTC)"):
        table.add_column(col, no_wrap=col == "report id")
    for r in df.itertuples(index=False):
        style = _STYLE.get(r.status, "")
        table.add_row(r.report_id, r.subject, f"[{style}]{r.status}[/]", _text(r.reviewer),
                      _text(r.decided_at)[:19])
    out.print(table)


@app.command("show")
@command
def show(report_id: Annotated[str, typer.Argument(help="The report id (see `review list`).")]
         ) -> None:
    """Show one report's state, its file and its review history."""
    book = _book()
    item = book.get(report_id)
    style = _STYLE.get(item.status, "")
    out.print(f"[bold]{item.report_id}[/]  [{style}]{item.status}[/]  ({item.subject})")
    out.print(f"report: {item.path}  sha256 {item.report_sha256[:16]}")
    for r in book.history(report_id).itertuples(index=False):
        who = f" by {r.reviewer}" if _text(r.reviewer) else ""
        note = f": {r.note}" if _text(r.note) else ""
        out.print(f"  {str(r.event_at)[:19]}  {r.action}{who}{note}")


def _decide(report_id: str, reviewer: str, approve: bool, note: str) -> None:
    item = _book().decide(report_id, reviewer=reviewer, approve=approve, note=note)
    out.print(f"{item.report_id}: {item.status} by {item.reviewer}.")


@app.command("approve")
@command
def approve(
    report_id: Annotated[str, typer.Argument(help="The report id.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your name (recorded).")],
    note: Annotated[str, typer.Option("--note", help="Optional comment.")] = "",
) -> None:
    """Approve a draft report (final; the report must be unchanged since drafting)."""
    _decide(report_id, reviewer, True, note)


@app.command("reject")
@command
def reject(
    report_id: Annotated[str, typer.Argument(help="The report id.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your name (recorded).")],
    note: Annotated[str, typer.Option("--note", help="Why it is rejected (required).")] = "",
) -> None:
    """Reject a draft report, saying why (final)."""
    _decide(report_id, reviewer, False, note)
