"""Report plots: small, consistent matplotlib figures rendered off-screen.

Every function builds a :class:`matplotlib.figure.Figure` directly (never ``pyplot``), so
plots need no display, keep no global figure registry and are safe to draw from several
threads. :func:`figure_to_png` turns one into PNG bytes for an HTML report or a file.
The style and helpers shared with other stages (``STYLE``, ``figure_to_png``, ...) live in
:mod:`riskscope.plotting` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from riskscope.exceptions import ParameterError
from riskscope.io.profile import MISSING_LABEL
from riskscope.plotting import STYLE, figure, figure_to_png
from riskscope.plotting import set_title as _title
from riskscope.plotting import short as _short

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from riskscope.io.profile import DataProfile

__all__ = ["STYLE", "figure_to_png", "label_distribution", "missing_inf_bars"]

# Long bar charts become unreadable; show the worst columns and say so in the title.
_MAX_BARS = 40


def _new_figure(n_rows: float) -> tuple[Figure, Axes]:
    height = max(2.2, 1.2 + STYLE["bar_height"] * n_rows)
    fig, ax = figure(STYLE["width"], height)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(STYLE["muted"])
    ax.grid(axis="x", color=STYLE["grid"], linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _pct(part: int, total: int) -> str:
    share = part / total if total else 0.0
    return "<0.1%" if 0 < share < 0.001 else f"{share:.1%}"


def _scale_x(ax: Axes, values: list[int], decide_on: list[int] | None = None) -> bool:
    """Use a log x axis when the counts span a wide range; return whether it is log."""
    positive = [v for v in values if v > 0]
    top = max(values, default=0)
    basis = [v for v in (values if decide_on is None else decide_on) if v > 0]
    if basis and max(basis) / min(basis) > STYLE["log_ratio"]:
        ax.set_xscale("log")
        ax.set_xlim(min(positive) * 0.5, top * 4)
        return True
    ax.set_xlim(0, max(top, 1) * 1.18)
    return False


def _annotate(ax: Axes, ends: list[int], texts: list[str], log: bool) -> None:
    """Write ``texts[i]`` just right of the bar ending at ``ends[i]`` on row ``i``."""
    pad = ax.get_xlim()[1] * 0.008
    for y, (end, text) in enumerate(zip(ends, texts, strict=True)):
        if end > 0:
            x = end * 1.08 if log else end + pad
            ax.text(x, y, text, va="center", fontsize=STYLE["font_size"] - 1, color=STYLE["muted"])


def label_distribution(counts: Mapping[Any, int], *, title: str = "Label distribution") -> Figure:
    """Horizontal bar chart of class counts, largest class on top.

    The x axis turns logarithmic when the largest class count exceeds the smallest by
    more than ``STYLE["log_ratio"]`` so that rare classes stay visible (the
    ``"<missing>"`` entry is drawn in grey and does not take part in that choice). Each
    bar is annotated with its count and share; long labels are shortened in the middle.

    Parameters
    ----------
    counts : mapping
        Label -> count, e.g. :attr:`riskscope.io.profile.DataProfile.label_counts`.
    title : str, default "Label distribution"

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from riskscope.report.plots import label_distribution, figure_to_png
    >>> fig = label_distribution({"BENIGN": 90_000, "DDoS": 120})
    >>> fig.axes[0].get_xscale()
    'log'
    >>> figure_to_png(fig)[:4]
    b'\\x89PNG'
    """
    if not counts:
        raise ParameterError("label_distribution needs at least one label count; got none.")
    labels = list(counts)
    values = [int(counts[k]) for k in labels]
    fig, ax = _new_figure(len(labels))
    positions = list(range(len(labels)))
    colors = [STYLE["muted"] if k == MISSING_LABEL else STYLE["primary"] for k in labels]
    ax.barh(positions, values, color=colors, height=0.7)
    ax.set_yticks(positions, [_short(k) for k in labels])
    ax.invert_yaxis()
    # A handful of unlabelled rows should not force a log axis onto the real classes.
    classes = [v for k, v in zip(labels, values, strict=True) if k != MISSING_LABEL]
    log = _scale_x(ax, values, decide_on=classes or values)
    total = sum(values)
    _annotate(ax, values, [f"{v:,} ({_pct(v, total)})" for v in values], log)
    ax.set_xlabel("rows (log scale)" if log else "rows", fontsize=STYLE["font_size"])
    _title(ax, title)
    return fig


def missing_inf_bars(profile: DataProfile, *, title: str | None = None) -> Figure | None:
    """Per-column missing and infinite counts, for the columns that have any.

    Parameters
    ----------
    profile : DataProfile
        From :func:`riskscope.io.profile.profile_frame`.
    title : str, optional
        Defaults to "Missing and infinite values per column".

    Returns
    -------
    matplotlib.figure.Figure or None
        ``None`` when no column has a missing or infinite value. At most 40 columns are
        drawn, those with the most problem cells.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.io.profile import profile_frame
    >>> from riskscope.report.plots import missing_inf_bars
    >>> missing_inf_bars(profile_frame(pd.DataFrame({"a": [1.0, 2.0]}))) is None
    True
    >>> fig = missing_inf_bars(profile_frame(pd.DataFrame({"a": [np.nan, np.inf]})))
    >>> len(fig.axes)
    1
    """
    cols = [c for c in profile.columns if c.n_missing or c.n_inf]
    if not cols:
        return None
    shown = sorted(cols, key=lambda c: -(c.n_missing + (c.n_inf or 0)))[:_MAX_BARS]
    fig, ax = _new_figure(len(shown))
    positions = list(range(len(shown)))
    missing = [c.n_missing for c in shown]
    inf = [c.n_inf or 0 for c in shown]
    # Stacked, not grouped: most columns have only one kind, and empty slots read as noise.
    ax.barh(positions, missing, height=0.65, color=STYLE["primary"], label="missing")
    ax.barh(positions, inf, left=missing, height=0.65, color=STYLE["secondary"], label="infinite")
    ax.set_yticks(positions, [_short(c.name) for c in shown])
    ax.invert_yaxis()
    ends = [m + i for m, i in zip(missing, inf, strict=True)]
    ax.set_xlim(0, max(ends) * 1.35)
    _annotate(ax, ends, [_cells_text(m, i) for m, i in zip(missing, inf, strict=True)], log=False)
    ax.set_xlabel("cells", fontsize=STYLE["font_size"])
    ax.legend(fontsize=STYLE["font_size"], frameon=False, loc="lower right")
    if title is None:
        title = "Missing and infinite values per column"
        if len(cols) > len(shown):
            title += f" (top {len(shown)} of {len(cols)})"
    _title(ax, title)
    return fig


def _cells_text(n_missing: int, n_inf: int) -> str:
    parts = [f"{n_missing:,} missing"] if n_missing else []
    return ", ".join(parts + ([f"{n_inf:,} inf"] if n_inf else []))
