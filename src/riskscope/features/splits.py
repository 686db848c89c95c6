"""Train/validation/test splits, and the scaler that is fitted on the training split only.

Every split function returns a :class:`Split` of sorted integer row positions (for
``frame.iloc`` / ``X[idx]``), with per-class counts and any warnings about classes that a
split could not place everywhere. Three ways to split:

- :func:`stratified_split`: the notebook's two-stage stratified 70/15/15 split. Random
  splits of flow records leak: near-identical flows of one conversation land on both sides.
- :func:`day_split`: whole calendar days per split (from the flow Timestamp).
- :func:`conversation_split`: whole conversations per split (no endpoint pair, or host
  pair, on two sides), stratified by class as far as the groups allow.

The caller scales with :func:`make_scaler` fitted on ``X[split.train]`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskscope.exceptions import ParameterError, SchemaError

__all__ = [
    "Split",
    "stratified_split",
    "day_split",
    "conversation_split",
    "conversation_groups",
    "make_scaler",
    "SCALERS",
]

SPLIT_NAMES = ("train", "val", "test")

# A class needs a row in the stratified first stage's two sides and then in the second
# stage's two sides; with fewer than 3 rows it cannot reach all three splits.
_MIN_STRATIFIED = 3
# Conversation split: the largest groups are placed one by one where their classes are
# most needed; the rest (each tiny against the split targets) are placed in bulk.
_GREEDY_GROUPS = 10_000


@dataclass(frozen=True, eq=False)
class Split:
    """Row positions of the training, validation and test splits.

    Attributes
    ----------
    train, val, test : ndarray of int64
        Sorted row positions (``iloc`` positions, not index labels); disjoint.
    method : str
        ``"stratified"``, ``"day"`` or ``"conversation"``.
    class_counts : dict
        ``{split: {class: rows}}`` for the three splits (classes as strings).
    warnings : tuple of str
        What the split could not do as asked (classes missing from a split, rows left
        out, stratification given up); empty when all went as planned.
    params : dict
        The settings used (sizes, seed, days, grouping key ...), JSON-ready.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    method: str
    class_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        """Rows per split: ``{"train": ..., "val": ..., "test": ...}``."""
        return {name: int(getattr(self, name).size) for name in SPLIT_NAMES}

    def parts(self) -> dict[str, np.ndarray]:
        """``{"train": positions, "val": positions, "test": positions}``."""
        return {name: getattr(self, name) for name in SPLIT_NAMES}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: method, sizes, shares, per-class counts, warnings, params.

        The row positions themselves are not included (millions of integers); save them
        with the run's data files if needed.
        """
        sizes = self.sizes()
        total = sum(sizes.values())
        return {
            "method": self.method,
            "sizes": sizes,
            "shares": {k: (v / total if total else 0.0) for k, v in sizes.items()},
            "class_counts": self.class_counts,
            "warnings": list(self.warnings),
            "params": self.params,
        }


def _make_split(
    method: str,
    parts: Sequence[np.ndarray],
    codes: np.ndarray,
    classes: Sequence[Any],
    warnings: list[str],
    params: dict[str, Any],
) -> Split:
    parts = [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]
    counts = {}
    for name, idx in zip(SPLIT_NAMES, parts, strict=True):
        per_class = np.bincount(codes[idx], minlength=len(classes))
        counts[name] = {str(c): int(k) for c, k in zip(classes, per_class, strict=True)}
    warnings = list(warnings) + _coverage_warnings(counts, [str(c) for c in classes])
    return Split(
        *parts, method=method, class_counts=counts, warnings=tuple(warnings), params=params
    )


def _coverage_warnings(counts: dict[str, dict[str, int]], classes: list[str]) -> list[str]:
    out = []
    for name in SPLIT_NAMES:
        if not any(counts[name].values()):
            out.append(f"The {name} split is empty.")
            continue
        absent = [c for c in classes if counts[name][c] == 0]
        if absent:
            what = "cannot be learned" if name == "train" else "cannot be evaluated there"
            out.append(f"{len(absent)} classes have no rows in {name} ({what}): {_names(absent)}.")
    return out


def _names(items: Sequence[Any], limit: int = 8) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _check_sizes(sizes: Any, owner: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(s) for s in sizes)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 3 or min(values) <= 0 or abs(sum(values) - 1) > 1e-6:
        raise ParameterError(
            f"`sizes` of {owner} must be three positive shares (train, val, test) summing "
            f"to 1; got {sizes!r}."
        )
    return values  # type: ignore[return-value]


def _encode_labels(y: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ParameterError(f"`y` of {owner} must be one-dimensional; got shape {arr.shape}.")
    if arr.shape[0] < 3:
        raise SchemaError(
            f"{owner} needs at least 3 rows to make three splits; got {arr.shape[0]}."
        )
    codes, classes = pd.factorize(arr, sort=True)
    n_missing = int((codes < 0).sum())
    if n_missing:
        rows = np.flatnonzero(codes < 0)[:5].tolist()
        raise SchemaError(
            f"y has {n_missing} missing labels (rows {rows}, ...); {owner} needs every row "
            "labelled: drop the unlabelled rows first."
        )
    return codes.astype(np.intp), np.asarray(classes, dtype=object)


# ------------------------------------------------------------------------- stratified


def _strata(codes: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Stratification labels where every class has >= 2 rows: rarer ones are pooled.

    Classes with a single row are pooled into one stratum; a pool of one row joins the
    largest class. Returns the labels and the pooled class codes.
    """
    counts = np.bincount(codes)
    lonely = np.flatnonzero(counts == 1)
    if lonely.size == 0:
        return codes, []
    target = codes.max() + 1 if lonely.size > 1 else int(np.argmax(counts))
    strata = codes.copy()
    strata[np.isin(codes, lonely)] = target
    return strata, lonely.tolist()


