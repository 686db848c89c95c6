"""Tests for riskscope.io.readers.read_table."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pandas as pd
import pytest

from riskscope.exceptions import InputError, SchemaError
from riskscope.io.readers import read_table

CSV_TEXT = "amount,rate,label\n100,0.5,good\n250,1.5,bad\n75,0.25,good\n"


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"amount": [100, 250, 75], "rate": [0.5, 1.5, 0.25], "label": ["good", "bad", "good"]}
    )


def _one_line(err: pytest.ExceptionInfo) -> None:
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text


# --- happy paths --------------------------------------------------------------------


def test_csv(tmp_path: Path, frame: pd.DataFrame) -> None:
    p = tmp_path / "t.csv"
    p.write_text(CSV_TEXT)
    pd.testing.assert_frame_equal(read_table(p), frame, check_dtype=False)
    assert read_table(p)["amount"].dtype == "int64"


def test_csv_gz_equals_csv(tmp_path: Path) -> None:
    plain, packed = tmp_path / "t.csv", tmp_path / "t.csv.gz"
    plain.write_text(CSV_TEXT)
    packed.write_bytes(gzip.compress(CSV_TEXT.encode()))
    pd.testing.assert_frame_equal(read_table(packed), read_table(plain))


def test_parquet_round_trip(tmp_path: Path, frame: pd.DataFrame) -> None:
    p = tmp_path / "t.parquet"
    frame.to_parquet(p)
    pd.testing.assert_frame_equal(read_table(p), frame, check_dtype=False)


def test_csv_and_parquet_agree(tmp_path: Path) -> None:
    csv_path = tmp_path / "t.csv"
    csv_path.write_text(CSV_TEXT)
    pq_path = tmp_path / "t.parquet"
    read_table(csv_path).to_parquet(pq_path)
    pd.testing.assert_frame_equal(read_table(pq_path), read_table(csv_path))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_columns_selects_in_the_given_order(tmp_path: Path, frame, suffix: str) -> None:
    p = tmp_path / f"t{suffix}"
    p.write_text(CSV_TEXT) if suffix == ".csv" else frame.to_parquet(p)
    out = read_table(p, columns=["label", "amount"])
    assert list(out.columns) == ["label", "amount"]
    assert out["label"].tolist() == ["good", "bad", "good"]


def test_repeated_header_names_get_suffixes(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(" Label,x,x,x.1\nBENIGN,1,2,3\n")
    assert list(read_table(p).columns) == [" Label", "x", "x.2", "x.1"]


def test_header_only_csv_gives_no_rows(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("a,b\n")
    out = read_table(p)
    assert list(out.columns) == ["a", "b"] and len(out) == 0


def test_uppercase_suffix_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "T.CSV"
    p.write_text(CSV_TEXT)
    assert read_table(p).shape == (3, 3)


# --- error paths --------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    expected = f"Input file '{p}' does not exist; check the path or run `riskscope datasets list`."
    with pytest.raises(InputError, match=re.escape(expected)) as err:
        read_table(p)
    _one_line(err)
    assert isinstance(err.value, OSError)


def test_directory(tmp_path: Path) -> None:
    d = tmp_path / "folder.csv"
    d.mkdir()
    with pytest.raises(InputError, match="is a folder, not a file"):
        read_table(d)


def test_unsupported_extension(tmp_path: Path) -> None:
    p = tmp_path / "data.xlsx"
    p.write_text("x")
    with pytest.raises(InputError, match=r"unsupported type '\.xlsx'; use one of \.csv\.gz"):
        read_table(p)


@pytest.mark.parametrize("name", ["e.csv", "e.parquet", "e.csv.gz"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(gzip.compress(b"") if name.endswith(".gz") else b"")
    with pytest.raises(InputError, match=r"Input file '.*e\.(csv|parquet|csv\.gz)' is empty"):
        read_table(p)


@pytest.mark.parametrize(
    ("text", "line", "found"),
    [("a,b,c\n1,2,3\n4,5\n6,7,8\n", 3, 2), ("a,b,c\n1,2,3,4\n", 2, 4)],
)
def test_ragged_csv_names_line_and_counts(tmp_path: Path, text: str, line: int, found: int):
    p = tmp_path / "r.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=f"line {line} has {found} fields; expected 3") as err:
        read_table(p)
    _one_line(err)


def test_ragged_csv_gz(tmp_path: Path) -> None:
    p = tmp_path / "r.csv.gz"
    p.write_bytes(gzip.compress(b'a,b\n"x,y",1\n2\n'))
    with pytest.raises(InputError, match="line 3 has 1 fields; expected 2"):
        read_table(p)


def test_not_parquet(tmp_path: Path) -> None:
    p = tmp_path / "fake.parquet"
    p.write_text(CSV_TEXT)
    with pytest.raises(InputError, match="'.*fake.parquet' is not a valid Parquet file") as err:
        read_table(p)
    _one_line(err)


def test_truncated_parquet(tmp_path: Path, frame: pd.DataFrame) -> None:
    p = tmp_path / "cut.parquet"
    frame.to_parquet(p)
    p.write_bytes(p.read_bytes()[:-20])
    with pytest.raises(InputError, match="is not a valid Parquet file"):
        read_table(p)


def test_not_gzip(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv.gz"
    p.write_text(CSV_TEXT)
    with pytest.raises(InputError, match="could not be read as CSV") as err:
        read_table(p)
    _one_line(err)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_unknown_columns(tmp_path: Path, frame: pd.DataFrame, suffix: str) -> None:
    p = tmp_path / f"t{suffix}"
    p.write_text(CSV_TEXT) if suffix == ".csv" else frame.to_parquet(p)
    with pytest.raises(SchemaError, match=r"has no column\(s\) 'Label', 'x'; it has 3 columns"):
        read_table(p, columns=["amount", "Label", "x"])
