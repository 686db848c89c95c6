"""SMOTE, edited nearest neighbours, and SMOTE-ENN with exact, fast neighbour search.

These do what imbalanced-learn's ``SMOTE``, ``EditedNearestNeighbours`` and ``SMOTEENN``
do, with the same parameters and defaults and the same random draws: given the same
neighbours they return the same rows. What differs is how neighbours are found: an
exact kd-tree search, compiled with numba and run leaf by leaf on several threads
(:mod:`riskscope.sampling._neighbors`), instead of scikit-learn's brute force; and ENN
first *certifies* the rows that no other class can reach, whole leaves at a time, so
only rows near a class boundary are searched. On 200,000 rows x 70 features
that is about two orders of magnitude faster (``benchmarks/smoteenn.py``).

Neighbours and ties
-------------------
Distances are Euclidean, computed exactly from float64 differences. A row is never its
own neighbour; rows at equal distance (exact duplicates included) rank by row index,
lowest first. scikit-learn ranks equal distances in an unspecified order and
imbalanced-learn drops the *first* neighbour it returns, assuming it is the row itself;
with duplicates that can be a copy instead, leaving the row as its own neighbour. So
on data with duplicates or exactly tied distances the two can pick different
neighbours; everywhere else they agree. For ENN this means a row whose exact duplicate
carries another label is always removed (both copies are), which is what cleaning
conflicting labels should do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from imblearn.over_sampling import SMOTE as _ImbSMOTE
from imblearn.under_sampling import EditedNearestNeighbours as _ImbENN
from sklearn.base import clone
from sklearn.utils import check_random_state

from riskscope.exceptions import ParameterError
from riskscope.sampling._base import BaseResampler, SampleIndicesMixin, check_params, take_rows
from riskscope.sampling._neighbors import edited_keep_mask, kneighbors_within

__all__ = ["SMOTE", "SMOTEENN", "EditedNearestNeighbours"]


class SMOTE(BaseResampler):
    """Synthetic minority over-sampling (Chawla et al. 2002), as imbalanced-learn's SMOTE.

    For each class to grow, ``n`` new rows are drawn: a random row of the class, one of
    its ``k_neighbors`` nearest rows of the same class, and a random point on the segment
    between them. The original rows come first in the output, unchanged.

    Parameters
    ----------
    sampling_strategy : str, float, dict or callable, default="auto"
        imbalanced-learn's over-sampling targets; "auto" grows every class but the
        largest to the largest class's size.
    k_neighbors : int, default=5
        Same-class neighbours to interpolate towards.
    random_state : None, int or RandomState, default=None
        With an int, each class's draws start from that seed, as in imbalanced-learn.
    n_jobs : int or None, default=None
        Threads for the neighbour search; None or -1 uses every core. Results do not
        depend on it.

    Attributes
    ----------
    sampling_strategy_ : dict
        Rows added per class.
    report_ : ResampleReport

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from riskscope.sampling import SMOTE
    >>> X, y = make_classification(n_samples=200, weights=[0.9], random_state=0)
    >>> smote = SMOTE(random_state=0)
    >>> X_res, y_res = smote.fit_resample(X, y)
    >>> bool((X_res[: len(X)] == X).all())  # originals first, unchanged
    True
    >>> [(c.label, c.before, c.added) for c in smote.report_.classes]
    [(0, 180, 0), (1, 20, 160)]
    """

    _sampling_type = "over-sampling"
    _param_rules = {
        "k_neighbors": ("int", 1),
        "random_state": ("random_state",),
        "n_jobs": ("jobs",),
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        k_neighbors: int = 5,
        random_state: Any = None,
        n_jobs: int | None = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.k_neighbors = k_neighbors
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _resample(self, X, y):
        strategy = self._strategy(y, self.sampling_strategy, self._sampling_type)
        self.sampling_strategy_ = strategy
        k = self.k_neighbors
        todo = [(label, n_new) for label, n_new in strategy.items() if n_new > 0]
        n = len(y)
        # one output block: originals first, then each class's new rows written in place;
        # in X's memory layout (column-major X, as pandas hands it over, stays so)
        order = "F" if X.flags.f_contiguous and not X.flags.c_contiguous else "C"
        X_out = np.empty((n + sum(m for _, m in todo), X.shape[1]), dtype=X.dtype, order=order)
        X_out[:n] = X
        y_parts, pos = [y.copy()], n
        for label, n_new in todo:
            rows = np.flatnonzero(y == label)
            if len(rows) <= k:
                raise ParameterError(
                    f"`k_neighbors` of SMOTE must be below the rows of each class it grows; "
                    f"class {_item(label)!r} has {len(rows)} rows and k_neighbors is {k}. "
                    "Lower k_neighbors or drop the class."
                )
            X_class = np.ascontiguousarray(X[rows])
            nns, _ = kneighbors_within(X_class, k, n_jobs=self.n_jobs)
            # imbalanced-learn's draws, in its order, so equal neighbours give equal rows
            rng = check_random_state(self.random_state)
            picks = rng.randint(low=0, high=nns.size, size=n_new)
            steps = rng.uniform(size=n_new)
            base, col = np.floor_divide(picks, k), np.mod(picks, k)
            _interpolate(X_class, base, nns[base, col], steps, X_out[pos:pos + n_new])
            y_parts.append(np.full(n_new, fill_value=label, dtype=y.dtype))
            pos += n_new
        return X_out, np.hstack(y_parts)


class EditedNearestNeighbours(SampleIndicesMixin, BaseResampler):
    """Edited nearest neighbours (Wilson 1972), as imbalanced-learn's cleaning sampler.

    A row of a cleaned class is removed unless its ``n_neighbors`` nearest rows (all
    classes, itself excluded) pass ``kind_sel``: "all" keeps it only if all share its
    label, "mode" if their most frequent label is its own. Rows are only ever removed;
    the output is grouped by class in sorted order, as imbalanced-learn returns it.

    Parameters
    ----------
    sampling_strategy : str or list, default="auto"
        Classes to clean, as imbalanced-learn's cleaning samplers read it: "auto" is
        every class but the smallest, "all" every class.
    n_neighbors : int, default=3
    kind_sel : {"all", "mode"}, default="all"
    n_jobs : int or None, default=None
        Threads for the neighbour search; None or -1 uses every core.

    Attributes
    ----------
    sample_indices_ : ndarray
        Input rows kept.
    report_ : ResampleReport

    Examples
    --------
    >>> import numpy as np
    >>> from riskscope.sampling import EditedNearestNeighbours
    >>> X = np.r_[np.arange(8) / 10, 5 + np.arange(8) / 10, [0.95]].reshape(-1, 1)
    >>> y = np.array([0] * 8 + [1] * 9)  # the last row sits among class 0
    >>> enn = EditedNearestNeighbours(sampling_strategy="all")
    >>> _, y_res = enn.fit_resample(X, y)
    >>> sorted(set(range(17)) - set(enn.sample_indices_.tolist()))  # removed rows
    [7, 16]
    """

    _sampling_type = "clean-sampling"
    _param_rules = {
        "n_neighbors": ("int", 1),
        "kind_sel": ("choice", ("all", "mode")),
        "n_jobs": ("jobs",),
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        n_neighbors: int = 3,
        kind_sel: str = "all",
        n_jobs: int | None = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.n_neighbors = n_neighbors
        self.kind_sel = kind_sel
        self.n_jobs = n_jobs

    def _resample(self, X, y):
        strategy = self._strategy(y, self.sampling_strategy, self._sampling_type)
        self.sampling_strategy_ = strategy
        if self.n_neighbors >= len(y):
            raise ParameterError(
                f"`n_neighbors` of EditedNearestNeighbours must be below the number of rows "
                f"({len(y)}); got {self.n_neighbors}."
            )
        classes, codes = np.unique(y, return_inverse=True)
        clean = np.array([_item(c) in strategy for c in classes])
        keep = edited_keep_mask(
            X, codes.reshape(-1), clean, self.n_neighbors, self.kind_sel, n_jobs=self.n_jobs
        )
        # imbalanced-learn's output order: class by class, rows in input order
        kept = np.concatenate(
            [np.flatnonzero((codes.reshape(-1) == i) & keep) for i in range(len(classes))]
        )
        self.sample_indices_ = kept
        return take_rows(X, kept), y[kept]


class SMOTEENN(BaseResampler):
    """SMOTE then ENN (Batista et al. 2004), as imbalanced-learn's SMOTEENN.

    Defaults are imbalanced-learn's: ``SMOTE(sampling_strategy=sampling_strategy,
    random_state=random_state)`` (k_neighbors=5; "auto" grows every class but the
    largest to the largest's size) followed by ``EditedNearestNeighbours(
    sampling_strategy="all")`` (n_neighbors=3, kind_sel="all": every class is cleaned,
    synthetic rows included).

    Parameters
    ----------
    sampling_strategy : str, float, dict or callable, default="auto"
        Passed to the default SMOTE; ignored when ``smote`` is given.
    random_state : None, int or RandomState, default=None
        Passed to the default SMOTE; ignored when ``smote`` is given.
    smote : SMOTE, optional
        The over-sampler (riskscope's, or imbalanced-learn's ``SMOTE`` with an integer
        ``k_neighbors``, converted to riskscope's); cloned in ``fit_resample``.
    enn : EditedNearestNeighbours, optional
        The cleaner (riskscope's, or imbalanced-learn's with an integer ``n_neighbors``).
    n_jobs : int or None, default=None
        Threads for both stages' neighbour search (None or -1: every core), unless the
        given ``smote`` / ``enn`` set their own.

    Attributes
    ----------
    smote_, enn_ : the fitted stages
    report_ : ResampleReport
        With the two stages' reports in ``report_.stages``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from riskscope.sampling import SMOTEENN
    >>> X, y = make_classification(n_samples=300, weights=[0.9], random_state=0)
    >>> s = SMOTEENN(random_state=0)
    >>> _ = s.fit_resample(X, y)
    >>> [st.sampler for st in s.report_.stages]
    ['SMOTE', 'EditedNearestNeighbours']
    """

    _sampling_type = "over-sampling"
    _param_rules = {
        "random_state": ("random_state",),
        "n_jobs": ("jobs",),
        "smote": ("instance", (SMOTE, _ImbSMOTE), "None or a SMOTE"),
        "enn": (
            "instance",
            (EditedNearestNeighbours, _ImbENN),
            "None or an EditedNearestNeighbours",
        ),
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        smote: Any = None,
        enn: Any = None,
        n_jobs: int | None = None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.smote = smote
        self.enn = enn
        self.n_jobs = n_jobs

    def _resample(self, X, y):
        self.smote_ = self._make_smote()
        self.enn_ = self._make_enn()
        check_params(self.smote_, self.smote_._param_rules)
        check_params(self.enn_, self.enn_._param_rules)
        self.sampling_strategy_ = self._strategy(
            y, self.smote_.sampling_strategy, self._sampling_type
        )
        X_s, y_s = self.smote_.fit_resample(X, y)
        X_e, y_e = self.enn_.fit_resample(X_s, y_s)
        self._stages = [self.smote_.report_, self.enn_.report_]
        return X_e, y_e

    def _make_smote(self) -> SMOTE:
        if self.smote is None:
            return SMOTE(
                sampling_strategy=self.sampling_strategy,
                random_state=self.random_state,
                n_jobs=self.n_jobs,
            )
        if isinstance(self.smote, SMOTE):
            return clone(self.smote)
        p = self.smote.get_params()
        return SMOTE(
            sampling_strategy=p["sampling_strategy"],
            k_neighbors=_int_param(p["k_neighbors"], "k_neighbors", "smote"),
            random_state=p["random_state"],
            n_jobs=self.n_jobs,
        )

    def _make_enn(self) -> EditedNearestNeighbours:
        if self.enn is None:
            return EditedNearestNeighbours(sampling_strategy="all", n_jobs=self.n_jobs)
        if isinstance(self.enn, EditedNearestNeighbours):
            return clone(self.enn)
        p = self.enn.get_params()
        return EditedNearestNeighbours(
            sampling_strategy=p["sampling_strategy"],
            n_neighbors=_int_param(p["n_neighbors"], "n_neighbors", "enn"),
            kind_sel=p["kind_sel"],
            n_jobs=p.get("n_jobs") if p.get("n_jobs") is not None else self.n_jobs,
        )


def _int_param(value: Any, name: str, owner: str) -> int:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    raise ParameterError(
        f"`{owner}` of SMOTEENN must use an integer `{name}` (riskscope searches neighbours "
        f"itself); got {name}={value!r}."
    )


def _item(label: Any) -> Any:
    return label.item() if isinstance(label, np.generic) else label


def _interpolate(X: np.ndarray, base: np.ndarray, other: np.ndarray, steps: np.ndarray,
                 out: np.ndarray) -> None:
    """``out[i] = X[base[i]] + steps[i] * (X[other[i]] - X[base[i]])``, rounded as
    imbalanced-learn rounds it (difference in X's dtype, the rest in float64)."""
    if X.dtype in (np.float32, np.float64) and len(base) > 10_000:
        from riskscope.sampling._knn_kernels import interpolate

        interpolate(X, base, other, steps, out)  # one pass, no float64 temporaries
        return
    diffs = X[other] - X[base]
    out[:] = (X[base] + steps[:, None] * diffs).astype(X.dtype)
