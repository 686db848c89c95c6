"""The reports of ``credit score`` and ``credit monitor`` runs.

Score: the model and cut-off used, decisions, the score distribution against the
cut-off. Monitor: PSI of the score and of every feature against the training rows, a
bar chart, the score bands and the worst features' bins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskscope.report.html import Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from riskscope.pipelines.credit_score import CreditModel
    from riskscope.scorecard.psi import PSIResult

__all__ = ["build_monitor_report", "build_score_report", "score_histogram"]

# Feature band plots shown in the monitor report (the highest PSIs); the table has all.
_WORST_SHOWN = 3


def score_histogram(scores: pd.DataFrame, score_cutoff: float) -> Figure:
    """Histogram of scores split by decision, with the cut-off as a line.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscope.report.credit_score import score_histogram
    >>> df = pd.DataFrame({"score": [500.0, 560, 620], "decision": ["decline", "approve",
    ...                                                              "approve"]})
    >>> score_histogram(df, 530).axes[0].get_xlabel()
    'score (higher = safer)'
    """
    from riskscope.plotting import STYLE, figure, set_title

    fig, ax = figure(STYLE["width"], 3.4)
    edges = np.histogram_bin_edges(scores["score"], bins=30)
    for decision, colour in (("approve", STYLE["primary"]), ("decline", STYLE["secondary"])):
        part = scores.loc[scores["decision"] == decision, "score"]
        ax.hist(part, bins=edges, color=colour, alpha=0.85, label=f"{decision} ({len(part):,})")
    ax.axvline(score_cutoff, color=STYLE["text"], linestyle="--", linewidth=1,
               label=f"cut-off {score_cutoff:.1f}")
    ax.set_xlabel("score (higher = safer)", fontsize=STYLE["font_size"])
    ax.set_ylabel("applicants", fontsize=STYLE["font_size"])
    ax.legend(fontsize=STYLE["font_size"])
    set_title(ax, "Scores of the applicants")
    return fig


def _model_kv(m: CreditModel, model_id: str) -> dict[str, Any]:
    card, c = m.scorecard, m.cutoff
    return {"model": f"{model_id} (WOE scorecard on {len(m.columns)} columns)",
            "scaling": f"PDO {card.pdo:g}, base odds {card.base_odds:g}:1 at score "
                       f"{card.base_score:g}",
            "cut-off": f"decline when P(bad) >= {c.threshold:.4f}, i.e. score <= "
                       f"{m.score_cutoff:.1f}",
            "cut-off chosen": f"least expected cost at bad:good cost {c.bad_cost:g}:1 on "
                              f"{c.n:,} out-of-fold predictions of the training rows "
                              f"({m.meta.get('cutoff_source', 'inner CV')})"}


def build_score_report(m: CreditModel, scores: pd.DataFrame, *, model_id: str, source: str,
                       notes: list[str]) -> Report:
    """Report of a ``credit score`` run."""
    rep = Report(title="Credit scoring: new applicants", subtitle=f"data: {source}")
    n = len(scores)
    declined = int((scores["decision"] == "decline").sum())
    sec = rep.section("Summary", intro=(
        "Every applicant was scored with the saved scorecard; the cut-off was fixed when "
        "the model was built, from its training data only, so it does not depend on "
        "these applicants. Points per feature sum to the score."))
    sec.kv({"applicants": f"{n:,}", "declined": f"{declined:,} ({100 * declined / n:.1f}%)",
            "mean P(bad)": f"{scores['p_bad'].mean():.4f}",
            **_model_kv(m, model_id)})
    for note in notes:
        sec.note(note)
    sec.figure(score_histogram(scores, m.score_cutoff), name="scores",
               caption="Score per applicant by decision; dashed: the cut-off")
    points = scores.filter(like="points_")
    table = pd.DataFrame({"feature": [c.removeprefix("points_") for c in points.columns],
                          "mean_points": points.mean().to_numpy(),
                          "min_points": points.min().to_numpy(),
                          "max_points": points.max().to_numpy()})
    rep.section("Points per feature").table(
        table.sort_values("mean_points", kind="stable"),
        caption="Points of the applicants per feature (fewest on average first)", max_rows=200)
    return rep


def _reading(summary: pd.DataFrame) -> str:
    feats = summary[summary["kind"] == "feature"]
    score = summary[summary["kind"] == "score"].iloc[0]
    counts = feats["status"].value_counts()
    text = (f"Score PSI {score['psi']:.3f} ({score['status']}). Of {len(feats)} features, "
            f"{counts.get('stable', 0)} are stable, {counts.get('moderate', 0)} moderate and "
            f"{counts.get('shift', 0)} shifted")
    moved = feats[feats["status"] != "stable"]
    if len(moved):
        text += ": " + ", ".join(f"{r.name} {r.psi:.3f}" for r in moved.itertuples())
    return text + "."


def build_monitor_report(score: PSIResult, features: dict[str, PSIResult],
                         summary: pd.DataFrame, *, model: CreditModel, model_id: str,
                         source: str, rows: int, notes: list[str]) -> Report:
    """Report of a ``credit monitor`` run."""
    from riskscope.scorecard.psi import plot_psi_summary

    rep = Report(title="Credit scoring: population stability", subtitle=f"data: {source}")
    sec = rep.section("Summary", intro=(
        "PSI = sum over bands of (new share - training share) x ln(new share / training "
        "share). Reading: below 0.10 stable, 0.10 to 0.25 moderate (watch), above 0.25 a "
        "shift worth acting on (re-check the model's performance, consider refitting)."))
    sec.kv({"new applicants": f"{rows:,}",
            "training rows": f"{sum(score.n_expected):,}",
            "score bands": f"{len(score.bands)} training-score quantile bands",
            **_model_kv(model, model_id)})
    sec.text(_reading(summary))
    if (summary["status"] == "shift").any():
        sec.note("At least one PSI is above 0.25: the applicants differ from the training "
                 "population; the cut-off and the scores' meaning may no longer hold.",
                 level="warn")
    for note in notes:
        sec.note(note)
    sec.figure(plot_psi_summary({"score": score, **features}), name="psi",
               caption="PSI of the score and of every feature against the training rows")
    sec.table(summary, caption="PSI per item (score first, then features by PSI)",
              max_rows=500)
    bands = rep.section("Score bands")
    bands.figure(score.plot(), name="score_bands",
                 caption="Share of training rows and new applicants per training-score band")
    bands.table(score.to_frame(), caption="Score bands")
    worst = sorted(features.values(), key=lambda r: -r.psi)[:_WORST_SHOWN]
    feat = rep.section("Features that moved most")
    for i, r in enumerate(worst):
        feat.figure(r.plot(), name=f"feature_{i + 1}",
                    caption=f"{r.name}: share per scorecard bin")
    feat.table(pd.concat([r.to_frame().assign(feature=r.name) for r in features.values()],
                         ignore_index=True), caption="Every feature's bins", max_rows=1000,
               collapsed=True)
    return rep
