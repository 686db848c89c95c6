"""Conversation splits: whole conversations (endpoint pairs, or host pairs) per split, so
near-identical flows of one conversation never land on two sides; stratified by class as
far as the groups allow. Re-exported by :mod:`riskscope.features.splits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskscope.exceptions import ParameterError, SchemaError
from riskscope.features._split_base import (
    Split,
    _check_sizes,
    _encode_labels,
    _make_split,
)

__all__ = ["conversation_groups", "conversation_split"]

# The largest groups are placed one by one where their classes are most needed; the rest
# (each tiny against the split targets) are placed in bulk.
_GREEDY_GROUPS = 10_000


_GROUP_KEYS = {
    "endpoints": ("src_ip", "src_port", "dst_ip", "dst_port"),
    "hosts": ("src_ip", "dst_ip"),
}


def conversation_groups(meta: pd.DataFrame, *, key: str = "endpoints") -> np.ndarray:
    """Group code per row: the unordered endpoint pair, or the unordered host pair.

    ``key="endpoints"``: {(src_ip, src_port), (dst_ip, dst_port)}, so both directions of a
    conversation share a group; ``key="hosts"``: {src_ip, dst_ip}.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscope.features.splits import conversation_groups
    >>> meta = pd.DataFrame({"src_ip": ["a", "b", "a"], "src_port": [1, 2, 1],
    ...                      "dst_ip": ["b", "a", "b"], "dst_port": [2, 1, 3]})
    >>> conversation_groups(meta).tolist()
    [0, 0, 1]
    >>> conversation_groups(meta, key="hosts").tolist()
    [0, 0, 0]
    """
    if key not in _GROUP_KEYS:
        raise ParameterError(
            f"`key` of conversation_split must be 'endpoints' or 'hosts'; got {key!r}."
        )
    if not isinstance(meta, pd.DataFrame):
        raise ParameterError(
            f"conversation_split needs the meta DataFrame; got {type(meta).__name__}."
        )
    needed = _GROUP_KEYS[key]
    missing = [c for c in needed if c not in meta.columns]
    if missing:
        raise SchemaError(
            f"conversation_split (key={key!r}) needs meta columns {list(needed)}; missing "
            f"{missing} (the original MachineLearningCVE layout has no addresses); use the "
            "stratified or day split."
        )
    # One integer code space for addresses on either side, so the two ends compare.
    ips, _ = pd.factorize(
        pd.concat([meta["src_ip"], meta["dst_ip"]], ignore_index=True), use_na_sentinel=False
    )
    n = len(meta)
    if n == 0:
        return np.empty(0, dtype=np.intp)
    src, dst = ips[:n].astype(np.int64), ips[n:].astype(np.int64)
    if key == "endpoints":
        # ports < 2**16 (missing -> -1, shifted to 0): (ip, port) packs into one int64
        src = (src << 17) + _ports(meta["src_port"])
        dst = (dst << 17) + _ports(meta["dst_port"])
    lo = np.minimum(src, dst)
    hi = np.maximum(src, dst)
    lo_code, _ = pd.factorize(lo)
    hi_code, _ = pd.factorize(hi)
    groups, _ = pd.factorize(lo_code.astype(np.int64) * (int(hi_code.max()) + 1) + hi_code)
    return groups.astype(np.intp)


def _ports(ports: pd.Series) -> np.ndarray:
    values = pd.to_numeric(ports, errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    return np.clip(values, -1, 65535) + 1


def conversation_split(
    meta: pd.DataFrame,
    y: Any,
    *,
    key: str = "endpoints",
    sizes: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 42,
) -> Split:
    """Split so that no conversation has flows in two splits, stratified by class.

    A conversation (group) is the unordered endpoint pair {(src_ip, src_port), (dst_ip,
    dst_port)} with ``key="endpoints"``, or the unordered host pair {src_ip, dst_ip} with
    ``key="hosts"`` (stricter: one host pair can carry a whole attack campaign); see
    :func:`conversation_groups`. All flows of a group go to the same split.

    **Assignment.** Targets are ``sizes`` times each class's row count. Groups are shuffled
    with ``seed`` and taken largest first; each of the 10,000 largest goes to the split
    whose classes still need it most (the sum over its classes of rows times the split's
    remaining share of that class). The remaining groups are each tiny against the targets:
    per majority class they are laid out in shuffled order and cut where the remaining
    targets say, which meets them to within a group. Classes that cannot reach every split
    (too few groups) are listed in ``Split.warnings``.

    Parameters
    ----------
    meta : DataFrame
        Meta columns of the flows: ``src_ip``, ``dst_ip`` and, for ``key="endpoints"``,
        ``src_port``, ``dst_port``.
    y : array-like of shape (n_samples,)
    key : {"endpoints", "hosts"}, default "endpoints"
    sizes : (float, float, float), default (0.7, 0.15, 0.15)
    seed : int, default 42

    Returns
    -------
    Split
        ``params`` records the key and the number of groups.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskscope.features.splits import conversation_split
    >>> rng = np.random.default_rng(0)
    >>> meta = pd.DataFrame({"src_ip": rng.choice(["10.0.0.1", "10.0.0.2"], 400),
    ...                      "src_port": rng.integers(1024, 1100, 400),
    ...                      "dst_ip": "192.168.1.5", "dst_port": 80})
    >>> s = conversation_split(meta, rng.choice(["BENIGN", "DoS"], 400), seed=1)
    >>> {k: round(v / 400, 2) for k, v in s.sizes().items()}
    {'train': 0.7, 'val': 0.15, 'test': 0.15}
    """
    sizes = _check_sizes(sizes, "conversation_split")
    groups = conversation_groups(meta, key=key)
    codes, classes = _encode_labels(y, "conversation_split")
    if groups.shape[0] != codes.shape[0]:
        raise SchemaError(
            f"conversation_split got {groups.shape[0]} meta rows for "
            f"{codes.shape[0]} labels; pass one meta row per label."
        )
    n_groups = int(groups.max()) + 1
    if n_groups < 3:
        raise SchemaError(
            f"conversation_split (key={key!r}) found {n_groups} conversations; three splits "
            "need at least 3: use key='endpoints' or the stratified split."
        )
    split_of_group = _assign_groups(groups, codes, len(classes), n_groups, sizes, seed)
    split_of_row = split_of_group[groups]
    parts = [np.flatnonzero(split_of_row == k) for k in range(3)]
    params = {"sizes": list(sizes), "seed": seed, "key": key, "n_groups": n_groups}
    return _make_split("conversation", parts, codes, classes, [], params)


def _assign_groups(
    groups: np.ndarray,
    codes: np.ndarray,
    n_classes: int,
    n_groups: int,
    sizes: tuple[float, float, float],
    seed: int,
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    group_size = np.bincount(groups, minlength=n_groups)
    class_total = np.bincount(codes, minlength=n_classes).astype(float)
    need = np.outer(sizes, class_total)  # rows of each class each split still needs
    order = rng.permutation(n_groups)
    order = order[np.argsort(-group_size[order], kind="stable")]  # largest first
    split_of_group = np.full(n_groups, -1, dtype=np.int8)

    # (group, class) counts of the largest groups, in processing order.
    greedy = order[:_GREEDY_GROUPS]
    rank = np.full(n_groups, -1)
    rank[greedy] = np.arange(greedy.size)
    in_greedy = rank[groups] >= 0
    cells = rank[groups[in_greedy]] * n_classes + codes[in_greedy]
    cell_counts = np.bincount(cells, minlength=greedy.size * n_classes)
    cell_counts = cell_counts.reshape(greedy.size, n_classes)
    weight = np.divide(1.0, class_total, out=np.zeros(n_classes), where=class_total > 0)
    for r, g in enumerate(greedy):
        present = np.flatnonzero(cell_counts[r])
        v = cell_counts[r, present]
        score = need[:, present] @ (v * weight[present])
        k = int(np.argmax(score))
        split_of_group[g] = k
        need[k, present] -= v

    rest = order[_GREEDY_GROUPS:]
    if rest.size:
        # Majority class of each remaining group, then per class a cumulative cut.
        in_rest = split_of_group[groups] < 0
        pair = groups[in_rest].astype(np.int64) * n_classes + codes[in_rest]
        pair_counts = pd.Series(pair).value_counts(sort=False)
        g_of, c_of = np.divmod(pair_counts.index.to_numpy(), n_classes)
        by_count = np.lexsort((c_of, -pair_counts.to_numpy(), g_of))
        first = np.r_[True, g_of[by_count][1:] != g_of[by_count][:-1]]
        majority = np.empty(n_groups, dtype=np.intp)
        majority[g_of[by_count][first]] = c_of[by_count][first]
        rest_class = majority[rest]
        for c in np.unique(rest_class):
            members = rest[rest_class == c]
            members = members[rng.permutation(members.size)]  # not by size: no size bias
            rows = group_size[members]
            remaining = np.clip(need[:, c], 0, None)
            share = remaining / remaining.sum() if remaining.sum() > 0 else np.asarray(sizes)
            middle = np.cumsum(rows) - rows / 2
            cuts = np.cumsum(share)[:2] * rows.sum()
            split_of_group[members] = np.searchsorted(cuts, middle, side="right")
    return split_of_group
