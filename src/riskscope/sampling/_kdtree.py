"""The kd-tree, bounds and block comparisons behind riskscope's exact neighbour search.

Vocabulary: rows live in *tree order* (``tree.Xp = X[tree.perm]``); every node is a
contiguous range of it; distances are squared Euclidean. A *bound* is an upper bound of
a row's k-th neighbour distance: every real neighbour lies within it, so a leaf whose
box is farther away can be skipped. Gram-matrix distances (``|q|^2 + |x|^2 - 2 q.x`` on
centred rows) are only used to choose what to compare; each use carries the product's
rounding bound (:func:`eps`), and final distances come from float64 differences.

Work is done in blocks of at most ``BUDGET`` matrix entries; independent blocks run on
``n_jobs`` threads (numpy releases the GIL in the operations used), with the BLAS
library held to one thread so the two do not compete.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

#: Rows per kd-tree leaf (at most); the unit of block comparisons.
LEAF_SIZE = 64
#: Rows before and after a block in tree order used for the first upper bounds.
WINDOW = 32
#: Entries of one block's distance matrix: a few MB, cache-friendly.
BUDGET = 1 << 21
#: Rows of plain element-wise work per chunk.
CHUNK = 1 << 16

_THREADS: ContextVar[int] = ContextVar("riskscope_sampling_threads", default=1)


# ---------------------------------------------------------------------------- helpers
def eps(dtype: np.dtype, n_features: int) -> float:
    """Bound on |Gram - exact| / (|q - c|^2 + |x - c|^2) for centred rows.

    The dot product, the two squared norms and the centring each round; together they
    stay below ``(2 d + 10) u`` (u the unit roundoff); twice that leaves room to spare.
    """
    return 4.0 * (n_features + 5) * float(np.finfo(dtype).eps)


def safe(r2: np.ndarray) -> np.ndarray:
    """Widen a squared radius so that rounding in a box gap can never exclude a row."""
    return r2 * (1.0 + 1e-4) + 1e-30


def ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(s, e)`` for every pair, without a Python loop."""
    sizes = ends - starts
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offsets = np.cumsum(sizes) - sizes
    return np.repeat(starts - offsets, sizes) + np.arange(total)


