"""Evaluation plots: confusion matrix, PR and ROC curves, correlation heat map.

Same conventions as :mod:`riskscope.report.plots` (colours, title and label helpers come
from :mod:`riskscope.plotting`): each function builds a :class:`matplotlib.figure.Figure`
on the Agg canvas, never through ``pyplot``, and returns it;
:func:`riskscope.plotting.figure_to_png` renders it for a report.
:func:`correlation_heatmap` lives in :mod:`riskscope.plotting` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import colormaps

from riskscope.exceptions import ParameterError
from riskscope.plotting import STYLE, correlation_heatmap
from riskscope.plotting import figure as _figure
from riskscope.plotting import matrix_size as _matrix_size
from riskscope.plotting import set_title as _title
from riskscope.plotting import short as _short

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from riskscope.evaluation.metrics import BinaryScores, PRCurves

__all__ = ["confusion_heatmap", "pr_curve_plot", "roc_curve_plot", "correlation_heatmap"]

# Beyond this many classes per-cell annotations overlap; the colours still read.
_MAX_ANNOTATED = 20


def _palette(n: int) -> list:
    # Primary and secondary first, so a two-line chart matches the report's bar charts.
    colors = [STYLE["primary"], STYLE["secondary"], *colormaps["tab20"].colors]
    if n <= len(colors):
        return colors[:n]
    return [colormaps["turbo"](i / (n - 1)) for i in range(n)]


def confusion_heatmap(cm: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Confusion matrix normalised by row (true class), each cell annotated with its share.

    Parameters
    ----------
    cm : DataFrame
        Counts, true classes as rows and predicted as columns, e.g. from
        :func:`riskscope.evaluation.metrics.confusion`.
    title : str, optional
        Defaults to "Confusion matrix (share of each true class)".

    Returns
    -------
    matplotlib.figure.Figure
        Cells are annotated (share in %, blank for 0) up to 20 classes; the row labels
        carry each class's support.

    Examples
    --------
    >>> from riskscope.evaluation.metrics import confusion
    >>> from riskscope.evaluation.plots import confusion_heatmap
    >>> fig = confusion_heatmap(confusion(["a", "a", "b"], ["a", "b", "b"]))
    >>> fig.axes[0].get_xlabel()
    'predicted'
    """
    if not isinstance(cm, pd.DataFrame) or cm.shape[0] == 0 or cm.shape[0] != cm.shape[1]:
        raise ParameterError("confusion_heatmap needs a square, non-empty DataFrame of counts.")
    counts = cm.to_numpy(dtype=float)
    support = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(support[:, None] > 0, counts / support[:, None], 0.0)
    n = counts.shape[0]
    size = _matrix_size(n)
    fig, ax = _figure(size + 1.2, size)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="equal")
    fig.colorbar(image, ax=ax, shrink=0.8).ax.tick_params(labelsize=STYLE["font_size"] - 1)
    ticks = np.arange(n)
    ax.set_xticks(ticks, [_short(c) for c in cm.columns], rotation=45, ha="right")
    ax.set_yticks(
        ticks, [f"{_short(c)} ({int(s):,})" for c, s in zip(cm.index, support, strict=True)]
    )
    if n <= _MAX_ANNOTATED:
        font = STYLE["font_size"] - (1 if n <= 10 else 2)
        for i in range(n):
            for j in range(n):
                if counts[i, j] > 0:
                    text = "<0.1" if share[i, j] < 0.001 else f"{share[i, j] * 100:.1f}"
                    ax.text(
                        j,
                        i,
                        text,
                        ha="center",
                        va="center",
                        fontsize=font,
                        color="white" if share[i, j] > 0.6 else STYLE["text"],
                    )
    ax.set_xlabel("predicted", fontsize=STYLE["font_size"])
    ax.set_ylabel("true (support)", fontsize=STYLE["font_size"])
    _title(ax, title or "Confusion matrix (share of each true class, %)")
    return fig


def _curve_axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    fig, ax = _figure(STYLE["width"], STYLE["width"] * 0.62)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(color=STYLE["grid"], linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel(xlabel, fontsize=STYLE["font_size"])
    ax.set_ylabel(ylabel, fontsize=STYLE["font_size"])
    _title(ax, title)
    return fig, ax


def pr_curve_plot(curves: PRCurves, *, title: str | None = None) -> Figure:
    """One-vs-rest precision-recall curves, one line per class, AP in the legend.

    Classes absent from the evaluated labels (no curve) are listed in the legend as such.

    Examples
    --------
    >>> import numpy as np
    >>> from riskscope.evaluation.metrics import pr_curves
    >>> from riskscope.evaluation.plots import pr_curve_plot
    >>> curves = pr_curves(["a", "b"], np.array([[0.8, 0.2], [0.3, 0.7]]), ["a", "b"])
    >>> len(pr_curve_plot(curves).axes[0].lines)
    2
    """
    fig, ax = _curve_axes(
        title or "Precision-recall per class (one vs rest)", "recall", "precision"
    )
    for curve, color in zip(curves, _palette(len(curves)), strict=True):
        if curve.n_positive == 0:
            ax.plot([], [], color=color, label=f"{_short(curve.label)} (no rows)")
            continue
        ax.step(
            curve.recall,
            curve.precision,
            where="post",
            color=color,
            linewidth=1.3,
            label=f"{_short(curve.label)} (AP {curve.average_precision:.3f})",
        )
    ax.legend(
        fontsize=STYLE["font_size"] - 1,
        frameon=False,
        loc="lower left",
        ncol=2 if len(curves) > 8 else 1,
    )
    return fig


def roc_curve_plot(
    scores: BinaryScores | Mapping[str, BinaryScores], *, title: str | None = None
) -> Figure:
    """ROC curve of one binary score, or of several (a mapping name -> scores) overlaid.

    Examples
    --------
    >>> from riskscope.evaluation.metrics import binary_scores
    >>> from riskscope.evaluation.plots import roc_curve_plot
    >>> s = binary_scores([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> ax = roc_curve_plot({"model": s}).axes[0]
    >>> ax.get_legend().get_texts()[0].get_text()
    'model (AUC 0.750)'
    """
    named = dict(scores) if isinstance(scores, Mapping) else {"score": scores}
    if not named:
        raise ParameterError("roc_curve_plot needs at least one BinaryScores; got none.")
    fig, ax = _curve_axes(
        title or "ROC curve (attack vs benign)", "false-positive rate", "true-positive rate"
    )
    ax.plot([0, 1], [0, 1], color=STYLE["muted"], linewidth=0.8, linestyle="--")
    for (name, s), color in zip(named.items(), _palette(len(named)), strict=True):
        ax.plot(
            s.fpr, s.tpr, color=color, linewidth=1.4, label=f"{_short(name)} (AUC {s.roc_auc:.3f})"
        )
    ax.legend(fontsize=STYLE["font_size"] - 1, frameon=False, loc="lower right")
    return fig
