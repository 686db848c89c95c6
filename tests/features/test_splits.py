"""Tests for riskscope.features.splits."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, RobustScaler

from riskscope.exceptions import ParameterError, SchemaError
from riskscope.features.splits import (
    Split,
    _stratified_shuffle,
    conversation_groups,
    conversation_split,
    day_split,
    make_scaler,
    stratified_split,
)


def _assert_partition(split: Split, n: int) -> None:
    parts = [split.train, split.val, split.test]
    joined = np.concatenate(parts)
    assert joined.dtype == np.int64
    assert np.array_equal(np.sort(joined), np.arange(n))  # disjoint and complete
    for p in parts:
        assert np.all(np.diff(p) > 0)  # sorted


def _imbalanced_labels(n: int = 5000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(["BENIGN", "DoS", "PortScan", "Bot"], n, p=[0.8, 0.12, 0.06, 0.02])


# ---------------------------------------------------------------------------- stratified


def test_stratified_split_reproduces_the_notebooks_two_stage_split():
    y = _imbalanced_labels()
    idx = np.arange(y.size)
    train, temp = train_test_split(idx, test_size=0.3, stratify=y, random_state=42)
    val, test = train_test_split(temp, test_size=0.5, stratify=y[temp], random_state=42)
    s = stratified_split(y, seed=42)
    for ours, theirs in ((s.train, train), (s.val, val), (s.test, test)):
        np.testing.assert_array_equal(ours, np.sort(theirs))
    _assert_partition(s, y.size)
    assert s.warnings == ()


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 400), min_size=1, max_size=12),
    test_size=st.sampled_from([0.1, 0.15, 0.3, 0.5, 0.7]),
    seed=st.integers(0, 2**31 - 1),
)
def test_stratified_shuffle_equals_scikit_learns_train_test_split(counts, test_size, seed):
    # Our array-based StratifiedShuffleSplit must draw exactly what scikit-learn's does,
    # row for row and in the same order (or raise its error).
    strata = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(counts)) * 2,
                                                               counts))
    pool = np.arange(strata.size) * 3 + 1
    try:
        theirs = train_test_split(pool, test_size=test_size, stratify=strata,
                                  random_state=seed)
    except ValueError as exc:
        with pytest.raises(ValueError, match=re.escape(str(exc))):
            _stratified_shuffle(pool, strata, test_size, seed)
        return
    ours = _stratified_shuffle(pool, strata, test_size, seed)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_stratified_split_keeps_class_shares_and_is_seeded():
    y = _imbalanced_labels()
    s = stratified_split(y, sizes=(0.6, 0.2, 0.2), seed=1)
    assert s.sizes() == {"train": 3000, "val": 1000, "test": 1000}
    for cls in ("BENIGN", "Bot"):
        total = (y == cls).sum()
        assert s.class_counts["val"][cls] == pytest.approx(0.2 * total, abs=1)
    again = stratified_split(y, sizes=(0.6, 0.2, 0.2), seed=1)
    other = stratified_split(y, sizes=(0.6, 0.2, 0.2), seed=2)
    assert np.array_equal(s.test, again.test)
    assert not np.array_equal(s.test, other.test)


def test_tiny_classes_go_to_train_with_a_warning():
    y = np.array(["BENIGN"] * 60 + ["DoS"] * 30 + ["Heartbleed"] * 2 + ["SQLi"] * 1 + ["XSS"] * 3)
    s = stratified_split(y, seed=0)
    _assert_partition(s, y.size)
    assert s.class_counts["train"]["Heartbleed"] == 2
    assert s.class_counts["train"]["SQLi"] == 1
    assert "fewer than 3 rows went to train only" in s.warnings[0]
    assert "Heartbleed, SQLi" in s.warnings[0]
    # XSS (3 rows) is stratified; wherever its rows land, the split did not fail.
    assert sum(s.class_counts[k]["XSS"] for k in ("train", "val", "test")) == 3
    assert any("no rows in val" in w for w in s.warnings)


def test_split_summary_is_json():
    s = stratified_split(_imbalanced_labels(300), seed=3)
    summary = json.loads(json.dumps(s.to_dict()))
    assert summary["method"] == "stratified"
    assert summary["sizes"] == s.sizes()
    assert sum(summary["class_counts"]["train"].values()) == s.sizes()["train"]
    assert summary["params"] == {"sizes": [0.7, 0.15, 0.15], "seed": 3}


@pytest.mark.parametrize("sizes", [(0.7, 0.3), (0.7, 0.2, 0.2), (0.8, 0.2, 0.0), "abc"])
def test_bad_sizes(sizes):
    with pytest.raises(ParameterError, match="`sizes` of stratified_split must be three"):
        stratified_split(_imbalanced_labels(100), sizes=sizes)


def test_bad_labels():
    with pytest.raises(SchemaError, match="at least 3 rows"):
        stratified_split(["a", "b"])
    with pytest.raises(SchemaError, match="1 missing labels"):
        stratified_split(np.array(["a", None, "b", "a"], dtype=object))


# ---------------------------------------------------------------------------------- days


def _week() -> tuple[pd.Series, np.ndarray]:
    """CICIDS2017-like week: Monday benign only, an attack per later day."""
    rows = {
        "2017-07-03": 187,
        "2017-07-04": 158,
        "2017-07-05": 245,
        "2017-07-06": 162,
        "2017-07-07": 248,
    }
    attack = {
        "2017-07-03": "BENIGN",
        "2017-07-04": "FTP-Patator",
        "2017-07-05": "DoS Hulk",
        "2017-07-06": "Web Attack",
        "2017-07-07": "DDoS",
    }
    stamps, labels = [], []
    for day, n in rows.items():
        stamps += list(pd.Timestamp(day) + pd.to_timedelta(np.linspace(0, 8, n), unit="h"))
        labels += ["BENIGN" if i % 3 else attack[day] for i in range(n)]
    return pd.Series(stamps), np.array(labels)


def test_day_split_assigns_whole_days_chronologically():
    ts, y = _week()
    s = day_split(ts, y)
    _assert_partition(s, y.size)
    assert s.params["days"] == {
        "train": ["2017-07-03", "2017-07-04", "2017-07-05"],
        "val": ["2017-07-06"],
        "test": ["2017-07-07"],
    }
    day = ts.dt.date
    for part in (s.train, s.val, s.test):
        others = np.setdiff1d(np.arange(y.size), part)
        assert not set(day.iloc[part]) & set(day.iloc[others])
    assert any("no rows in train" in w and "DDoS" in w for w in s.warnings)


def test_day_split_with_explicit_days_leaves_unnamed_days_out():
    ts, y = _week()
    s = day_split(
        ts,
        y,
        train_days=["2017-07-03", "2017-07-05"],
        val_days="2017-07-06",
        test_days=[pd.Timestamp("2017-07-07")],
    )
    assert s.sizes() == {"train": 187 + 245, "val": 162, "test": 248}
    assert any("158 rows lie on days named in none" in w for w in s.warnings)


def test_day_split_errors():
    ts, y = _week()
    with pytest.raises(SchemaError, match="needs flow timestamps.*stratified"):
        day_split(None, y)
    two_days = ts.where(ts < pd.Timestamp("2017-07-05"), pd.Timestamp("2017-07-04"))
    with pytest.raises(SchemaError, match="at least 3 calendar days; found 2"):
        day_split(two_days, y)
    with pytest.raises(SchemaError, match="2 missing timestamps"):
        day_split(ts.where(ts.index > 1), y)
    with pytest.raises(ParameterError, match="all three of train_days"):
        day_split(ts, y, test_days="2017-07-07")
    with pytest.raises(ParameterError, match="2017-07-06 is in both train_days and val_days"):
        day_split(
            ts, y, train_days=["2017-07-06"], val_days=["2017-07-06"], test_days=["2017-07-07"]
        )
    with pytest.raises(ParameterError, match="2017-08-01, which has no flows"):
        day_split(
            ts, y, train_days=["2017-08-01"], val_days=["2017-07-06"], test_days=["2017-07-07"]
        )


# ------------------------------------------------------------------------- conversations


def _pair_keys(meta: pd.DataFrame, key: str) -> list[frozenset]:
    if key == "hosts":
        return [frozenset((s, d)) for s, d in zip(meta.src_ip, meta.dst_ip, strict=True)]
    return [
        frozenset(((s, sp), (d, dp)))
        for s, sp, d, dp in zip(meta.src_ip, meta.src_port, meta.dst_ip, meta.dst_port, strict=True)
    ]


_flows = st.integers(min_value=12, max_value=120).flatmap(
    lambda n: st.tuples(
        st.lists(
            st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3", "172.16.0.1"]),
            min_size=n,
            max_size=n,
        ),
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
        st.lists(
            st.sampled_from(["10.0.0.1", "192.168.10.50", "192.168.10.3"]), min_size=n, max_size=n
        ),
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
        st.lists(st.sampled_from(["BENIGN", "DoS", "Bot"]), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(flows=_flows, key=st.sampled_from(["endpoints", "hosts"]), seed=st.integers(0, 5))
def test_conversation_split_never_shares_a_pair(flows, key, seed):
    src, sport, dst, dport, y = flows
    meta = pd.DataFrame({"src_ip": src, "src_port": sport, "dst_ip": dst, "dst_port": dport})
    try:
        s = conversation_split(meta, y, key=key, seed=seed)
    except SchemaError as exc:  # fewer than 3 conversations: a clear refusal is fine
        assert "at least 3" in str(exc)
        assert len(set(_pair_keys(meta, key))) < 3
        return
    _assert_partition(s, len(y))
    keys = _pair_keys(meta, key)
    seen = [{keys[i] for i in part} for part in (s.train, s.val, s.test)]
    assert not seen[0] & seen[1] and not seen[0] & seen[2] and not seen[1] & seen[2]
    again = conversation_split(meta, y, key=key, seed=seed)
    assert np.array_equal(s.test, again.test) and np.array_equal(s.val, again.val)


def test_conversation_groups_join_both_directions():
    meta = pd.DataFrame(
        {
            "src_ip": ["a", "b", "a", "a"],
            "src_port": [1, 80, 1, 2],
            "dst_ip": ["b", "a", "b", "b"],
            "dst_port": [80, 1, 80, 80],
        }
    )
    assert conversation_groups(meta).tolist() == [0, 0, 0, 1]
    assert conversation_groups(meta, key="hosts").tolist() == [0, 0, 0, 0]


def _many_conversations(n: int = 20000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    meta = pd.DataFrame(
        {
            "src_ip": rng.choice([f"10.0.0.{i}" for i in range(50)], n),
            "src_port": rng.integers(1024, 1500, n),
            "dst_ip": rng.choice(["192.168.10.50", "192.168.10.51"], n),
            "dst_port": rng.choice([80, 443, 22], n),
        }
    )
    y = rng.choice(["BENIGN", "DoS", "Bot"], n, p=[0.7, 0.25, 0.05])
    # One big conversation carrying many DoS flows: must stay whole.
    meta.loc[:1999, ["src_ip", "src_port", "dst_ip", "dst_port"]] = [
        "6.6.6.6",
        4444,
        "192.168.10.50",
        80,
    ]
    y[:2000] = "DoS"
    return meta, y


def test_conversation_split_respects_sizes_and_class_shares():
    meta, y = _many_conversations()
    s = conversation_split(meta, y, seed=0)
    shares = {k: v / y.size for k, v in s.sizes().items()}
    assert shares["train"] == pytest.approx(0.7, abs=0.02)
    assert shares["val"] == pytest.approx(0.15, abs=0.02)
    for cls in ("BENIGN", "DoS", "Bot"):
        total = (y == cls).sum()
        assert s.class_counts["test"][cls] / total == pytest.approx(0.15, abs=0.03)
    assert s.params["key"] == "endpoints" and s.params["n_groups"] > 1000
    assert s.warnings == ()
    big = np.arange(2000)
    assert np.isin(big, s.train).all() or np.isin(big, s.val).all() or np.isin(big, s.test).all()


def test_conversation_split_warns_about_classes_it_cannot_spread():
    meta, y = _many_conversations(3000)
    y = y.astype(object)
    y[:2000] = "Heartbleed"  # all in the one big conversation
    s = conversation_split(meta, y, key="endpoints", seed=0)
    assert s.class_counts["train"]["Heartbleed"] == 2000
    assert any("no rows in val" in w and "Heartbleed" in w for w in s.warnings)
    assert any("no rows in test" in w and "Heartbleed" in w for w in s.warnings)


def test_conversation_split_errors():
    meta, y = _many_conversations(2500)
    with pytest.raises(SchemaError, match=r"needs meta columns .*missing \['src_port'\]"):
        conversation_split(meta.drop(columns="src_port"), y)
    hosts_only = meta.drop(columns=["src_port", "dst_port"])
    assert conversation_split(hosts_only, y, key="hosts").sizes()["train"] > 0
    with pytest.raises(ParameterError, match="`key` of conversation_split"):
        conversation_split(meta, y, key="ports")
    one = meta.assign(src_ip="a", dst_ip="b")
    with pytest.raises(SchemaError, match="found 1 conversations"):
        conversation_split(one, y, key="hosts")


# -------------------------------------------------------------------------------- scaler


def test_make_scaler_names():
    assert isinstance(make_scaler(), RobustScaler)
    assert isinstance(make_scaler("minmax"), MinMaxScaler)
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, dtype=np.float32)
    none = make_scaler("none").set_output(transform="pandas").fit(X)
    assert isinstance(none, FunctionTransformer)
    pd.testing.assert_frame_equal(none.transform(X), X)
    assert make_scaler() is not make_scaler()  # a fresh one each time
    with pytest.raises(ParameterError, match="Unknown scaler 'quantile'; choose one of"):
        make_scaler("quantile")


def test_scaler_fitted_on_train_rows_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 3))
    y = rng.choice(["a", "b"], 1000)
    s = stratified_split(y, seed=0)
    X[s.test] += 1000.0  # test rows far away: must not move the training scale
    scaler = make_scaler("standard").fit(X[s.train])
    np.testing.assert_allclose(scaler.mean_, X[s.train].mean(axis=0))
    assert np.abs(scaler.mean_).max() < 1
