"""The report of a ``fairness`` run: flags, between-group measures, per-group rates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from riskscope.report.html import Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from riskscope.explain.fairness import FairnessAudit

__all__ = ["build_fairness_report", "rates_plot"]

_MAPPING = ("Favourable decision: approve. Favourable outcome: good (repaid). Selection "
            "rate = share approved; TPR = share approved among applicants who turned out "
            "good (equal opportunity compares it); FPR = share approved among those who "
            "turned out bad; FNR = share declined among the good = 1 - TPR.")
_MEASURES_TEXT = ("Demographic-parity difference = highest - lowest selection rate; "
                  "disparate-impact ratio = lowest / highest selection rate (flagged below "
                  "0.8, the four-fifths rule); equalized-odds difference = the larger of the "
                  "TPR and FPR gaps (fairlearn's worst case); equal-opportunity difference "
                  "= the TPR gap.")


def rates_plot(groups: pd.DataFrame, attribute: str) -> Figure:
    """Selection rate and TPR per group of one attribute, with their bootstrap intervals.

    Examples
    --------
    >>> from riskscope.explain.fairness import fairness_audit
    >>> a = fairness_audit([1, 0, 1, 1, 0, 1], [1, 0, 0, 1, 1, 1], {"sex": list("ffmmmm")},
    ...                    n_boot=20)
    >>> rates_plot(a.groups, "sex").axes[0].get_xlabel()
    'rate'
    """
    from riskscope.plotting import STYLE, figure, set_title

    g = groups[groups["attribute"] == attribute].reset_index(drop=True)
    fig, ax = figure(STYLE["width"], 1.2 + 0.5 * len(g))
    y = np.arange(len(g))
    for k, (rate, colour, label) in enumerate((("selection_rate", STYLE["primary"],
                                                "selection rate"),
                                               ("tpr", STYLE["secondary"], "TPR (among good)"))):
        v = g[rate].to_numpy(dtype=float)
        err = np.abs(np.vstack([v - g[f"{rate}_low"].to_numpy(dtype=float),
                                g[f"{rate}_high"].to_numpy(dtype=float) - v]))
        ax.errorbar(v, y + (k - 0.5) * 0.25, xerr=np.nan_to_num(err), fmt="o", color=colour,
                    capsize=3, label=label)
    ax.set_yticks(y, [f"{r.group} (n={r.n:,})" for r in g.itertuples()])
    # the x range past 1 leaves the legend a column of its own, clear of every point
    ax.set_xlim(0, 1.32)
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_xlabel("rate", fontsize=STYLE["font_size"])
    ax.legend(fontsize=STYLE["font_size"], loc="center right")
    set_title(ax, f"{attribute}: approval rates per group")
    return fig


def build_fairness_report(audit: FairnessAudit, *, source_run: str, decisions: str) -> Report:
    """Report of a ``fairness`` run on ``source_run``'s decisions."""
    rep = Report(title="Fairness audit", subtitle=f"credit run {source_run}")
    sec = rep.section("Summary", intro=_MAPPING)
    sec.kv({"audited run": source_run, "decisions": decisions,
            "attributes": ", ".join(audit.attributes),
            "intervals": f"{audit.ci:.0%}, {audit.method}, {audit.n_boot:,} samples, "
                         f"seed {audit.seed}",
            "flag rule": f"disparate-impact ratio < {audit.threshold:g} (four-fifths rule)"})
    for flag in audit.flags:
        sec.note(flag, level="warn")
    if not audit.flags:
        sec.text(f"No attribute's disparate-impact ratio is below {audit.threshold:g}.")
    for note in audit.notes:
        sec.note(note)
    for attr in audit.attributes:
        s = rep.section(f"Attribute: {attr}", intro=_MEASURES_TEXT)
        m = audit.measures[audit.measures["attribute"] == attr].drop(columns="attribute")
        s.table(m, caption=f"Between-group measures for {attr} with {audit.ci:.0%} intervals")
        s.figure(rates_plot(audit.groups, attr), name=f"rates_{_slug(attr)}",
                 caption="Point estimates with their bootstrap intervals")
        g = audit.groups[audit.groups["attribute"] == attr].drop(columns="attribute")
        s.table(g, caption=f"Per group of {attr}")
    return rep


def _slug(name: str) -> str:
    out = "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")
    return out or "attribute"
