"""Label targets for intrusion detection: binary, grouped taxonomy, integer encoding.

* :func:`binary_labels` -- BENIGN = 0, every attack = 1 (int8).
* :class:`LabelTaxonomy` -- groups attack labels by ordered substring rules and folds
  attacks rarer than ``min_count`` (counted on the labels it is fitted on, i.e. the
  training split) into "Other Attacks". The default reproduces the reference notebook's
  8-class grouping of CICIDS2017.
* :class:`LabelEncoding` -- group name -> integer code, BENIGN first (code 0) and the
  rest sorted, saved as JSON (no pickles).

All three take any 1-D array-like of strings (list, numpy array, pandas Series).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from riskscope.exceptions import InputError, NotFittedError, ParameterError, SchemaError

__all__ = [
    "DEFAULT_RULES",
    "LabelEncoding",
    "LabelTaxonomy",
    "binary_labels",
]

#: The notebook's grouping: any label containing "DOS" (so DDoS too) -> "DOS", any label
#: containing "WEB ATTACK" -> "Web Attack". Matching ignores case; the first rule wins.
DEFAULT_RULES: tuple[tuple[str, str], ...] = (("DOS", "DOS"), ("WEB ATTACK", "Web Attack"))

_FORMAT = "riskscope.LabelTaxonomy"
_ENCODING_FORMAT = "riskscope.LabelEncoding"


def _label_codes(labels: Iterable[object], what: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels as integer codes into their distinct values as strings; missing labels are a
    SchemaError.

    Millions of flows carry a dozen labels: one factorization, then work per distinct
    value (``str``, counting, mapping) and a table lookup per row. A numpy array or a
    Series is factorized as it is (no list, no copy to an object Series).
    """
    if isinstance(labels, pd.Series | pd.Index):
        values = labels.array
    elif isinstance(labels, np.ndarray):
        if labels.ndim != 1:
            raise ParameterError(f"{what} needs a 1-D array of labels; got shape {labels.shape}.")
        values = labels
    else:
        values = pd.Series(list(labels), dtype=object).to_numpy()
    codes, uniques = pd.factorize(values)
    missing = codes < 0
    if missing.any():
        raise SchemaError(
            f"{what} got {int(missing.sum())} missing labels (first at position "
            f"{int(np.flatnonzero(missing)[0])}); drop unlabelled flows first or read them "
            "with a label column."
        )
    text = np.array([str(u) for u in uniques], dtype=object)
    # distinct values can share a spelling (1 and "1"): merge them as one label
    merged, distinct = pd.factorize(text)
    if len(distinct) < len(text):
        codes, text = merged[codes], np.asarray(distinct, dtype=object)
    return codes.astype(np.intp, copy=False), text


def _take(table: list, codes: np.ndarray, dtype: object = object) -> np.ndarray:
    """``table[codes]`` as an array of ``dtype`` (an empty one for no codes)."""
    return np.asarray(table, dtype=dtype)[codes] if len(codes) else np.empty(0, dtype=dtype)


def binary_labels(labels: Iterable[object], benign: str = "BENIGN") -> np.ndarray:
    """Binary target: 0 for ``benign`` (case ignored), 1 for every other label.

    Parameters
    ----------
    labels : array-like of str
        Flow labels, e.g. :attr:`riskscope.io.flows.FlowData.y`.
    benign : str, default "BENIGN"
        The normal-traffic label.

    Returns
    -------
    numpy.ndarray of int8

    Raises
    ------
    SchemaError
        If a label is missing.

    Examples
    --------
    >>> from riskscope.features.labels import binary_labels
    >>> binary_labels(["BENIGN", "DDoS", "benign", "PortScan"])
    array([0, 1, 0, 1], dtype=int8)
    """
    codes, uniques = _label_codes(labels, "binary_labels")
    normal = benign.strip().casefold()
    return _take([u.strip().casefold() != normal for u in uniques], codes, np.int8)


