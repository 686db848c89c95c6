"""Exact k-nearest-neighbour search for SMOTE and edited nearest neighbours (ENN).

imbalanced-learn asks scikit-learn for neighbours, which on dense features beyond ~15
dimensions means brute force: every row against every row. Here rows go in a kd-tree
and are searched leaf by leaf in compiled code (:mod:`riskscope.sampling._knn_kernels`),
so a row only meets the rows near it.

The answer is exact, not approximate:

* neighbours are ranked by the Euclidean distance summed from float64 differences;
* a row is never its own neighbour; rows at the same distance (exact duplicates
  included) are ranked by row index, lowest first;
* boxes only decide which rows are *compared*, and a box is skipped only when it is
  strictly farther than the current k-th neighbour, so no row that could rank among the
  first ``k`` is skipped (see the kernels' module docstring for why no margin is needed).

For ENN most rows need no search at all: a row is *certified* (kept) when no row of
another class lies within an upper bound of its k-th neighbour distance, since then all
its k neighbours share its label. Only the rest, rows near a class boundary, are searched.

Everything here is private to :mod:`riskscope.sampling`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["BRUTE_WORK", "LEAF_SIZE", "edited_keep_mask", "kneighbors_within"]

#: Rows per kd-tree leaf (at most).
LEAF_SIZE = 32
#: Below this many queries x rows x features one leaf holds every row: no tree to build.
BRUTE_WORK = 1e7
#: Leaf ranges per thread: the work per leaf is uneven, smaller ranges balance it.
_PARTS_PER_THREAD = 16

_POOL: list[ThreadPoolExecutor | None] = [None]


def resolve_jobs(n_jobs: int | None) -> int:
    """Threads for ``n_jobs``: None or -1 = every core, as LightGBM and XGBoost do."""
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == -1:
        return cores
    return max(1, min(int(n_jobs), cores))


def _pool(threads: int) -> ThreadPoolExecutor:
    pool = _POOL[0]
    if pool is None or pool._max_workers < threads:
        pool = _POOL[0] = ThreadPoolExecutor(threads, thread_name_prefix="riskscope-knn")
    return pool


def _pmap(fn: Callable, items, threads: int) -> list:
    """``[fn(x) for x in items]`` on ``threads`` threads (the kernels release the GIL)."""
    items = list(items)
    if threads <= 1 or len(items) < 2:
        return [fn(x) for x in items]
    return list(_pool(threads).map(fn, items))


def _run_leaves(fn: Callable[[int, int], None], weights: np.ndarray, n_jobs: int | None) -> None:
    """Call ``fn(first, last)`` over leaf ranges covering ``weights`` (work per leaf),
    on ``n_jobs`` threads (the kernels release the GIL and write disjoint rows)."""
    threads = resolve_jobs(n_jobs)
    n = len(weights)
    if threads <= 1 or n < 2:
        fn(0, n)
        return
    cum = np.cumsum(weights, dtype=np.float64)
    parts = min(n, threads * _PARTS_PER_THREAD)
    cuts = np.searchsorted(cum, np.linspace(0, cum[-1], parts + 1)[1:-1], side="right")
    edges = np.unique(np.r_[0, cuts, n])
    _pmap(lambda ab: fn(int(ab[0]), int(ab[1])), zip(edges[:-1], edges[1:], strict=True),
          threads)


class _Tree:
    """A built kd-tree: rows in tree order plus the node arrays the kernels walk.

    With several threads the top of the tree is built first, down to nodes of about
    ``n / (4 * threads)`` rows; those subtrees are then built (their rows moved
    into tree order) in parallel and joined under their top nodes. The tree is the same
    whatever the thread count, because a node's split depends only on its rows.
    """

    def __init__(self, X: np.ndarray, leaf_size: int, n_jobs: int | None, *,
                 owned: bool = False):
        from riskscope.sampling import _knn_kernels as kern

        n = X.shape[0]
        threads = resolve_jobs(n_jobs)
        stop = n // (4 * threads) if threads > 1 and n >= 64 * leaf_size else 0
        perm = np.arange(n)
        Xp = X if owned else X.copy()  # reordered into tree order by the build
        start, end, child, is_open = kern.build(Xp, perm, 0, n, leaf_size, kern.ALPHA, stop)
        opened = [int(p) for p in np.flatnonzero(is_open)]
        subs = _pmap(lambda p: kern.build(Xp, perm, start[p], end[p], leaf_size, kern.ALPHA,
                                          0), opened, threads)
        starts, ends, children = [start], [end], [child]
        offset = len(start)
        for p, (s2, e2, c2, _) in zip(opened, subs, strict=True):
            if len(s2) == 1:
                continue  # the subtree is one leaf (its rows are all equal)
            c2 = np.where(c2 >= 0, c2 + offset - 1, -1)  # local ids -> global, root dropped
            child[p] = c2[0]
            starts.append(s2[1:])
            ends.append(e2[1:])
            children.append(c2[1:])
            offset += len(s2) - 1
        self.perm = perm
        self.start, self.end = np.concatenate(starts), np.concatenate(ends)
        self.child = np.concatenate(children)
        self.Xp = Xp
        self.lo, self.hi = kern.boxes(self.Xp, self.start, self.end, self.child)
        leaves = np.flatnonzero(self.child < 0)
        self.leaves = leaves[np.argsort(self.start[leaves], kind="stable")]


def _prepare(X: np.ndarray, leaf_size: int, k: int, n_queries: int,
             brute_work: float) -> tuple[np.ndarray, int, bool]:
    """Row-major float array, leaf size, and whether the array is a fresh copy (then the
    tree may reorder it in place instead of copying it again)."""
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    X_in = X
    X = np.ascontiguousarray(X, dtype=dtype)
    n, d = X.shape
    if float(n_queries) * n * d <= brute_work:
        leaf_size = n  # one leaf: every query meets every row, no tree walk
    # leaves keep at least a quarter of leaf_size rows: k + 1 of them give every row a
    # finite first bound from its own leaf
    owned = not np.may_share_memory(X, X_in)
    return X, max(int(leaf_size), 4 * (k + 1)), owned


def kneighbors_within(
    X: np.ndarray,
    k: int,
    *,
    n_jobs: int | None = None,
    leaf_size: int = LEAF_SIZE,
    brute_work: float = BRUTE_WORK,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest neighbours of every row of ``X`` among the other rows.

    Returns row indices (n, k) and Euclidean distances (n, k), nearest first, ties in
    distance ranked by row index. Needs more than ``k`` rows.
    """
    from riskscope.sampling import _knn_kernels as kern

    n = X.shape[0]
    X, leaf_size, owned = _prepare(X, leaf_size, k, n, brute_work)
    tree = _Tree(X, leaf_size, n_jobs, owned=owned)
    pos = np.full((n, k), -1, np.int64)
    d2 = np.full((n, k), np.inf)
    query = np.ones(n, bool)

    def part(first: int, last: int) -> None:
        kern.knn_leaves(tree.Xp, tree.perm, tree.start, tree.end, tree.child, tree.lo,
                        tree.hi, tree.leaves, query, k, first, last, pos, d2)

    _run_leaves(part, tree.end[tree.leaves] - tree.start[tree.leaves], n_jobs)
    nbr = np.empty((n, k), np.int64)
    dist = np.empty((n, k), np.float64)
    nbr[tree.perm] = tree.perm[pos]
    dist[tree.perm] = np.sqrt(d2)
    return nbr, dist


