"""Template narrator: a short, deterministic report written from the facts alone.

:class:`TemplateNarrator` is the default narrator: no model, no dependencies, and the
same facts always give byte-identical text. Every number and every feature or reason
name it writes is a :class:`Span` citing the fact it came from, so a report can show
``[f:id]`` marks (:meth:`Narrative.marked`) and a test can prove that nothing in the text
is untraced. Free-text values that read like instructions or decisions are withheld
(:func:`~riskscope.explain.checker.is_safe_text`), so a crafted field cannot reach a report.

Formats, fixed once: probabilities with two decimals (``0.62``), points and counts as
integers with thousands separators (``1,204``), other values with at least two
significant digits (``0.042``, ``3.71``), contributions with their sign (``+0.42``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from riskscope.exceptions import ParameterError
from riskscope.explain.checker import decision_polarity, is_safe_text, is_safe_value
from riskscope.explain.facts import Fact, FactTable

__all__ = ["Narrative", "Span", "TemplateNarrator", "format_value"]

_DIRECTION = {"up": "raises the risk", "down": "lowers the risk"}
_DECISION_WORD = {
    "credit": {"adverse": "denied", "favourable": "approved", None: "referred"},
    "ids": {"adverse": "attack", "favourable": "benign", None: "attack"},
    "apt": {"adverse": "alert", "favourable": "no alert", None: "alert"},
}
_LEAD = {"credit": "the application is ", "ids": "the flow is classified as ", "apt": ""}
_THRESHOLD_WORD = {"credit": "cut-off", "ids": "threshold", "apt": "threshold"}
_WITHHELD = "(withheld)"


@dataclass(frozen=True)
class Span:
    """A cited piece of a narrative: ``text == narrative.text[start:end]``."""

    text: str
    start: int
    end: int
    fact_id: str


@dataclass(frozen=True)
class Narrative:
    """A report as plain text plus the citations of its numbers and names.

    Attributes
    ----------
    text : str
        Plain text, no markup.
    spans : tuple of Span
        Every number and feature/reason name in ``text``, with the fact id it cites.
    domain : str
    facts_digest : str
        :meth:`FactTable.digest` of the facts it was written from.
    """

    text: str
    spans: tuple[Span, ...]
    domain: str
    facts_digest: str

    def marked(self) -> str:
        """The text with ``[f:id]`` after every cited span.

        Examples
        --------
        >>> n = Narrative("P is 0.5.", (Span("0.5", 5, 8, "p"),), "credit", "")
        >>> n.marked()
        'P is 0.5[f:p].'
        """
        out, pos = [], 0
        for s in sorted(self.spans, key=lambda s: (s.end, s.start)):
            out.append(self.text[pos:s.end])
            out.append(f"[f:{s.fact_id}]")
            pos = s.end
        out.append(self.text[pos:])
        return "".join(out)

    @property
    def fact_ids(self) -> set[str]:
        """Ids of the facts the text cites."""
        return {s.fact_id for s in self.spans}

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return {"text": self.text, "domain": self.domain, "facts_digest": self.facts_digest,
                "spans": [[s.text, s.start, s.end, s.fact_id] for s in self.spans]}


def _sig(v: float) -> str:
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    if a == 0:
        return "0"
    # Two significant digits below 1, at most six decimals: 0.42, 0.042, 0.0042.
    decimals = min(6, 1 - math.floor(math.log10(a)))
    return f"{v:.{decimals}f}"


def format_value(fact: Fact, value: Any = None, *, signed: bool = False) -> str:
    """The one way a fact value is printed (``value`` defaults to ``fact.value``).

    Examples
    --------
    >>> format_value(Fact("p", "probability", "P(bad)", 0.6234))
    '0.62'
    >>> format_value(Fact("s", "score", "score", 612.4, unit="points"))
    '612'
    >>> format_value(Fact("c", "contribution", "age", -0.0412), signed=True)
    '-0.041'
    """
    v = fact.value if value is None else value
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if fact.unit == "points" or isinstance(v, int):
        text = f"{round(v):,d}"
    elif fact.kind == "probability" or fact.unit == "probability":
        text = f"{v:.2f}"
    else:
        text = _sig(float(v))
    if signed and not text.startswith("-") and v > 0:
        text = "+" + text
    return text


def _apart(f: Fact, t: Fact | None) -> tuple[str, str]:
    """A level and its threshold printed so that unequal values never read as equal
    ("0.54, above the cut-off of 0.54"): more decimals, up to six, until they differ."""
    f_text = format_value(f)
    if t is None:
        return f_text, ""
    t_text = format_value(t)
    if f_text != t_text or f.value == t.value:
        return f_text, t_text
    for decimals in range(1 if f.unit == "points" else 3, 7):
        f_text, t_text = f"{f.value:,.{decimals}f}", f"{t.value:,.{decimals}f}"
        if f_text != t_text:
            break
    return f_text, t_text


def _plain_number(v: Any) -> str:
    """A record's own value: integers in full, other numbers to two significant digits."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    return f"{v:,d}" if isinstance(v, int) else _sig(float(v))


