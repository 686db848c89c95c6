"""The neighbour search is exact: it matches a plain sort of all distances, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mode

from riskscope.sampling._neighbors import edited_keep_mask, kneighbors_within


def naive_knn(X: np.ndarray, k: int) -> np.ndarray:
    """k nearest other rows by exact float64 distance, ties by lower row index."""
    X64 = X.astype(np.float64)
    out = []
    for s in range(0, len(X), 100):
        D = ((X64[s : s + 100, None, :] - X64[None, :, :]) ** 2).sum(-1)
        D[np.arange(len(D)), np.arange(s, s + len(D))] = np.inf
        out.append(np.argsort(D, axis=1, kind="stable")[:, :k])  # stable: ties by index
    return np.concatenate(out)


def datasets():
    rng = np.random.default_rng(0)
    ties = rng.integers(0, 3, size=(600, 6)).astype(np.float32)  # many exact duplicates
    base = rng.standard_normal((200, 5))
    near_dups = base[rng.integers(0, 200, 600)] + 1e-3 * rng.standard_normal((600, 5))
    heavy = (rng.standard_cauchy((500, 8)) * 10).astype(np.float32)  # heavy tails
    return {"ties": ties, "near_duplicates": near_dups, "heavy_tailed": heavy}


DATA = datasets()


@pytest.mark.parametrize("name", list(DATA))
@pytest.mark.parametrize("k", [1, 3, 5])
def test_tree_search_matches_naive_sort(name, k):
    X = DATA[name]
    expected = naive_knn(X, k)
    for leaf_size in (8, 64):
        nbr, dist = kneighbors_within(X, k, leaf_size=leaf_size, brute_work=0)
        np.testing.assert_array_equal(nbr, expected)
        assert np.all(np.diff(dist, axis=1) >= 0)


@pytest.mark.parametrize("name", list(DATA))
def test_brute_force_path_matches_naive_sort(name):
    X = DATA[name]
    nbr, _ = kneighbors_within(X, 3)  # small: one brute-force pass
    np.testing.assert_array_equal(nbr, naive_knn(X, 3))


def test_structureless_data_falls_back_and_stays_exact():
    X = np.random.default_rng(1).standard_normal((800, 40))
    nbr, _ = kneighbors_within(X, 4, brute_work=0)
    np.testing.assert_array_equal(nbr, naive_knn(X, 4))


def test_thread_count_does_not_change_the_answer():
    X = DATA["heavy_tailed"]
    one, _ = kneighbors_within(X, 5, n_jobs=1, leaf_size=16, brute_work=0)
    two, _ = kneighbors_within(X, 5, n_jobs=2, leaf_size=16, brute_work=0)
    np.testing.assert_array_equal(one, two)


def test_parallel_tree_build_gives_the_same_tree_and_answers():
    # big enough that the top of the tree is built first and its subtrees on threads
    from riskscope.sampling._neighbors import _Tree

    rng = np.random.default_rng(4)
    X = (rng.standard_cauchy((5000, 6)) * 3).astype(np.float32)
    y = (X[:, 0] + rng.normal(0, 2, len(X)) > 0).astype(np.int64)
    one, two = _Tree(X, 32, 1), _Tree(X, 32, 2)
    np.testing.assert_array_equal(one.perm, two.perm)
    np.testing.assert_array_equal(one.start[one.leaves], two.start[two.leaves])
    np.testing.assert_array_equal(one.Xp, X[one.perm])
    assert len(one.leaves) > 64 and (one.end[one.leaves] - one.start[one.leaves]).max() <= 32
    for jobs in (1, 2):
        nbr, _ = kneighbors_within(X, 4, n_jobs=jobs, brute_work=0)
        np.testing.assert_array_equal(nbr, naive_knn(X, 4))
    clean = np.array([True, True])
    expected = naive_keep(X, y, clean, 3, "all")
    for jobs in (1, 2):
        np.testing.assert_array_equal(
            edited_keep_mask(X, y, clean, 3, "all", n_jobs=jobs, brute_work=0), expected)


def naive_keep(X, y, clean, k, kind_sel):
    nb = naive_knn(X, k)
    if kind_sel == "all":
        keep = np.all(y[nb] == y[:, None], axis=1)
    else:
        keep = mode(y[nb], axis=1, keepdims=False).mode == y
    return keep | ~clean[y]


@pytest.mark.parametrize("name", list(DATA))
@pytest.mark.parametrize("kind_sel", ["all", "mode"])
def test_edited_mask_matches_naive_rule(name, kind_sel):
    X = DATA[name]
    y = np.random.default_rng(2).integers(0, 3, len(X))
    clean = np.array([True, True, False])
    expected = naive_keep(X, y, clean, 3, kind_sel)
    for leaf_size in (8, 64):
        got = edited_keep_mask(X, y, clean, 3, kind_sel, leaf_size=leaf_size, brute_work=0)
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(edited_keep_mask(X, y, clean, 3, kind_sel), expected)


def test_edited_mask_certifies_separated_classes_and_finds_the_boundary():
    # two well separated clusters plus a few rows of each class inside the other: only
    # those and their neighbours are searched, everyone else is certified
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(0, 1, (1000, 4)), rng.normal(20, 1, (1000, 4))]).astype(np.float32)
    y = np.repeat([0, 1], 1000)
    y[[5, 17, 1600]] = 1 - y[[5, 17, 1600]]
    stats = {}
    got = edited_keep_mask(X, y, np.array([True, True]), 3, "all", brute_work=0, stats=stats)
    np.testing.assert_array_equal(got, naive_keep(X, y, np.array([True, True]), 3, "all"))
    assert stats["searched"] < 60  # the certificate spared the other rows a search
    assert stats["leaf_certified"] > 1000  # half were certified with their whole leaf


def test_duplicate_with_another_label_removes_both_copies():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [3.0], [10.0], [11.0], [12.0], [13.0]])
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    keep = edited_keep_mask(X, y, np.array([True, True]), 1, "all")
    assert not keep[3] and not keep[4]
    assert keep[[0, 1, 2, 5, 6, 7, 8]].all()


def test_search_leaves_the_callers_array_alone_in_either_layout():
    # the tree reorders rows in place: only in a copy of its own (a column-major input
    # is copied once, row-major, and that copy is reordered instead of copied again)
    X = DATA["heavy_tailed"]
    labels = (X[:, 0] > 0).astype(np.int64)
    for arr in (np.ascontiguousarray(X), np.asfortranarray(X)):
        before = arr.copy()
        nbr, _ = kneighbors_within(arr, 4, leaf_size=8, brute_work=0)
        np.testing.assert_array_equal(arr, before)
        np.testing.assert_array_equal(nbr, naive_knn(X, 4))
        keep = edited_keep_mask(arr, labels, np.array([True, True]), 3, "all", leaf_size=8,
                                brute_work=0)
        np.testing.assert_array_equal(arr, before)
        np.testing.assert_array_equal(
            keep, edited_keep_mask(X, labels, np.array([True, True]), 3, "all", leaf_size=8,
                                   brute_work=0))
