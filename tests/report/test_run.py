"""Run directories and the catalog: atomic publication, failures, ids, re-indexing."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pandas as pd
import pytest

from riskscope.exceptions import ParameterError, RunError
from riskscope.report.catalog import Catalog
from riskscope.report.run import PARTIAL_PREFIX, start_run

FROZEN = dt.datetime(2026, 11, 23, 7, 0, 0, tzinfo=dt.UTC)


def _frozen() -> dt.datetime:
    return FROZEN


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_complete_run_has_manifest_tables_and_catalog_entry(runs_dir: Path, tmp_path: Path):
    data = tmp_path / "in.csv"
    data.write_text("a,b\n1,2\n")
    with start_run("unit", runs_dir=runs_dir, seed=7, parameters={"k": 3}) as run:
        run.add_input(data)
        run.write_table("numbers", pd.DataFrame({"x": [1, 2, 3]}))
        run.log_metrics(accuracy=0.75, ci={"low": 0.7, "high": 0.8}, note="text")
    assert run.path == runs_dir / run.run_id
    man = orjson.loads((run.path / "manifest.json").read_bytes())
    assert man["status"] == "complete" and man["seed"] == 7 and man["parameters"] == {"k": 3}
    assert man["inputs"][0]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert {"numpy", "pandas", "duckdb", "python", "riskscope"} <= set(man["versions"])
    assert man["duration_s"] >= 0 and man["finished_at"] is not None
    assert [a["path"] for a in man["artifacts"]] == ["tables/numbers.parquet"]
    cat = Catalog(runs_dir)
    assert cat.list_runs()["run_id"].tolist() == [run.run_id]
    assert cat.metrics(run.run_id) == {"accuracy": 0.75, "ci.low": 0.7, "ci.high": 0.8}
    got = cat.get(run.run_id[:12])  # a unique prefix resolves
    assert got["parameters"] == {"k": 3} and got["artifacts"]["path"].tolist() == [
        "tables/numbers.parquet"]


def test_failed_run_never_overwrites_an_earlier_one(runs_dir: Path):
    with start_run("unit", runs_dir=runs_dir, seed=1, clock=_frozen) as first:
        first.write_json("result.json", {"value": 1})
    before = _tree_digest(first.path)
    with pytest.raises(ValueError, match="boom"), \
            start_run("unit", runs_dir=runs_dir, seed=1, clock=_frozen) as second:
        second.write_json("result.json", {"value": 2})
        raise ValueError("boom")
    assert second.run_id != first.run_id  # same second, same pipeline: a distinct id
    assert _tree_digest(first.path) == before
    assert second.path.name == second.run_id + ".failed"
    man = orjson.loads((second.path / "manifest.json").read_bytes())
    assert man["status"] == "failed" and "boom" in man["error"]
    statuses = dict(Catalog(runs_dir).list_runs()[["run_id", "status"]].values.tolist())
    assert statuses == {first.run_id: "complete", second.run_id: "failed"}


def test_interrupted_artifact_write_leaves_no_file(runs_dir: Path):
    with start_run("unit", runs_dir=runs_dir, seed=0) as run:
        with pytest.raises(RuntimeError, match="disk full"), run.artifact("model.json") as tmp:
            tmp.write_text('{"half": ')
            raise RuntimeError("disk full")
        assert not (run.path / "model.json").exists()
        assert not list(run.path.glob(".tmp-*"))
    assert "model.json" not in [a["path"] for a in orjson.loads(
        (run.path / "manifest.json").read_bytes())["artifacts"]]


def test_killed_process_leaves_only_a_staging_folder(runs_dir: Path):
    code = textwrap.dedent(f"""
        import os
        import pandas as pd
        from riskscope.report.run import start_run
        with start_run("unit", runs_dir={str(runs_dir)!r}, seed=0) as run:
            run.write_table("t", pd.DataFrame({{"x": range(10)}}))
            os._exit(9)  # as abrupt as SIGKILL: no finally blocks, no cleanup
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == 9, proc.stderr.decode()
    entries = [p.name for p in runs_dir.iterdir()]
    assert len(entries) == 1 and entries[0].startswith(PARTIAL_PREFIX)
    assert not (runs_dir / entries[0] / "manifest.json").exists()
    assert Catalog(runs_dir).list_runs().empty


def test_catalog_rebuilds_from_manifests(runs_dir: Path):
    with start_run("unit", runs_dir=runs_dir, seed=3) as run:
        run.log_metrics(rows=5)
    (runs_dir / "catalog.duckdb").unlink()
    cat = Catalog(runs_dir)
    assert cat.list_runs()["run_id"].tolist() == [run.run_id]  # re-indexed on demand
    assert cat.metrics(run.run_id) == {"rows": 5.0}


def test_unknown_and_ambiguous_run_ids(runs_dir: Path):
    for _ in range(2):
        with start_run("unit", runs_dir=runs_dir, seed=0, clock=_frozen):
            pass
    cat = Catalog(runs_dir)
    with pytest.raises(RunError, match="not found"):
        cat.resolve_id("nope")
    with pytest.raises(RunError, match="ambiguous"):
        cat.resolve_id("20261123T070000Z")


@pytest.mark.parametrize("bad", ["../escape", "a/../../b", "/abs", ""])
def test_artifact_names_cannot_escape_the_run(runs_dir: Path, bad: str):
    with start_run("unit", runs_dir=runs_dir, seed=0) as run, \
            pytest.raises(ParameterError, match="artifact name"):
        run.write_json(bad, {})
