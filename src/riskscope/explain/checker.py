"""Deterministic checker: does a narrative say only what the facts say?

The checker reads a text (from the template narrator or from an LLM) and verifies it
against one :class:`~riskscope.explain.facts.FactTable`, with no model of its own:

``number``
    every number (integers, decimals, percentages, thousands separators, signs) equals
    some fact value, to the precision it is printed with: ``0.6234`` may appear as
    ``0.62``, ``0.6``, ``62%`` or ``62.3%``; a score ``612.4`` as ``612``. A number in a
    feature's clause must be that feature's own value or contribution.
``feature``
    every feature or reason name it mentions is among the facts; names come from the
    facts and from a ``vocabulary`` of all features the domain knows (with readable
    aliases), so a real feature that is not in this decision's facts is caught; unknown
    ``snake_case`` words, quoted terms and capitalised terms in mid-sentence are flagged.
``direction``
    direction words next to a feature (raises/increases vs lowers/reduces/in favour of)
    agree with the fact's direction ("does not raise" counts as lowers).
``decision``
    the decision is stated, and no word of the opposite decision appears (negations such
    as "not approved" count as the opposite word).
``pii``
    the text passes the record's PII ``guard`` (a callable that raises on a hit).
``injection``
    no prompt-injection echo ("ignore previous instructions", role markers).

Every number and name that passes is returned with the ids of the facts it matches
(:attr:`CheckResult.citations`), so a text written without spans can still be traced.
The same lexicons decide which free-text values the template narrator may print
(:func:`is_safe_text`, :func:`is_safe_value`), so its own output always passes.

Limits: it reads words, not meaning. Numbers written as words ("three"), negation
beyond "not/never/no" next to the word, a wrong value that equals another fact's value
outside a feature's clause, and feature names written in lower case that no vocabulary
lists all pass unseen; ordinary rewording it does not know (e.g. "about 60%" for 0.62,
"approval was unlikely" for a denial) is rejected, and the template is delivered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from riskscope.explain._lexicon import (
    _ANY_DECISION_RE,
    _DOWN_RE,
    _INJECTION_RE,
    _UP_RE,
    NumberToken,
    _number_matches,
    _said_directions,
    decision_polarity,
    decision_words,
    extract_numbers,
    is_safe_text,
    is_safe_value,
)
from riskscope.explain.facts import Fact, FactTable

__all__ = [
    "CheckResult",
    "Checker",
    "Citation",
    "NumberToken",
    "Violation",
    "check",
    "decision_polarity",
    "decision_words",
    "extract_numbers",
    "is_safe_text",
    "is_safe_value",
]

Guard = Callable[[str], None]

class Violation(NamedTuple):
    """One broken rule: its kind, the offending span of text, and why.

    ``why`` never quotes the text (it may go to a log); ``text`` holds the span, and is
    empty for PII hits so that the value itself is not kept.
    """

    kind: str
    text: str
    why: str


class Citation(NamedTuple):
    """A number or name in a checked text and the ids of the facts it matches."""

    text: str
    start: int
    end: int
    fact_ids: tuple[str, ...]


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check` found.

    Attributes
    ----------
    violations : tuple of Violation
    n_numbers, n_names : int
        How many numbers and feature/reason names were checked.
    citations : tuple of Citation
        Each number and name that passed, with the ids of the facts it matches: the
        trace of a text that was not written with spans (an LLM's).
    """

    violations: tuple[Violation, ...]
    n_numbers: int = 0
    n_names: int = 0
    citations: tuple[Citation, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no rule is broken."""
        return not self.violations

    @property
    def kinds(self) -> set[str]:
        """The kinds of rule broken."""
        return {v.kind for v in self.violations}

    def to_dict(self) -> dict[str, Any]:
        """Loggable summary: kinds and reasons, no span text."""
        return {"ok": self.ok, "n_numbers": self.n_numbers, "n_names": self.n_names,
                "violations": [{"kind": v.kind, "why": v.why} for v in self.violations]}


# --- names -----------------------------------------------------------------------------
def _variants(term: str) -> set[str]:
    t = term.strip().lower()
    if len(t) < 2:
        return set()
    return {t, t.replace("_", " "), re.sub(r"\s+", "_", t)}


def _vocab_terms(vocabulary: Mapping[str, Iterable[str]] | Iterable[str] | None
                 ) -> dict[str, str]:
    terms: dict[str, str] = {}
    if vocabulary is None:
        return terms
    items = (vocabulary.items() if isinstance(vocabulary, Mapping)
             else ((name, ()) for name in vocabulary))
    for name, aliases in items:
        aliases = [aliases] if isinstance(aliases, str) else list(aliases)
        for t in [name, *aliases]:
            for v in _variants(str(t)):
                terms.setdefault(v, str(name))
    return terms


def _feature_of(f: Fact) -> str:
    return str(f.detail.get("feature", f.name)) if f.kind == "reason" else f.name


def _fact_strings(facts: FactTable) -> list[str]:
    out = [facts.subject]
    for f in facts:
        out.append(f.name)
        for v in (f.value, f.feature_value, *f.detail.values()):
            for x in v if isinstance(v, list | tuple) else (v,):
                if isinstance(x, str):
                    out.append(x)
    return out


def _numbers_of(f: Fact) -> list[float]:
    nums: list[float] = []
    for v in (f.value, f.feature_value, *f.detail.values()):
        for x in v if isinstance(v, list | tuple) else (v,):
            if isinstance(x, int | float) and not isinstance(x, bool):
                nums.append(float(x))
            elif isinstance(x, str):
                nums.extend(t.value for t in extract_numbers(x))
    nums.extend(t.value for t in extract_numbers(f.name))
    return nums


def _counts(facts: FactTable) -> list[float]:
    # Counts a text may state ("the 3 main reasons", "top 5 features").
    n = max(len(facts.of_kind("reason")), len(facts.of_kind("contribution")))
    return [float(k) for k in range(1, n + 1)]


def _matches(tok: NumberToken, values: list[float], counts: list[float]) -> bool:
    # A count is a plain integer: "3 reasons", never "300%".
    return _number_matches(tok, values) or (not tok.percent and _number_matches(tok, counts))


_SNAKE_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")
_QUOTED_RE = re.compile(r"[\"`\u201c\u201d]([^\"`\u201c\u201d\n]{2,60})[\"`\u201c\u201d]"
                        r"|(?<!\w)'([^'\n]{2,60})'(?!\w)")
_CAPITAL_RE = re.compile(r"(?<=[a-z,] )[A-Z][A-Za-z]*[A-Z0-9/][A-Za-z0-9/]*"
                         r"|(?<=[a-z,] )[A-Z][a-z]{2,}(?: [A-Z][A-Za-z/]*)+")
_BOUNDARY_RE = re.compile(r"[;!?\n]|\.(?=\s|$)")


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _find_terms(text: str, terms: Iterable[str]) -> list[tuple[int, int, str]]:
    """Whole-word, case-insensitive, non-overlapping hits; the longest wins at a position.

    Plain ``str.find`` per term: compiling one alternation per fact table cost more than
    the whole rest of a check.
    """
    low = text.lower()
    if len(low) != len(text):  # a letter whose lower case is longer ("İ"): use a regex
        keys = sorted(terms, key=len, reverse=True)
        if not keys:
            return []
        rx = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, keys)) + r")(?!\w)",
                        re.IGNORECASE)
        return [(m.start(), m.end(), m.group(0).lower()) for m in rx.finditer(text)
                if m.group(0).lower() in terms]
    hits = []
    for term in terms:
        i = low.find(term)
        while i >= 0:
            j = i + len(term)
            if (i == 0 or not _is_word(low[i - 1])) and (j == len(low) or not _is_word(low[j])):
                hits.append((i, j, term))
            i = low.find(term, i + 1)
    hits.sort(key=lambda h: (h[0], h[0] - h[1]))
    out, end = [], 0
    for h in hits:
        if h[0] >= end:
            out.append(h)
            end = h[1]
    return out


class _Mention(NamedTuple):
    start: int
    end: int
    canonical: str


class Checker:
    """Check texts against fact tables (see the module docstring for the rules).

    Parameters
    ----------
    vocabulary : mapping of feature name to aliases, or iterable of names, optional
        Every feature the domain knows, with readable aliases (reason texts, labels).
        A vocabulary name that is not among a table's facts is an invented feature.
    guard : callable, optional
        ``guard(text) -> None``, raising on a PII hit; used when :meth:`check` gets none.

    Examples
    --------
    >>> from riskscope.explain.facts import Fact, FactTable
    >>> t = FactTable("credit", "applicant 1", [
    ...     Fact("d", "decision", "decision", "deny"),
    ...     Fact("p", "probability", "P(bad)", 0.6234),
    ...     Fact("c1", "contribution", "duration_months", 0.41, direction="up")])
    >>> chk = Checker(vocabulary={"duration_months": ["duration"], "savings": []})
    >>> chk.check("Denied: P(bad) is 62%; duration_months raises the risk.", t).ok
    True
    >>> [v.kind for v in chk.check("Approved: P(bad) is 0.71; savings lowers it.",
    ...                            t).violations]
    ['number', 'feature', 'decision', 'decision']
    """

    def __init__(self, *, vocabulary: Mapping[str, Iterable[str]] | Iterable[str] | None = None,
                 guard: Guard | None = None) -> None:
        self.vocabulary = vocabulary
        self.guard = guard
        self._vocab = _vocab_terms(vocabulary)

    def __call__(self, text: str, facts: FactTable, *, guard: Guard | None = None
                 ) -> CheckResult:
        return self.check(text, facts, guard=guard)

    def check(self, text: str | Any, facts: FactTable, *, guard: Guard | None = None
              ) -> CheckResult:
        """Check ``text`` (a str or anything with ``.text``) against ``facts``."""
        text = text if isinstance(text, str) else str(text.text)
        out: list[Violation] = []
        out += self._check_pii(text, guard or self.guard)
        out += [Violation("injection", m.group(0), "the text echoes a prompt-injection phrase")
                for m in _INJECTION_RE.finditer(text)]
        cites: list[Citation] = []
        numbers = extract_numbers(text)
        per_fact = [(f.id, _numbers_of(f)) for f in facts]
        counts = _counts(facts)
        count_ids = tuple(f.id for f in facts.of_kind("reason", "contribution"))
        for t in numbers:
            ids = tuple(fid for fid, nums in per_fact if _number_matches(t, nums))
            if not ids and not t.percent and _number_matches(t, counts):
                ids = count_ids
            if ids:
                cites.append(Citation(t.text, t.start, t.end, ids))
            else:
                out.append(Violation("number", t.text, "the number is not a value of any "
                                     "fact at the precision it is printed with"))
        allowed = [x for _, nums in per_fact for x in nums]
        mentions, masked = self._mentions(text, facts)
        out += self._bound_numbers(numbers, allowed, mentions, masked, facts)
        for m in mentions:
            ids = tuple(f.id for f in facts if f.kind != "decision"
                        and m.canonical in (f.name, _feature_of(f)))
            if ids:
                cites.append(Citation(text[m.start:m.end], m.start, m.end, ids))
            else:
                out.append(Violation("feature", text[m.start:m.end], "a known feature or "
                                     "reason that is not among this decision's facts"))
        out += self._unknown_terms(masked, facts)
        out += self._directions(text, masked, mentions, facts)
        out += self._decision(masked, facts)
        return CheckResult(tuple(out), len(numbers), len(mentions),
                           tuple(sorted(cites, key=lambda c: (c.start, c.end))))

    # -- rules --------------------------------------------------------------------------
    @staticmethod
    def _check_pii(text: str, guard: Guard | None) -> list[Violation]:
        if guard is None:
            return []
        try:
            guard(text)
        except Exception as exc:  # any raise is a hit; a broken guard must fail closed
            return [Violation("pii", "", f"the text contains a PII value of the record "
                                         f"({type(exc).__name__})")]
        return []

    def _mentions(self, text: str, facts: FactTable) -> tuple[list[_Mention], str]:
        terms = dict(self._vocab)
        for f in facts:
            if f.kind == "decision":
                continue
            for v in _variants(f.name):
                terms[v] = _feature_of(f)
            if f.kind == "reason" and isinstance(f.value, str):
                for v in _variants(f.value):
                    terms[v] = _feature_of(f)
            if f.kind == "reason" and "feature" in f.detail:
                for v in _variants(str(f.detail["feature"])):
                    terms[v] = _feature_of(f)
        # Other fact strings (feature values, classes, model names) are not names, but
        # they must not be read as decision or direction words either: mask them too.
        dec_re = _ANY_DECISION_RE
        extra = {s.lower() for s in _fact_strings(facts)
                 if len(s) >= 3 and not dec_re.fullmatch(s.strip())}
        extra.discard(str(facts.decision.value).lower())
        # A name inside a longer fact string is part of that value, not a mention of it:
        # "existing credits" in the credit_history value "existing credits paid back duly".
        values = [(i, j) for i, j, _ in _find_terms(text, [x for x in extra if x not in terms])]
        mentions = [_Mention(i, j, terms[t]) for i, j, t in _find_terms(text, terms)
                    if not any(a <= i and j <= b and b - a > j - i for a, b in values)]
        chars = list(text)
        for m in mentions:
            chars[m.start:m.end] = "#" * (m.end - m.start)
        masked = "".join(chars)
        for i, j, _ in _find_terms(masked, [x for x in extra if x not in terms]):
            masked = masked[:i] + "#" * (j - i) + masked[j:]
        return mentions, masked

    @staticmethod
    def _bound_numbers(numbers: list[NumberToken], allowed: list[float],
                       mentions: list[_Mention], masked: str, facts: FactTable
                       ) -> list[Violation]:
        # A number in a feature's clause ("duration_months = 48 raises the risk (+0.41)")
        # must be that feature's own value or contribution, not another fact's.
        own: dict[str, list[float]] = {}
        for f in facts.of_kind("contribution", "reason"):
            own.setdefault(_feature_of(f), []).extend(_numbers_of(f))
        counts = _counts(facts)
        bounds = [m.start() for m in _BOUNDARY_RE.finditer(masked)]
        out = []
        for t in numbers:
            before = [m for m in mentions if m.end <= t.start]
            if not before:
                continue
            m = before[-1]
            if m.canonical not in own or any(m.end <= b < t.start for b in bounds):
                continue
            if _matches(t, allowed, counts) and not _matches(t, own[m.canonical], counts):
                out.append(Violation("number", t.text, "the number is another fact's value, "
                                     "not this feature's"))
        return out

    @staticmethod
    def _unknown_terms(masked: str, facts: FactTable) -> list[Violation]:
        known = " \n".join(_fact_strings(facts)).lower()
        out = []
        for rx, what in ((_SNAKE_RE, "an unknown snake_case term reads like a feature name"),
                         (_QUOTED_RE, "an unknown quoted term reads like a feature name"),
                         (_CAPITAL_RE, "an unknown capitalised term reads like a feature "
                                       "name")):
            for m in rx.finditer(masked):
                term = next((g for g in m.groups() if g), m.group(0)) if m.groups() \
                    else m.group(0)
                term = term.strip()
                if "#" in term or not term or term.lower() in known:
                    continue
                if rx is _QUOTED_RE and not re.search(r"[A-Za-z]", term):
                    continue
                out.append(Violation("feature", term, what))
        return out

    @staticmethod
    def _directions(text: str, masked: str, mentions: list[_Mention], facts: FactTable
                    ) -> list[Violation]:
        dirs: dict[str, set[str]] = {}
        for f in facts.of_kind("contribution", "reason"):
            if f.direction is not None:
                dirs.setdefault(_feature_of(f), set()).add(f.direction)
        bounds = [m.end() for m in _BOUNDARY_RE.finditer(masked)]
        # Only features split a clause into windows: "pulled the score down" is one phrase.
        others = {f.name for f in facts if f.kind not in ("contribution", "reason")}
        mentions = [m for m in mentions if m.canonical not in others]
        out = []
        for i, m in enumerate(mentions):
            want = dirs.get(m.canonical)
            if not want:
                continue
            nxt = mentions[i + 1].start if i + 1 < len(mentions) else len(masked)
            stop = min([b - 1 for b in bounds if b - 1 >= m.end] + [nxt])
            window = masked[m.end:stop]
            if not (_UP_RE.search(window) or _DOWN_RE.search(window)):
                prev = mentions[i - 1].end if i > 0 else 0
                begin = max([b for b in bounds if b <= m.start] + [prev])
                window = masked[begin:m.start]
            said = _said_directions(window)
            if said - want:
                out.append(Violation("direction", text[m.start:m.end],
                                     "the direction word next to this feature contradicts "
                                     "the fact's direction"))
        return out

    @staticmethod
    def _decision(masked: str, facts: FactTable) -> list[Violation]:
        pol = decision_polarity(facts.domain, facts.decision.value)
        found = decision_words(facts.domain, masked)
        out = []
        for p, words in found.items():
            if p != pol:
                out += [Violation("decision", w, "a decision word contradicts the decision")
                        for w in words]
        if pol is not None and not found[pol]:
            out.append(Violation("decision", "", "the text does not state the decision"))
        return out


def check(text: str | Any, facts: FactTable, *,
          vocabulary: Mapping[str, Iterable[str]] | Iterable[str] | None = None,
          guard: Guard | None = None) -> CheckResult:
    """Check a narrative against its facts (one-shot form of :class:`Checker`).

    Parameters
    ----------
    text : str or Narrative
    facts : FactTable
    vocabulary : mapping or iterable, optional
        All feature names of the domain (with aliases); see :class:`Checker`.
    guard : callable, optional
        The record's PII guard: ``guard(text)`` raises on a hit.

    Returns
    -------
    CheckResult
        ``.ok`` and ``.violations`` as ``(kind, span text, why)``.

    Examples
    --------
    >>> from riskscope.explain.facts import Fact, FactTable
    >>> t = FactTable("ids", "flow 7", [Fact("d", "decision", "decision", "attack"),
    ...                                 Fact("p", "probability", "P(attack)", 0.973)])
    >>> check("Attack: P(attack) is 97.3%.", t).ok
    True
    >>> check("Benign: P(attack) is 0.5.", t).kinds == {"number", "decision"}
    True
    """
    return Checker(vocabulary=vocabulary, guard=guard).check(text, facts)
