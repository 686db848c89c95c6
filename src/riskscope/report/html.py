"""Self-contained HTML reports: one file with inline CSS and plots embedded as PNG.

A :class:`Report` collects sections of text, key/value tables, data tables, figures and
notes, and renders them with Jinja2 (autoescaping on, so user text can never inject
markup). The file references nothing outside itself, so it opens offline, from an
e-mail attachment or an archived run directory alike. :func:`render_index` builds the
page that links several reports.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import numpy as np
import pandas as pd

from riskscope.exceptions import ParameterError
from riskscope.report.atomic import write_text
from riskscope.report.plots import figure_to_png

__all__ = ["Report", "Section", "render_index", "write_index"]

_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_NOTE_LEVELS = ("info", "warn", "error")
_STATUS_CLASSES = {
    "ok": ("ok", "success", "succeeded", "completed", "complete", "done", "passed", "finished"),
    "fail": ("failed", "fail", "error", "errored", "crashed", "aborted"),
    "run": ("running", "started", "pending", "queued"),
}


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("riskscope.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["status_class"] = _status_class
    return env


def _version() -> str:
    try:
        return metadata.version("riskscope")
    except metadata.PackageNotFoundError:
        return "unknown"


def _status_class(status: Any) -> str:
    s = str(status).strip().lower()
    for cls, names in _STATUS_CLASSES.items():
        if s in names:
            return cls
    return "other"


def _fmt(value: Any) -> str:
    """Format one cell: thousands separators, 4 significant digits, '' for missing."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == 0 or 1e-4 <= abs(value) < 1e15:
            return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
        return f"{value:.3e}"
    if isinstance(value, list | tuple) and value and all(_is_number(v) for v in value):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"  # e.g. an interval's ends
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def _fmt_time(value: Any) -> str:
    """Show a timestamp (ISO text, datetime or epoch seconds) as UTC; else as given."""
    try:
        if isinstance(value, int | float):
            dt = datetime.fromtimestamp(value, tz=UTC)
        elif isinstance(value, datetime):
            dt = value
        else:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return str(value)
    # Naive times in a manifest are UTC by convention.
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def _fmt_duration(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return str(seconds)
    if s < 60:
        return f"{s:.1f} s"
    minutes, s = divmod(round(s), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {s} s" if hours else f"{minutes} min {s} s"


def _fmt_bytes(n: Any) -> str:
    if not _is_number(n):
        return "" if n is None else str(n)
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)  # unreachable; keeps type checkers content


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted keys so a two-column table can show them."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _kv_rows(mapping: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"key": str(k), "value": _fmt(v), "num": _is_number(v)}
        for k, v in _flatten(mapping).items()
    ]


def _check_slug(name: str, what: str) -> str:
    if not isinstance(name, str) or not _SLUG.match(name):
        raise ParameterError(
            f"{what} must be a slug of letters, digits, '_' and '-' (at most 80, not "
            f"starting with '_' or '-'); got {name!r}."
        )
    return name


