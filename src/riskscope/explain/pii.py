"""The PII guard: what personal data may never reach facts, reports or a language model.

Four layers, each usable alone:

* **Columns.** :func:`pii_columns` finds the columns that identify a person or a machine
  (declared ones plus names, addresses, postcodes, phones, emails, IBANs, card and account
  numbers, government ids, dates of birth, IPs, hostnames, user names, record ids) and
  :func:`drop_pii` removes them from a frame or a record before facts are built.
* **Free text.** :func:`find_pii` / :func:`redact` find cards (Luhn), IBANs (mod 97),
  emails, phones, SSNs, IPv4/IPv6 and dates of birth in context (see ``_recognizers``).
* **Pseudonyms.** :class:`Pseudonymizer` replaces IPs and hostnames in ids and apt alerts
  by keyed-hash tokens (``ip-3f9a1c2b``): stable under one key, so analysts can still
  correlate alerts, and meaningless without it.
* **Outbound guard.** :class:`OutboundGuard` scans every request body bound for a language
  model for the current record's own PII values and the recognizers, and blocks on a hit.

What counts as PII (the column rule)
------------------------------------
A column is PII when its values *identify* someone or something that leads to someone:
direct identifiers (name, email, phone, street address, postcode, card/account/IBAN,
SSN, passport or national id, date of birth, user name) and technical identifiers in ids
and apt data (IP and MAC addresses, hostnames, ``Flow ID`` and other ``*_id`` columns).
Protected and analytic attributes are *not* PII identifiers even when sensitive: ``age``,
``sex``, ``personal_status``, ``foreign_worker``, nationality, city or country (coarse
location), ports, protocols and counts. Those belong in facts and fairness audits; the
reason-code rule, not this guard, keeps protected attributes out of reasons. A postcode is
PII but a city is not: a 5-digit ZIP code, birth date and sex together single out 87% of
US residents (Sweeney, 2000), a city does not. Year of birth counts as age; latitude and
longitude count as an address.

A name that says the column is *about* an identifier (``has_phone``, ``own_telephone``,
``email_verified``, ``n_phones``, ``phone_type``, ``years_at_address``) is a derived
feature, not PII. And where values are at hand, a phone, card, account or id-document
column none of whose values holds five digits is an indicator, not a number (German
credit's ``telephone`` is "none" / "yes, registered under the customer's name", coded
A191/A192), so it stays. Declared columns are always PII; ``keep=`` vouches for a
column the name rule gets wrong (a provenance node's ``name``, which is a process path).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from hashlib import sha256
from typing import Any

from riskscope.exceptions import ConfigError, ParameterError, RiskscopeError
from riskscope.explain._recognizers import (
    COLUMN_KINDS,
    KINDS,
    NUMBER_BEARING,
    Finding,
    apply_redaction,
    as_text,
    classify_column,
    date_variants,
    find_pii,
    iban_valid,
    is_missing,
    json_unescaped,
    luhn_valid,
    merge_findings,
    norm,
    norm_map,
    redact,
)

__all__ = ["COLUMN_KINDS", "KINDS", "PSEUDONYM_KEY_ENV", "Finding", "OutboundGuard", "PiiLeakError",
           "Pseudonymizer", "classify_column", "drop_pii", "find_pii", "iban_valid",
           "luhn_valid", "pii_columns", "redact"]

#: Environment variable holding the pseudonym key when none is passed.
PSEUDONYM_KEY_ENV = "RISKSCOPE_PSEUDONYM_KEY"


class PiiLeakError(RiskscopeError):
    """An outbound request carried PII; names the kinds and offsets, never the values.

    Attributes
    ----------
    kinds : tuple of str
        The distinct kinds found, sorted.
    spans : tuple of (str, int, int)
        Kind, start and end of each finding in the blocked body.
    """

    def __init__(self, findings: Iterable[Finding]) -> None:
        findings = list(findings)
        self.spans = tuple((f.kind, f.start, f.end) for f in findings)
        self.kinds = tuple(sorted({f.kind for f in findings}))
        where = ", ".join(f"{k} at {a}-{b}" for k, a, b in self.spans[:5])
        more = f" and {len(self.spans) - 5} more" if len(self.spans) > 5 else ""
        super().__init__(
            f"Outbound request blocked: it contains {len(self.spans)} PII finding(s) "
            f"({', '.join(self.kinds)}; {where}{more}); redact the text or drop the PII "
            f"columns before it leaves."
        )


# ------------------------------------------------------------------------------ columns
def _values_of(values: Any, column: object) -> list[Any] | None:
    if values is None:
        return None
    try:
        if column not in values:
            return None
        v = values[column]
    except (TypeError, KeyError):
        return None
    if isinstance(v, str | bytes) or not isinstance(v, Iterable):
        return [v]
    return list(v)


def _is_indicator(vals: list[Any]) -> bool:
    """Whether non-missing values exist and none holds 5 digits (yes/no, A191, 0/1, ...)."""
    seen = False
    for v in vals:  # stops at the first real number, so a long phone column costs little
        if is_missing(v):
            continue
        if sum(c.isdigit() for c in as_text(v)) >= 5:
            return False
        seen = True
    return seen


def pii_columns(columns: Iterable[object], declared: Iterable[object] = (), *,
                values: Any = None, keep: Iterable[object] = ()) -> list[object]:
    """The columns that are PII: the declared ones plus those the name rule detects.

    Parameters
    ----------
    columns : iterable
        Column names (a DataFrame's ``columns``, a record's keys).
    declared : iterable
        Columns that are PII whatever their name; matched ignoring case and outer spaces.
        Names absent from ``columns`` are ignored, so one list serves several tables.
    values : mapping, optional
        Column -> its values (a DataFrame, a record dict). Enables the indicator rule: a
        detected phone, card, account or id-document column none of whose values has five
        digits is kept.
    keep : iterable
        Columns the caller vouches are not PII (never overrides ``declared``).

    Returns
    -------
    list
        In ``columns`` order.

    Raises
    ------
    ParameterError
        If a column is both declared and kept.

    Examples
    --------
    >>> cols = ["name", "telephone", "age_years", "personal_status_sex", "credit_amount"]
    >>> pii_columns(cols)
    ['name', 'telephone']
    >>> pii_columns(cols, values={"telephone": ["none", "yes, registered"]})
    ['name']
    >>> pii_columns(cols, declared=["CREDIT_AMOUNT"], keep=["name"])
    ['telephone', 'credit_amount']
    """
    columns = list(columns)
    dec = {str(d).strip().casefold() for d in declared}
    kept = {str(k).strip().casefold() for k in keep}
    both = sorted(dec & kept)
    if both:
        raise ParameterError(f"Columns {both} are both declared PII and kept; choose one.")
    out = []
    for c in columns:
        key = str(c).strip().casefold()
        if key in dec:
            out.append(c)
            continue
        if key in kept:
            continue
        kind = classify_column(c)
        if kind is None:
            continue
        if kind in NUMBER_BEARING:
            vals = _values_of(values, c)
            if vals is not None and _is_indicator(vals):
                continue
        out.append(c)
    return out


def drop_pii(frame_or_mapping: Any, declared: Iterable[object] = (), *,
             keep: Iterable[object] = ()) -> Any:
    """A copy without PII columns: a pandas/polars DataFrame, a pandas Series (one row) or
    a mapping (one record). Facts are built from what this returns.

    Parameters
    ----------
    frame_or_mapping : DataFrame, Series or mapping
    declared, keep : iterable
        As in :func:`pii_columns`.

    Examples
    --------
    >>> rec = {"first_name": "Anna", "email": "anna@example.org", "age_years": 31,
    ...        "personal_status_sex": "female : divorced/separated/married",
    ...        "foreign_worker": "yes", "telephone": "none", "credit_amount": 1200}
    >>> sorted(drop_pii(rec))
    ['age_years', 'credit_amount', 'foreign_worker', 'personal_status_sex', 'telephone']
    >>> import pandas as pd
    >>> list(drop_pii(pd.DataFrame({" Source IP": ["10.0.0.1"], " Flow Duration": [3]})).columns)
    [' Flow Duration']
    """
    obj = frame_or_mapping
    mod = type(obj).__module__.split(".")[0]
    if mod == "pandas" and hasattr(obj, "columns"):
        return obj.drop(columns=pii_columns(obj.columns, declared, values=obj, keep=keep))
    if mod == "pandas" and hasattr(obj, "index"):  # a Series: one record
        return obj.drop(labels=pii_columns(obj.index, declared, values=obj, keep=keep))
    if mod == "polars" and hasattr(obj, "columns"):
        vals = {c: obj.get_column(c).to_list() for c in obj.columns}
        return obj.drop(pii_columns(obj.columns, declared, values=vals, keep=keep))
    if isinstance(obj, Mapping):
        gone = set(pii_columns(obj.keys(), declared, values=obj, keep=keep))
        return {k: v for k, v in obj.items() if k not in gone}
    raise ParameterError(
        f"drop_pii takes a pandas or polars DataFrame, a pandas Series or a mapping; "
        f"got {type(obj).__name__}."
    )


# ------------------------------------------------------------------------- pseudonyms
class Pseudonymizer:
    """Keyed-hash pseudonyms for IP addresses and hostnames (HMAC-SHA256).

    The same key and value always give the same token, so alerts about one host still
    line up; another key gives unrelated tokens, and without the key a token cannot be
    reversed by trying all 2**32 IPv4 addresses.

    Parameters
    ----------
    key : str or bytes, optional
        At least 16 characters; defaults to the ``RISKSCOPE_PSEUDONYM_KEY`` variable.
    digest_chars : int
        Hex characters per token (4-64). With the default 8 (32 bits) the first collision
        is expected near 80,000 distinct values (birthday bound); raise it for more.

    Raises
    ------
    ConfigError
        If no key is given and the variable is unset or too short.
    ParameterError
        If ``key`` is too short or ``digest_chars`` is out of range.

    Examples
    --------
    >>> p = Pseudonymizer("correct horse battery staple")
    >>> p.ip("10.0.0.1") == p.ip("10.0.0.001") == p.host("10.0.0.1")
    True
    >>> p.ip("10.0.0.1").startswith("ip-"), len(p.ip("10.0.0.1"))
    (True, 11)
    >>> p.host("WS-17.corp.example.") == p.host("ws-17.corp.example")
    True
    >>> p.text("beacon 10.0.0.1 -> 2001:db8::1").count("ip-")
    2
    """

    def __init__(self, key: str | bytes | None = None, *, digest_chars: int = 8) -> None:
        if key is None:
            key = os.environ.get(PSEUDONYM_KEY_ENV)
            if key is None or len(key) < 16:
                raise ConfigError(
                    f"No pseudonym key of at least 16 characters: pass key= or set "
                    f"{PSEUDONYM_KEY_ENV}."
                )
        if len(key) < 16:
            raise ParameterError(f"`key` of Pseudonymizer must have at least 16 characters; "
                                 f"got {len(key)}.")
        if not isinstance(digest_chars, int) or not 4 <= digest_chars <= 64:
            raise ParameterError(f"`digest_chars` of Pseudonymizer must be an int in "
                                 f"[4, 64]; got {digest_chars!r}.")
        self._key = key.encode() if isinstance(key, str) else bytes(key)
        self.digest_chars = digest_chars

    def __repr__(self) -> str:
        return f"Pseudonymizer(key=<hidden>, digest_chars={self.digest_chars})"

    def _token(self, prefix: str, canonical: str) -> str:
        mac = hmac.new(self._key, f"{prefix}\x00{canonical}".encode(), sha256).hexdigest()
        return f"{prefix}-{mac[:self.digest_chars]}"

    @staticmethod
    def _canonical_ip(value: object) -> str | None:
        s = str(value).strip().strip("[]")
        m = re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})", s)
        if m:  # ipaddress refuses leading zeros; 010 and 10 are one octet here
            octets = [int(g) for g in m.groups()]
            return ".".join(map(str, octets)) if max(octets) <= 255 else None
        try:
            return ipaddress.ip_address(s).compressed
        except ValueError:
            return None

    def ip(self, value: object) -> str:
        """Token of an IPv4 or IPv6 address (``ip-`` + hex); equal addresses, equal tokens.

        Raises
        ------
        ParameterError
            If ``value`` is not an IP address (the value itself is not repeated).
        """
        canon = self._canonical_ip(value)
        if canon is None:
            raise ParameterError(f"Pseudonymizer.ip needs an IPv4 or IPv6 address; got a "
                                 f"{type(value).__name__} of {len(str(value))} characters "
                                 f"that is not one.")
        return self._token("ip", canon)

    def host(self, value: object) -> str:
        """Token of a hostname (case and a trailing dot ignored); an IP gets its ip token."""
        canon = self._canonical_ip(value)
        if canon is not None:
            return self._token("ip", canon)
        name = str(value).strip().rstrip(".").casefold()
        if not name:
            raise ParameterError("Pseudonymizer.host needs a non-empty hostname.")
        return self._token("host", name)

    def text(self, text: str, hosts: Iterable[str] = ()) -> str:
        """``text`` with every IPv4/IPv6 address, and every hostname in ``hosts``, replaced."""
        found = find_pii(text, ["ipv4", "ipv6"])
        for h in hosts:
            h = str(h).strip()
            if h:
                rx = re.compile(r"(?<![\w.-])" + re.escape(h) + r"(?![\w-]|\.\w)", re.I)
                found += [Finding("host", m.start(), m.end(), m.group())
                          for m in rx.finditer(text)]
        parts, pos = [], 0
        for f in merge_findings(text, found):
            tok = self.host(f.text) if f.kind == "host" else self.ip(f.text)
            parts += [text[pos:f.start], tok]
            pos = f.end
        parts.append(text[pos:])
        return "".join(parts)

    def record(self, record: Mapping[object, Any], declared: Iterable[object] = ()) -> dict:
        """A copy of an alert record: ip/host columns tokenised, and in every other text
        field the IPs and the record's hostnames replaced by the same tokens.

        Examples
        --------
        >>> p = Pseudonymizer("correct horse battery staple")
        >>> r = p.record({"Src IP": "10.0.0.1", "Flow ID": "10.0.0.1-8.8.8.8-5000-53-17",
        ...               "Dst Port": 53})
        >>> r["Flow ID"].startswith(r["Src IP"] + "-ip-"), r["Dst Port"]
        (True, 53)
        """
        kinds = {col: classify_column(col) for col in record}
        # A machine's name also turns up in other fields (command lines, paths, messages).
        hosts = [str(v) for col, v in record.items()
                 if kinds[col] == "host" and isinstance(v, str) and v.strip()]
        out: dict = {}
        for col, v in record.items():
            kind = kinds[col]
            if v is None or is_missing(v):
                out[col] = v
            elif kind == "ip" and self._canonical_ip(v) is not None:
                out[col] = self.ip(v)
            elif kind == "host":
                out[col] = self.host(v)
            elif isinstance(v, str):
                out[col] = self.text(v, hosts=hosts)
            else:
                out[col] = v
        return out


# ------------------------------------------------------------------------ outbound guard
_PARTICLES = {"von", "van", "de", "der", "den", "la", "le", "da", "di", "du", "del", "bin",
              "al", "el", "mr", "mrs", "ms", "dr", "jr", "sr", "and", "the"}
class OutboundGuard:
    """Blocks request bodies that carry the current record's PII or any recognised PII.

    Parameters
    ----------
    record_values : mapping or iterable
        The current record (column -> value): the values of its PII columns (see
        :func:`pii_columns`) are what the guard looks for. An iterable that is not a
        mapping is taken as the PII values themselves.
    declared, keep : iterable
        As in :func:`pii_columns`.

    Notes
    -----
    Each value is matched case-insensitively with separators (spaces, dashes, dots,
    slashes) ignored, on word boundaries; values with 6+ digits also match on their
    digits alone inside any run of digits and separators (a phone written another way,
    a card without its spaces) and long letter-digit values (IBANs, passports) on their
    letters and digits alone. The words of a multi-word name match alone when written
    capitalised as a name ("Will", not "will" in "the loan will..."), and so do one-word
    names; a first and a last name also match written together. Numbers of
    under 4 digits and texts of under 2 characters are not matched, they are in every
    narrative and identify no one. On top, every :func:`find_pii` finding blocks.

    Examples
    --------
    >>> g = OutboundGuard({"full_name": "Anna Schmidt", "phone": "+49 30 1234567",
    ...                    "age_years": 31})
    >>> [f.kind for f in g.check("Summarise the denial of Schmidt, 31 years old.")]
    ['name']
    >>> [f.kind for f in g.check("call 030-1234567")]
    ['phone']
    >>> g.check("The applicant, 31, was denied for a short credit history.")
    []
    >>> g.enforce("Mail anna@example.org")
    Traceback (most recent call last):
    ...
    riskscope.explain.pii.PiiLeakError: Outbound request blocked: it contains 1 PII finding(s) (email; email at 5-21); redact the text or drop the PII columns before it leaves.
    """  # noqa: E501

    def __init__(self, record_values: Mapping[object, Any] | Iterable[Any], *,
                 declared: Iterable[object] = (), keep: Iterable[object] = ()) -> None:
        pairs: list[tuple[str, Any]] = []
        if isinstance(record_values, Mapping):
            for c in pii_columns(record_values.keys(), declared, values=record_values,
                                 keep=keep):
                kind = classify_column(c) or "record"
                for v in _values_of(record_values, c) or []:
                    pairs.append((kind, v))
        else:
            pairs = [("record", v) for v in record_values]
        self._phrases: list[tuple[str, str]] = []   # (kind, normalised text)
        self._words: list[tuple[str, str]] = []     # (kind, name word, capitalised only)
        self._digits: list[tuple[str, str]] = []
        self._alnum: list[tuple[str, str]] = []
        names = []
        for kind, v in pairs:
            if is_missing(v) or isinstance(v, bool):
                continue
            self._add(kind, as_text(v))
            if kind == "name":
                names.append(norm(as_text(v)))
        # First and last name in separate columns: also catch them written together.
        if len(names) >= 2:
            self._phrases += [("name", f"{names[0]} {names[1]}"),
                              ("name", f"{names[1]} {names[0]}")]
        self.n_values = len(self._phrases) + len(self._digits) + len(self._alnum)

    def _add(self, kind: str, raw: str) -> None:
        n = norm(raw)
        digits = "".join(c for c in raw if c.isdigit())
        alnum = "".join(c for c in raw.casefold() if c.isalnum())
        if n.replace(" ", "").isdigit() and len(digits) < 4:
            return
        words = n.split(" ")
        if kind == "name" and len(words) == 1:
            # A one-word name is often a word too ("Will", "Grant", "Rose"): it matches
            # only where written capitalised, as a name is.
            self._words.append((kind, n))
        elif len(n) >= 2:
            self._phrases.append((kind, n))
        if len(digits) >= 6:
            self._digits.append((kind, digits))
        if len(alnum) >= 8 and len(digits) >= 4 and len(alnum) > len(digits):
            self._alnum.append((kind, alnum))
        if kind == "name" and len(words) > 1:
            self._words += [(kind, w) for w in words
                            if len(w) >= 2 and w not in _PARTICLES and not w.isdigit()]
        if kind == "email" and "@" in raw:
            local = norm(raw.split("@")[0])
            if len(local.replace(" ", "")) >= 4:
                self._phrases.append((kind, local))
        if kind == "dob":
            for variant in date_variants(raw):
                self._phrases.append((kind, norm(variant)))
        if kind == "address":
            for part in re.split(r"[,;\n]", raw):
                p = norm(part)
                if p != n and len(p) >= 4 and (any(c.isdigit() for c in p) or " " in p):
                    self._phrases.append((kind, p))

    def _record_hits(self, body: str) -> list[Finding]:
        hits: list[Finding] = []
        norm, idx = norm_map(body)

        def bounded(text: str, a: int, b: int) -> bool:
            return (a == 0 or not text[a - 1].isalnum()) and (b == len(text)
                                                              or not text[b].isalnum())

        def scan(text, mapping, needles, check):
            for kind, needle in needles:
                start = text.find(needle)
                while start != -1:
                    end = start + len(needle)
                    if check(start, end):
                        a, b = mapping[start], mapping[end - 1] + 1
                        hits.append(Finding(kind, a, b, body[a:b]))
                    start = text.find(needle, start + 1)

        scan(norm, idx, self._phrases, lambda a, b: bounded(norm, a, b))
        scan(norm, idx, self._words,
             lambda a, b: bounded(norm, a, b) and body[idx[a]].isupper())
        for m in re.finditer(r"\d(?:[\s().+/\-]*\d)*", body):
            seg = m.group()
            d_idx = [m.start() + k for k, c in enumerate(seg) if c.isdigit()]
            scan("".join(c for c in seg if c.isdigit()), d_idx, self._digits,
                 lambda a, b: True)
        a_chars: list[str] = []
        a_idx: list[int] = []
        for k, c in enumerate(body):
            if c.isalnum():
                for x in c.casefold():
                    a_chars.append(x)
                    a_idx.append(k)
        scan("".join(a_chars), a_idx, self._alnum, lambda a, b: True)
        return hits

    def check(self, request_body: str) -> list[Finding]:
        """All PII in ``request_body``: the record's own values and every recognizer hit."""
        if not isinstance(request_body, str):
            raise ParameterError(f"OutboundGuard.check needs the request body as text; got "
                                 f"{type(request_body).__name__}.")
        found = self._record_hits(request_body) + find_pii(request_body)
        if "\\" in request_body:
            # A JSON request body escapes what it carries ("M\u00fcller", "\nAnna"), so the
            # decoded text is scanned too and its findings mapped back onto the body.
            view, starts, ends = json_unescaped(request_body)
            found += [Finding(f.kind, starts[f.start], ends[f.end - 1],
                              request_body[starts[f.start]:ends[f.end - 1]])
                      for f in self._record_hits(view) + find_pii(view)]
        return merge_findings(request_body, found)

    def enforce(self, request_body: str) -> str:
        """Return ``request_body`` unchanged if it is clean; raise :class:`PiiLeakError`."""
        findings = self.check(request_body)
        if findings:
            raise PiiLeakError(findings)
        return request_body

    def __call__(self, request_body: str) -> None:
        """:meth:`enforce` as a plain callable: the ``guard=`` hook of the LLM clients."""
        self.enforce(request_body)

    def redact(self, request_body: str) -> tuple[str, list[Finding]]:
        """Like :func:`redact`, also replacing the record's own values (``[NAME]``, ...)."""
        findings = self.check(request_body)
        return apply_redaction(request_body, findings), findings
