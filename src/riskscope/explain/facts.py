"""Typed facts about one decision: the only material narratives and answers may use.

A :class:`FactTable` holds what the code computed for one decision (a credit applicant,
an ids flow, an apt alert): the decision, its probability and threshold, the features that
contributed with their value, contribution and direction, the model version and a hash of
the data. Every fact has an id; a narrative sentence, a reason code or an answer cites
fact ids, and the checker verifies text against these facts only.

The table is immutable and serialises to canonical JSON (sorted keys, no whitespace), so
the same facts give the same bytes and the same :meth:`FactTable.digest`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from riskscope.exceptions import SchemaError

__all__ = ["DIRECTIONS", "DOMAINS", "FACT_KINDS", "Fact", "FactTable", "record_hash"]

#: What a fact can be.
#:
#: ``decision``  the decision itself (value: "deny", "approve", "attack", "alert", ...)
#: ``probability``  a model probability in [0, 1] (e.g. P(bad), P(attack))
#: ``score``  a score on another scale (scorecard points, anomaly score, confidence)
#: ``threshold``  the cut-off the decision compared a probability or score with
#: ``contribution``  one feature's push on this decision (value: the contribution;
#:     ``feature_value``: the record's value; ``direction``: up or down)
#: ``reason``  a reason code (value: the reason text; ``detail["feature"]``, ``rank``)
#: ``metric``  a model-level figure (AUC, macro-F1, ...)
#: ``model``  model identity (value: name or version string)
#: ``data``  data identity (value: a hash)
#: ``attribute``  another plain value of the record (a count, a class, a name)
FACT_KINDS = ("decision", "probability", "score", "threshold", "contribution", "reason",
              "metric", "model", "data", "attribute")
#: ``up``: pushes towards the adverse outcome (higher risk, denial, attack); ``down``: away.
DIRECTIONS = ("up", "down")
DOMAINS = ("credit", "ids", "apt")

Value = float | int | str | bool | None


def _plain(v: Any) -> Value:
    """A JSON-safe scalar (numpy scalars to Python; NaN and Infinity are not facts)."""
    if v is None or isinstance(v, str | bool):
        return v
    if hasattr(v, "item"):  # numpy scalar
        v = v.item()
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise SchemaError(f"A fact value must be finite; got {v!r}.")
        return v
    raise SchemaError(f"A fact value must be a number, text, bool or None; got {type(v).__name__}.")


@dataclass(frozen=True)
class Fact:
    """One computed fact.

    Parameters
    ----------
    id : str
        Unique within its table; cited by narratives (``[f:id]``) and checks.
    kind : str
        One of :data:`FACT_KINDS`.
    name : str
        What the fact is about: ``"decision"``, ``"P(bad)"``, a feature name.
    value : float, int, str, bool or None
        The fact itself.
    unit : str
        ``""``, ``"points"``, ``"probability"``, ...
    direction : {"up", "down"} or None
        For contributions and reasons: towards (up) or away from (down) the adverse outcome.
    feature_value : float, int, str or None
        For contributions and reasons: the record's own value of the feature.
    detail : mapping
        Further plain values (rank, readable text, source feature of one-hot parts, ...).

    Examples
    --------
    >>> f = Fact("c1", "contribution", "duration_months", 0.42, direction="up",
    ...          feature_value=48)
    >>> f.to_dict()["direction"]
    'up'
    """

    id: str
    kind: str
    name: str
    value: Value
    unit: str = ""
    direction: str | None = None
    feature_value: Value = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise SchemaError(f"A fact id must be non-empty text; got {self.id!r}.")
        if self.kind not in FACT_KINDS:
            raise SchemaError(f"Fact {self.id!r} has kind {self.kind!r}; use one of {FACT_KINDS}.")
        if self.direction is not None and self.direction not in DIRECTIONS:
            raise SchemaError(
                f"Fact {self.id!r} has direction {self.direction!r}; use 'up', 'down' or None."
            )
        object.__setattr__(self, "value", _plain(self.value))
        object.__setattr__(self, "feature_value", _plain(self.feature_value))
        detail = {str(k): _plain(v) if not isinstance(v, list | tuple) else [_plain(x) for x in v]
                  for k, v in dict(self.detail).items()}
        object.__setattr__(self, "detail", MappingProxyType(detail))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return {"id": self.id, "kind": self.kind, "name": self.name, "value": self.value,
                "unit": self.unit, "direction": self.direction,
                "feature_value": self.feature_value, "detail": dict(self.detail)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fact:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(id=data["id"], kind=data["kind"], name=data["name"], value=data["value"],
                       unit=data.get("unit", ""), direction=data.get("direction"),
                       feature_value=data.get("feature_value"), detail=data.get("detail", {}))
        except KeyError as exc:
            raise SchemaError(
                f"A fact record lacks the field {exc.args[0]!r}: {dict(data)!r}."
            ) from None


@dataclass(frozen=True)
class FactTable:
    """The facts of one decision.

    Parameters
    ----------
    domain : {"credit", "ids", "apt"}
    subject : str
        Who or what was decided on: ``"applicant 17"``, ``"flow 3021"``, ``"node 55"``.
    facts : iterable of Fact
        Ids must be unique; exactly one fact of kind ``decision``.

    Examples
    --------
    >>> t = FactTable("credit", "applicant 1", [
    ...     Fact("decision", "decision", "decision", "deny"),
    ...     Fact("p", "probability", "P(bad)", 0.61),
    ...     Fact("c1", "contribution", "duration_months", 0.4, direction="up",
    ...          feature_value=48)])
    >>> t.decision.value, [f.id for f in t.of_kind("contribution")]
    ('deny', ['c1'])
    >>> FactTable.from_json(t.to_json()) == t
    True
    """

    domain: str
    subject: str
    facts: tuple[Fact, ...]

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise SchemaError(f"FactTable domain {self.domain!r}; use one of {DOMAINS}.")
        facts = tuple(self.facts)
        seen: set[str] = set()
        for f in facts:
            if not isinstance(f, Fact):
                raise SchemaError(f"A FactTable holds Fact objects; got {type(f).__name__}.")
            if f.id in seen:
                raise SchemaError(f"Fact id {f.id!r} appears twice in the facts of {self.subject}.")
            seen.add(f.id)
        n_dec = sum(f.kind == "decision" for f in facts)
        if n_dec != 1:
            raise SchemaError(
                f"The facts of {self.subject} need exactly one decision fact; got {n_dec}."
            )
        object.__setattr__(self, "facts", facts)

    def __getitem__(self, fact_id: str) -> Fact:
        for f in self.facts:
            if f.id == fact_id:
                return f
        raise KeyError(fact_id)

    def __contains__(self, fact_id: object) -> bool:
        return any(f.id == fact_id for f in self.facts)

    def __iter__(self):
        return iter(self.facts)

    def __len__(self) -> int:
        return len(self.facts)

    @property
    def decision(self) -> Fact:
        """The decision fact."""
        return next(f for f in self.facts if f.kind == "decision")

    def of_kind(self, *kinds: str) -> list[Fact]:
        """Facts of the given kinds, in table order."""
        return [f for f in self.facts if f.kind in kinds]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return {"domain": self.domain, "subject": self.subject,
                "facts": [f.to_dict() for f in self.facts]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FactTable:
        """Inverse of :meth:`to_dict`."""
        try:
            facts: Iterable[Mapping[str, Any]] = data["facts"]
            return cls(data["domain"], data["subject"], tuple(Fact.from_dict(f) for f in facts))
        except (KeyError, TypeError) as exc:
            raise SchemaError(f"Not a fact table record: {exc}.") from None

    def to_json(self) -> bytes:
        """Canonical JSON: sorted keys, no whitespace; equal tables give equal bytes."""
        return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, raw: bytes | str) -> FactTable:
        """Inverse of :meth:`to_json`; malformed JSON is a SchemaError."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise SchemaError(f"Fact table JSON is malformed: {exc}.") from None
        if not isinstance(data, dict):
            raise SchemaError("Fact table JSON must be an object with domain, subject, facts.")
        return cls.from_dict(data)

    def digest(self) -> str:
        """SHA-256 of :meth:`to_json` (hex): what a report or an LLM exchange cites."""
        return hashlib.sha256(self.to_json()).hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of a record's canonical JSON: sorted keys, numpy scalars as Python
    values, NaN and missing values as null, anything else (timestamps) as its text.

    The ``data`` fact of every builder (credit applicant, ids flow, apt alert).

    Examples
    --------
    >>> record_hash({"b": 1, "a": float("nan")}) == record_hash({"a": None, "b": 1})
    True
    """
    import pandas as pd

    def plain(v: Any) -> Any:
        if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)):
            return None
        return v.item() if hasattr(v, "item") else v

    clean = {str(k): plain(v) for k, v in record.items()}
    return hashlib.sha256(orjson.dumps(clean, default=str,
                                       option=orjson.OPT_SORT_KEYS)).hexdigest()

