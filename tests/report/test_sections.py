"""Tests for riskscope.report.sections."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskscope.exceptions import ParameterError
from riskscope.io.profile import profile_frame
from riskscope.report.html import Report
from riskscope.report.sections import NO_MISSING_TEXT, add_profile_section


def _frame(with_problems: bool) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "duration": rng.integers(4, 72, 200).astype(float),
            "amount": rng.gamma(2.0, 1500.0, 200),
            "purpose": rng.choice(["car", "furniture", "education"], 200),
            "class": rng.choice(["good", "bad"], 200, p=[0.7, 0.3]),
        }
    )
    if with_problems:
        df.loc[[3, 9, 27], "amount"] = np.nan
        df.loc[5, "duration"] = np.inf
        df["constant"] = "x"
    return df


def test_profile_section_with_missing_values():
    rep = Report(title="t")
    add_profile_section(rep, profile_frame(_frame(True), label="class", name="german"))
    html = rep.render()
    names = [n for n, _ in rep.figures()]
    assert names == ["label_distribution", "missing_inf"]
    assert 'id="fig-missing_inf"' in html and 'id="fig-label_distribution"' in html
    assert "Columns with missing or infinite values (2)" in html
    assert NO_MISSING_TEXT not in html
    assert "carry no information" in html and "constant" in html
    assert "Label counts (2 values)" in html and "%" in html
    assert "Per-column statistics" in html


def test_profile_section_without_missing_values():
    rep = Report(title="t")
    sec = add_profile_section(rep, profile_frame(_frame(False)), title="Training data")
    html = rep.render()
    assert sec.title == "Training data"
    assert NO_MISSING_TEXT in html
    assert rep.figures() == []  # no label, nothing missing: no plots
    assert "Columns with missing or infinite values" not in html


def test_two_profiles_share_a_report_with_prefixes():
    rep = Report(title="t")
    add_profile_section(rep, profile_frame(_frame(True), label="class"), prefix="train")
    add_profile_section(rep, profile_frame(_frame(True), label="class"), prefix="test")
    assert [n for n, _ in rep.figures()] == [
        "train_label_distribution",
        "train_missing_inf",
        "test_label_distribution",
        "test_missing_inf",
    ]
    with pytest.raises(ParameterError, match="already used"):
        add_profile_section(rep, profile_frame(_frame(True), label="class"), prefix="test")
