"""Exact k-nearest-neighbour search for SMOTE and edited nearest neighbours (ENN).

imbalanced-learn asks scikit-learn for neighbours, which on dense features beyond ~15
dimensions means brute force: every row against every row. Here rows go in a kd-tree
(:mod:`riskscope.sampling._kdtree`) and are compared in blocks, so a row only meets the
rows near it; small or structureless inputs fall back to blocked brute force.

The answer is exact, not approximate:

* neighbours are ranked by the Euclidean distance computed from float64 differences
  (exact for float32 input up to the rounding of the final sum);
* a row is never its own neighbour; rows at the same distance (exact duplicates
  included) are ranked by row index, lowest first;
* trees, matrix products and bounds only decide which rows are *compared*, each with a
  proven rounding margin, so no row that could rank among the first ``k`` is skipped.

For ENN most rows need no search at all: a row is *certified* (kept) when no row of
another class lies within an upper bound of its k-th neighbour distance, since then all
its k neighbours share its label. Only the rest, rows near a class boundary, are searched.

Everything here is private to :mod:`riskscope.sampling`.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from riskscope.sampling._kdtree import (
    BUDGET,
    CHUNK,
    LEAF_SIZE,
    Blocks,
    KDTree,
    chunks,
    compute,
    eps,
    gap2,
    gram,
    leaf_pairs,
    pmap,
    ranges,
    reach,
    rowsq,
    safe,
    tighten_bound,
    window_bound,
)

__all__ = ["BRUTE_WORK", "edited_keep_mask", "kneighbors_within"]

#: Compare every query with every row when queries x rows x features is at most this:
#: a few tenths of a second of matrix products, less than building and walking a tree.
BRUTE_WORK = 3e9
#: A leaf with more queries than this is searched in blocks, else row by row.
_DENSE = 8
#: Queries per block group in a dense leaf.
_GROUP = 16


# ------------------------------------------------------------------------ exact top-k
def _refine(Xp, qpos, qvalid, cpos, G, nq, k, key, e):
    """Exact top-k for the valid query rows of a block, in row-major order.

    Every candidate whose Gram distance could be within the k-th distance, given the
    error bound, is measured exactly (float64 differences) and ranked by
    (distance, ``key``). Returns query positions, neighbour positions (n, k) and squared
    distances (n, k).
    """
    kth = np.partition(G, k - 1, axis=2)[:, :, k - 1].astype(np.float64)
    thresh = kth + 8.0 * e * (np.abs(kth) + nq) + 1e-30
    a, i, j = np.nonzero((G <= thresh[:, :, None]) & qvalid[:, :, None])
    qp, cp = qpos[a, i], cpos[a, j]
    exact = rowsq(Xp[qp].astype(np.float64) - Xp[cp].astype(np.float64))
    rid = a * qpos.shape[1] + i
    order = np.lexsort((key[cp], exact, rid))
    rid, qp, cp, exact = rid[order], qp[order], cp[order], exact[order]
    new = np.r_[True, rid[1:] != rid[:-1]]
    starts = np.flatnonzero(new)
    take = (np.arange(len(rid)) - starts[np.cumsum(new) - 1]) < k
    n = len(starts)
    return qp[starts], cp[take].reshape(n, k), exact[take].reshape(n, k)


def _search_block(Xp, block, k, key, e):
    qpos, qvalid, cpos, cvalid = block
    G, nq, _ = gram(Xp, qpos, cpos)
    G[~np.broadcast_to(cvalid[:, None, :], G.shape)] = np.inf
    G[qpos[:, :, None] == cpos[:, None, :]] = np.inf
    return _refine(Xp, qpos, qvalid, cpos, G, nq, k, key, e)


def _search(tree: KDTree, qmask: np.ndarray, bound: np.ndarray, k: int) -> list[tuple]:
    """Exact k nearest neighbours of the ``qmask`` rows (tree order), in batches.

    ``bound`` is each row's upper bound of its squared k-th distance. In leaves holding
    many queries, runs of up to ``_GROUP`` queries (compact: a leaf's rows are ordered
    along its widest coordinate) are searched as blocks, one matrix product against
    every leaf within reach of the run's box; scattered queries are searched row by
    row, nearest leaves first. Returns a list of (query positions, neighbour positions,
    squared distances).
    """
    Xp = tree.Xp
    e = eps(Xp.dtype, Xp.shape[1])
    has_q = tree.leaf_values(qmask.astype(np.int8), np.maximum).astype(bool)
    radius = tree.leaf_values(np.where(qmask, bound, -np.inf), np.maximum)
    qa, rb, _ = leaf_pairs(tree, radius, has_q)
    n_sel = np.add.reduceat(qmask.astype(np.int64), tree.leaf_start)
    dense = n_sel[qa] > _DENSE
    # dense leaves: runs of queries
    dense_leaf = n_sel > _DENSE
    rows = np.flatnonzero(qmask & np.repeat(dense_leaf, tree.leaf_size))
    ga, gb, group = _run_pairs(tree, rows, bound, qa[dense], rb[dense])
    blocks_work = (np.bincount(group)[ga] * tree.leaf_size[gb]).sum() if len(rows) else 0
    # scattered queries: each row's own reachable leaves
    q, r, gap = reach(tree, qa[~dense], rb[~dense], qmask, bound)
    if blocks_work + tree.leaf_size[r].sum() > qmask.sum() * tree.n / 4:
        # the tree prunes too little here (high intrinsic dimension): compare with all
        return _brute(Xp, np.flatnonzero(qmask), k, tree.perm)
    out = []
    if len(rows):
        q_ptr = np.r_[0, np.cumsum(np.bincount(group))]
        c_ptr = np.r_[0, np.cumsum(np.bincount(ga, minlength=len(q_ptr) - 1))]
        blocks = Blocks(tree, q_ptr, rows, c_ptr, gb).blocks()
        out += pmap(lambda b: _search_block(Xp, b, k, tree.perm, e), blocks)
    if len(q):
        out.append(_search_rows(tree, q, r, gap, bound, k))
    return out


def _run_pairs(tree, rows, bound, qa, rb):
    """Split query ``rows`` (sorted) into runs of up to ``_GROUP`` within a leaf and pair
    each run with the leaves (of its leaf's pairs ``qa``/``rb``) within reach of the
    run's bounding box. Returns (run, leaf) pairs sorted by run, and each row's run."""
    if len(rows) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    leaf = np.searchsorted(tree.leaf_start, rows, side="right") - 1
    first = np.r_[True, leaf[1:] != leaf[:-1]]
    rank = np.arange(len(rows)) - np.flatnonzero(first)[np.cumsum(first) - 1]
    starts = np.flatnonzero(first | (rank % _GROUP == 0))
    group = np.cumsum(first | (rank % _GROUP == 0)) - 1
    P = tree.Xp[rows]
    lo, hi = np.minimum.reduceat(P, starts), np.maximum.reduceat(P, starts)
    rad = np.maximum.reduceat(bound[rows], starts)
    # each run inherits its leaf's candidate leaves, then is tested with its own box
    pair_first = np.searchsorted(qa, leaf[starts])
    pair_last = np.searchsorted(qa, leaf[starts], side="right")
    idx = ranges(pair_first, pair_last)
    ga = np.repeat(np.arange(len(starts)), pair_last - pair_first)
    gb = rb[idx]
    nodes = tree.leaves[gb]
    near = gap2(lo[ga], hi[ga], tree.lo[nodes], tree.hi[nodes]) <= safe(rad[ga])
    return ga[near], gb[near], group


def _search_rows(tree, q, r, gap, bound, k):
    """Exact k nearest neighbours of scattered rows, nearest leaves first.

    ``q``, ``r``, ``gap``: (row, reachable leaf, squared box gap), sorted by row then
    gap. Each round takes every row's next leaves (1, then 1, 2, 4, ... more), measures
    their rows exactly and keeps a running top-k; a row is done when its remaining
    leaves all lie beyond its current k-th distance.
    """
    Xp, key = tree.Xp, tree.perm
    rows, first = np.unique(q, return_index=True)
    n_rows = len(rows)
    idx = np.searchsorted(rows, q)
    rank = np.arange(len(q)) - first[idx]
    best_d = np.full((n_rows, k), np.inf)
    best_p = np.full((n_rows, k), -1, np.int64)
    limit = bound[rows].copy()
    lo, hi = 0, 1
    while True:
        live = gap <= safe(limit[idx])
        todo = live & (rank >= lo) & (rank < hi)
        if not (live & (rank >= lo)).any():
            break
        ti, leaves = idx[todo], tree.leaves[r[todo]]
        cand = ranges(tree.start[leaves], tree.end[leaves])
        owner = np.repeat(ti, tree.end[leaves] - tree.start[leaves])
        other = cand != rows[owner]
        cand, owner = cand[other], owner[other]
        pairs = (Xp, rows[owner], cand)
        d2 = np.concatenate(pmap(partial(_dist2, pairs), chunks(len(cand), CHUNK)) or [[]])
        all_owner = np.concatenate([np.repeat(np.arange(n_rows), k), owner])
        all_d = np.concatenate([best_d.ravel(), d2])
        all_p = np.concatenate([best_p.ravel(), cand])
        all_key = np.where(all_p >= 0, key[np.maximum(all_p, 0)], np.iinfo(np.int64).max)
        order = np.lexsort((all_key, all_d, all_owner))
        pick = np.searchsorted(all_owner[order], np.arange(n_rows))[:, None] + np.arange(k)
        best_d, best_p = all_d[order][pick], all_p[order][pick]
        limit = np.minimum(limit, best_d[:, -1])
        lo, hi = hi, 2 * hi
    return rows, best_p, best_d


def _dist2(pairs: tuple, sl: slice) -> np.ndarray:
    """Exact squared distances between rows ``a[sl]`` and ``b[sl]`` of ``X``."""
    X, a, b = pairs
    return rowsq(X[a[sl]].astype(np.float64) - X[b[sl]].astype(np.float64))


def _brute(X: np.ndarray, queries: np.ndarray, k: int, key: np.ndarray) -> list[tuple]:
    """Exact k nearest neighbours of rows ``queries`` among all rows, by plain blocks.

    The queries here are spread over the whole data, so no local centre keeps a float32
    Gram product accurate: it is computed in float64 on globally centred rows.
    """
    n, d = X.shape
    e = eps(np.float64, d)
    Xc = X.astype(np.float64)
    Xc -= Xc.mean(axis=0)
    nx = rowsq(Xc)
    step = max(1, BUDGET // n)

    def part(sl: slice):
        qpos = queries[sl]
        G = Xc[qpos] @ Xc.T
        G *= -2.0
        G += nx[qpos][:, None]
        G += nx[None, :]
        G[np.arange(len(qpos)), qpos] = np.inf
        ones = np.ones((1, len(qpos)), bool)
        return _refine(X, qpos[None], ones, np.arange(n)[None], G[None], nx[qpos][None], k, key, e)

    return pmap(part, chunks(len(queries), step))


def _as_float(X: np.ndarray) -> np.ndarray:
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    return np.ascontiguousarray(X, dtype=dtype)


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
    X = _as_float(X)
    n = X.shape[0]
    nbr = np.empty((n, k), np.int64)
    dist = np.empty((n, k), np.float64)
    with compute(n_jobs):
        if float(n) * n * X.shape[1] <= brute_work:
            for rows, nb, d2 in _brute(X, np.arange(n), k, np.arange(n)):
                nbr[rows], dist[rows] = nb, np.sqrt(d2)
            return nbr, dist
        tree = KDTree(X, leaf_size)
        everyone = np.ones(n, bool)
        bound = tighten_bound(tree, everyone, window_bound(tree, k), k)
        for rows, nb, d2 in _search(tree, everyone, bound, k):
            nbr[tree.perm[rows]] = tree.perm[nb]
            dist[tree.perm[rows]] = np.sqrt(d2)
    return nbr, dist


# -------------------------------------------------------------------------------- ENN
def _rule(own: np.ndarray, nbr_labels: np.ndarray, kind_sel: str, n_classes: int) -> np.ndarray:
    """ENN's keep rule on integer-coded labels (codes follow the sorted class order)."""
    if kind_sel == "all":
        return np.all(nbr_labels == own[:, None], axis=1)
    # "mode": the most frequent neighbour label, the smallest on ties (as scipy's mode)
    counts = np.zeros((len(own), n_classes), np.int64)
    rows = np.repeat(np.arange(len(own)), nbr_labels.shape[1])
    np.add.at(counts, (rows, nbr_labels.ravel()), 1)
    return counts.argmax(axis=1) == own


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
    label; "mode": their most frequent label is its own).
    """
    X = _as_float(X)
    codes = np.asarray(codes, np.int64)
    n, d = X.shape
    k = n_neighbors
    n_classes = len(clean)
    keep = np.ones(n, bool)
    with compute(n_jobs):
        if float(n) * n * d <= brute_work:
            todo = np.flatnonzero(clean[codes])
            for rows, nb, _ in _brute(X, todo, k, np.arange(n)):
                keep[rows] = _rule(codes[rows], codes[nb], kind_sel, n_classes)
            return keep
        tree = KDTree(X, leaf_size)
        lab = codes[tree.perm]
        lmin, lmax = tree.leaf_values(lab, np.minimum), tree.leaf_values(lab, np.maximum)
        pure = np.where(lmin == lmax, lmin, -1)
        bound = window_bound(tree, k)
        # rows that may have another class within reach get a tighter bound, then the
        # other-class rows near them are measured; the rest are certified
        near = _near_other(tree, lab, pure, clean[lab], bound)
        if float(near.sum()) * n * d <= brute_work:
            uncertain = near
        else:
            bound = tighten_bound(tree, near, bound, k)
            uncertain = _other_within(tree, lab, pure, near, bound)
        keep_p = np.ones(n, bool)
        for rows, nb, _ in _search(tree, uncertain, bound, k):
            keep_p[rows] = _rule(lab[rows], lab[nb], kind_sel, n_classes)
        keep[tree.perm] = keep_p
        if stats is not None:
            stats.update(near=int(near.sum()), uncertain=int(uncertain.sum()))
    return keep


def _near_other(tree, lab, pure, rows, bound) -> np.ndarray:
    """Selected rows whose leaf has a leaf with another label within the leaf's radius."""
    has_q = tree.leaf_values(rows.astype(np.int8), np.maximum).astype(bool)
    radius = tree.leaf_values(np.where(rows, bound, -np.inf), np.maximum)
    qa, rb, _ = leaf_pairs(tree, radius, has_q, pure=pure)
    qpos = ranges(tree.leaf_start[qa], tree.leaf_end[qa])
    ref_pure = np.repeat(pure[tree.leaves[rb]], tree.leaf_size[qa])
    hit = rows[qpos] & (ref_pure != lab[qpos])
    near = np.zeros(len(lab), bool)
    near[qpos[hit]] = True
    return near


