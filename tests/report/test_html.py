"""Tests for riskscope.report.html and riskscope.report.plots."""

from __future__ import annotations

import base64
import os
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from riskscope.exceptions import ParameterError
from riskscope.report import html as html_mod
from riskscope.report.html import Report, render_index, write_index
from riskscope.report.plots import figure_to_png, label_distribution

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MANIFEST = {
    "run_id": "20250101-credit-abc123",
    "pipeline": "credit",
    "status": "ok",
    "started_at": "2025-01-01T10:00:00+01:00",
    "finished_at": "2025-01-01T09:01:05Z",
    "duration_s": 65.2,
    "seed": 42,
    "parameters": {"model": "lightgbm", "binning": {"max_n_bins": 8}},
    "inputs": [{"path": "data/german.csv", "sha256": "ab" * 32, "bytes": 79_793}],
    "metrics": {"auc": 0.7912, "ks": 0.4471},
    "versions": {"numpy": "2.4.6", "pandas": "3.1.1"},
}


def _small_figure() -> Figure:
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    return fig


def _report() -> Report:
    rep = Report(title="Data profile: german_credit", subtitle="made-up sample")
    sec = rep.section("Overview", intro="What the data holds.")
    sec.text("Beware <script>alert('x')</script> & friends")
    sec.kv({"rows": 1000, "seed": 42}, caption="Key numbers")
    sec.table(pd.DataFrame({"a": np.arange(120), "b": np.linspace(0, 1, 120)}), max_rows=50)
    sec.figure(label_distribution({"good": 700, "bad": 300}), name="label_distribution")
    sec.note("Something to check", level="warn")
    return rep


def _external_refs(html: str) -> list[str]:
    pattern = (
        r"<(?:script|link|img|iframe|source|embed)\b[^>]*\b(?:src|href)\s*=\s*"
        r"""["']?\s*(?:https?:)?//"""
    )
    return re.findall(pattern, html, flags=re.IGNORECASE) + re.findall(
        r"url\(\s*['\"]?\s*(?:https?:)?//", html, flags=re.IGNORECASE
    )


def test_render_contains_title_and_escapes_user_text():
    html = _report().render()
    assert "<title>Data profile: german_credit</title>" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; friends" in html


def test_images_are_embedded_valid_pngs():
    html = _report().render()
    srcs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(srcs) == 1
    assert base64.b64decode(srcs[0]).startswith(PNG_SIGNATURE)


def test_no_external_resources():
    html = _report().render(manifest=MANIFEST)
    assert _external_refs(html) == []
    assert "<script" not in html.lower()
    # A plain link in user text is fine: it is text, not a loaded resource.
    rep = Report(title="t")
    rep.section("s").text("see https://example.org/data")
    assert _external_refs(rep.render()) == []


def test_table_truncation_note_and_number_format():
    html = _report().render()
    assert "showing 50 of 120 rows" in html
    rep = Report(title="t")
    rep.section("s").table(pd.DataFrame({"n": [1234567], "x": [0.123456]}))
    html = rep.render()
    assert "1,234,567" in html and "0.1235" in html
    assert "showing" not in html


def test_duplicate_and_unsafe_figure_names_raise():
    rep = Report(title="t")
    sec = rep.section("s")
    sec.figure(_small_figure(), name="roc")
    with pytest.raises(ParameterError, match="Figure name 'roc' is already used"):
        rep.section("other").figure(_small_figure(), name="roc")
    with pytest.raises(ParameterError, match="Figure name must be a slug"):
        sec.figure(_small_figure(), name="../evil")
    assert [n for n, _ in rep.figures()] == ["roc"]
    assert rep.figures()[0][1].startswith(PNG_SIGNATURE)


def test_figure_accepts_png_bytes_and_rejects_other_bytes():
    rep = Report(title="t")
    png = figure_to_png(_small_figure(), dpi=30)
    rep.section("s").figure(png, name="pre_rendered")
    assert rep.figures() == [("pre_rendered", png)]
    with pytest.raises(ParameterError, match="not a PNG image"):
        rep.section("s2").figure(b"GIF89a", name="gif")


def test_note_level_is_validated():
    with pytest.raises(ParameterError, match="`level` of Section.note must be one of"):
        Report(title="t").section("s").note("x", level="fatal")