class _Writer:
    """Builds text and spans together, so offsets can never drift from the text."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[Span] = []
        self.pos = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos += len(text)

    def cite(self, text: str, fact_id: str) -> None:
        self.spans.append(Span(text, self.pos, self.pos + len(text), fact_id))
        self.add(text)

    def text(self) -> str:
        return "".join(self.parts)


def _safe(value: Any, *, name: bool = False, facts: FactTable | None = None) -> str | None:
    """Printable text of a value (or a fact name), or None when it must be withheld."""
    if isinstance(value, str):
        ok = is_safe_value(value, facts) if facts is not None else is_safe_text(value, name=name)
        return value if ok else None
    return None if value is None else str(value)


class TemplateNarrator:
    """Write a short report per domain from a :class:`FactTable`.

    credit: decision, P(bad) or score and the cut-off, the reasons for a denial, the
    largest contributions with direction words. ids: decision, predicted class,
    probability, threshold, top features. apt: alert, node, confidence, threshold.

    Parameters
    ----------
    top_k : int, default 5
        How many contributions to name (largest absolute value first).

    Examples
    --------
    >>> t = FactTable("credit", "applicant 1", [
    ...     Fact("d", "decision", "decision", "deny"),
    ...     Fact("p", "probability", "P(bad)", 0.6234),
    ...     Fact("t", "threshold", "cut-off", 0.5),
    ...     Fact("r1", "reason", "reason 1", "Duration too long", direction="up",
    ...          detail={"feature": "duration_months", "rank": 1}),
    ...     Fact("c1", "contribution", "duration_months", 0.41, direction="up",
    ...          feature_value=48)])
    >>> n = TemplateNarrator().narrate(t)
    >>> for sentence in n.text.split(". "):
    ...     print(sentence)
    Decision: the application is denied
    P(bad) is 0.62, above the cut-off of 0.50
    Main reasons for the denial: Duration too long
    Largest contributions: duration_months = 48 raises the risk (+0.41).
    >>> n.marked().split(". ")[1]
    'P(bad)[f:p] is 0.62[f:p], above the cut-off of 0.50[f:t]'
    """

    def __init__(self, *, top_k: int = 5) -> None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ParameterError(f"`top_k` of TemplateNarrator must be an int >= 1; got {top_k!r}.")
        self.top_k = top_k

    def narrate(self, facts: FactTable) -> Narrative:
        """The report for one decision.

        Parameters
        ----------
        facts : FactTable

        Returns
        -------
        Narrative
            Plain text plus a :class:`Span` for every number and name it contains.
        """
        w = _Writer()
        self._decision(w, facts)
        self._attributes(w, facts)
        self._levels(w, facts)
        self._reasons(w, facts)
        self._contributions(w, facts)
        self._model(w, facts)
        return Narrative(w.text(), tuple(w.spans), facts.domain, facts.digest())

    # -- sentences ----------------------------------------------------------------------
    @staticmethod
    def _decision(w: _Writer, facts: FactTable) -> None:
        d = facts.decision
        pol = decision_polarity(facts.domain, d.value)
        word = _DECISION_WORD[facts.domain][pol]
        w.add(f"Decision: {_LEAD[facts.domain]}")
        w.cite(word, d.id)
        raw = _safe(d.value, facts=facts)
        # A named class ("DDoS") says more than the polarity word; repeat it when it does.
        if raw is not None and facts.domain != "credit" and raw.lower() not in (
                word, "attack", "alert", "benign", "no_alert", "no alert"):
            w.add(" (")
            w.cite(raw, d.id)
            w.add(")")
        w.add(".")

    @staticmethod
    def _attributes(w: _Writer, facts: FactTable) -> None:
        for f in facts.of_kind("attribute"):
            name, value = _safe(f.name, name=True), _safe(f.value, facts=facts)
            if name is None:
                continue
            w.add(" ")
            w.cite(name[:1].upper() + name[1:], f.id)  # it starts a sentence
            w.add(": ")
            if value is None:
                w.add(_WITHHELD)
            else:
                w.cite(format_value(f) if not isinstance(f.value, str) else value, f.id)
            w.add(".")

    @staticmethod
    def _levels(w: _Writer, facts: FactTable) -> None:
        levels = facts.of_kind("probability", "score")
        thresholds = facts.of_kind("threshold")
        used: set[str] = set()
        for f in levels:
            name = _safe(f.name, name=True)
            if name is None or not isinstance(f.value, int | float):
                continue
            w.add(" ")
            w.cite(name[:1].upper() + name[1:], f.id)
            w.add(" is ")
            t = next((t for t in thresholds if t.id not in used
                      and isinstance(t.value, int | float)
                      and (t.unit == "points") == (f.unit == "points")), None)
            f_text, t_text = _apart(f, t)
            w.cite(f_text, f.id)
            if f.unit == "points":
                w.add(" points")
            if t is not None:
                used.add(t.id)
                rel = "above" if f.value > t.value else "below" if f.value < t.value else "at"
                w.add(f", {rel} the {_THRESHOLD_WORD[facts.domain]} of ")
                w.cite(t_text, t.id)
                if t.unit == "points":
                    w.add(" points")
            w.add(".")
        for t in thresholds:
            if t.id in used or not isinstance(t.value, int | float):
                continue
            # a threshold no level was compared with is named by its own fact name
            # ("graph alert threshold"), so two thresholds never read alike
            name = _safe(t.name, name=True) if used else None
            w.add(" The ")
            if name:
                w.cite(name, t.id)
            else:
                w.add(_THRESHOLD_WORD[facts.domain])
            w.add(" is ")
            w.cite(format_value(t), t.id)
            w.add(".")

    @staticmethod
    def _reasons(w: _Writer, facts: FactTable) -> None:
        reasons = sorted(facts.of_kind("reason"),
                         key=lambda f: (f.detail.get("rank", math.inf), facts.facts.index(f)))
        # A reason text that cannot be printed falls back to its feature's name.
        texts = [(f, (_safe(f.value, facts=facts) if isinstance(f.value, str) else None)
                  or _safe(str(f.detail.get("feature", f.name)), name=True)) for f in reasons]
        texts = [(f, t) for f, t in texts if t is not None]
        if not texts:
            return
        adverse = decision_polarity(facts.domain, facts.decision.value) == "adverse"
        lead = " Main reasons for the denial: " if facts.domain == "credit" and adverse \
            else " Main reasons: "
        w.add(lead)
        for i, (f, t) in enumerate(texts):
            if i:
                w.add("; ")
            w.cite(t, f.id)
        w.add(".")

    def _contributions(self, w: _Writer, facts: FactTable) -> None:
        contrib = [f for f in facts.of_kind("contribution")
                   if isinstance(f.value, int | float) and _safe(f.name, name=True) is not None]
        order = sorted(range(len(contrib)), key=lambda i: (-abs(contrib[i].value), i))
        top = [contrib[i] for i in order[: self.top_k]]
        if not top:
            return
        w.add(" Largest contributions: " if facts.domain == "credit" else " Top features: ")
        for i, f in enumerate(top):
            if i:
                w.add("; ")
            w.cite(f.name, f.id)
            if f.feature_value is not None:
                w.add(" = ")
                if isinstance(f.feature_value, str):
                    fv = _safe(f.feature_value, facts=facts)
                else:
                    fv = _plain_number(f.feature_value)
                if fv is None:
                    w.add(_WITHHELD)
                else:
                    w.cite(fv, f.id)
            if f.direction is not None:
                w.add(f" {_DIRECTION[f.direction]}")
            w.add(" (")
            w.cite(format_value(f, signed=True), f.id)
            if f.unit == "points":
                w.add(" points")
            w.add(")")
        w.add(".")

    @staticmethod
    def _model(w: _Writer, facts: FactTable) -> None:
        for f in facts.of_kind("model"):
            value = _safe(f.value, facts=facts)
            if value is None:
                continue
            w.add(" Model: ")
            w.cite(value, f.id)
            w.add(".")