class Section:
    """A titled part of a :class:`Report`; create it with :meth:`Report.section`.

    Each method appends one block and returns the section, so calls can be chained.
    """

    def __init__(self, report: Report, title: str, intro: str | None, anchor: str) -> None:
        self._report = report
        self.title = str(title)
        self.intro = None if intro is None else str(intro)
        self.anchor = anchor
        self.blocks: list[dict[str, Any]] = []

    def text(self, text: str) -> Section:
        """Add a paragraph (plain text; markup is shown literally)."""
        self.blocks.append({"kind": "text", "text": str(text)})
        return self

    def note(self, text: str, *, level: str = "info") -> Section:
        """Add a highlighted callout; ``level`` is "info", "warn" or "error"."""
        if level not in _NOTE_LEVELS:
            raise ParameterError(
                f"`level` of Section.note must be one of {', '.join(_NOTE_LEVELS)}; got {level!r}."
            )
        self.blocks.append({"kind": "note", "text": str(text), "level": level})
        return self

    def kv(self, mapping: Mapping[str, Any], *, caption: str | None = None) -> Section:
        """Add a two-column key/value table; nested dicts become dotted keys."""
        self.blocks.append({"kind": "kv", "rows": _kv_rows(mapping), "caption": caption})
        return self

    def table(
        self,
        df: Any,
        *,
        caption: str | None = None,
        max_rows: int = 50,
        index: bool | None = None,
        collapsed: bool = False,
    ) -> Section:
        """Add a data table from a pandas (or polars) DataFrame.

        Parameters
        ----------
        df : pandas.DataFrame or polars.DataFrame
        caption : str, optional
        max_rows : int, default 50
            Rows beyond this are cut and the table says "showing 50 of N rows".
        index : bool, optional
            Show the index; by default only when it is not a plain 0..n-1 range.
        collapsed : bool, default False
            Put the table in a closed ``<details>`` element that the reader can open.
        """
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
            raise ParameterError(
                f"`max_rows` of Section.table must be an int >= 1; got {max_rows!r}."
            )
        df = _as_frame(df)
        if index is None:
            index = not isinstance(df.index, pd.RangeIndex) or df.index.name is not None
        shown = df.iloc[:max_rows]
        columns = [str(c) for c in shown.columns]
        numeric = [
            pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
            for t in shown.dtypes
        ]
        rows = []
        for idx, values in zip(shown.index, shown.itertuples(index=False, name=None), strict=True):
            cells = [
                {"text": _fmt(v), "num": n, "head": False}
                for v, n in zip(values, numeric, strict=True)
            ]
            if index:
                cells.insert(0, {"text": _fmt(idx), "num": False, "head": True})
            rows.append(cells)
        if index:
            columns.insert(0, "" if df.index.name is None else str(df.index.name))
            numeric.insert(0, False)
        self.blocks.append(
            {
                "kind": "table",
                "columns": list(zip(columns, numeric, strict=True)),
                "rows": rows,
                "caption": caption,
                "n_total": len(df),
                "n_shown": len(shown),
                "collapsed": collapsed,
            }
        )
        return self

    def figure(self, fig: Any, *, name: str, caption: str | None = None, dpi: int = 110) -> Section:
        """Add a figure, rendered to PNG now; the figure is closed afterwards.

        Parameters
        ----------
        fig : matplotlib.figure.Figure or bytes
            A figure, or PNG bytes that were already rendered.
        name : str
            Slug, unique in the report; callers save the PNG as ``plots/<name>.png``.
        caption : str, optional
        dpi : int, default 110
        """
        self._report._check_figure_name(name)
        if isinstance(fig, bytes | bytearray):
            png = bytes(fig)
            if not png.startswith(_PNG_SIGNATURE):
                raise ParameterError(f"Figure {name!r}: bytes given are not a PNG image.")
        else:
            png = figure_to_png(fig, dpi=dpi)
            # Figures made through pyplot stay registered (and in memory) until closed;
            # only touch pyplot when the caller already imported it.
            pyplot = sys.modules.get("matplotlib.pyplot")
            if pyplot is not None:
                pyplot.close(fig)
        self._report._add_figure(name, png)
        self.blocks.append(
            {
                "kind": "figure",
                "name": name,
                "caption": caption,
                "src": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            }
        )
        return self


def _as_frame(df: Any) -> pd.DataFrame:
    if isinstance(df, pd.Series):
        return df.to_frame()
    if isinstance(df, pd.DataFrame):
        return df
    if type(df).__module__.split(".")[0] == "polars" and type(df).__name__ in (
        "DataFrame",
        "Series",
    ):
        return _as_frame(df.to_pandas())
    raise ParameterError(
        f"Section.table expects a pandas or polars DataFrame; got {type(df).__name__}."
    )


class Report:
    """Builder for one self-contained HTML report.

    Parameters
    ----------
    title : str
    subtitle : str, optional

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscope.report.html import Report
    >>> rep = Report(title="Data profile: demo", subtitle="made-up data")
    >>> sec = rep.section("Numbers", intro="A first look.")
    >>> _ = sec.kv({"rows": 1000, "seed": 42}).text("x < y & <b>not bold</b>")
    >>> _ = sec.table(pd.DataFrame({"a": range(100)}), max_rows=5)
    >>> html = rep.render(manifest={"run_id": "r-1", "status": "ok", "metrics": {"auc": 0.91}})
    >>> "&lt;b&gt;not bold&lt;/b&gt;" in html, "showing 5 of 100 rows" in html, "r-1" in html
    (True, True, True)
    """

    def __init__(self, title: str, subtitle: str | None = None) -> None:
        self.title = str(title)
        self.subtitle = None if subtitle is None else str(subtitle)
        self.sections: list[Section] = []
        self._figures: list[tuple[str, bytes]] = []
        self._anchors: set[str] = set()

    def section(self, title: str, *, intro: str | None = None) -> Section:
        """Append a new section and return it."""
        base = re.sub(r"[^a-z0-9]+", "-", str(title).lower()).strip("-") or "section"
        anchor, i = f"s-{base}", 2
        while anchor in self._anchors:
            anchor, i = f"s-{base}-{i}", i + 1
        self._anchors.add(anchor)
        sec = Section(self, title, intro, anchor)
        self.sections.append(sec)
        return sec

    def _check_figure_name(self, name: str) -> None:
        _check_slug(name, "Figure name")
        if any(name == n for n, _ in self._figures):
            raise ParameterError(
                f"Figure name {name!r} is already used in report {self.title!r}; "
                "pass a distinct name (e.g. a prefix)."
            )

    def _add_figure(self, name: str, png: bytes) -> None:
        # Checked again here: the name is claimed only once the PNG exists, so a figure
        # that fails to render leaves its name free.
        self._check_figure_name(name)
        self._figures.append((name, png))

    def figures(self) -> list[tuple[str, bytes]]:
        """Return ``(name, png_bytes)`` for every figure, in the order added."""
        return list(self._figures)

    def render(self, manifest: Mapping[str, Any] | None = None) -> str:
        """Return the report as one HTML document; with a manifest, a "Run" summary first."""
        return (
            _env()
            .get_template("report.html.j2")
            .render(
                title=self.title,
                subtitle=self.subtitle,
                run=None if manifest is None else _run_summary(manifest),
                sections=self.sections,
                version=_version(),
            )
        )

    def write(
        self, path: str | os.PathLike[str], manifest: Mapping[str, Any] | None = None
    ) -> Path:
        """Render and write the report atomically; return the path."""
        return write_text(path, self.render(manifest))