def test_manifest_summary_shows_run_facts():
    html = _report().render(manifest=MANIFEST)
    assert html.index('id="run"') < html.index("Overview")
    assert "20250101-credit-abc123" in html
    assert "auc" in html and "0.7912" in html
    assert "binning.max_n_bins" in html
    assert "2025-01-01 09:00:00 UTC" in html and "2025-01-01 09:01:05 UTC" in html
    assert "1 min 5 s" in html
    assert ">abababababab<" in html
    assert "<details><summary>Package versions (2)</summary>" in html
    assert 'badge badge-ok">ok<' in html
    assert 'id="run"' not in _report().render()


def test_manifest_error_is_shown():
    html = Report(title="t").render(manifest={"status": "failed", "error": "boom <b>"})
    assert 'badge-fail">failed<' in html and "boom &lt;b&gt;" in html


def test_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    rep = _report()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        rep.write(target)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".tmp-")] == []
    monkeypatch.undo()
    assert rep.write(target, manifest=MANIFEST) == target
    assert target.read_text(encoding="utf-8") == rep.render(manifest=MANIFEST)


def test_index_lists_every_entry(tmp_path):
    thumb = figure_to_png(_small_figure(), dpi=30)
    entries = [
        {
            "title": "Credit scoring",
            "href": "credit/report.html",
            "pipeline": "credit",
            "status": "ok",
            "summary": "AUC 0.79",
            "metrics": {"auc": 0.79},
            "thumbnail": thumb,
        },
        {
            "title": "Intrusion <detection>",
            "href": "ids/run 1/report.html",
            "pipeline": "ids",
            "status": "failed",
            "summary": "input missing",
        },
    ]
    html = render_index("Demo runs", entries, generated_at="2025-01-01T00:00:00Z")
    assert 'href="credit/report.html"' in html and 'href="ids/run 1/report.html"' in html
    assert "Intrusion &lt;detection&gt;" in html
    assert "generated 2025-01-01 00:00:00 UTC" in html
    assert html.count("data:image/png;base64,") == 1
    assert _external_refs(html) == []
    path = write_index(tmp_path / "index.html", "Demo runs", entries)
    assert "Credit scoring" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("href", ["https://evil.example/x.html", "javascript:alert(1)", "/abs"])
def test_index_rejects_non_relative_hrefs(href):
    with pytest.raises(ParameterError, match="href must be a relative link"):
        render_index("t", [{"title": "x", "href": href}])


def test_footer_names_version():
    assert "generated by riskscope " in Report(title="t").render()
    assert html_mod._version() != ""


def test_label_distribution_handles_many_long_labels():
    counts = {f"a rather long class name number {i} with words": 10 ** (i % 6) for i in range(16)}
    fig = label_distribution(counts)
    assert fig.axes[0].get_xscale() == "log"
    assert len(fig.axes[0].get_yticklabels()) == 16
    assert figure_to_png(fig).startswith(PNG_SIGNATURE)
    with pytest.raises(ParameterError, match="needs at least one label count"):
        label_distribution({})


def test_render_is_deterministic_and_accepts_polars_tables():
    import polars as pl

    def build() -> str:
        rep = _report()
        rep.section("polars").table(pl.DataFrame({"x": [1.5, 2.5]}), caption="from polars")
        return rep.render(manifest=MANIFEST)

    first = build()
    assert first == build()
    assert "from polars" in first and "2.5" in first


def test_failed_figure_leaves_its_name_free():
    rep = Report(title="t")
    sec = rep.section("s")
    with pytest.raises(ParameterError, match="expects a matplotlib Figure"):
        sec.figure("not a figure", name="roc")
    sec.figure(_small_figure(), name="roc")
    assert [n for n, _ in rep.figures()] == ["roc"]


def test_number_lists_are_formatted_like_numbers_other_lists_as_json():
    _fmt = html_mod._fmt
    assert _fmt([0.8354829741913896, 0.9834811319733373]) == "[0.8355, 0.9835]"
    assert _fmt((1200, 0.5)) == "[1,200, 0.5]"
    assert _fmt(["a", 1]) == '["a", 1]'
    assert _fmt([]) == "[]"