def _split_once(
    pool: np.ndarray,
    codes: np.ndarray,
    test_size: float,
    seed: int,
    stage: str,
    classes: np.ndarray,
    warnings: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    strata, pooled = _strata(codes[pool])
    if pooled:
        warnings.append(
            f"{stage}: classes with a single row there were not stratified: "
            f"{_names([classes[c] for c in pooled])}."
        )
    try:
        return _stratified_shuffle(pool, strata, test_size, seed)
    except ValueError as exc:  # too few rows for as many strata as classes
        warnings.append(f"{stage}: could not stratify ({exc}); split at random instead.")
        return train_test_split(pool, test_size=test_size, random_state=seed)


def _stratified_shuffle(
    pool: np.ndarray, strata: np.ndarray, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``train_test_split(pool, test_size=, stratify=strata, random_state=seed)``, faster.

    scikit-learn's ``StratifiedShuffleSplit`` step by step -- the same draws from the same
    generator in the same order, so the same split (the tests compare the two) -- but
    with arrays where it collects every row into Python lists: 10 ms instead of 60 ms
    for 177k flows. ``strata`` are small non-negative integer codes. Inputs that
    scikit-learn rejects go to it, for its own ValueError.
    """
    from sklearn.model_selection import train_test_split
    from sklearn.model_selection._split import _validate_shuffle_split
    from sklearn.utils import check_random_state
    from sklearn.utils.extmath import _approximate_mode

    n_train, n_test = _validate_shuffle_split(len(pool), test_size, None, default_test_size=0.25)
    counts = np.bincount(strata)
    classes = np.flatnonzero(counts)  # np.unique's sorted classes
    class_counts = counts[classes]
    if class_counts.min() < 2 or min(n_train, n_test) < len(classes):
        return train_test_split(pool, test_size=test_size, stratify=strata, random_state=seed)
    rank = np.zeros(len(counts), dtype=np.int16 if len(classes) < 2**15 else np.intp)
    rank[classes] = np.arange(len(classes))
    # rows grouped by class in row order (a stable sort; radix on int16 codes)
    class_indices = np.split(np.argsort(rank[strata], kind="stable"), np.cumsum(class_counts)[:-1])
    rng = check_random_state(seed)
    n_i = _approximate_mode(class_counts, n_train, rng)
    t_i = _approximate_mode(class_counts - n_i, n_test, rng)
    train, test = [], []
    for i in range(len(classes)):
        rows = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.append(rows[: n_i[i]])
        test.append(rows[n_i[i] : n_i[i] + t_i[i]])
    return pool[rng.permutation(np.concatenate(train))], pool[rng.permutation(np.concatenate(test))]


def stratified_split(
    y: Any, *, sizes: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 42
) -> Split:
    """Stratified train/validation/test split, two-stage as in the reference notebook.

    Stage 1 splits off ``val + test`` with :func:`sklearn.model_selection.train_test_split`
    (``stratify=y``, ``random_state=seed``), stage 2 splits that share into validation and
    test the same way. With the default sizes and ``seed=42`` this reproduces the
    notebook's split exactly (positions are returned sorted; ``y`` coded as the notebook
    coded it gives the same strata).

    **Rare classes.** A class with fewer than 3 rows cannot be stratified into three
    splits: its rows all go to train, and ``Split.warnings`` says so. A class left with a
    single row in stage 2 is pooled with the other single-row classes (or, alone, with
    the largest class) so the stage still runs; that is recorded too.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (strings or codes).
    sizes : (float, float, float), default (0.7, 0.15, 0.15)
        Shares of train, validation and test; positive, summing to 1.
    seed : int, default 42

    Returns
    -------
    Split

    Examples
    --------
    >>> import numpy as np
    >>> from riskscope.features.splits import stratified_split
    >>> y = np.array(["BENIGN"] * 80 + ["DoS"] * 18 + ["Heartbleed"] * 2)
    >>> s = stratified_split(y, seed=42)
    >>> s.sizes()
    {'train': 70, 'val': 15, 'test': 15}
    >>> s.class_counts["test"]
    {'BENIGN': 12, 'DoS': 3, 'Heartbleed': 0}
    >>> s.warnings[0]
    'Classes with fewer than 3 rows went to train only (not stratified): Heartbleed.'
    """
    sizes = _check_sizes(sizes, "stratified_split")
    codes, classes = _encode_labels(y, "stratified_split")
    positions = np.arange(codes.shape[0])
    counts = np.bincount(codes, minlength=len(classes))
    rare = np.flatnonzero(counts < _MIN_STRATIFIED)
    warnings: list[str] = []
    forced_train = np.empty(0, dtype=np.intp)
    if rare.size:
        is_rare = np.isin(codes, rare)
        forced_train = positions[is_rare]
        positions = positions[~is_rare]
        warnings.append(
            f"Classes with fewer than {_MIN_STRATIFIED} rows went to train only "
            f"(not stratified): {_names(list(classes[rare]))}."
        )
    if positions.size < 3:
        raise SchemaError(
            f"stratified_split has {positions.size} rows outside classes with fewer than "
            f"{_MIN_STRATIFIED} rows; it needs at least 3 to make three splits."
        )
    # Rounded so that 0.15 + 0.15 is the notebook's 0.3, not 0.30000000000000004 (which
    # can move one row).
    first = round(sizes[1] + sizes[2], 12)
    second = round(sizes[2] / (sizes[1] + sizes[2]), 12)
    train, temp = _split_once(positions, codes, first, seed, "Stage 1", classes, warnings)
    val, test = _split_once(temp, codes, second, seed, "Stage 2", classes, warnings)
    train = np.concatenate([train, forced_train])
    params = {"sizes": list(sizes), "seed": seed}
    return _make_split("stratified", (train, val, test), codes, classes, warnings, params)


# ------------------------------------------------------------------------------- days


def _days(timestamps: Any) -> pd.Series:
    if timestamps is None:
        raise SchemaError(
            "day_split needs flow timestamps and this data has none (the original "
            "MachineLearningCVE layout carries no Timestamp); use the stratified split."
        )
    ts = pd.Series(timestamps).reset_index(drop=True)
    if not pd.api.types.is_datetime64_any_dtype(ts.dtype):
        try:
            ts = pd.to_datetime(ts)
        except (ValueError, TypeError) as exc:
            raise SchemaError(
                f"day_split could not read the timestamps as dates ({exc}); pass the "
                "'timestamp' meta column (datetime64)."
            ) from None
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_localize(None)  # wall-clock days, as the capture was recorded
    n_missing = int(ts.isna().sum())
    if n_missing:
        rows = np.flatnonzero(ts.isna().to_numpy())[:5].tolist()
        raise SchemaError(
            f"day_split found {n_missing} missing timestamps (rows {rows}, ...); drop those "
            "rows or use the stratified split."
        )
    return ts.dt.normalize()


def _as_days(values: Any, name: str) -> list[pd.Timestamp]:
    if isinstance(values, str | pd.Timestamp) or not isinstance(
        values, Sequence | np.ndarray | pd.Index | pd.Series
    ):
        values = [values]
    try:
        return sorted({pd.Timestamp(v).normalize() for v in values})
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            f"`{name}` of day_split must list dates; got {values!r} ({exc})."
        ) from None


def _chronological(day_rows: np.ndarray, sizes: tuple[float, float, float]) -> tuple[int, int]:
    """Day counts (n_train, n_train + n_val) closest to ``sizes`` in rows, >= 1 day each.

    Minimises the squared share error over all boundary pairs: for each train boundary
    the best second boundary is next to its unconstrained optimum, found by bisection.
    """
    share = np.cumsum(day_rows) / day_rows.sum()
    n_days = share.size
    best = (np.inf, 1, 2)
    for b1 in range(1, n_days - 1):
        tr = share[b1 - 1]
        ideal = (tr + sizes[1] + 1 - sizes[2]) / 2  # optimum of the train+val share
        k = int(np.searchsorted(share, ideal))
        for b2 in {min(max(c, b1 + 1), n_days - 1) for c in (k, k + 1)}:
            tv = share[b2 - 1]
            cost = (tr - sizes[0]) ** 2 + (tv - tr - sizes[1]) ** 2 + (1 - tv - sizes[2]) ** 2
            if cost < best[0] - 1e-15:
                best = (cost, b1, b2)
    return best[1], best[2]


def day_split(
    timestamps: Any,
    y: Any,
    *,
    train_days: Any = None,
    val_days: Any = None,
    test_days: Any = None,
    sizes: Sequence[float] = (0.7, 0.15, 0.15),
) -> Split:
    """Split by calendar day of the flow Timestamp: every day lies in one split only.

    By default the days are assigned chronologically (train first, then validation, then
    test), each split getting at least one whole day, with the boundaries that bring the
    row shares closest to ``sizes`` (least squares). Or name the days yourself with all
    three of ``train_days``, ``val_days``, ``test_days``; rows on days named in none of them
    are left out (and counted in ``Split.warnings``).

    Days are the timestamps' calendar dates as recorded (timezone-aware stamps keep their
    wall-clock date). On CICIDS2017 (Monday to Friday, 5 days) the default gives Monday to
    Wednesday / Thursday / Friday; whole attack types then exist on one day only, which
    the warnings list: that is the point of the split (attacks unseen in training).

    Parameters
    ----------
    timestamps : array-like of datetime64, or None
        One per row (the flow frame's ``timestamp`` meta column).
    y : array-like of shape (n_samples,)
        Class labels, for the per-class counts and warnings.
    train_days, val_days, test_days : date or list of dates, optional
        Explicit days (``"2017-07-03"``, ``datetime.date``, ``Timestamp``).
    sizes : (float, float, float), default (0.7, 0.15, 0.15)
        Target row shares for the automatic assignment.

    Returns
    -------
    Split
        ``params["days"]`` lists each split's days (ISO dates).

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscope.features.splits import day_split
    >>> ts = pd.to_datetime(["2017-07-03 09:00"] * 6 + ["2017-07-04 10:00"] * 2
    ...                     + ["2017-07-05 11:00"] * 2)
    >>> s = day_split(ts, ["BENIGN"] * 10)
    >>> s.sizes(), s.params["days"]["test"]
    ({'train': 6, 'val': 2, 'test': 2}, ['2017-07-05'])
    """
    sizes = _check_sizes(sizes, "day_split")
    days = _days(timestamps)
    codes, classes = _encode_labels(y, "day_split")
    if days.shape[0] != codes.shape[0]:
        raise SchemaError(
            f"day_split got {days.shape[0]} timestamps for {codes.shape[0]} "
            "labels; pass one timestamp per row."
        )
    day_codes, unique_days = pd.factorize(days, sort=True)
    if len(unique_days) < 3:
        raise SchemaError(
            f"day_split needs flows from at least 3 calendar days; found {len(unique_days)} "
            f"({_names([d.date().isoformat() for d in unique_days])}); use the stratified "
            "or conversation split."
        )
    explicit = [train_days, val_days, test_days]
    warnings: list[str] = []
    if all(v is None for v in explicit):
        day_rows = np.bincount(day_codes, minlength=len(unique_days))
        b1, b2 = _chronological(day_rows, sizes)
        assign = np.repeat([0, 1, 2], [b1, b2 - b1, len(unique_days) - b2])
    elif any(v is None for v in explicit):
        raise ParameterError(
            "day_split takes all three of train_days, val_days and test_days, or none of "
            "them (automatic chronological 70/15/15); got only some."
        )
    else:
        assign = _explicit_days(unique_days, explicit, warnings)
    split_of_row = assign[day_codes]
    left_out = int((split_of_row < 0).sum())
    if left_out:
        warnings.append(
            f"{left_out} rows lie on days named in none of train_days, val_days, "
            "test_days and were left out."
        )
    parts = [np.flatnonzero(split_of_row == k) for k in range(3)]
    params = {
        "sizes": list(sizes),
        "days": {
            name: [d.date().isoformat() for d, a in zip(unique_days, assign, strict=True) if a == k]
            for k, name in enumerate(SPLIT_NAMES)
        },
    }
    return _make_split("day", parts, codes, classes, warnings, params)


def _explicit_days(
    unique_days: pd.DatetimeIndex, explicit: list[Any], warnings: list[str]
) -> np.ndarray:
    assign = np.full(len(unique_days), -1)
    position = {d: i for i, d in enumerate(unique_days)}
    seen: dict[pd.Timestamp, str] = {}
    for k, (name, values) in enumerate(zip(SPLIT_NAMES, explicit, strict=True)):
        for day in _as_days(values, f"{name}_days"):
            if day in seen:
                raise ParameterError(
                    f"Day {day.date()} is in both {seen[day]}_days and {name}_days; a day "
                    "belongs to one split."
                )
            seen[day] = name
            if day not in position:
                raise ParameterError(
                    f"{name}_days names {day.date()}, which has no flows; days present: "
                    f"{_names([d.date().isoformat() for d in unique_days])}."
                )
            assign[position[day]] = k
    return assign


# ----------------------------------------------------------------------- conversations


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


# ----------------------------------------------------------------------------- scaler


#: Scaler names accepted by :func:`make_scaler`.
SCALERS = ("robust", "standard", "minmax", "none")


def make_scaler(name: str = "robust") -> Any:
    """A fresh, unfitted scaler by name; fit it on the training split only.

    ``"robust"`` (the notebook's :class:`~sklearn.preprocessing.RobustScaler`: median and
    IQR, so the heavy-tailed flow features' outliers do not set the scale), ``"standard"``,
    ``"minmax"``, or ``"none"`` (an identity :class:`~sklearn.preprocessing.FunctionTransformer`
    that keeps the pipeline's shape). All keep float32 input float32 and support
    ``set_output(transform="pandas")``.

    Examples
    --------
    >>> import numpy as np
    >>> from riskscope.features.splits import make_scaler
    >>> make_scaler()
    RobustScaler()
    >>> train = np.array([[1.0], [2.0], [3.0], [100.0]], dtype=np.float32)
    >>> make_scaler("robust").fit(train).transform(train).dtype
    dtype('float32')
    """
    from sklearn.preprocessing import (
        FunctionTransformer,
        MinMaxScaler,
        RobustScaler,
        StandardScaler,
    )

    factories = {
        "robust": RobustScaler,
        "standard": StandardScaler,
        "minmax": MinMaxScaler,
        "none": lambda: FunctionTransformer(feature_names_out="one-to-one"),
    }
    if name not in factories:
        raise ParameterError(f"Unknown scaler {name!r}; choose one of {list(SCALERS)}.")
    return factories[name]()
