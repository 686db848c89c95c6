"""Profile a table: load -> (sample) -> profile -> tables -> report.

The first pipeline every dataset goes through, and the data-profile section every
other pipeline reuses. Sources are a bundled or shared dataset name
(``riskscope datasets list``) or a CSV/Parquet path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from riskscope.config import Settings, seed_everything
from riskscope.io import registry
from riskscope.io.profile import profile_frame
from riskscope.io.readers import read_table
from riskscope.pipelines._stages import Stage, StageProgress, run_stages
from riskscope.report.html import Report
from riskscope.report.run import start_run
from riskscope.report.sections import add_profile_section

__all__ = ["ProfileConfig", "run_profile", "LABEL_GUESSES"]

#: Column names taken as the label when none is given (case-insensitive, first match).
LABEL_GUESSES = ("label", "class", "target", "y", "creditability", "status")


class ProfileConfig(BaseModel):
    """Settings of the profile pipeline (``[profile]`` in a config file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="Dataset name or path to a CSV/Parquet file.")
    label: str | None = Field(None, description="Label column; guessed when omitted.")
    sample_rows: int | None = Field(
        None, ge=1, description="Profile a seeded random sample of this many rows."
    )


def _guess_label(df: pd.DataFrame) -> str | None:
    lower = {str(c).strip().lower(): c for c in df.columns}
    return next((lower[g] for g in LABEL_GUESSES if g in lower), None)


def _load(state: dict[str, Any]) -> None:
    cfg: ProfileConfig = state["config"]
    settings: Settings = state["settings"]
    run = state["run"]
    path = Path(cfg.source)
    if path.exists() or path.suffix or "/" in cfg.source:
        df = read_table(path)
        info = None
        run.add_input(path)
    else:
        info = registry.get_dataset(cfg.source, shared_root=settings.shared_data)
        df = registry.load_dataset(cfg.source, shared_root=settings.shared_data)
        if info.path is not None and Path(info.path).exists():
            run.add_input(info.path)
    label = cfg.label or (info.label_column if info is not None else None) or _guess_label(df)
    state.update(frame=df, info=info, label=label, rows_loaded=len(df))


def _sample(state: dict[str, Any]) -> None:
    cfg: ProfileConfig = state["config"]
    df: pd.DataFrame = state["frame"]
    if cfg.sample_rows is not None and cfg.sample_rows < len(df):
        rng = seed_everything(state["settings"].seed)
        keep = rng.choice(len(df), size=cfg.sample_rows, replace=False)
        keep.sort()  # keep file order so the sample reads like the source
        state["frame"] = df.iloc[keep].reset_index(drop=True)


def _profile(state: dict[str, Any]) -> None:
    name = state["info"].name if state["info"] is not None else Path(state["config"].source).name
    prof = profile_frame(state["frame"], label=state["label"], name=name)
    state["profile"] = prof
    state["run"].log_metrics(prof.metrics(), rows_loaded=state["rows_loaded"])


def _tables(state: dict[str, Any]) -> None:
    run, prof = state["run"], state["profile"]
    run.write_table("profile_columns", prof.to_frame())
    counts = pd.DataFrame(
        {"label": [str(k) for k in prof.label_counts], "count": list(prof.label_counts.values())}
    )
    run.write_table("label_counts", counts)
    run.write_json("profile.json", prof.to_dict())


def _report(state: dict[str, Any]) -> None:
    run, prof, info = state["run"], state["profile"], state["info"]
    title = f"Data profile: {info.title if info is not None else prof.name}"
    rep = Report(title=title, subtitle=f"source: {state['config'].source}")
    if info is not None:
        sec = rep.section("Dataset", intro=info.description or "")
        sec.kv({"name": info.name, "origin": info.origin, "licence": info.licence,
                "citation": info.citation, "label column": info.label_column or "none"})
    if state["config"].sample_rows is not None:
        rep.section("Sampling").text(
            f"Profiled a seeded random sample of {len(state['frame']):,} of "
            f"{state['rows_loaded']:,} rows (seed {run.seed})."
        )
    add_profile_section(rep, prof)
    run.write_report(rep)


STAGES = (
    Stage("load", _load),
    Stage("sample", _sample),
    Stage("profile", _profile),
    Stage("tables", _tables),
    Stage("report", _report),
)


def run_profile(
    config: ProfileConfig,
    settings: Settings,
    *,
    progress: StageProgress | None = None,
    parent: str | None = None,
) -> Path:
    """Run the profile pipeline and return the finished run folder.

    Examples
    --------
    >>> import tempfile
    >>> from riskscope.config import Settings
    >>> s = Settings(runs_dir=tempfile.mkdtemp())
    >>> out = run_profile(ProfileConfig(source="german_credit"), s)
    >>> sorted(p.name for p in out.iterdir())[:3]
    ['manifest.json', 'plots', 'profile.json']
    """
    params = config.model_dump(mode="json")
    with start_run("profile", runs_dir=settings.runs_dir, seed=settings.seed,
                   parameters=params, parent=parent) as run:
        state: dict[str, Any] = {"config": config, "settings": settings, "run": run}
        run_stages("profile", STAGES, state, progress)
    return run.path
