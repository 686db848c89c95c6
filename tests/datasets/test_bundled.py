"""Tests for riskscope.datasets: cards agree with the data, loaders validate."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from importlib import resources
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskscope import datasets
from riskscope.datasets import _german_codes as gc
from riskscope.datasets import _loaders
from riskscope.exceptions import InputError, SchemaError
from riskscope.io.readers import read_table
from riskscope.io.shared import shared_data_dir

ROOT = resources.files("riskscope.datasets")
RARE = {
    "Heartbleed": 11,
    "Web Attack - SQL Injection": 13,
    "Web Attack - XSS": 18,
    "Infiltration": 36,
    "Web Attack - Brute Force": 73,
}


def _file(name: str, filename: str) -> Path:
    return Path(str(ROOT / name / filename))


def _point(monkeypatch: pytest.MonkeyPatch, dataset: str, filename: str, path: Path) -> None:
    """Make the loaders read ``path`` instead of the bundled ``dataset/filename``."""
    real = _loaders._resource

    def fake(ds: str, fn: str):
        return path if (ds, fn) == (dataset, filename) else real(ds, fn)

    monkeypatch.setattr(_loaders, "_resource", fake)


def _shared() -> Path:
    root = shared_data_dir()
    if root is None:
        pytest.skip("../shared/data not found")
    return root


# --- cards --------------------------------------------------------------------------


@pytest.mark.parametrize("name", datasets.BUNDLED)
def test_card_has_required_fields(name: str) -> None:
    card = datasets.dataset_card(name)
    for key in (
        "name",
        "title",
        "description",
        "source",
        "licence",
        "citation",
        "label_column",
        "label_counts",
        "columns",
        "files",
        "built_by",
        "notes",
    ):
        assert key in card, key
    assert card["name"] == name
    if "recorded" in card["source"]:  # our own recordings: the recorder is the source
        assert card["built_by"] == "benchmarks/apt_record.py"
        assert card["source"]["command"].startswith("python benchmarks/apt_record.py")
    else:
        assert card["built_by"] == "scripts/make_bundled_data.py"
        assert card["source"]["upstream"].startswith("https://")


@pytest.mark.parametrize("name", datasets.BUNDLED)
def test_card_sha256_matches_files(name: str) -> None:
    card = datasets.dataset_card(name)
    on_disk = {p.name for p in Path(str(ROOT / name)).iterdir()} - {"card.json"}
    assert set(card["files"]) == on_disk
    for filename, digest in card["files"].items():
        assert hashlib.sha256(_file(name, filename).read_bytes()).hexdigest() == digest


def test_german_card_matches_data() -> None:
    card = datasets.dataset_card("german_credit")
    df = datasets.load_german_credit()
    assert card["rows"] == len(df) == 1000
    assert card["columns"] == df.shape[1] == 21
    assert card["label_counts"] == df["class"].astype(str).value_counts().to_dict()


def test_cicids_card_matches_data() -> None:
    card = datasets.dataset_card("cicids2017_excerpt")
    df = datasets.load_cicids2017_excerpt()
    assert card["rows"] == len(df)
    assert card["columns"] == df.shape[1] == 91
    assert card["label_counts"] == df["Label"].value_counts().to_dict()
    assert card["quality"]["duplicate_rows"] == int(df.duplicated().sum())


def test_carbanak_card_matches_data() -> None:
    card = datasets.dataset_card("carbanak_excerpt")
    g = datasets.load_carbanak_excerpt()
    assert (card["nodes"], card["edges"]) == (len(g.nodes), len(g.edges))
    assert card["label_counts"]["nodes"] == g.nodes["type"].value_counts().to_dict()
    assert card["label_counts"]["edges"] == g.edges["type"].value_counts().to_dict()
    assert card["columns"] == {"nodes": 5, "edges": 5}


def test_apt_recorded_runs_match_card() -> None:
    card = datasets.dataset_card("apt_recorded")
    runs = datasets.apt_recorded_runs()
    assert len(runs) == sum(card["kinds"].values())
    assert sum(r.attack for r in runs) == card["label_counts"]["attack"]
    assert not any(r.attack for r in datasets.apt_recorded_runs("train"))
    with pytest.raises(InputError, match="split must be"):
        datasets.apt_recorded_runs("val")


def test_bundled_total_under_budget() -> None:
    total = sum(
        _file(n, f).stat().st_size
        for n in datasets.BUNDLED
        for f in datasets.dataset_card(n)["files"]
    )
    assert total < 4_000_000


def test_unknown_card_is_input_error() -> None:
    with pytest.raises(InputError, match="Unknown bundled dataset 'nope'; choose one of: german"):
        datasets.dataset_card("nope")


# --- German credit ------------------------------------------------------------------


def test_german_shape_labels_and_dtypes() -> None:
    df = datasets.load_german_credit()
    assert df.shape == (1000, 21)
    assert list(df.columns) == [*gc.COLUMNS, "class"]
    assert df["class"].value_counts().to_dict() == {"good": 700, "bad": 300}
    for col in gc.NUMERIC:
        assert df[col].dtype == "int64", col
    for col in gc.CODES:
        assert isinstance(df[col].dtype, pd.CategoricalDtype), col


def test_german_decode_is_a_relabelling_of_the_codes() -> None:
    decoded = datasets.load_german_credit()
    raw = datasets.load_german_credit(decode=False)
    assert raw.shape == decoded.shape
    pd.testing.assert_frame_equal(raw[list(gc.NUMERIC)], decoded[list(gc.NUMERIC)])
    pd.testing.assert_series_equal(raw["class"], decoded["class"])
    for col, book in gc.CODES.items():
        mapped = raw[col].astype(str).map(book)
        assert (mapped == decoded[col].astype(str)).all(), col
    assert raw.loc[0, "checking_status"] == "A11"


def test_german_rejects_a_dropped_column(tmp_path: Path, monkeypatch) -> None:
    lines = _file("german_credit", "german.data").read_text().splitlines()
    bad = tmp_path / "german.data"
    bad.write_text("\n".join(" ".join(ln.split()[:-1]) for ln in lines) + "\n")
    _point(monkeypatch, "german_credit", "german.data", bad)
    with pytest.raises(SchemaError, match="line 1 has 20 fields; expected 21"):
        datasets.load_german_credit()


def test_german_rejects_an_unknown_code(tmp_path: Path, monkeypatch) -> None:
    text = _file("german_credit", "german.data").read_text()
    bad = tmp_path / "german.data"
    bad.write_text(text.replace("A11 ", "A19 ", 1))
    _point(monkeypatch, "german_credit", "german.data", bad)
    with pytest.raises(SchemaError, match="code 'A19' in column 'checking_status'"):
        datasets.load_german_credit()


def test_missing_bundled_file_is_input_error(tmp_path: Path, monkeypatch) -> None:
    _point(monkeypatch, "german_credit", "german.data", tmp_path / "gone.data")
    with pytest.raises(InputError, match="'german_credit/german.data' is missing"):
        datasets.load_german_credit()


# --- CICIDS2017 excerpt -------------------------------------------------------------


def test_cicids_has_every_label_and_all_rare_rows() -> None:
    df = datasets.load_cicids2017_excerpt()
    counts = df["Label"].value_counts()
    assert len(counts) == 16
    for label, n in RARE.items():
        assert counts[label] == n, label
    assert tuple(df.columns) == datasets.CICIDS2017_IMPROVED_COLUMNS


def test_cicids_file_size_budget() -> None:
    assert _file("cicids2017_excerpt", "flows.parquet").stat().st_size <= 3_000_000


def test_cicids_rejects_a_dropped_column(tmp_path: Path, monkeypatch) -> None:
    table = pq.read_table(_file("cicids2017_excerpt", "flows.parquet"))
    bad = tmp_path / "flows.parquet"
    pq.write_table(table.drop_columns(["Label"]), bad)
    _point(monkeypatch, "cicids2017_excerpt", "flows.parquet", bad)
    with pytest.raises(SchemaError, match=r"lacks 1 required column\(s\): 'Label'; found 90"):
        datasets.load_cicids2017_excerpt()


def test_cicids_rejects_missing_labels(tmp_path: Path, monkeypatch) -> None:
    df = pq.read_table(_file("cicids2017_excerpt", "flows.parquet")).to_pandas()
    df.loc[[0, 5], "Label"] = None
    bad = tmp_path / "flows.parquet"
    df.to_parquet(bad)
    _point(monkeypatch, "cicids2017_excerpt", "flows.parquet", bad)
    with pytest.raises(SchemaError, match="has 2 rows with no 'Label'"):
        datasets.load_cicids2017_excerpt()


# --- Carbanak excerpt ---------------------------------------------------------------


def test_carbanak_graph_is_consistent() -> None:
    g = datasets.load_carbanak_excerpt()
    assert 2_000 <= len(g.edges) <= 6_000
    assert g.nodes["id"].is_unique
    assert g.edges["src"].isin(g.nodes["id"]).all()
    assert g.edges["dst"].isin(g.nodes["id"]).all()
    assert set(g.nodes["type"]) == {"process", "file", "regkey", "socket"}


def test_carbanak_windows_hold_the_attack_steps() -> None:
    g = datasets.load_carbanak_excerpt()
    card = datasets.dataset_card("carbanak_excerpt")
    windows = card["windows"]
    t = g.edges["time"]
    inside = pd.Series(False, index=g.edges.index)
    for w in windows:
        inside |= (t >= w["start_us"]) & (t < w["end_us"])
    assert inside.all()
    assert sum(w["edges"] for w in windows) == len(g.edges)
    names = set(g.nodes["name"])
    assert r"hklm\software\microsoft\windows\currentversion\run\java-update" in names
    assert r"c:\users\h3_user.pangolin\appdata\local\temp\defenderupgradeexec.exe" in names
    log_t = g.attack_log["telemetry_time_us"]
    assert len(g.attack_log) > 0
    assert any(((log_t >= w["start_us"]) & (log_t < w["end_us"])).any() for w in windows)


def _write_graph_copy(tmp_path: Path, which: str, frame: pd.DataFrame) -> Path:
    path = tmp_path / f"{which}.parquet"
    frame.to_parquet(path)
    return path


def test_carbanak_rejects_a_dropped_column(tmp_path: Path, monkeypatch) -> None:
    edges = pd.read_parquet(_file("carbanak_excerpt", "edges.parquet"))
    bad = _write_graph_copy(tmp_path, "edges", edges.drop(columns="dst"))
    _point(monkeypatch, "carbanak_excerpt", "edges.parquet", bad)
    with pytest.raises(SchemaError, match=r"edges table lacks column\(s\) 'dst'"):
        datasets.load_carbanak_excerpt()


def test_carbanak_rejects_a_dangling_edge(tmp_path: Path, monkeypatch) -> None:
    edges = pd.read_parquet(_file("carbanak_excerpt", "edges.parquet"))
    edges.loc[3, "dst"] = -7
    bad = _write_graph_copy(tmp_path, "edges", edges)
    _point(monkeypatch, "carbanak_excerpt", "edges.parquet", bad)
    with pytest.raises(SchemaError, match=r"1 edges have a 'dst' .* \(first: row 3, dst=-7\)"):
        datasets.load_carbanak_excerpt()


def test_carbanak_rejects_repeated_node_ids(tmp_path: Path, monkeypatch) -> None:
    nodes = pd.read_parquet(_file("carbanak_excerpt", "nodes.parquet"))
    bad = _write_graph_copy(tmp_path, "nodes", pd.concat([nodes, nodes.head(2)]))
    _point(monkeypatch, "carbanak_excerpt", "nodes.parquet", bad)
    with pytest.raises(SchemaError, match="2 node ids are repeated"):
        datasets.load_carbanak_excerpt()


# --- against the shared originals ---------------------------------------------------


@pytest.mark.needs_shared_data
def test_german_file_is_the_shared_original() -> None:
    shared = _shared() / "credit" / "german" / "german.data"
    assert _file("german_credit", "german.data").read_bytes() == shared.read_bytes()


@pytest.mark.needs_shared_data
def test_cicids_excerpt_rows_are_shared_rows_unchanged() -> None:
    folder = _shared() / "cicids2017" / "improved_rnd5000"
    full = pd.concat([read_table(f) for f in sorted(folder.glob("*.csv"))], ignore_index=True)
    excerpt = datasets.load_cicids2017_excerpt()
    assert tuple(full.columns) == datasets.CICIDS2017_IMPROVED_COLUMNS
    assert (excerpt.dtypes == full.dtypes).all()
    merged = excerpt.merge(full.drop_duplicates(), how="left", indicator=True)
    assert len(merged) == len(excerpt)
    assert (merged["_merge"] == "both").all()


@pytest.mark.needs_shared_data
def test_carbanak_excerpt_is_a_subgraph_of_the_shared_graph() -> None:
    folder = _shared() / "provenance" / "carbanak_h3"
    g = datasets.load_carbanak_excerpt()
    nodes = pd.read_parquet(folder / "h3_attack_nodes.parquet")
    merged = g.nodes.merge(nodes, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()


@pytest.mark.slow
@pytest.mark.needs_shared_data
def test_build_script_reproduces_the_cards(tmp_path: Path, monkeypatch) -> None:
    shared = _shared()
    script = Path(__file__).resolve().parents[2] / "scripts" / "make_bundled_data.py"
    spec = importlib.util.spec_from_file_location("make_bundled_data", script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_bundled_data", module)
    spec.loader.exec_module(module)
    (tmp_path / "src" / "riskscope" / "datasets").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert module.main(["--shared", str(shared)]) == 0
    for name in datasets.BUNDLED:
        if "recorded" in datasets.dataset_card(name)["source"]:
            continue  # recorded by benchmarks/apt_record.py, not built from shared data
        built = json.loads((tmp_path / module.OUT / name / "card.json").read_text())
        assert built == datasets.dataset_card(name), name