def rowsq(A: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", A, A)


def resolve_jobs(n_jobs: int | None) -> int:
    """Threads for ``n_jobs``: None or -1 = every core, as LightGBM and XGBoost do."""
    cores = os.cpu_count() or 1
    if n_jobs is None or n_jobs == -1:
        return cores
    return max(1, min(int(n_jobs), cores))


@contextmanager
def compute(n_jobs: int | None) -> Iterator[None]:
    """Run the enclosed search on ``n_jobs`` threads with single-threaded BLAS."""
    token = _THREADS.set(resolve_jobs(n_jobs))
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        _THREADS.reset(token)


_POOL: list[ThreadPoolExecutor | None] = [None]


def pmap(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """``[fn(x) for x in items]``, on the threads of the enclosing :func:`compute`."""
    threads = min(_THREADS.get(), len(items))
    if threads <= 1:
        return [fn(x) for x in items]
    pool = _POOL[0]
    if pool is None or pool._max_workers < threads:
        pool = _POOL[0] = ThreadPoolExecutor(threads, thread_name_prefix="riskscope-knn")
    return list(pool.map(fn, items))


def chunks(n: int, size: int) -> list[slice]:
    """Slices of at most ``size`` covering ``range(n)``, split further to feed every
    thread but never below ``size / 8`` (tiny pieces cost more than they save)."""
    threads = _THREADS.get()
    size = max(1, min(size, max(-(-n // threads), size // 8)))
    return [slice(s, min(n, s + size)) for s in range(0, n, size)]


# ------------------------------------------------------------------------------- tree
class KDTree:
    """Sliding-midpoint kd-tree over the rows of ``X``, built level by level.

    Each node splits its widest coordinate (range estimated on a strided sample of 64
    rows) at the midpoint, clamped so that each side keeps at least ``alpha`` of the
    rows. The midpoint isolates outlying rows in their own leaves, which keeps leaf boxes
    tight on heavy-tailed features (a median split mixes outliers into every leaf); the
    clamp bounds the depth. No randomness: the same rows give the same tree.

    Attributes
    ----------
    perm : ndarray of int64
        Tree order: ``Xp = X[perm]``; every node is a contiguous range of ``Xp``.
    start, end, child : ndarray of int64
        Per node; ``child`` is the first child's id (the second is ``child + 1``), -1 for
        leaves. Children have larger ids than their parent.
    lo, hi : ndarray of shape (n_nodes, n_features)
        Tight bounding box of each node's rows.
    leaves, leaf_start, leaf_end : ndarray of int64
        Leaf node ids in tree order and their row ranges.
    """

    def __init__(self, X: np.ndarray, leaf_size: int = LEAF_SIZE, alpha: float = 0.1):
        self.n = X.shape[0]
        perm, start, end, child = _build(X, leaf_size, alpha)
        self.perm, self.start, self.end, self.child = perm, start, end, child
        self.Xp = np.ascontiguousarray(X[perm])
        n_nodes = len(start)
        internal = np.flatnonzero(child >= 0)
        depth = np.zeros(n_nodes, np.int64)
        for p in internal:  # ids grow with depth, so parents come first
            depth[child[p]] = depth[child[p] + 1] = depth[p] + 1
        # internal nodes grouped by depth, deepest first, for bottom-up reductions
        order = internal[np.argsort(-depth[internal], kind="stable")]
        cuts = np.flatnonzero(np.diff(depth[order])) + 1
        self.levels = np.split(order, cuts) if len(order) else []
        leaves = np.flatnonzero(child < 0)
        self.leaves = leaves[np.argsort(start[leaves], kind="stable")]
        self.leaf_start = start[self.leaves]
        self.leaf_end = end[self.leaves]
        self.leaf_size = self.leaf_end - self.leaf_start
        self.leaf_index = np.full(n_nodes, -1, np.int64)
        self.leaf_index[self.leaves] = np.arange(len(self.leaves))
        d = X.shape[1]
        self.lo = np.empty((n_nodes, d), X.dtype)
        self.hi = np.empty((n_nodes, d), X.dtype)
        width = int(self.leaf_size.max())

        def boxes(sl: slice) -> None:
            # pad each leaf with copies of its first row (no effect on min or max)
            ls, sz = self.leaf_start[sl], self.leaf_size[sl]
            off = np.arange(width)
            block = self.Xp[np.where(off < sz[:, None], ls[:, None] + off, ls[:, None])]
            self.lo[self.leaves[sl]] = block.min(axis=1)
            self.hi[self.leaves[sl]] = block.max(axis=1)

        pmap(boxes, chunks(len(self.leaves), CHUNK // width + 1))
        # order each leaf's rows along its widest coordinate, so that runs of rows in
        # tree order are compact (searches group queries by such runs)
        leaf_of = np.repeat(np.arange(len(self.leaves)), self.leaf_size)
        widest = (self.hi[self.leaves] - self.lo[self.leaves]).argmax(axis=1)
        along = self.Xp[np.arange(self.n), widest[leaf_of]]
        inner = np.lexsort((along, leaf_of))
        self.perm = self.perm[inner]
        self.Xp = self.Xp[inner]
        for level in self.levels:
            c = child[level]
            self.lo[level] = np.minimum(self.lo[c], self.lo[c + 1])
            self.hi[level] = np.maximum(self.hi[c], self.hi[c + 1])

    def leaf_values(self, per_row: np.ndarray, op: np.ufunc) -> np.ndarray:
        """Reduce a per-row array (tree order) over each leaf, then up to every node."""
        out = np.empty(len(self.start), dtype=per_row.dtype)
        out[self.leaves] = op.reduceat(per_row, self.leaf_start)
        return self.up(out, op)

    def up(self, per_node: np.ndarray, op: np.ufunc) -> np.ndarray:
        """Replace internal nodes' values by ``op`` of their children, bottom up."""
        out = per_node.copy()
        for level in self.levels:
            c = self.child[level]
            out[level] = op(out[c], out[c + 1])
        return out


def _build(X: np.ndarray, leaf_size: int, alpha: float, n_sample: int = 64):
    """Split level by level; returns the row order and per-node start, end, child."""
    n = X.shape[0]
    perm = np.arange(n, dtype=np.int64)
    starts, ends, parents = [np.array([0])], [np.array([n])], []
    act_s, act_e, act_id = np.array([0]), np.array([n]), np.array([0])
    next_id = 1
    while len(act_s):
        # split groups of nodes in parallel: their row ranges are disjoint
        sizes = act_e - act_s
        cum = np.cumsum(sizes)
        n_parts = _THREADS.get() if cum[-1] >= CHUNK else 1
        parts = np.searchsorted(cum, np.linspace(0, cum[-1], n_parts + 1)[1:-1])
        groups = np.split(np.arange(len(act_s)), np.unique(parts))
        out = pmap(
            partial(_split, X, perm, n_sample, alpha),
            [(act_s[g], act_e[g]) for g in groups if len(g)],
        )
        ok = np.concatenate([o[0] for o in out])
        n_left = np.concatenate([o[1] for o in out])
        act_s, act_e, act_id, n_left = act_s[ok], act_e[ok], act_id[ok], n_left[ok]
        A = len(act_s)
        first = next_id + 2 * np.arange(A)
        next_id += 2 * A
        parents.append((act_id, first))
        cs = np.empty(2 * A, np.int64)
        ce = np.empty(2 * A, np.int64)
        cs[0::2], ce[0::2] = act_s, act_s + n_left
        cs[1::2], ce[1::2] = act_s + n_left, act_e
        starts.append(cs)
        ends.append(ce)
        ids = np.empty(2 * A, np.int64)
        ids[0::2], ids[1::2] = first, first + 1
        big = (ce - cs) > leaf_size
        act_s, act_e, act_id = cs[big], ce[big], ids[big]
    child = np.full(next_id, -1, np.int64)
    for p, f in parents:
        child[p] = f
    return perm, np.concatenate(starts), np.concatenate(ends), child


def _split(X, perm, n_sample, alpha, nodes):
    """Split nodes [act_s, act_e) of ``perm`` in place; returns (split?, left sizes)."""
    act_s, act_e = nodes
    A = len(act_s)
    rows = np.arange(A)
    sizes = act_e - act_s
    spos = act_s[:, None] + (np.arange(n_sample)[None, :] * sizes[:, None]) // n_sample
    sample = X[perm[spos]]
    smin, smax = sample.min(axis=1), sample.max(axis=1)
    spread = smax - smin
    dim = spread.argmax(axis=1)
    col = np.sort(sample[rows, :, dim], axis=1)
    a = int(alpha * n_sample)
    mid = 0.5 * (smin[rows, dim] + smax[rows, dim])
    split = np.clip(mid, col[:, a], col[:, n_sample - 1 - a])
    offs = np.cumsum(sizes) - sizes
    seg = np.repeat(rows, sizes)
    pos = ranges(act_s, act_e)
    v = X[perm[pos], dim[seg]]
    left = v < split[seg]
    n_left = np.bincount(seg, weights=left, minlength=A).astype(np.int64)
    if (n_left == 0).any():  # the split fell on the minimum: take the rows equal to it
        left |= (n_left == 0)[seg] & (v <= split[seg])
        n_left = np.bincount(seg, weights=left, minlength=A).astype(np.int64)
    # a node whose sample shows no spread, or whose rows all fell on one side, stays a leaf
    ok = (spread[rows, dim] > 0) & (n_left > 0) & (n_left < sizes)
    cum = np.cumsum(left)
    before = cum[offs] - left[offs]
    rank_left = cum - before[seg] - 1
    rank_right = (np.arange(len(pos)) - offs[seg]) - (rank_left + 1)
    new_pos = np.where(left, act_s[seg] + rank_left, act_s[seg] + n_left[seg] + rank_right)
    move = ok[seg]
    perm[new_pos[move]] = perm[pos[move]]
    return ok, n_left


# ----------------------------------------------------------------------------- bounds
def gap2(lo: np.ndarray, hi: np.ndarray, lo2: np.ndarray, hi2: np.ndarray) -> np.ndarray:
    """Squared distance between boxes row by row (a point is a box with lo == hi)."""
    out = np.empty(len(lo), np.float64)

    def part(sl: slice) -> None:
        g = np.maximum(lo2[sl] - hi[sl], lo[sl] - hi2[sl])
        np.maximum(g, 0, out=g)
        out[sl] = rowsq(g)

    pmap(part, chunks(len(lo), CHUNK))
    return out


def window_bound(tree: KDTree, k: int) -> np.ndarray:
    """Upper bound of each row's squared k-th neighbour distance, in tree order.

    Each block of 64 rows is compared with the rows up to ``WINDOW`` places before and
    after it in tree order; the k-th smallest distance plus the product's error bound is
    an upper bound of the true one (k rows lie at most that far).
    """
    Xp = tree.Xp
    n, d = Xp.shape
    e = eps(Xp.dtype, d)
    block = 64
    width = block + 2 * WINDOW
    if n < width:
        return _bound_all(Xp, k, e)
    out = np.empty(n, np.float64)
    n_blocks = -(-n // block)

    def part(sl: slice) -> None:
        b = np.arange(sl.start, sl.stop)
        qs = np.minimum(b * block, n - block)  # the last block slides back to stay full
        ws = np.clip(qs - WINDOW, 0, n - width)
        qpos = qs[:, None] + np.arange(block)
        wpos = ws[:, None] + np.arange(width)
        centre = Xp[qpos[:, block // 2]][:, None, :]
        Q = Xp[qpos] - centre
        C = Xp[wpos] - centre
        nq = np.einsum("aij,aij->ai", Q, Q)
        nc = np.einsum("aij,aij->ai", C, C)
        G = np.matmul(Q, C.transpose(0, 2, 1))
        G *= -2.0
        G += (1.0 + e) * nq[:, :, None]
        G += (1.0 + e) * nc[:, None, :]
        G[qpos[:, :, None] == wpos[:, None, :]] = np.inf
        out[qpos.ravel()] = np.partition(G, k - 1, axis=2)[:, :, k - 1].ravel()

    pmap(part, chunks(n_blocks, BUDGET // (block * width)))
    return np.maximum(out, 0.0)


def _bound_all(Xp: np.ndarray, k: int, e: float) -> np.ndarray:
    c = Xp.mean(axis=0)
    Qc = Xp - c
    nq = rowsq(Qc)
    G = Qc @ Qc.T
    G *= -2.0
    G += (1.0 + e) * nq[:, None]
    G += (1.0 + e) * nq[None, :]
    np.fill_diagonal(G, np.inf)
    return np.maximum(np.partition(G, k - 1, axis=1)[:, k - 1], 0.0)


# -------------------------------------------------------------------------- traversal
def leaf_pairs(
    tree: KDTree,
    radius2: np.ndarray,
    query_nodes: np.ndarray,
    ref_nodes: np.ndarray | None = None,
    pure: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (query leaf, reference leaf) pairs whose boxes are within the query's radius.

    ``radius2`` is per node (a leaf's squared radius, maxed up the tree);
    ``query_nodes`` / ``ref_nodes`` are per-node booleans (a leaf's flag, or-ed up the
    tree) restricting either side. ``pure`` (per node: the one label of its rows, or -1)
    drops pairs whose two nodes hold one and the same label. Returns leaf indices
    (positions in ``tree.leaves``) of both sides and the squared box gap, sorted by query
    leaf then reference leaf.
    """
    radius2 = safe(radius2)
    is_leaf = tree.child < 0
    pa, pb = np.array([0]), np.array([0])
    out_a, out_b, out_g = [], [], []
    while len(pa):
        ok = query_nodes[pa] if ref_nodes is None else query_nodes[pa] & ref_nodes[pb]
        if pure is not None:
            ok &= (pure[pa] < 0) | (pure[pa] != pure[pb])
        pa, pb = pa[ok], pb[ok]
        gap = gap2(tree.lo[pa], tree.hi[pa], tree.lo[pb], tree.hi[pb])
        near = gap <= radius2[pa]
        pa, pb, gap = pa[near], pb[near], gap[near]
        la, lb = is_leaf[pa], is_leaf[pb]
        done = la & lb
        out_a.append(pa[done])
        out_b.append(pb[done])
        out_g.append(gap[done])
        both, only_a, only_b = ~la & ~lb, ~la & lb, la & ~lb
        ca, cb = tree.child[pa], tree.child[pb]
        nb, na, nbb = int(both.sum()), int(only_a.sum()), int(only_b.sum())
        pa = np.concatenate(
            [
                np.repeat(ca[both], 4) + np.tile([0, 0, 1, 1], nb),
                np.repeat(ca[only_a], 2) + np.tile([0, 1], na),
                np.repeat(pa[only_b], 2),
            ]
        )
        pb = np.concatenate(
            [
                np.repeat(cb[both], 4) + np.tile([0, 1, 0, 1], nb),
                np.repeat(pb[only_a], 2),
                np.repeat(cb[only_b], 2) + np.tile([0, 1], nbb),
            ]
        )
    qa = tree.leaf_index[np.concatenate(out_a)]
    rb = tree.leaf_index[np.concatenate(out_b)]
    gap = np.concatenate(out_g)
    order = np.lexsort((rb, qa))
    return qa[order], rb[order], gap[order]


def reach(
    tree: KDTree, qa: np.ndarray, rb: np.ndarray, qmask: np.ndarray, bound: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, candidate leaf) pairs whose leaf box lies within the row's bound.

    Expands leaf pairs (``qa``, ``rb``) to the ``qmask`` rows of each query leaf and
    keeps those within reach. Returns row positions, leaf indices and squared box gaps,
    sorted by row then gap.
    """
    Xp = tree.Xp
    n_sel = tree.leaf_values(qmask.astype(np.int64), np.add)[tree.leaves]
    L = int(tree.leaf_size.max())
    dense = n_sel[qa] > L // 4
    # leaves with many selected rows: every row of the leaf against the box at once
    da, db = qa[dense], rb[dense]
    offs = np.arange(L)

    def dense_part(sl: slice):
        a, b = da[sl], tree.leaves[db[sl]]
        qpos = tree.leaf_start[a][:, None] + offs
        ok = offs[None, :] < tree.leaf_size[a][:, None]
        qpos = np.where(ok, qpos, tree.leaf_start[a][:, None])
        ok &= qmask[qpos]
        Q = Xp[qpos]
        g = np.maximum(tree.lo[b][:, None, :] - Q, Q - tree.hi[b][:, None, :])
        np.maximum(g, 0, out=g)
        gap = np.einsum("pij,pij->pi", g, g)
        ok &= gap <= safe(bound[qpos])
        p, i = np.nonzero(ok)
        return qpos[p, i], db[sl][p], gap[p, i]

    out = pmap(dense_part, chunks(len(da), max(1, BUDGET // (L * Xp.shape[1]))))
    # leaves with few: expand to the selected rows first
    sa, sb = qa[~dense], rb[~dense]
    q = ranges(tree.leaf_start[sa], tree.leaf_end[sa])
    r = np.repeat(sb, tree.leaf_size[sa])
    q, r = q[qmask[q]], r[qmask[q]]
    P = Xp[q]
    nodes = tree.leaves[r]
    gap = gap2(P, P, tree.lo[nodes], tree.hi[nodes])
    ok = gap <= safe(bound[q])
    out.append((q[ok], r[ok], gap[ok]))
    q, r, g = (np.concatenate([o[i] for o in out]) for i in range(3))
    order = np.lexsort((r, g, q))
    return q[order], r[order], g[order]


# ----------------------------------------------------------------------- leaf blocks
class Blocks:
    """Groups of query rows, each with a list of candidate leaves, as batched blocks.

    Group ``g`` has query positions ``q_pos[q_ptr[g]:q_ptr[g + 1]]`` and candidate leaves
    ``rb[c_ptr[g]:c_ptr[g + 1]]``. A block holds groups padded to its largest group
    (``Lq`` queries) and its widest candidate list (``W`` rows); groups are taken in
    order of width so that padding stays small. ``blocks()`` lists (query positions
    (b, Lq), query valid, candidate positions (b, W), candidate valid); padding repeats a
    group's first query row.
    """

    def __init__(self, tree, q_ptr, q_pos, c_ptr, rb):
        self.tree = tree
        self.q_ptr, self.q_pos, self.c_ptr, self.rb = q_ptr, q_pos, c_ptr, rb
        csum = np.r_[0, np.cumsum(tree.leaf_size[rb])]
        self.width = csum[c_ptr[1:]] - csum[c_ptr[:-1]]
        self.n_q = np.diff(q_ptr)

    @classmethod
    def from_leaf_pairs(cls, tree, qa, rb, qmask):
        """One group per query leaf (its ``qmask`` rows); pairs sorted by ``qa``."""
        leaves, first = np.unique(qa, return_index=True)
        rows = ranges(tree.leaf_start[leaves], tree.leaf_end[leaves])
        owner = np.repeat(np.arange(len(leaves)), tree.leaf_size[leaves])
        sel = qmask[rows]
        q_ptr = np.r_[0, np.cumsum(np.bincount(owner[sel], minlength=len(leaves)))]
        return cls(tree, q_ptr, rows[sel], np.r_[first, len(qa)], rb)

    @classmethod
    def from_row_groups(cls, tree, rows, group, rb_rows):
        """Groups given per query row (``rows`` sorted, ``group`` non-decreasing ids);
        ``rb_rows`` are (row index into ``rows``, leaf) pairs: a group's candidates are
        the union of its rows' leaves."""
        n_groups = int(group[-1]) + 1 if len(group) else 0
        q_ptr = np.r_[0, np.cumsum(np.bincount(group, minlength=n_groups))]
        ri, leaf = rb_rows
        M = len(tree.leaves)
        pair = np.unique(group[ri] * M + leaf)
        ga, gb = pair // M, pair % M
        c_ptr = np.r_[0, np.cumsum(np.bincount(ga, minlength=n_groups))]
        return cls(tree, q_ptr, rows, c_ptr, gb)

    def blocks(self) -> list[tuple]:
        tree = self.tree
        # by query count, then width: a block's padding is its last group's size
        order = np.lexsort((self.width, self.n_q))
        width = np.maximum(self.width[order], 1)
        n_q = np.maximum(self.n_q[order], 1)
        out = []
        i = 0
        while i < len(order):
            # the longest run from i whose padded block (b x max n_q x max W) fits
            end = min(len(order), i + 8192)
            b = np.arange(1, end - i + 1)
            cost = b * np.maximum.accumulate(width[i:end]) * np.maximum.accumulate(n_q[i:end])
            b = max(1, int(np.searchsorted(cost, BUDGET, side="right")))
            sel = order[i : i + b]
            W, Lq = int(width[i : i + b].max()), int(n_q[i : i + b].max())
            i += b
            B = len(sel)
            qidx = ranges(self.q_ptr[sel], self.q_ptr[sel + 1])
            qown = np.repeat(np.arange(B), self.n_q[sel])
            qcol = np.arange(len(qidx)) - np.searchsorted(qown, qown)
            qpos = np.repeat(self.q_pos[self.q_ptr[sel]][:, None], Lq, axis=1)
            qvalid = np.zeros((B, Lq), bool)
            qpos[qown, qcol] = self.q_pos[qidx]
            qvalid[qown, qcol] = True
            ref = self.rb[ranges(self.c_ptr[sel], self.c_ptr[sel + 1])]
            rown = np.repeat(np.repeat(np.arange(B), np.diff(self.c_ptr)[sel]), tree.leaf_size[ref])
            rows = ranges(tree.leaf_start[ref], tree.leaf_end[ref])
            col = np.arange(len(rows)) - np.searchsorted(rown, rown)
            cpos = np.repeat(qpos[:, :1], W, axis=1)
            cvalid = np.zeros((B, W), bool)
            cpos[rown, col] = rows
            cvalid[rown, col] = True
            out.append((qpos, qvalid, cpos, cvalid))
        return out


def gram(Xp: np.ndarray, qpos: np.ndarray, cpos: np.ndarray):
    """Gram squared distances of a block, centred on each group's first query row.

    Returns G (b, Lq, W), |q - c|^2 (b, Lq) and |x - c|^2 (b, W).
    """
    centre = Xp[qpos[:, 0]][:, None, :]
    Q = Xp[qpos]
    Q -= centre
    C = Xp[cpos]
    C -= centre
    nq = np.einsum("aij,aij->ai", Q, Q)
    nc = np.einsum("aij,aij->ai", C, C)
    G = np.matmul(Q, C.transpose(0, 2, 1))
    G *= -2.0
    G += nq[:, :, None]
    G += nc[:, None, :]
    return G, nq, nc


def tighten_bound(
    tree: KDTree, qmask: np.ndarray, bound: np.ndarray, k: int, m: int = 10
) -> np.ndarray:
    """Smaller bounds for the ``qmask`` rows, from the ``m`` leaves nearest their leaf.

    For each leaf holding selected rows, the ``m`` leaves whose boxes are nearest to its
    box (itself included) are compared with its rows; the k-th smallest distance plus the
    error bound is again an upper bound. Rows whose window in tree order missed their
    true neighbours (rows near a split) gain most.
    """
    Xp = tree.Xp
    e = eps(Xp.dtype, Xp.shape[1])
    has_q = tree.leaf_values(qmask.astype(np.int8), np.maximum).astype(bool)
    # only the nearest few leaves are wanted: search within each leaf's mean bound
    count = tree.leaf_values(qmask.astype(np.int64), np.add)
    radius = tree.leaf_values(np.where(qmask, bound, 0.0), np.add) / np.maximum(count, 1)
    radius[~has_q] = -np.inf
    radius = tree.up(radius, np.maximum)
    qa, rb, gap = leaf_pairs(tree, radius, has_q)
    if len(qa) == 0:
        return bound
    order = np.lexsort((rb, gap, qa))
    qa, rb = qa[order], rb[order]
    new = np.r_[True, qa[1:] != qa[:-1]]
    rank = np.arange(len(qa)) - np.flatnonzero(new)[np.cumsum(new) - 1]
    qa, rb = qa[rank < m], rb[rank < m]

    def part(block):
        qpos, qvalid, cpos, cvalid = block
        G, nq, nc = gram(Xp, qpos, cpos)
        G += e * nq[:, :, None]
        G += e * nc[:, None, :]
        G[~np.broadcast_to(cvalid[:, None, :], G.shape)] = np.inf
        G[qpos[:, :, None] == cpos[:, None, :]] = np.inf
        kth = np.partition(G, k - 1, axis=2)[:, :, k - 1]
        ok = qvalid & np.isfinite(kth)
        return qpos[ok], np.maximum(kth[ok], 0.0)

    out = bound.copy()
    for rows, kth in pmap(part, Blocks.from_leaf_pairs(tree, qa, rb, qmask).blocks()):
        out[rows] = np.minimum(out[rows], kth)
    return out
