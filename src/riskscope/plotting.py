"""Plot styling shared by every stage: colours, figure, title and label helpers, PNG output.

A low-level module with no riskscope dependency beyond :mod:`riskscope.exceptions`, so
any room (features, evaluation, report) can draw without reaching into a later stage.
Every function builds a :class:`matplotlib.figure.Figure` directly on the Agg canvas
(never ``pyplot``), so plots need no display, keep no global figure registry and are safe
to draw from several threads. :func:`figure_to_png` turns one into PNG bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from riskscope.exceptions import ParameterError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "STYLE",
    "correlation_heatmap",
    "figure",
    "figure_to_png",
    "matrix_size",
    "set_title",
    "short",
]

#: The one place plot colours and sizes are chosen, so every report looks alike.
STYLE: dict[str, Any] = {
    "primary": "#3b6ea8",
    "secondary": "#d9822b",
    "text": "#2b2b2b",
    "muted": "#6b6b6b",
    "grid": "#e4e4e4",
    "font_size": 9,
    "title_size": 11,
    "width": 8.0,
    "bar_height": 0.32,  # inches of figure height per bar row
    "max_label_chars": 38,
    "log_ratio": 50,  # switch to a log axis when max/min exceeds this
}


def figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A new Figure (inches) on the Agg canvas with one styled Axes."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # attach Agg explicitly: no backend lookup, no pyplot
    ax = fig.add_subplot()
    ax.tick_params(labelsize=STYLE["font_size"], colors=STYLE["text"])
    return fig, ax


def set_title(ax: Axes, title: str) -> None:
    """The house title: left-aligned, bold."""
    ax.set_title(
        title, loc="left", fontsize=STYLE["title_size"], color=STYLE["text"], fontweight="bold"
    )


def short(text: Any) -> str:
    """``text`` as a string of at most ``STYLE["max_label_chars"]``, cut in the middle."""
    # Cut in the middle: long class names often differ only at the end ("... type 1").
    text = str(text)
    limit = STYLE["max_label_chars"]
    if len(text) <= limit:
        return text
    tail = limit // 3
    return text[: limit - tail - 1] + "\u2026" + text[-tail:]


def matrix_size(n: int) -> float:
    """Side in inches of a heat map with ``n`` rows and columns."""
    return min(max(4.0, 1.6 + 0.38 * n), 13.0)


def correlation_heatmap(corr: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Heat map of a correlation matrix on a fixed [-1, 1] diverging scale.

    Undefined entries (constant columns) are drawn grey.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscope.plotting import correlation_heatmap
    >>> corr = pd.DataFrame([[1.0, 0.95], [0.95, 1.0]], index=["a", "b"], columns=["a", "b"])
    >>> correlation_heatmap(corr).axes[0].get_title(loc="left")
    'Feature correlation (2 highest-variance features)'
    """
    if not isinstance(corr, pd.DataFrame) or corr.shape[0] == 0 or corr.shape[0] != corr.shape[1]:
        raise ParameterError("correlation_heatmap needs a square, non-empty DataFrame.")
    n = corr.shape[0]
    size = matrix_size(n)
    fig, ax = figure(size + 1.2, size)
    cmap = colormaps["coolwarm"].with_extremes(bad=STYLE["grid"])
    values = np.ma.masked_invalid(corr.to_numpy(dtype=float))
    image = ax.imshow(values, cmap=cmap, vmin=-1, vmax=1, aspect="equal")
    fig.colorbar(image, ax=ax, shrink=0.8).ax.tick_params(labelsize=STYLE["font_size"] - 1)
    ticks = np.arange(n)
    font = STYLE["font_size"] - (0 if n <= 15 else 2)
    ax.set_xticks(ticks, [short(c) for c in corr.columns], rotation=90, fontsize=font)
    ax.set_yticks(ticks, [short(c) for c in corr.index], fontsize=font)
    set_title(ax, title or f"Feature correlation ({n} highest-variance features)")
    return fig


def figure_to_png(fig: Figure, *, dpi: int = 110) -> bytes:
    """Render ``fig`` to PNG bytes.

    The PNG carries no software or date metadata, so the same figure gives the same bytes.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from riskscope.plotting import figure_to_png
    >>> figure_to_png(Figure(figsize=(1, 1)), dpi=20).startswith(b"\\x89PNG\\r\\n\\x1a\\n")
    True
    """
    if not isinstance(fig, Figure):
        raise ParameterError(
            f"figure_to_png expects a matplotlib Figure; got {type(fig).__name__}."
        )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
