"""Fairness audit of a credit run, as named stages (issue 6, item 6).

find the run -> read its applicants -> protected groups (all checked before anything is
recorded) -> decide -> audit -> report.

A ``credit run`` saves its final scorecard with the approve/decline cut-off
(``model/model.json``) and the out-of-fold P(bad) of every applicant
(``tables/oof_predictions.parquet``: ``repeat``, ``row``, ``y``, ``p_bad``): predictions no
model made on a row it saw. This pipeline re-reads the run's own data with the run's
reading rules (the same file, checked by its SHA-256, or the bundled German credit) for
the protected attributes and outcomes, and audits the decisions of the first repeat's
out-of-fold predictions at the saved cut-off. A run saved before those predictions were
kept is audited on the decisions its scorecard makes for the applicants it was fitted on:
in-sample, so the error rates (TPR, FPR) are optimistic for every group alike; the
report says so.

Mapping (credit): ``y`` is 1 = bad; the favourable decision is approve and the
favourable outcome is good, so TPR = approval rate among applicants who turned out good
(equal opportunity), FPR = approval rate among those who turned out bad.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskscope.config import Settings
from riskscope.exceptions import InputError, ParameterError, RunError, SchemaError
from riskscope.explain.fairness import FairnessAudit, fairness_audit, german_protected
from riskscope.pipelines._stages import Stage, StageProgress, run_stages
from riskscope.report.run import sha256_file, start_run

__all__ = ["FairnessConfig", "FairnessResult", "run_fairness"]

_BUNDLED_GERMAN = "german_credit"
OOF_TABLE = "tables/oof_predictions.parquet"


class FairnessConfig(BaseModel):
    """Settings of ``riskscope fairness`` (``[fairness]`` in a config file).

    Examples
    --------
    >>> FairnessConfig(run="x", protected="sex, age").protected
    ('sex', 'age')
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    run: str = Field(description="A credit run id (or unique part of it) or its folder.")
    protected: tuple[str, ...] = Field(("sex", "age"), description="Protected attributes: "
                                       "sex, age, or column names of the run's data.")
    age_cut: float = Field(25.0, gt=0, description="Age groups: younger than this vs the rest.")
    n_boot: int = Field(1000, ge=0, le=100_000, description="Bootstrap samples (0: none).")
    ci: float = Field(0.95, gt=0, lt=1, description="Coverage of the bootstrap intervals.")

    @field_validator("protected", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [p.strip() for p in v.split(",")]
        v = tuple(dict.fromkeys(p for p in v if p))
        if not v:
            raise ValueError("name at least one protected attribute (sex, age or a column)")
        return v


@dataclass
class FairnessResult:
    """What ``riskscope fairness`` did: the audit, the audited run, where it was recorded."""

    audit: FairnessAudit
    source_run: str
    decisions: str
    rows: int
    run_path: Path
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- stages
def _find_run(s: dict[str, Any]) -> None:
    """The credit run's folder, manifest and saved model."""
    from riskscope.pipelines.credit_score import load_credit_model

    ref, settings = s["config"].run, s["settings"]
    path = Path(ref)
    if not path.is_dir():
        from riskscope.report.catalog import Catalog

        info = Catalog(settings.runs_dir).get(ref)
        path = Path(info["path"])
    man_path = path / "manifest.json"
    try:
        manifest = orjson.loads(man_path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        raise RunError(f"Run folder '{path}' has no readable manifest.json; pass a finished "
                       "credit run (see `riskscope runs list`).") from None
    if manifest.get("pipeline") != "credit" or manifest.get("status") != "complete":
        raise ParameterError(f"Run '{manifest.get('run_id')}' is a {manifest.get('status')} "
                             f"{manifest.get('pipeline')} run; pass a complete credit run "
                             "(see `riskscope runs list`).")
    model, model_path, _ = load_credit_model(path, settings)
    s.update(source=path, manifest=manifest, model=model)
    s["inputs"] = [(model_path, "model")]


def _read_source(data: str, target: str, bad: str, settings: Settings,
                 recorded: dict[str, str]) -> tuple[Any, Path | None]:
    from riskscope.io.credit import read_credit

    p = Path(data)
    if data == _BUNDLED_GERMAN and not p.exists():
        from riskscope.datasets import load_german_credit

        return read_credit(load_german_credit(), target=target, bad=bad), None
    if not p.is_file() and not (p.suffix or "/" in data):
        from riskscope.io import registry

        p = Path(registry.get_dataset(data, shared_root=settings.shared_data).path or data)
    if not p.is_file():
        raise InputError(f"The run's data '{data}' is no longer at '{p}'; restore it to audit "
                         "the run (the audit needs every applicant's protected attributes).")
    want = recorded.get(str(p.resolve()))
    if want is not None and sha256_file(p) != want:
        raise InputError(f"The run's data '{p}' has changed since the run (SHA-256 differs); "
                         "the audit would not describe that run's applicants: restore the file "
                         "or audit a new credit run on it.")
    return read_credit(p, target=target, bad=bad), p


def _read(s: dict[str, Any]) -> None:
    """Re-read the run's applicants exactly as the run read them."""
    man, meta = s["manifest"], s["model"].meta
    params = man.get("parameters") or {}
    recorded = {i["path"]: i["sha256"] for i in man.get("inputs") or []
                if i.get("role") == "data"}
    d, path = _read_source(str(params.get("data", _BUNDLED_GERMAN)), meta.get("target"),
                           meta.get("bad"), s["settings"], recorded)
    if path is not None:
        s["inputs"].append((path, "data"))
    rows = meta.get("rows")
    if rows is not None and rows != len(d.y):
        raise SchemaError(f"The run's data now reads as {len(d.y)} rows but the run had {rows}; "
                          "audit a new credit run on this data.")
    s["data"] = d


def _decide(s: dict[str, Any]) -> None:
    """Per applicant: P(bad) and the decision (out-of-fold if the run saved it)."""
    model, d = s["model"], s["data"]
    for path, role in s["inputs"]:
        s["run"].add_input(path, role=role)
    oof = s["source"] / OOF_TABLE
    if oof.is_file():
        table = pd.read_parquet(oof)
        if "repeat" in table:
            table = table[table["repeat"] == table["repeat"].min()]
        table = table.sort_values("row")
        if table["row"].tolist() != list(range(1, len(d.y) + 1)):
            raise SchemaError(f"'{oof}' does not hold one prediction per applicant "
                              f"(rows 1..{len(d.y)}); re-run `riskscope credit run`.")
        p_bad = table["p_bad"].to_numpy(dtype=np.float64)
        s["decisions"] = (f"out-of-fold predictions of the run ({OOF_TABLE}) at the saved "
                          f"cut-off P(bad) >= {model.cutoff.threshold:.4f}")
    else:
        p_bad = model.score_frame(d.X[model.columns])["p_bad"].to_numpy()
        s["decisions"] = (f"the run's saved scorecard on the {len(d.y):,} applicants it was "
                          f"fitted on, cut-off P(bad) >= {model.cutoff.threshold:.4f}")
        s["notes"].append("In-sample decisions: the scorecard was fitted on these applicants, "
                          "so TPR and FPR are optimistic for every group; selection rates are "
                          "what the saved model decides for them.")
    s["p_bad"] = p_bad
    s["decision"] = np.where(p_bad >= model.cutoff.threshold, "decline", "approve")


def _protect(s: dict[str, Any]) -> None:
    cfg = s["config"]
    groups, notes = german_protected(s["data"].X, cfg.protected, age_cut=cfg.age_cut)
    s["groups"] = groups
    s["notes"].extend(notes)


def _audit(s: dict[str, Any]) -> None:
    cfg, run = s["config"], s["run"]
    audit = fairness_audit(s["data"].y, s["decision"], s["groups"], y_score=1 - s["p_bad"],
                           favourable=(0, "approve"), n_boot=cfg.n_boot, seed=run.seed,
                           ci=cfg.ci)
    audit = replace(audit, notes=[*audit.notes, *s["notes"]])
    s["audit"] = audit
    run.write_json("fairness.json", {"source_run": s["manifest"]["run_id"],
                                     "decisions": s["decisions"],
                                     "mapping": {"y_true": "1 = bad, 0 = good (favourable)",
                                                 "y_pred": "approve (favourable) / decline"},
                                     **audit.to_dict()})
    run.write_table("fairness_groups", audit.groups)
    run.write_table("fairness_measures", audit.measures)
    run.log_metrics(rows=len(s["decision"]), flags=len(audit.flags),
                    approval_rate=float(np.mean(s["decision"] == "approve")),
                    **{a: {r.measure: r.value for r in audit.measures.itertuples()
                           if r.attribute == a and np.isfinite(r.value)}
                       for a in audit.attributes})


def _report(s: dict[str, Any]) -> None:
    from riskscope.report.fairness import build_fairness_report

    s["run"].write_report(build_fairness_report(
        s["audit"], source_run=s["manifest"]["run_id"], decisions=s["decisions"]))


# Checked before a run is recorded, so that a wrong run id or column leaves no failed run.
CHECKS = (
    Stage("find the credit run", _find_run),
    Stage("read its applicants", _read),
    Stage("protected groups", _protect),
)
STAGES = (
    Stage("decide", _decide),
    Stage("audit", _audit),
    Stage("report", _report),
)


def run_fairness(config: FairnessConfig, settings: Settings, *,
                 progress: StageProgress | None = None,
                 parent: str | None = None) -> FairnessResult:
    """Audit a credit run's decisions for group fairness; record it as a ``fairness`` run.

    Parameters
    ----------
    config : FairnessConfig
    settings : Settings
        ``runs_dir`` (where the credit run is looked up and this run goes) and ``seed``
        (of the bootstrap).
    progress : StageProgress, optional
    parent : str, optional

    Returns
    -------
    FairnessResult

    Raises
    ------
    RunError
        Unknown run id.
    ParameterError
        The run is not a complete credit run.
    InputError, SchemaError
        The run's data is gone or changed, or a protected attribute has no column.

    Examples
    --------
    >>> import tempfile
    >>> cfg = FairnessConfig(run="20261207T000000Z-credit", n_boot=200)
    >>> r = run_fairness(cfg, Settings(runs_dir=tempfile.mkdtemp()))  # doctest: +SKIP
    """
    state: dict[str, Any] = {"config": config, "settings": settings, "notes": []}
    run_stages("fairness checks", CHECKS, state)
    with start_run("fairness", runs_dir=settings.runs_dir, seed=settings.seed,
                   parameters=config.model_dump(mode="json"), parent=parent) as run:
        state["run"] = run
        run_stages("fairness", STAGES, state, progress)
    return FairnessResult(state["audit"], state["manifest"]["run_id"], state["decisions"],
                          len(state["decision"]), run.path, state["notes"])

