"""Tests for riskscope.io.profile."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

from riskscope.exceptions import ParameterError, SchemaError
from riskscope.io.profile import MISSING_LABEL, DataProfile, profile_frame


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [100.0, 250.5, np.nan, 100.0, 75.0, 100.0],
            "ratio": [0.5, np.inf, -np.inf, 0.5, 1.5, 0.5],
            "empty": [np.nan] * 6,
            "country": ["DE"] * 6,
            "age": [30, 41, 52, 30, 23, 30],
            "target": ["good", "bad", None, "good", "good", "good"],
        }
    )


def _col(profile: DataProfile, name: str):
    return next(c for c in profile.columns if c.name == name)


def test_counts_on_hand_made_frame(frame):
    p = profile_frame(frame, label="target", name="toy")
    assert (p.name, p.n_rows, p.n_columns, p.label) == ("toy", 6, 6, "target")
    amount, ratio, empty = _col(p, "amount"), _col(p, "ratio"), _col(p, "empty")
    assert (amount.n_missing, amount.n_inf, amount.n_unique) == (1, 0, 3)
    assert (amount.min, amount.max) == (75.0, 250.5)
    assert amount.mean == pytest.approx((100 * 3 + 250.5 + 75) / 5)
    # Infinities are counted, not missing, and kept out of min/max/mean.
    assert (ratio.n_missing, ratio.n_inf, ratio.n_unique) == (0, 2, 4)
    assert (ratio.min, ratio.max) == (0.5, 1.5)
    assert (empty.n_missing, empty.n_unique, empty.is_constant) == (6, 0, True)
    assert (empty.min, empty.max, empty.mean) == (None, None, None)
    country = _col(p, "country")
    assert country.is_constant and country.n_inf is None and country.min is None
    assert p.constant_columns == ["empty", "country"]
    assert p.label_counts == {"good": 4, "bad": 1, MISSING_LABEL: 1}
    assert list(p.label_counts) == ["good", "bad", MISSING_LABEL]
    # Rows 3 and 5 repeat row 0 exactly (NaN equals NaN for duplicates).
    assert p.n_duplicate_rows == 2
    assert p.n_missing_cells == 1 + 6 + 1
    assert p.n_inf_cells == 2
    assert p.metrics() == {
        "rows": 6,
        "columns": 6,
        "constant_columns": 2,
        "missing_cells": 8,
        "inf_cells": 2,
        "duplicate_rows": 2,
        "classes": 2,
    }


def test_duplicates_match_pandas(frame):
    rng = np.random.default_rng(0)
    big = pd.concat([frame] * 7, ignore_index=True)
    big["noise"] = rng.integers(0, 3, len(big))
    big.loc[3, "amount"] = -0.0  # -0.0 == 0.0 for pandas too
    big.loc[4, "amount"] = 0.0
    assert profile_frame(big).n_duplicate_rows == int(big.duplicated().sum())


def test_integer_labels_and_no_label(frame):
    df = frame.assign(y=[1, 0, 1, 1, 0, 1])
    p = profile_frame(df, label="y")
    assert p.label_counts == {1: 4, 0: 2}
    assert all(type(k) is int for k in p.label_counts)
    assert "classes" not in profile_frame(df).metrics()
    assert profile_frame(df).label_counts == {}


def test_pandas_and_polars_give_identical_dict(frame):
    from_pd = profile_frame(frame, label="target", name="toy")
    from_pl = profile_frame(pl.from_pandas(frame), label="target", name="toy")
    assert from_pl.to_dict() == from_pd.to_dict()


def test_row_order_invariance(frame):
    rng = np.random.default_rng(7)
    big = pd.concat([frame] * 50, ignore_index=True)
    big["amount"] = rng.normal(size=len(big)) * 1e3
    shuffled = big.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert (
        profile_frame(shuffled, label="target").to_dict()
        == profile_frame(big, label="target").to_dict()
    )


def test_json_round_trip_is_identical(frame):
    p = profile_frame(frame.assign(y=[1, 0, 1, 1, 0, 1]), label="y")
    text = json.dumps(p.to_dict(), allow_nan=False)
    back = DataProfile.from_dict(json.loads(text))
    assert back == p
    assert json.dumps(back.to_dict(), allow_nan=False) == text


def test_to_frame_has_one_row_per_column(frame):
    table = profile_frame(frame).to_frame()
    assert list(table["column"]) == list(frame.columns)
    assert table.loc[table["column"] == "ratio", "n_inf"].item() == 2
    assert table.loc[table["column"] == "country", "n_inf"].isna().item()


def test_max_columns_keeps_problem_columns_and_totals(frame):
    p = profile_frame(frame, label="target", max_columns=4)
    assert [c.name for c in p.columns] == ["amount", "ratio", "empty", "country"]
    assert p.n_columns == 6 and p.n_missing_cells == 8
    with pytest.raises(ParameterError, match="`max_columns` of profile_frame must be an int"):
        profile_frame(frame, max_columns=0)


def test_unknown_label_raises_schema_error(frame):
    with pytest.raises(
        SchemaError,
        match=r"Label column 'class' not found in credit; "
        r"columns are: amount, ratio, .*; pass --label",
    ):
        profile_frame(frame, label="class", name="credit")


def test_unknown_label_message_truncates_long_column_lists():
    wide = pd.DataFrame(np.zeros((2, 40)), columns=[f"f{i}" for i in range(40)])
    with pytest.raises(SchemaError, match=r"f11, \.\.\. \(28 more\); pass --label") as err:
        profile_frame(wide, label="y")
    assert "\n" not in str(err.value)


def test_rejects_non_frames():
    with pytest.raises(ParameterError, match="expects a pandas or polars DataFrame"):
        profile_frame([[1, 2]])


def test_empty_frame():
    p = profile_frame(pd.DataFrame({"a": pd.Series([], dtype=float)}), label="a")
    assert (p.n_rows, p.n_duplicate_rows, p.label_counts) == (0, 0, {})
    assert p.columns[0].is_constant