def edited_keep_mask(
    X: np.ndarray,
    codes: np.ndarray,
    clean: np.ndarray,
    n_neighbors: int,
    kind_sel: str,
    *,
    n_jobs: int | None = None,
    leaf_size: int = LEAF_SIZE,
    brute_work: float = BRUTE_WORK,
    stats: dict | None = None,
) -> np.ndarray:
    """Edited-nearest-neighbours keep mask: which rows survive cleaning.

    ``codes`` are integer labels 0..K-1; ``clean`` a boolean per code, True for the
    classes that are cleaned (other classes' rows are always kept). A cleaned row is kept
    when its ``n_neighbors`` nearest other rows pass ``kind_sel`` ("all": all share its
    label; "mode": their most frequent label is its own, the smallest label on ties).
    """
    from riskscope.sampling import _knn_kernels as kern

    codes = np.asarray(codes, np.int64)
    clean = np.asarray(clean, bool)
    todo = clean[codes]
    X, leaf_size, owned = _prepare(X, leaf_size, n_neighbors, int(todo.sum()), brute_work)
    n = X.shape[0]
    tree = _Tree(X, leaf_size, n_jobs, owned=owned)
    lab = np.ascontiguousarray(codes[tree.perm])
    query = np.ascontiguousarray(todo[tree.perm])
    lmin, lmax = kern.label_range(lab, tree.start, tree.end, tree.child)
    keep_p = np.ones(n, bool)
    searched = np.zeros(n, np.int8)

    def part(first: int, last: int) -> None:
        kern.enn_leaves(tree.Xp, tree.perm, lab, lmin, lmax, tree.start, tree.end,
                        tree.child, tree.lo, tree.hi, tree.leaves, query, n_neighbors,
                        kind_sel == "all", len(clean), first, last, keep_p, searched)

    weights = np.add.reduceat(query.astype(np.int64), tree.start[tree.leaves])
    _run_leaves(part, weights, n_jobs)
    keep = np.empty(n, bool)
    keep[tree.perm] = keep_p
    if stats is not None:
        status = np.bincount(searched[query], minlength=3)
        stats.update(queries=int(query.sum()), leaf_certified=int(status[0]),
                     row_certified=int(status[1]), searched=int(status[2]))
    return keep
