"""Stability of a saved credit model on new applicants: load -> read -> PSI -> report.

The population stability index compares the new applicants with the training rows twice:
per score band (the training score's deciles, kept in the model file) and per feature
(the scorecard binner's bins, whose training counts the model file also keeps). Each PSI
is read as < 0.10 stable, 0.10-0.25 moderate (watch it), > 0.25 shift
(:func:`riskscope.scorecard.psi.psi_status`). The check is recorded as a
``credit-monitor`` run with tables, a bar chart and a report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from riskscope.config import Settings
from riskscope.pipelines.credit_score import ignored_columns_note, load_credit_model
from riskscope.report.run import start_run
from riskscope.scorecard.psi import PSIResult, feature_psi

__all__ = ["MonitorResult", "monitor_applicants", "psi_tables"]


@dataclass
class MonitorResult:
    """PSI of the score and of every feature; where the run went."""

    score: PSIResult
    features: dict[str, PSIResult]
    model_id: str
    run_path: Path
    rows: int
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per item (the score first, then features by PSI): kind, name, psi, status."""
        return psi_tables(self.score, self.features)[0]


def psi_tables(score: PSIResult, features: dict[str, PSIResult]) -> tuple[pd.DataFrame,
                                                                          pd.DataFrame]:
    """The summary (one row per item) and the band table (one row per item and band).

    Examples
    --------
    >>> from riskscope.scorecard.psi import PSIResult
    >>> s = PSIResult(name="score", bands=["low", "high"], n_expected=[5, 5], n_actual=[5, 5])
    >>> f = {"age": PSIResult(name="age", bands=["<30", ">=30"], n_expected=[5, 5],
    ...                       n_actual=[9, 1])}
    >>> summary, bands = psi_tables(s, f)
    >>> summary[["kind", "name", "status"]].values.tolist()
    [['score', 'score', 'stable'], ['feature', 'age', 'shift']]
    >>> len(bands)
    4
    """
    rows = [{"kind": "score", "name": score.name, "psi": score.psi, "status": score.status,
             "bands": len(score.bands)}]
    feats = sorted(features.values(), key=lambda r: -r.psi)
    rows += [{"kind": "feature", "name": r.name, "psi": r.psi, "status": r.status,
              "bands": len(r.bands)} for r in feats]
    bands = pd.concat([r.to_frame().assign(kind=k, name=r.name) for k, r in
                       [("score", score), *(("feature", r) for r in feats)]], ignore_index=True)
    return pd.DataFrame(rows), bands[["kind", "name", "band", "expected_share", "actual_share",
                                      "contribution"]]


def monitor_applicants(model: str | os.PathLike[str],
                       data: str | os.PathLike[str] | pd.DataFrame, *,
                       settings: Settings | None = None,
                       parent: str | None = None, name: str | None = None) -> MonitorResult:
    """PSI of new applicants against a saved credit model's training rows, as a run.

    Parameters
    ----------
    model : str or path-like
        A credit run id, its folder, its ``model/`` folder or ``model.json``.
    data : path-like or pandas.DataFrame
        New applicants, read as ``credit score`` reads them (the target may be absent).
    settings : Settings, optional
    parent : str, optional
        Run id of a parent run (the demo).
    name : str, optional
        What to call in-memory ``data`` in the run record and report (a file is named by
        its path).

    Returns
    -------
    MonitorResult
    """
    settings = settings or Settings()
    m, path, model_id = load_credit_model(model, settings)
    X, extra, source = m.read(data, name)
    score = m.score_reference.compare(m.scorecard.credit_score(X))
    features = feature_psi(None, X, m.scorecard.binner_)
    notes = ignored_columns_note(extra)
    summary, bands = psi_tables(score, features)
    with start_run("credit-monitor", runs_dir=settings.runs_dir, seed=settings.seed,
                   parameters={"model": model_id, "data": source}, parent=parent) as run:
        if not isinstance(data, pd.DataFrame):
            run.add_input(data)
        run.add_input(path, role="model")
        run.write_table("psi_summary", summary)
        run.write_table("psi_bands", bands)
        run.write_json("psi.json", {"score": score.to_dict(),
                                    "features": {k: r.to_dict() for k, r in features.items()}})
        counts: dict[str, Any] = summary.loc[summary["kind"] == "feature",
                                             "status"].value_counts().to_dict()
        run.log_metrics(rows=len(X), score_psi=score.psi,
                        max_feature_psi=float(summary.loc[summary["kind"] == "feature",
                                                          "psi"].max()),
                        **{f"features_{k}": int(counts.get(k, 0))
                           for k in ("stable", "moderate", "shift")})
        run.extra["notes"] = notes
        from riskscope.report.credit_score import build_monitor_report

        run.write_report(build_monitor_report(score, features, summary, model=m,
                                              model_id=model_id, source=source,
                                              rows=len(X), notes=notes))
    return MonitorResult(score=score, features=features, model_id=model_id,
                         run_path=run.path, rows=len(X), notes=notes)
