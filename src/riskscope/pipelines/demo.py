"""The demo: every pipeline that exists, on the bundled data, and one index page.

Each later capability adds its pipeline to :data:`DEMO_JOBS`; the whole demo must stay
under five minutes on two cores. A job may record several runs (credit: the model run,
then scoring and monitoring with its saved scorecard); each gets its own index entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from riskscope.config import Settings
from riskscope.datasets import BUNDLED
from riskscope.pipelines._stages import StageProgress
from riskscope.pipelines.profile import ProfileConfig, run_profile
from riskscope.report.html import write_index
from riskscope.report.run import start_run

__all__ = ["DemoJob", "DEMO_JOBS", "JobRuns", "run_demo"]


#: What a demo job's function returns: its run folder, or (title, run folder) pairs when it
#: records several runs (e.g. a model run and the runs that use the model).
JobRuns = Path | list[tuple[str, Path]]


@dataclass(frozen=True)
class DemoJob:
    """One entry of the demo: a title and a function that runs a pipeline."""

    title: str
    run: Callable[[Settings, StageProgress | None, str], JobRuns]


def _profile_job(name: str) -> DemoJob:
    def run(settings: Settings, progress: StageProgress | None, parent: str) -> Path:
        return run_profile(ProfileConfig(source=name), settings, progress=progress, parent=parent)

    return DemoJob(title=f"Data profile: {name}", run=run)


def _ids_job() -> DemoJob:
    def run(settings: Settings, progress: StageProgress | None, parent: str) -> Path:
        from riskscope.pipelines.ids import IdsConfig, run_ids

        # Every detector, and the rebalancing strategies that matter most, on the bundled
        # CICIDS2017 excerpt; SMOTE-ENN stays out to keep the demo within its time budget.
        cfg = IdsConfig(data="cicids2017_excerpt",
                        balance=("none", "class_weight", "random_over"))
        return run_ids(cfg, settings, progress=progress, parent=parent)

    return DemoJob(title="Intrusion detection: cicids2017_excerpt", run=run)


def _credit_job() -> DemoJob:
    def run(settings: Settings, progress: StageProgress | None, parent: str) -> JobRuns:
        from riskscope.datasets import load_german_credit
        from riskscope.pipelines.credit import CreditConfig, run_credit
        from riskscope.pipelines.credit_monitor import monitor_applicants
        from riskscope.pipelines.credit_score import score_applicants

        # The default models (all but the costly xgboost_tuned and stack) on bundled
        # German credit with 3 outer folds, once (the full 5x5 run: `riskscope credit run`).
        cfg = CreditConfig(folds=3, repeats=1, n_jobs=-1)
        credit = run_credit(cfg, settings, progress=progress, parent=parent)
        # Then use its saved scorecard (a few seconds): score the bundled applicants, and
        # check the stability of a younger population (age < 35) against the training rows.
        german = load_german_credit()
        scored = score_applicants(credit, german, settings=settings, parent=parent,
                                  name="german_credit (bundled)")
        young = german[german["age_years"] < 35]
        monitored = monitor_applicants(credit, young, settings=settings, parent=parent,
                                       name="german_credit, age_years < 35")
        # One denial explained (reason codes, a checked report, a review draft) and the
        # fairness audit of the run's out-of-fold decisions.
        from riskscope.pipelines.explain import explain_credit
        from riskscope.pipelines.fairness import FairnessConfig, run_fairness

        explained = explain_credit(credit, denied=1, settings=settings, parent=parent)
        fairness = run_fairness(FairnessConfig(run=str(credit), n_boot=200), settings,
                                parent=parent)
        return [("Credit scoring: german_credit", credit),
                ("Credit scoring: the german_credit applicants scored", scored.run_path),
                ("Credit stability: applicants under 35 vs training", monitored.run_path),
                ("Explained decision: the first denied applicant", explained.run_path),
                ("Fairness audit: sex and age (< 25)", fairness.run_path)]

    return DemoJob(title="Credit scoring: german_credit", run=run)


def _apt_job() -> DemoJob:
    def run(settings: Settings, progress: StageProgress | None, parent: str) -> JobRuns:
        from riskscope.datasets import apt_recorded_runs
        from riskscope.pipelines.apt import AptDetectConfig, AptTrainConfig, detect_apt, train_apt

        # Train on the bundled benign strace runs, then score the held-out runs (benign
        # and two harmless attacks); the full suite: benchmarks/apt_record.py + apt_eval.py.
        train = tuple(str(r.log) for r in apt_recorded_runs("train"))
        model = train_apt(AptTrainConfig(benign=train), settings, progress=progress,
                          parent=parent)
        test = tuple(str(r.log) for r in apt_recorded_runs("test"))
        detected, state = detect_apt(AptDetectConfig(model=str(model), data=test), settings,
                                     progress=progress, parent=parent)
        runs = [("APT detection: training on recorded benign runs", model),
                ("APT detection: recorded test runs (drive-by, reverse shell)", detected)]
        if len(state["alerts"]):  # the top alert of the most alerted graph, explained
            from riskscope.pipelines.explain import explain_alerts

            explained = explain_alerts(detected, settings=settings, parent=parent)
            runs.append(("Explained alert: the top APT alert", explained.run_path))
        return runs

    return DemoJob(title="APT detection: apt_recorded", run=run)


# Recorded logs are not a table to profile: the apt job reads them.
DEMO_JOBS: tuple[DemoJob, ...] = (
    *(_profile_job(name) for name in BUNDLED if name != "apt_recorded"),
    _ids_job(),
    _credit_job(),
    _apt_job(),
)


def _summary(manifest: dict[str, Any]) -> str:
    m = manifest.get("metrics", {})
    parts = [f"{m['rows']:,} rows" if "rows" in m else None,
             f"{m['columns']} columns" if "columns" in m else None,
             f"{m['classes']} classes" if m.get("classes") else None,
             f"best {m['best_detector']}, test macro-F1 {m['test_macro_f1']:.3f}"
             if "test_macro_f1" in m else None,
             f"{m['train_graphs']} training graphs" if "train_graphs" in m else None,
             f"{m['graphs']} graphs, {m['anomalous_graphs']} anomalous, {m['alerts']} alerts"
             if "anomalous_graphs" in m else None,
             f"{m['decisions']} decision(s) explained, drafts awaiting review"
             if "decisions" in m else None]
    return ", ".join(p for p in parts if p)


def run_demo(
    settings: Settings,
    *,
    jobs: tuple[DemoJob, ...] | None = None,
    progress: StageProgress | None = None,
) -> Path:
    """Run every demo job and return the path of the index page linking their reports.

    Examples
    --------
    >>> import tempfile
    >>> from riskscope.config import Settings
    >>> index = run_demo(Settings(runs_dir=tempfile.mkdtemp()), jobs=DEMO_JOBS[:1])
    >>> index.name, index.is_file()
    ('index.html', True)
    """
    jobs = DEMO_JOBS if jobs is None else jobs
    with start_run("demo", runs_dir=settings.runs_dir, seed=settings.seed,
                   parameters={"jobs": [j.title for j in jobs]}) as demo:
        entries = []
        runs = []
        for job in jobs:
            result = job.run(settings, progress, demo.run_id)
            runs += [(job.title, result)] if isinstance(result, Path) else list(result)
        for title, out in runs:
            manifest = orjson.loads((out / "manifest.json").read_bytes())
            entries.append({
                "title": title,
                "href": f"../{out.name}/report.html",
                "pipeline": manifest["pipeline"],
                "status": manifest["status"],
                "summary": _summary(manifest),
                "metrics": manifest.get("metrics", {}),
            })
        demo.log_metrics(runs=len(entries))
        demo.extra["children"] = [e["href"].split("/")[1] for e in entries]
        write_index(demo.path / "index.html", "riskscope demo", entries)
    return demo.path / "index.html"
