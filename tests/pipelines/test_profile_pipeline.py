"""The profile pipeline end to end on data made in the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from riskscope.config import Settings
from riskscope.exceptions import SchemaError
from riskscope.pipelines.profile import ProfileConfig, run_profile
from riskscope.report.catalog import Catalog


def _flows(path: Path) -> Path:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "Flow Duration": rng.integers(0, 1000, 500),
        "Flow Bytes/s": rng.normal(size=500),
        "Fwd URG Flags": 0,
        "Label": rng.choice(["BENIGN", "DoS Hulk", "PortScan"], 500, p=[0.8, 0.15, 0.05]),
    })
    df.loc[[3, 9], "Flow Bytes/s"] = np.inf
    df.loc[[4], "Flow Bytes/s"] = np.nan
    df.to_parquet(path)
    return path


def test_profile_run_records_what_it_found(tmp_path: Path):
    src = _flows(tmp_path / "flows.parquet")
    out = run_profile(ProfileConfig(source=str(src)), Settings(runs_dir=tmp_path / "runs"))
    man = orjson.loads((out / "manifest.json").read_bytes())
    assert man["metrics"]["rows"] == 500 and man["metrics"]["inf_cells"] == 2
    assert man["metrics"]["missing_cells"] == 1 and man["metrics"]["constant_columns"] == 1
    assert man["parameters"]["source"] == str(src)
    arts = {a["path"] for a in man["artifacts"]}
    assert {"report.html", "profile.json", "tables/profile_columns.parquet",
            "tables/label_counts.parquet", "plots/label_distribution.png"} <= arts
    counts = pd.read_parquet(out / "tables" / "label_counts.parquet")
    assert counts["count"].sum() == 500 and counts["label"].iloc[0] == "BENIGN"
    html = (out / "report.html").read_text()
    assert "Fwd URG Flags" in html and out.name in html  # constant column + manifest summary


def test_failing_stage_is_recorded_and_not_published(tmp_path: Path):
    src = _flows(tmp_path / "flows.parquet")
    runs = tmp_path / "runs"
    with pytest.raises(SchemaError, match="Nope"):
        run_profile(ProfileConfig(source=str(src), label="Nope"), Settings(runs_dir=runs))
    listed = Catalog(runs).list_runs()
    assert listed["status"].tolist() == ["failed"]
    folder = Path(listed["path"].iloc[0])
    assert folder.name.endswith(".failed") and not (folder / "report.html").exists()