class LabelTaxonomy(BaseEstimator):
    """Group flow labels into a few classes; fitted on training labels only.

    A fitted label goes, in this order: to ``benign`` if it is the benign label (case
    ignored); to ``other`` if it is an attack with fewer than ``min_count`` flows in the
    fitted labels (``rare_by="label"``, the notebook's order, which sends Web Attack - XSS
    with 652 flows to ``other`` rather than to "Web Attack"); to the group of the first
    rule whose substring it contains (case ignored); else to itself. With
    ``rare_by="group"`` the rules are applied first and whole groups smaller than
    ``min_count`` are folded instead.

    A label not seen in fit is matched against the rules and otherwise goes to ``other``.

    Parameters
    ----------
    rules : sequence of (substring, group), default :data:`DEFAULT_RULES`
        Ordered substring rules; the first match wins. Note that the default sends DDoS
        to "DOS", as the notebook does.
    min_count : int, default 1000
        Attacks with fewer fitted flows than this go to ``other``; 0 disables folding.
    other : str, default "Other Attacks"
    benign : str, default "BENIGN"
    rare_by : {"label", "group"}, default "label"
        Whether rarity is judged on raw labels (before the rules) or on rule groups.

    Attributes
    ----------
    counts_ : dict of str to int
        Flows per distinct fitted label.
    mapping_ : dict of str to str
        Fitted label -> group.
    classes_ : list of str
        The groups, ``benign`` first (when present), then sorted.
    encoding_ : LabelEncoding
        Integer codes of ``classes_`` (``benign`` = 0).

    Examples
    --------
    >>> from riskscope.features.labels import LabelTaxonomy
    >>> y = ["BENIGN"] * 5 + ["DoS Hulk"] * 3 + ["DDoS"] * 2 + ["Heartbleed"]
    >>> tax = LabelTaxonomy(min_count=2).fit(y)
    >>> tax.classes_
    ['BENIGN', 'DOS', 'Other Attacks']
    >>> tax.transform(["DDoS", "Heartbleed", "DoS new", "Zero-day"]).tolist()
    ['DOS', 'Other Attacks', 'DOS', 'Other Attacks']
    >>> LabelTaxonomy.from_dict(tax.to_dict()).mapping_ == tax.mapping_
    True
    """

    def __init__(
        self,
        *,
        rules: Sequence[tuple[str, str]] = DEFAULT_RULES,
        min_count: int = 1000,
        other: str = "Other Attacks",
        benign: str = "BENIGN",
        rare_by: str = "label",
    ):
        self.rules = rules
        self.min_count = min_count
        self.other = other
        self.benign = benign
        self.rare_by = rare_by

    # -- validation ----------------------------------------------------------------------

    def _validated_rules(self) -> list[tuple[str, str]]:
        rules = self.rules
        ok = isinstance(rules, Sequence) and not isinstance(rules, str)
        pairs = list(rules) if ok else []
        if not ok or not all(
            isinstance(r, Sequence) and not isinstance(r, str) and len(r) == 2
            and all(isinstance(x, str) and x for x in r)
            for r in pairs
        ):  # fmt: skip
            raise ParameterError(
                "`rules` of LabelTaxonomy must be a sequence of (substring, group) pairs of "
                f"non-empty strings; got {rules!r}."
            )
        return [(str(a), str(b)) for a, b in pairs]

    def _validate(self) -> list[tuple[str, str]]:
        if isinstance(self.min_count, bool) or not isinstance(self.min_count, int | np.integer):
            raise ParameterError(
                f"`min_count` of LabelTaxonomy must be an int >= 0; got {self.min_count!r}."
            )
        if self.min_count < 0:
            raise ParameterError(
                f"`min_count` of LabelTaxonomy must be an int >= 0; got {self.min_count}."
            )
        for name in ("other", "benign"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ParameterError(
                    f"`{name}` of LabelTaxonomy must be a non-empty string; got {value!r}."
                )
        if self.rare_by not in ("label", "group"):
            raise ParameterError(
                f"`rare_by` of LabelTaxonomy must be 'label' or 'group'; got {self.rare_by!r}."
            )
        return self._validated_rules()

    # -- fitting ---------------------------------------------------------------------------

    def _rule_group(self, label: str, rules: list[tuple[str, str]]) -> str | None:
        folded = label.casefold()
        return next((g for sub, g in rules if sub.casefold() in folded), None)

    def _is_benign(self, label: str) -> bool:
        return label.strip().casefold() == self.benign.strip().casefold()

    def fit(self, labels: Iterable[object], y: object = None) -> LabelTaxonomy:
        """Count the labels and decide every label's group.

        Parameters
        ----------
        labels : array-like of str
            Training labels (never validation or test labels: rarity decides groups).
        y : ignored

        Returns
        -------
        LabelTaxonomy
            ``self``.
        """
        rules = self._validate()
        codes, uniques = _label_codes(labels, "LabelTaxonomy.fit")
        if not len(codes):
            raise SchemaError("LabelTaxonomy.fit got no labels; fit it on the training split.")
        counts = np.bincount(codes, minlength=len(uniques))
        self.counts_ = {str(k): int(v) for k, v in sorted(zip(uniques, counts, strict=True))}
        mapping: dict[str, str] = {}
        for label, n in self.counts_.items():
            if self._is_benign(label):
                mapping[label] = self.benign
            elif self.rare_by == "label" and n < self.min_count:
                mapping[label] = self.other
            else:
                mapping[label] = self._rule_group(label, rules) or label
        if self.rare_by == "group":
            sizes: dict[str, int] = {}
            for label, group in mapping.items():
                sizes[group] = sizes.get(group, 0) + self.counts_[label]
            for label, group in mapping.items():
                if group != self.benign and sizes[group] < self.min_count:
                    mapping[label] = self.other
        self.mapping_ = mapping
        self.classes_ = LabelEncoding.order(mapping.values(), benign=self.benign)
        self.encoding_ = LabelEncoding(tuple(self.classes_))
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "mapping_"):
            raise NotFittedError(
                "This LabelTaxonomy is not fitted yet; call fit(training_labels) first."
            )

    def transform(self, labels: Iterable[object]) -> np.ndarray | pd.Series:
        """Map labels to groups (unseen labels: rules, else ``other``).

        Returns a Series (same index and name) for a Series, else an object array.
        """
        self._check_fitted()
        rules = self._validated_rules()
        codes, uniques = _label_codes(labels, "LabelTaxonomy.transform")
        mapping = self.mapping_
        groups = [
            mapping[label] if label in mapping
            else self.benign if self._is_benign(label)
            else self._rule_group(label, rules) or self.other
            for label in uniques
        ]  # fmt: skip
        out = _take(groups, codes)
        if isinstance(labels, pd.Series):
            return pd.Series(out, index=labels.index, name=labels.name, dtype=object)
        return out

    def fit_transform(self, labels: Iterable[object], y: object = None) -> np.ndarray | pd.Series:
        """Fit on ``labels`` and return their groups."""
        return self.fit(labels).transform(labels)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """The single output: the group label."""
        return np.array(["label_group"], dtype=object)

    def group_counts(self) -> dict[str, int]:
        """Fitted flows per group, in ``classes_`` order."""
        self._check_fitted()
        out = dict.fromkeys(self.classes_, 0)
        for label, group in self.mapping_.items():
            out[group] += self.counts_[label]
        return out

    # -- JSON ----------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Parameters and fitted state as JSON-able types (see :meth:`from_dict`)."""
        self._check_fitted()
        return {
            "format": _FORMAT,
            "version": 1,
            "params": {
                "rules": [list(r) for r in self._validated_rules()],
                "min_count": int(self.min_count),
                "other": self.other,
                "benign": self.benign,
                "rare_by": self.rare_by,
            },
            "counts": dict(self.counts_),
            "mapping": dict(self.mapping_),
            "classes": list(self.classes_),
        }

    @classmethod
    def from_dict(cls, data: dict) -> LabelTaxonomy:
        """Rebuild a fitted taxonomy from :meth:`to_dict` output."""
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise SchemaError(
                "Not a saved LabelTaxonomy (missing format 'riskscope.LabelTaxonomy'); "
                "pass the dict that LabelTaxonomy.to_dict() wrote."
            )
        params = dict(data["params"])
        params["rules"] = tuple(tuple(r) for r in params["rules"])
        tax = cls(**params)
        tax._validate()
        tax.counts_ = {str(k): int(v) for k, v in data["counts"].items()}
        tax.mapping_ = {str(k): str(v) for k, v in data["mapping"].items()}
        tax.classes_ = [str(c) for c in data["classes"]]
        tax.encoding_ = LabelEncoding(tuple(tax.classes_))
        return tax


