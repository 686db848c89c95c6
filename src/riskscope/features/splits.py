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
from typing import Any

import numpy as np
import pandas as pd

from riskscope.exceptions import ParameterError, SchemaError
from riskscope.features._split_base import (
    SPLIT_NAMES,
    Split,
    _check_sizes,
    _encode_labels,
    _make_split,
    _names,
)
from riskscope.features.conversations import conversation_groups, conversation_split

__all__ = [
    "Split",
    "stratified_split",
    "day_split",
    "conversation_split",
    "conversation_groups",
    "make_scaler",
    "SCALERS",
]

# A class needs a row in the stratified first stage's two sides and then in the second
# stage's two sides; with fewer than 3 rows it cannot reach all three splits.
_MIN_STRATIFIED = 3


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
