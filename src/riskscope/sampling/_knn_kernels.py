"""Compiled kernels (numba) of riskscope's exact neighbour search: the kd-tree and the
leaf-by-leaf k-nearest-neighbour and edited-nearest-neighbour searches.

Why compiled: the search is millions of small, data-dependent steps (walk a node, compare
a row, update a top-k list). In numpy each step is a call with microseconds of overhead;
compiled, it costs nanoseconds. ``benchmarks/smoteenn.py`` has the figures.

Vocabulary: rows are kept in *tree order* (``Xp = X[perm]``); every node is a contiguous
range ``[start, end)`` of it; node ``child[i]`` and ``child[i] + 1`` are the children of
node ``i`` (-1 for a leaf), and children have larger ids than their parent. Distances are
squared Euclidean, summed feature by feature in float64 (``(float64(a) - float64(b))**2``).

Exactness without safety margins: a box's distance to a point is summed over the same
features in the same order as a point's, from differences that are never larger, and
floating-point rounding is monotone; so the computed box distance never exceeds the
computed distance of any row inside the box. Pruning a box only when its distance is
*strictly* above the current k-th distance therefore never loses a neighbour, ties
included. Ties in distance rank by ``key`` (the row's original index), lowest first.

All functions release the GIL (``nogil``) so that callers can run disjoint leaf ranges on
several threads; they write only their own leaves' rows of the output arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Rows per leaf (at most; a leaf holds at least a quarter of it unless its rows are equal).
LEAF_SIZE = 32
#: Each side of a split keeps at least this share of the node's rows (bounds the depth).
ALPHA = 0.1
#: Rows per node whose spread is looked at to choose the split coordinate.
SAMPLE = 64
#: Node stack depth; the clamp keeps the tree below log(n) / log(1 / (1 - ALPHA)) levels
#: (about 200 for a billion rows), and a search pushes at most two nodes per level.
STACK = 1024

_OPTS = {"nogil": True, "cache": True}


# ------------------------------------------------------------------------------- build
@njit(**_OPTS)
def _swap(X, perm, i, j):  # pragma: no cover - compiled
    for c in range(X.shape[1]):
        t = X[i, c]
        X[i, c] = X[j, c]
        X[j, c] = t
    t = perm[i]
    perm[i] = perm[j]
    perm[j] = t


@njit(**_OPTS)
def _select(X, perm, lo, hi, m, dim):  # pragma: no cover - compiled
    """Reorder rows ``lo:hi`` so that row ``m`` is the one of rank ``m - lo`` along
    ``dim``, smaller ones before it and larger ones after (Hoare's selection)."""
    hi -= 1
    while hi > lo:
        mid = (lo + hi) // 2
        a, b, c = X[lo, dim], X[mid, dim], X[hi, dim]
        if a < b:
            piv = b if b < c else (c if a < c else a)
        else:
            piv = a if a < c else (c if b < c else b)
        i, j = lo, hi
        while i <= j:
            while X[i, dim] < piv:
                i += 1
            while X[j, dim] > piv:
                j -= 1
            if i <= j:
                _swap(X, perm, i, j)
                i += 1
                j -= 1
        if m <= j:
            hi = j
        elif m >= i:
            lo = i
        else:
            return


@njit(**_OPTS)
def _widest(X, s, e, step):  # pragma: no cover - compiled
    """Coordinate of largest spread among rows ``s:e:step``, with its min and max."""
    best, dim, lo, hi = -1.0, 0, 0.0, 0.0
    for j in range(X.shape[1]):
        a = b = float(X[s, j])
        for i in range(s + step, e, step):
            v = float(X[i, j])
            if v < a:
                a = v
            elif v > b:
                b = v
        if b - a > best:
            best, dim, lo, hi = b - a, j, a, b
    return dim, lo, hi


@njit(**_OPTS)
def build(X, perm, s0, e0, leaf_size, alpha, stop):  # pragma: no cover - compiled
    """Sliding-midpoint kd-tree over rows ``s0:e0`` of ``X``, reordered in place.

    ``X`` is the caller's copy of the data; its rows move, and ``perm`` with them, so
    that on return ``X`` is in tree order and ``X[i]`` is original row ``perm[i]``.
    Moving whole rows costs more bytes than moving indices but reads them in order: a
    split then streams through memory instead of paying a cache miss per row and level.

    Returns ``start, end, child, open``: node 0 is the root ``[s0, e0)``. Each node splits
    its widest coordinate (spread seen on a strided sample of ``SAMPLE`` rows) at the
    midpoint, clamped so that each side keeps at least ``max(alpha * size,
    leaf_size // 4)`` rows. The midpoint isolates outlying rows in their own leaves, which
    keeps leaf boxes tight on heavy-tailed features where a median split would mix
    outliers into every leaf; the clamp bounds the depth. A node whose rows are all equal
    stays a leaf whatever its size. Nodes of at most ``stop`` rows (but more than
    ``leaf_size``) are left unsplit and marked ``open``, for the caller to build as
    separate subtrees on other threads.
    """
    n = e0 - s0
    least_any = max(1, leaf_size // 4)
    cap = 2 * (n // least_any) + 3
    start = np.empty(cap, np.int64)
    end = np.empty(cap, np.int64)
    child = np.full(cap, -1, np.int64)
    is_open = np.zeros(cap, np.bool_)
    stack = np.empty(STACK, np.int64)
    start[0], end[0] = s0, e0
    n_nodes, top = 1, 1
    stack[0] = 0
    while top > 0:
        top -= 1
        node = stack[top]
        s, e = start[node], end[node]
        size = e - s
        if size <= leaf_size:
            continue
        if size <= stop:
            is_open[node] = True
            continue
        dim, a, b = _widest(X, s, e, max(1, size // SAMPLE))
        if b <= a:
            dim, a, b = _widest(X, s, e, 1)  # the sample saw no spread; look at all
            if b <= a:
                continue  # every row is equal
        cut = 0.5 * (a + b)
        i, j = s, e - 1
        while i <= j:
            if X[i, dim] < cut:
                i += 1
            else:
                _swap(X, perm, i, j)
                j -= 1
        least = max(int(alpha * size), least_any)
        m = i
        if m < s + least:
            _select(X, perm, m, e, s + least, dim)
            m = s + least
        elif m > e - least:
            _select(X, perm, s, m, e - least, dim)
            m = e - least
        if n_nodes + 2 > cap or top + 2 > STACK:
            raise RuntimeError("kd-tree build overflow")
        c = n_nodes
        n_nodes += 2
        child[node] = c
        start[c], end[c], start[c + 1], end[c + 1] = s, m, m, e
        stack[top] = c + 1
        stack[top + 1] = c
        top += 2
    return (start[:n_nodes].copy(), end[:n_nodes].copy(), child[:n_nodes].copy(),
            is_open[:n_nodes].copy())


@njit(**_OPTS)
def boxes(Xp, start, end, child):  # pragma: no cover - compiled
    """Tight bounding box of every node's rows (leaves from rows, parents from children)."""
    n_nodes, d = len(start), Xp.shape[1]
    lo = np.empty((n_nodes, d), Xp.dtype)
    hi = np.empty((n_nodes, d), Xp.dtype)
    for node in range(n_nodes - 1, -1, -1):  # children have larger ids: they come first
        c = child[node]
        if c >= 0:
            for j in range(d):
                lo[node, j] = min(lo[c, j], lo[c + 1, j])
                hi[node, j] = max(hi[c, j], hi[c + 1, j])
            continue
        s, e = start[node], end[node]
        for j in range(d):
            lo[node, j] = hi[node, j] = Xp[s, j]
        for i in range(s + 1, e):
            for j in range(d):
                v = Xp[i, j]
                if v < lo[node, j]:
                    lo[node, j] = v
                elif v > hi[node, j]:
                    hi[node, j] = v
    return lo, hi


@njit(**_OPTS)
def label_range(lab, start, end, child):  # pragma: no cover - compiled
    """Smallest and largest label code under every node (equal: the node is pure)."""
    n_nodes = len(start)
    lmin = np.empty(n_nodes, np.int64)
    lmax = np.empty(n_nodes, np.int64)
    for node in range(n_nodes - 1, -1, -1):
        c = child[node]
        if c >= 0:
            lmin[node] = min(lmin[c], lmin[c + 1])
            lmax[node] = max(lmax[c], lmax[c + 1])
            continue
        a = b = lab[start[node]]
        for i in range(start[node] + 1, end[node]):
            a = min(a, lab[i])
            b = max(b, lab[i])
        lmin[node], lmax[node] = a, b
    return lmin, lmax


# ------------------------------------------------------------------------ small pieces
@njit(**_OPTS)
def _dist(Xp, i, p, lim):  # pragma: no cover - compiled
    """Squared distance of rows i and p, or a partial sum above ``lim`` (then rejected)."""
    s = 0.0
    for j in range(Xp.shape[1]):
        t = float(Xp[i, j]) - float(Xp[p, j])
        s += t * t
        if s > lim:
            return s
    return s


@njit(**_OPTS)
def _point_box(Xp, i, lo, hi, node, lim):  # pragma: no cover - compiled
    s = 0.0
    for j in range(Xp.shape[1]):
        v = float(Xp[i, j])
        a = float(lo[node, j])
        if v < a:
            t = a - v
        else:
            b = float(hi[node, j])
            if v > b:
                t = v - b
            else:
                continue
        s += t * t
        if s > lim:
            return s
    return s


@njit(**_OPTS)
def _box_box(lo, hi, a, b, lim):  # pragma: no cover - compiled
    s = 0.0
    for j in range(lo.shape[1]):
        t = float(lo[b, j]) - float(hi[a, j])
        if t <= 0.0:
            t = float(lo[a, j]) - float(hi[b, j])
            if t <= 0.0:
                continue
        s += t * t
        if s > lim:
            return s
    return s


@njit(**_OPTS)
def _insert(bd, bi, k, s, key):  # pragma: no cover - compiled
    """Insert (s, key) into the sorted top-k lists if it ranks among them."""
    if s > bd[k - 1] or (s == bd[k - 1] and key >= bi[k - 1]):
        return
    t = k - 1
    while t > 0 and (bd[t - 1] > s or (bd[t - 1] == s and bi[t - 1] > key)):
        bd[t] = bd[t - 1]
        bi[t] = bi[t - 1]
        t -= 1
    bd[t] = s
    bi[t] = key


@njit(**_OPTS)
def _scan(Xp, keys, i, s0, e0, bd, bp, bk, k):  # pragma: no cover - compiled
    """Offer rows ``s0..e0`` (tree order) as neighbours of row ``i``."""
    for p in range(s0, e0):
        if p == i:
            continue
        s = _dist(Xp, i, p, bd[k - 1])
        key = keys[p]
        if s > bd[k - 1] or (s == bd[k - 1] and key >= bk[k - 1]):
            continue
        t = k - 1
        while t > 0 and (bd[t - 1] > s or (bd[t - 1] == s and bk[t - 1] > key)):
            bd[t] = bd[t - 1]
            bp[t] = bp[t - 1]
            bk[t] = bk[t - 1]
            t -= 1
        bd[t] = s
        bp[t] = p
        bk[t] = key


@njit(**_OPTS)
def _own_leaf(Xp, keys, i, s0, e0, bd, bp, bk, k):  # pragma: no cover - compiled
    """Start row i's top-k afresh from the rows of its own leaf ``s0..e0``."""
    bd[:] = np.inf
    bp[:] = -1
    bk[:] = np.iinfo(np.int64).max
    _scan(Xp, keys, i, s0, e0, bd, bp, bk, k)


@njit(**_OPTS)
def _candidates(lo, hi, child, leaf, radius, stack, out):  # pragma: no cover - compiled
    """Leaves (other than ``leaf``) whose box lies within ``radius`` of ``leaf``'s box;
    written to ``out``, their count returned."""
    count, top = 0, 1
    stack[0] = 0
    while top > 0:
        top -= 1
        node = stack[top]
        if node == leaf or _box_box(lo, hi, leaf, node, radius) > radius:
            continue
        c = child[node]
        if c < 0:
            out[count] = node
            count += 1
        else:
            stack[top] = c
            stack[top + 1] = c + 1
            top += 2
    return count


@njit(**_OPTS)
def _search(Xp, keys, lo, hi, start, end, i, cand, n_cand, gaps, order, bd, bp, bk, k):
    """Finish row i's top-k over candidate leaves, nearest box first."""  # pragma: no cover
    m = 0
    for c in range(n_cand):
        g = _point_box(Xp, i, lo, hi, cand[c], bd[k - 1])
        if g <= bd[k - 1]:
            gaps[m] = g
            order[m] = cand[c]
            m += 1
    idx = np.argsort(gaps[:m])
    for t in range(m):
        node = order[idx[t]]
        if gaps[idx[t]] > bd[k - 1]:
            break  # sorted: every later box is at least as far
        _scan(Xp, keys, i, start[node], end[node], bd, bp, bk, k)


@njit(**_OPTS)
def _dfs(Xp, keys, lo, hi, start, end, child, i, skip, stack, gstack, bd, bp, bk, k):
    """Finish row i's top-k by a walk from the root, nearer child first, skipping leaf
    ``skip`` (already scanned) and every box beyond the current k-th distance."""  # noqa
    top = 1
    stack[0] = 0
    gstack[0] = 0.0
    while top > 0:
        top -= 1
        node = stack[top]
        if node == skip or gstack[top] > bd[k - 1]:
            continue
        c = child[node]
        if c < 0:
            _scan(Xp, keys, i, start[node], end[node], bd, bp, bk, k)
            continue
        ga = _point_box(Xp, i, lo, hi, c, bd[k - 1])
        gb = _point_box(Xp, i, lo, hi, c + 1, bd[k - 1])
        near, far, gn, gf = (c, c + 1, ga, gb) if ga <= gb else (c + 1, c, gb, ga)
        if gf <= bd[k - 1]:
            stack[top] = far
            gstack[top] = gf
            top += 1
        if gn <= bd[k - 1]:
            stack[top] = near  # popped first
            gstack[top] = gn
            top += 1


@njit(**_OPTS)
def _other_within(Xp, lab, lmin, lmax, lo, hi, start, end, child, i, u, stack):
    """Is a row of another label than row i's within squared distance ``u`` of it?
    Subtrees holding only row i's label are skipped without a look at their rows."""
    own = lab[i]
    top = 1
    stack[0] = 0
    while top > 0:
        top -= 1
        node = stack[top]
        if (lmin[node] == own and lmax[node] == own) or _point_box(
                Xp, i, lo, hi, node, u) > u:
            continue
        c = child[node]
        if c >= 0:
            stack[top] = c
            stack[top + 1] = c + 1
            top += 2
            continue
        for p in range(start[node], end[node]):
            if lab[p] != own and _dist(Xp, i, p, u) <= u:
                return True
    return False


@njit(**_OPTS)
def _leaf_reaches_other(Xp, lab, lmin, lmax, lo, hi, start, end, child, leaf, radius,
                        stack):
    """Does a row of another label than the (pure) ``leaf``'s lie within ``radius`` of
    the leaf's box? One walk for all the leaf's rows; own-label subtrees are skipped."""
    own = lmin[leaf]
    top = 1
    stack[0] = 0
    while top > 0:
        top -= 1
        node = stack[top]
        if node == leaf or (lmin[node] == own and lmax[node] == own) or _box_box(
                lo, hi, leaf, node, radius) > radius:
            continue
        c = child[node]
        if c >= 0:
            stack[top] = c
            stack[top + 1] = c + 1
            top += 2
            continue
        for p in range(start[node], end[node]):
            # the other-label row's distance to the leaf's box
            if lab[p] != own and _point_box(Xp, p, lo, hi, leaf, radius) <= radius:
                return True
    return False


@njit(**_OPTS)
def _leaf_radius(bound, m):
    """The radius a leaf's shared candidate list is built for: the upper quartile of its
    rows' bounds. One outlying row would otherwise widen the list for all (its bound
    can be hundreds of times the others'); rows beyond it walk the tree themselves."""
    b = np.sort(bound[:m])
    return b[(3 * (m - 1)) // 4]


# ---------------------------------------------------------------------------- searches
@njit(**_OPTS)
def knn_leaves(Xp, keys, start, end, child, lo, hi, leaves, query, k, first, last,
               out_pos, out_d2):  # pragma: no cover - compiled
    """Exact k nearest other rows of the ``query`` rows in leaves ``first..last-1``.

    Per leaf: each query row's top-k within its own leaf gives an upper bound of its
    k-th distance; one walk of the tree collects the leaves within the upper quartile of
    those bounds of the leaf's box; a row whose bound is within it visits those leaves,
    nearest first, while they can still hold a closer row; a row beyond it walks the tree
    itself. Writes tree positions and squared distances, nearest first.
    """
    n_nodes = len(start)
    stack = np.empty(STACK, np.int64)
    stack2 = np.empty(STACK, np.int64)
    gaps2 = np.empty(STACK, np.float64)
    cand = np.empty(n_nodes, np.int64)
    gaps = np.empty(n_nodes, np.float64)
    order = np.empty(n_nodes, np.int64)
    big = np.iinfo(np.int64).max
    bd = np.empty(k, np.float64)
    bp = np.empty(k, np.int64)
    bk = np.empty(k, np.int64)
    bound = np.empty(e_max(start, end, leaves, first, last), np.float64)
    for li in range(first, last):
        leaf = leaves[li]
        s0, e0 = start[leaf], end[leaf]
        m = 0
        for i in range(s0, e0):
            if not query[i]:
                continue
            _own_leaf(Xp, keys, i, s0, e0, bd, bp, bk, k)
            out_d2[i, :] = bd
            out_pos[i, :] = bp
            bound[m] = bd[k - 1]
            m += 1
        if m == 0:
            continue
        radius = _leaf_radius(bound, m)
        n_cand = _candidates(lo, hi, child, leaf, radius, stack, cand)
        for i in range(s0, e0):
            if not query[i]:
                continue
            bd[:] = out_d2[i, :]
            bp[:] = out_pos[i, :]
            for t in range(k):
                bk[t] = keys[bp[t]] if bp[t] >= 0 else big
            if bd[k - 1] <= radius:  # every row that can still rank lies in the list
                _search(Xp, keys, lo, hi, start, end, i, cand, n_cand, gaps, order, bd, bp,
                        bk, k)
            else:
                _dfs(Xp, keys, lo, hi, start, end, child, i, leaf, stack2, gaps2, bd, bp,
                     bk, k)
            out_d2[i, :] = bd
            out_pos[i, :] = bp


@njit(**_OPTS)
def enn_leaves(Xp, keys, lab, lmin, lmax, start, end, child, lo, hi, leaves, query, k,
               kind_all, n_classes, first, last, keep, searched):  # pragma: no cover
    """Edited-nearest-neighbours rule for the ``query`` rows in leaves ``first..last-1``.

    A row is *certified* (kept) when no row of another label lies within its k-th
    distance bound from its own leaf: then its k nearest rows all share its label. A pure
    leaf is first tried with its box's diagonal, a bound for all its rows at once (no
    distance computed); pure leaves of its own label are skipped without looking at
    their rows. The rest get an exact k-nearest search and the rule: ``kind_all`` keeps
    a row whose k neighbours all share its label; otherwise it is kept when its label is
    their most frequent one (the smallest label wins ties, as scipy's mode).
    ``searched[i]``: 0 for rows certified with their whole leaf, 1 for rows certified
    alone, 2 for rows searched.
    """
    n_nodes = len(start)
    stack = np.empty(STACK, np.int64)
    stack2 = np.empty(STACK, np.int64)
    gaps2 = np.empty(STACK, np.float64)
    cand = np.empty(n_nodes, np.int64)
    gaps = np.empty(n_nodes, np.float64)
    order = np.empty(n_nodes, np.int64)
    bd = np.empty(k, np.float64)
    bp = np.empty(k, np.int64)
    bk = np.empty(k, np.int64)
    bound = np.empty(e_max(start, end, leaves, first, last), np.float64)
    scratch = np.empty(len(bound), np.float64)
    counts = np.zeros(n_classes, np.int64)
    for li in range(first, last):
        leaf = leaves[li]
        s0, e0 = start[leaf], end[leaf]
        if lmin[leaf] == lmax[leaf] and e0 - s0 > k:
            # a pure leaf of at least k + 1 rows: its box's squared diagonal bounds every
            # row's k-th distance within the leaf (each term of the sum is at least the
            # rows'), so when no other label lies that close to the box, all its rows are
            # certified without a look at their distances (most leaves, away from a
            # class boundary)
            diag = 0.0
            for j in range(Xp.shape[1]):
                t = float(hi[leaf, j]) - float(lo[leaf, j])
                diag += t * t
            if not _leaf_reaches_other(Xp, lab, lmin, lmax, lo, hi, start, end, child, leaf,
                                       diag, stack):
                continue
        m = 0
        for i in range(s0, e0):
            if not query[i]:
                continue
            _own_leaf(Xp, keys, i, s0, e0, bd, bp, bk, k)
            bound[i - s0] = bd[k - 1]
            scratch[m] = bd[k - 1]
            m += 1
        if m == 0:
            continue
        radius = _leaf_radius(scratch, m)
        # a pure leaf with no other label within a radius of its box: every row whose
        # bound is within it is certified at once; first try the largest bound (all
        # rows), then the upper quartile (the rest are checked one by one)
        together = False
        if lmin[leaf] == lmax[leaf]:
            widest = scratch[0]
            for t in range(1, m):
                widest = max(widest, scratch[t])
            if widest < np.inf and not _leaf_reaches_other(
                    Xp, lab, lmin, lmax, lo, hi, start, end, child, leaf, widest, stack):
                continue
            together = widest > radius and not _leaf_reaches_other(
                Xp, lab, lmin, lmax, lo, hi, start, end, child, leaf, radius, stack)
        n_cand = -1  # the shared candidate list, built when a row first needs it
        for i in range(s0, e0):
            if not query[i]:
                continue
            own = lab[i]
            u = bound[i - s0]
            if u <= radius and together:
                continue
            searched[i] = 1  # certified alone, unless searched below
            if u <= radius:
                if n_cand < 0:
                    n_cand = _candidates(lo, hi, child, leaf, radius, stack, cand)
                sure = True
                for p in range(s0, e0):  # another label within u in the own leaf?
                    if lab[p] != own and _dist(Xp, i, p, u) <= u:
                        sure = False
                        break
                c = 0
                while sure and c < n_cand:
                    node = cand[c]
                    c += 1
                    if (lmin[node] == own and lmax[node] == own) or _point_box(
                            Xp, i, lo, hi, node, u) > u:
                        continue
                    for p in range(start[node], end[node]):
                        if lab[p] != own and _dist(Xp, i, p, u) <= u:
                            sure = False
                            break
            else:
                sure = not _other_within(Xp, lab, lmin, lmax, lo, hi, start, end, child, i,
                                         u, stack2)
            if sure:
                continue
            searched[i] = 2
            _own_leaf(Xp, keys, i, s0, e0, bd, bp, bk, k)
            if u <= radius:
                if n_cand < 0:
                    n_cand = _candidates(lo, hi, child, leaf, radius, stack, cand)
                _search(Xp, keys, lo, hi, start, end, i, cand, n_cand, gaps, order, bd, bp,
                        bk, k)
            else:
                _dfs(Xp, keys, lo, hi, start, end, child, i, leaf, stack2, gaps2, bd, bp,
                     bk, k)
            if kind_all:
                for t in range(k):
                    if lab[bp[t]] != own:
                        keep[i] = False
            else:
                counts[:] = 0
                for t in range(k):
                    counts[lab[bp[t]]] += 1
                keep[i] = np.argmax(counts) == own


@njit(**_OPTS)
def e_max(start, end, leaves, first, last):  # pragma: no cover - compiled
    """Largest leaf among leaves ``first..last-1`` (sizes the per-leaf scratch)."""
    m = 1
    for li in range(first, last):
        m = max(m, end[leaves[li]] - start[leaves[li]])
    return m


@njit(**_OPTS)
def interpolate(X, base, other, steps, out):  # pragma: no cover - compiled
    """SMOTE's new rows: ``out[i] = X[b] + steps[i] * (X[o] - X[b])``; the difference in
    X's dtype, the product and sum in float64, then rounded to ``out``'s dtype, exactly
    as imbalanced-learn's numpy expression rounds them."""
    for i in range(len(base)):
        b, o, s = base[i], other[i], steps[i]
        for j in range(X.shape[1]):
            d = X[o, j] - X[b, j]
            out[i, j] = X[b, j] + s * d
