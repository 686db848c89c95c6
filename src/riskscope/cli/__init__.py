"""The ``riskscope`` command line: thin typer commands over the pipelines.

Global options come before the command (``riskscope --seed 7 demo``); every command
prints errors as one ``error: ...`` line with exit code 1 (``--debug`` adds the traceback).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskscope import __version__
from riskscope.cli import apt as _apt  # noqa: F401  (registers `apt train` / `apt detect`)
from riskscope.cli import credit as _credit  # noqa: F401  (registers `credit run`)
from riskscope.cli import datasets as _datasets
from riskscope.cli import explain as _explain  # noqa: F401  (registers `explain credit|flow|alert|ask`)
from riskscope.cli import fairness as _fairness
from riskscope.cli import groups as _groups
from riskscope.cli import ids as _ids  # noqa: F401  (registers `ids run` / `ids score`)
from riskscope.cli import review as _review
from riskscope.cli import runs as _runs
from riskscope.cli._common import AppState, RichStageProgress, command, out, set_state, state

__all__ = ["app", "main"]

app = typer.Typer(
    name="riskscope",
    help="riskscope: intrusion detection, credit scoring, APT detection and grounded "
    "explanations, with every run recorded.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(_datasets.app, name="datasets")
app.add_typer(_runs.app, name="runs")
app.add_typer(_review.app, name="review")
for _name, _group in _groups.GROUPS.items():
    app.add_typer(_group, name=_name)
app.command("fairness")(_fairness.fairness)


def _version(value: bool) -> None:
    if value:
        out.print(f"riskscope {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed for every random step (env RISKSCOPE_SEED; default 42).")] = None,
    runs_dir: Annotated[Path | None, typer.Option(
        "--runs-dir",
        help="Where run folders go (env RISKSCOPE_RUNS_DIR; default ./runs).")] = None,
    shared_data: Annotated[Path | None, typer.Option(
        "--shared-data", help="The shared real-data folder (env RISKSCOPE_SHARED_DATA).")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", envvar="RISKSCOPE_CONFIG", help="TOML/YAML config file.")] = None,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show the traceback of an error.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """riskscope: risk decisions people can trust.

    Precedence of settings: command-line flag > environment variable > config file > default.
    """
    set_state(AppState(
        cli={"seed": seed, "runs_dir": runs_dir, "shared_data": shared_data},
        config_file=config,
        debug=debug,
    ))


@app.command()
@command
def demo() -> None:
    """Run every pipeline on the bundled data and print the index page to open."""
    from riskscope.pipelines.demo import run_demo

    settings = state().settings()
    index = run_demo(settings, progress=RichStageProgress())
    import orjson

    children = orjson.loads((index.parent / "manifest.json").read_bytes()).get("children", [])
    out.print(f"Demo finished: {len(children)} report(s) under {index.parent.parent.resolve()}")
    out.print(f"Open the report index: {index.resolve()}")


@app.command()
@command
def profile(
    source: Annotated[str, typer.Argument(
        help="Dataset name (see `riskscope datasets list`) or a CSV/Parquet file.")],
    label: Annotated[str | None, typer.Option(
        "--label", help="Label column (guessed from label/class/target when omitted).")] = None,
    sample_rows: Annotated[int | None, typer.Option(
        "--sample-rows", min=1, help="Profile a seeded random sample of N rows.")] = None,
) -> None:
    """Profile a table (rows, labels, missing/infinite values, constant columns) as a run."""
    from riskscope.config import resolve
    from riskscope.pipelines.profile import ProfileConfig, run_profile

    st = state()
    cfg = resolve(ProfileConfig, cli={"source": source, "label": label,
                                      "sample_rows": sample_rows},
                  file=st.file_section("profile"), section=None, prefix="RISKSCOPE_PROFILE_")
    run_dir = run_profile(cfg, st.settings(), progress=RichStageProgress())
    out.print(f"Run recorded: {run_dir.resolve()}")
    out.print(f"Open the report: {(run_dir / 'report.html').resolve()}")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="riskscope")
