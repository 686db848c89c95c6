"""Tests for riskscope.io.credit_applicants.read_applicants (applicants to score, no target)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskscope.exceptions import SchemaError
from riskscope.io.credit import read_credit
from riskscope.io.credit_applicants import read_applicants

HEADER = ["amount", "purpose", "status"]


def _rows(n: int = 30) -> list[list[str]]:
    """A small credit table: amount (numeric), purpose (categorical), status (target)."""
    purposes = ["car", "tv", "repairs"]
    return [[str(100 + 7 * i), purposes[i % 3], "bad" if i % 4 == 0 else "good"] for i in range(n)]


def _write(path: Path, rows: list[list[str]], sep: str = ",", header: list[str] | None = None):
    lines = ([sep.join(header)] if header else []) + [sep.join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _one_line(err: pytest.ExceptionInfo) -> None:
    assert "\n" not in str(err.value)


def test_applicants_are_read_by_name_with_the_training_types(tmp_path: Path) -> None:
    train = read_credit(_write(tmp_path / "train.csv", _rows(), header=HEADER), target="status")
    rows = [["9", " TV ", "x", "120"], ["8", "NA", "y", ""], ["7", "car", "z", "99"]]
    new = _write(tmp_path / "new.csv", rows, sep=";", header=["id", "Purpose", "note", "AMOUNT"])
    a = read_applicants(new, columns=list(train.X.columns), categorical=train.categorical)
    assert list(a.X.columns) == ["amount", "purpose"] and a.extra == ["id", "note"]
    assert a.X["amount"].dtype == np.float64 and np.isnan(a.X["amount"].iloc[1])
    assert a.X["purpose"].astype(object).tolist()[::2] == ["TV", "car"]
    assert pd.isna(a.X["purpose"].iloc[1]) and len(a.X) == 3  # every row kept
    same = read_applicants(pd.read_csv(new, sep=";", dtype=str), columns=["amount", "purpose"],
                           categorical=["purpose"])
    pd.testing.assert_frame_equal(same.X, a.X)


def test_applicants_missing_columns_are_all_named_in_one_line(tmp_path: Path) -> None:
    new = _write(tmp_path / "new.csv", [["1", "2"]], header=["Amount", "other"])
    with pytest.raises(SchemaError, match=r"lacks 2 column\(s\) the model needs: "
                       r"'purpose', 'age'") as err:
        read_applicants(new, columns=["amount", "purpose", "age"], categorical=["purpose"])
    _one_line(err)


def test_applicants_text_in_a_numeric_column(tmp_path: Path) -> None:
    rows = [["100", "car"], ["abc", "tv"], ["300", "tv"]]
    new = _write(tmp_path / "new.csv", rows, header=["amount", "purpose"])
    with pytest.raises(SchemaError, match=r"'amount'.*numeric in training.*1 non-numeric "
                       r"value\(s\) \(data rows 2; e.g. 'abc'\)") as err:
        read_applicants(new, columns=["amount", "purpose"], categorical=["purpose"])
    _one_line(err)
    with pytest.raises(SchemaError, match=r"no data rows"):
        read_applicants(pd.DataFrame({"amount": []}), columns=["amount"])


def test_the_old_import_path_still_works() -> None:
    from riskscope.io import credit, credit_applicants

    assert credit.read_applicants is credit_applicants.read_applicants
    assert credit.ApplicantData is credit_applicants.ApplicantData
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = credit.nope
