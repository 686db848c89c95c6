"""The CLI through typer's CliRunner: help, errors, datasets, runs, demo, seeds."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from riskscope import __version__
from riskscope.cli import app
from riskscope.pipelines import demo as demo_mod

runner = CliRunner()


def invoke(*args: str, runs: Path | None = None):
    pre = ["--runs-dir", str(runs)] if runs is not None else []
    return runner.invoke(app, [*pre, *args])


def test_help_lists_every_command_group():
    res = invoke("--help")
    assert res.exit_code == 0
    for name in ("datasets", "runs", "demo", "profile", "ids", "credit", "apt", "explain",
                 "--seed", "--version", "--debug"):
        assert name in res.output
    assert invoke("ids", "--help").exit_code == 0


def test_version():
    res = invoke("--version")
    assert res.exit_code == 0 and res.output.strip() == f"riskscope {__version__}"


def _one_error_line(res) -> str:
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, res.output
    return errors[0]


def test_missing_file_is_one_line_error(runs_dir: Path, tmp_path: Path):
    line = _one_error_line(invoke("profile", str(tmp_path / "nope.csv"), runs=runs_dir))
    assert "nope.csv" in line and "does not exist" in line


def test_corrupt_csv_is_one_line_error_and_run_is_not_published(runs_dir: Path, tmp_path: Path):
    bad = tmp_path / "flows.csv"
    bad.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n")
    line = _one_error_line(invoke("profile", str(bad), runs=runs_dir))
    assert "flows.csv" in line
    published = [p for p in runs_dir.iterdir() if re.fullmatch(r"\d{8}T\d{6}Z-profile", p.name)]
    assert published == []  # only a .failed folder, never a complete-looking run
    assert [p.name.endswith(".failed") for p in runs_dir.iterdir() if p.is_dir()] == [True]


def test_debug_shows_the_traceback(runs_dir: Path, tmp_path: Path):
    res = runner.invoke(app, ["--debug", "--runs-dir", str(runs_dir), "profile",
                              str(tmp_path / "nope.csv")])
    assert res.exit_code == 1 and "Traceback" in res.output and "error:" in res.output


def test_unknown_dataset_and_bad_setting(runs_dir: Path):
    line = _one_error_line(invoke("datasets", "show", "no_such_set"))
    assert "no_such_set" in line and "german_credit" in line
    res = runner.invoke(app, ["profile", "german_credit"], env={"RISKSCOPE_SEED": "x"})
    assert "'seed' from the environment is invalid" in _one_error_line(res)


def test_datasets_list_shows_bundled_with_licence():
    res = invoke("datasets", "list", "--json")
    assert res.exit_code == 0
    rows = {r["name"]: r for r in orjson.loads(res.output)}
    assert {"german_credit", "cicids2017_excerpt", "carbanak_excerpt"} <= set(rows)
    assert rows["german_credit"]["rows"] == 1000
    assert rows["german_credit"]["label_counts"] == {"good": 700, "bad": 300}
    assert all(rows[n]["licence"] and rows[n]["citation"] for n in rows)


def test_datasets_show_profiles(runs_dir: Path):
    res = invoke("datasets", "show", "german_credit")
    assert res.exit_code == 0
    assert "rows 1,000" in res.output and "good" in res.output and "70.00%" in res.output


def test_profile_then_runs_list_and_show(runs_dir: Path):
    res = invoke("profile", "german_credit", runs=runs_dir)
    assert res.exit_code == 0, res.output
    run_dir = next(p for p in runs_dir.iterdir() if p.name.endswith("-profile"))
    assert (run_dir / "report.html").is_file()
    listed = invoke("runs", "list", runs=runs_dir)
    assert run_dir.name in listed.output and "complete" in listed.output
    shown = invoke("runs", "show", run_dir.name[:15], runs=runs_dir)
    assert shown.exit_code == 0, shown.output
    assert "rows" in shown.output and "report.html" in shown.output


def test_runs_show_unknown_id(runs_dir: Path):
    invoke("profile", "german_credit", runs=runs_dir)
    assert "not found" in _one_error_line(invoke("runs", "show", "zzz", runs=runs_dir))


def _sampled_profile(runs: Path, seed: int) -> dict:
    res = runner.invoke(app, ["--seed", str(seed), "--runs-dir", str(runs), "profile",
                              "cicids2017_excerpt", "--sample-rows", "300"])
    assert res.exit_code == 0, res.output
    newest = sorted((p for p in runs.iterdir() if p.name.endswith(("-profile",))
                     or re.search(r"-profile-\d+$", p.name)),
                    key=lambda p: p.stat().st_mtime)[-1]
    return orjson.loads((newest / "profile.json").read_bytes())


def test_same_seed_same_numbers(tmp_path: Path):
    a = _sampled_profile(tmp_path / "a", 5)
    b = _sampled_profile(tmp_path / "b", 5)
    c = _sampled_profile(tmp_path / "c", 6)
    assert a == b
    assert a["n_rows"] == 300 and a != c


def _light_ids_job():
    from riskscope.pipelines.ids import IdsConfig, run_ids

    def run(settings, progress, parent):
        cfg = IdsConfig(detectors=("lightgbm",), balance=("none",),
                        benign_only="isolation_forest", held_out_families=False)
        return run_ids(cfg, settings, progress=progress, parent=parent)

    return demo_mod.DemoJob(title="Intrusion detection (light)", run=run)


@pytest.mark.parametrize("seed", [1])
def test_demo_writes_index_linking_every_report(runs_dir: Path, seed: int,
                                                monkeypatch: pytest.MonkeyPatch):
    # The real demo trains every detector (minutes; see the slow test below): here the ids
    # job is a light one, everything else is the demo as shipped.
    jobs = tuple(j for j in demo_mod.DEMO_JOBS if j.title.startswith("Data profile"))
    monkeypatch.setattr(demo_mod, "DEMO_JOBS", (*jobs, _light_ids_job()))
    _check_demo(runs_dir, seed)


def test_demo_links_every_run_a_job_returns(runs_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """A job may record several runs (credit: run, score, monitor); each gets an entry."""
    from riskscope.pipelines.profile import ProfileConfig, run_profile

    def run(settings, progress, parent):
        return [(f"Profile {i}", run_profile(ProfileConfig(source="german_credit"), settings,
                                             parent=parent)) for i in (1, 2)]

    monkeypatch.setattr(demo_mod, "DEMO_JOBS", (demo_mod.DemoJob(title="two", run=run),))
    _check_demo(runs_dir, 1, extra_runs=1)
    index = next(runs_dir.glob("*-demo")) / "index.html"
    assert "Profile 1" in index.read_text() and "Profile 2" in index.read_text()


@pytest.mark.slow
def test_full_demo(runs_dir: Path):
    _check_demo(runs_dir, 42)


def _check_demo(runs_dir: Path, seed: int, extra_runs: int | None = None):
    res = runner.invoke(app, ["--seed", str(seed), "--runs-dir", str(runs_dir), "demo"])
    assert res.exit_code == 0, res.output
    index = Path(res.output.strip().splitlines()[-1].split(": ", 1)[1])
    assert index.is_file() and index.parent.name.endswith("-demo")
    html = index.read_text()
    hrefs = set(re.findall(r'href="(\.\./[^"]+/report\.html)"', html))
    # as monkeypatched by the caller, if it did; the credit job adds its score and
    # monitor runs to its own
    credit = any(j.title.startswith("Credit scoring") for j in demo_mod.DEMO_JOBS)
    extra = (2 if credit else 0) if extra_runs is None else extra_runs
    n_jobs = len(demo_mod.DEMO_JOBS) + extra
    assert len(hrefs) == n_jobs
    for href in hrefs:
        report = (index.parent / href).resolve()
        assert report.is_file() and "data:image/png;base64," in report.read_text()
    listed = invoke("runs", "list", runs=runs_dir)
    assert listed.output.count("complete") == n_jobs + 1  # every job and the demo itself