@dataclass(frozen=True)
class LabelEncoding:
    """Class name <-> integer code, saved as JSON.

    Parameters
    ----------
    classes : tuple of str
        Class names in code order (code ``i`` is ``classes[i]``). Use :meth:`from_labels`
        or :meth:`order` for the house order: BENIGN = 0, then sorted.

    Examples
    --------
    >>> from riskscope.features.labels import LabelEncoding
    >>> enc = LabelEncoding.from_labels(["PortScan", "BENIGN", "DOS", "BENIGN"])
    >>> enc.classes, enc.encode(["DOS", "BENIGN"]).tolist()
    (('BENIGN', 'DOS', 'PortScan'), [1, 0])
    >>> enc.decode([2, 0]).tolist()
    ['PortScan', 'BENIGN']
    """

    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        classes = tuple(self.classes)
        if not classes or len(set(classes)) != len(classes):
            raise ParameterError(
                f"`classes` of LabelEncoding must be distinct names, at least one; got "
                f"{list(classes)!r}."
            )
        object.__setattr__(self, "classes", tuple(str(c) for c in classes))

    @staticmethod
    def order(labels: Iterable[object], *, benign: str = "BENIGN") -> list[str]:
        """Distinct labels, ``benign`` first (when present), the rest sorted."""
        distinct = sorted({str(v) for v in labels})
        first = [c for c in distinct if c == benign]
        return first + [c for c in distinct if c != benign]

    @classmethod
    def from_labels(cls, labels: Iterable[object], *, benign: str = "BENIGN") -> LabelEncoding:
        """Encoding of the distinct labels: ``benign`` = 0, then sorted."""
        _, uniques = _label_codes(labels, "LabelEncoding.from_labels")
        return cls(tuple(cls.order(uniques, benign=benign)))

    @property
    def mapping(self) -> dict[str, int]:
        """Class name -> code."""
        return {c: i for i, c in enumerate(self.classes)}

    def encode(self, labels: Iterable[object]) -> np.ndarray:
        """Codes (int64) of the labels; a label outside ``classes`` is a SchemaError."""
        codes, uniques = _label_codes(labels, "LabelEncoding.encode")
        unknown = sorted(set(uniques) - set(self.classes))
        if unknown:
            raise SchemaError(
                f"LabelEncoding.encode got labels outside its classes: {unknown[:5]!r}; "
                f"known: {list(self.classes)!r}; group them first (LabelTaxonomy.transform)."
            )
        mapping = self.mapping
        return _take([mapping[u] for u in uniques], codes, np.int64)

    def decode(self, codes: Iterable[int]) -> np.ndarray:
        """Class names of integer codes."""
        arr = np.asarray(list(codes) if not isinstance(codes, np.ndarray) else codes)
        if arr.size and (arr.min() < 0 or arr.max() >= len(self.classes)):
            raise ParameterError(
                f"`codes` must lie in 0..{len(self.classes) - 1}; got {arr.min()}..{arr.max()}."
            )
        return np.asarray(self.classes, dtype=object)[arr.astype(np.int64)]

    def to_dict(self) -> dict:
        """JSON-able form: the classes in code order and the mapping."""
        return {"format": _ENCODING_FORMAT, "version": 1, "classes": list(self.classes),
                "mapping": self.mapping}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> LabelEncoding:
        """Rebuild from :meth:`to_dict` output."""
        if not isinstance(data, dict) or data.get("format") != _ENCODING_FORMAT:
            raise SchemaError(
                "Not a saved LabelEncoding (missing format 'riskscope.LabelEncoding'); "
                "pass the dict that LabelEncoding.to_dict() wrote."
            )
        return cls(tuple(data["classes"]))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the encoding as JSON; returns the path."""
        p = Path(path)
        p.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return p

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LabelEncoding:
        """Read an encoding written by :meth:`save`."""
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise InputError(
                f"Label encoding file '{path}' could not be read ({exc.strerror}); check the path."
            ) from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SchemaError(
                f"Label encoding file '{path}' is not valid JSON ({exc}); write it with "
                "LabelEncoding.save."
            ) from None
        return cls.from_dict(data)