def _other_within(tree, lab, pure, rows, bound) -> np.ndarray:
    """Selected rows (tree order) with a row of another label within their bound.

    Leaf boxes first (per row: leaves holding another label within reach), then exact
    distances (float64 differences) to just the other-label rows of those leaves.
    """
    Xp = tree.Xp
    has_q = tree.leaf_values(rows.astype(np.int8), np.maximum).astype(bool)
    radius = tree.leaf_values(np.where(rows, bound, -np.inf), np.maximum)
    qa, rb, _ = leaf_pairs(tree, radius, has_q, pure=pure)
    q, r, _ = reach(tree, qa, rb, rows, bound)
    ref = tree.leaves[r]
    keep = pure[ref] != lab[q]
    q, ref = q[keep], ref[keep]
    sizes = tree.end[ref] - tree.start[ref]
    if sizes.sum() > rows.sum() * tree.n / 4:
        return rows.copy()  # the tree prunes too little: let the search decide
    q2 = np.repeat(q, sizes)
    r2 = ranges(tree.start[ref], tree.end[ref])
    other = lab[r2] != lab[q2]
    q2, r2 = q2[other], r2[other]

    def part(sl: slice) -> np.ndarray:
        qs = q2[sl]
        d2 = rowsq(Xp[qs].astype(np.float64) - Xp[r2[sl]].astype(np.float64))
        return qs[d2 <= safe(bound[qs])]

    flagged = np.zeros(len(lab), bool)
    for hits in pmap(part, chunks(len(q2), CHUNK)):
        flagged[hits] = True
    return flagged