def _run_summary(m: Mapping[str, Any]) -> dict[str, Any]:
    """Prepare the manifest fields that are present for the "Run" section."""
    facts: dict[str, Any] = {}
    for key, label in (("run_id", "run id"), ("pipeline", "pipeline")):
        if m.get(key) is not None:
            facts[label] = m[key]
    for key, label in (("started_at", "started"), ("finished_at", "finished")):
        if m.get(key) is not None:
            facts[label] = _fmt_time(m[key])
    if m.get("duration_s") is not None:
        facts["duration"] = _fmt_duration(m["duration_s"])
    if m.get("seed") is not None:
        facts["seed"] = m["seed"]
    inputs = []
    for item in m.get("inputs") or []:
        item = item if isinstance(item, Mapping) else {"path": item}
        sha = str(item.get("sha256") or "")
        inputs.append(
            {
                "path": str(item.get("path", "")),
                "sha256": sha[:12],
                "sha256_full": sha,
                "size": _fmt_bytes(item.get("bytes")),
            }
        )
    return {
        "status": m.get("status"),
        "facts": _kv_rows(facts),
        "parameters": _kv_rows(m.get("parameters") or {}),
        "inputs": inputs,
        "metrics": _kv_rows(m.get("metrics") or {}),
        "versions": _kv_rows(m.get("versions") or {}),
        "error": None if m.get("error") in (None, "") else str(m["error"]),
    }


def _check_href(href: Any) -> str:
    href = str(href)
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith(("/", "\\")):
        raise ParameterError(
            f"Index entry href must be a relative link such as 'runs/x/report.html'; got {href!r}."
        )
    return href


def _index_entry(e: Mapping[str, Any]) -> dict[str, Any]:
    if "title" not in e or "href" not in e:
        raise ParameterError(f"Index entries need 'title' and 'href'; got keys {sorted(e)}.")
    thumb = e.get("thumbnail")
    if thumb is not None and not bytes(thumb).startswith(_PNG_SIGNATURE):
        raise ParameterError(f"Index entry {e['title']!r}: thumbnail is not PNG bytes.")
    return {
        "title": str(e["title"]),
        "href": _check_href(e["href"]),
        "pipeline": e.get("pipeline"),
        "status": e.get("status"),
        "summary": e.get("summary"),
        "metrics": _kv_rows(e.get("metrics") or {}),
        "thumbnail": None
        if thumb is None
        else "data:image/png;base64," + base64.b64encode(bytes(thumb)).decode("ascii"),
    }


def render_index(
    title: str, entries: Iterable[Mapping[str, Any]], *, generated_at: Any = None
) -> str:
    """Render an index page linking several reports.

    Parameters
    ----------
    title : str
    entries : iterable of dict
        Each with ``title`` and ``href`` (a relative link to a report) and optionally
        ``pipeline``, ``status``, ``summary``, ``metrics`` (dict) and ``thumbnail``
        (PNG bytes).
    generated_at : datetime or str, optional
        Shown as UTC when given; left out by default so the page is reproducible.

    Returns
    -------
    str

    Examples
    --------
    >>> from riskscope.report.html import render_index
    >>> html = render_index("Demo runs", [
    ...     {"title": "Credit", "href": "credit/report.html", "status": "ok",
    ...      "pipeline": "credit", "summary": "AUC 0.79", "metrics": {"auc": 0.79}}])
    >>> 'href="credit/report.html"' in html
    True
    """
    return (
        _env()
        .get_template("index.html.j2")
        .render(
            title=str(title),
            subtitle=None,
            entries=[_index_entry(e) for e in entries],
            generated_at=None if generated_at is None else _fmt_time(generated_at),
            version=_version(),
        )
    )


def write_index(
    path: str | os.PathLike[str],
    title: str,
    entries: Iterable[Mapping[str, Any]],
    *,
    generated_at: Any = None,
) -> Path:
    """Render :func:`render_index` and write it atomically; return the path."""
    return write_text(path, render_index(title, entries, generated_at=generated_at))
