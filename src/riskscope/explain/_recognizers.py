"""PII recognizers: column names by a token rule, free text by regexes and checksums.

Column names are split into lower-case tokens (``DateOfBirth`` -> date, of, birth;
``Src IP`` -> src, ip) and matched against a flat rule table; the rule and its reasons
are written down in :mod:`riskscope.explain.pii`.

Each recognizer proposes candidates with a regular expression and keeps only those that
pass a check a random string would fail: Luhn and a card's grouping for card numbers,
ISO 7064 mod 97 and the country's length for IBANs, octet ranges and :mod:`ipaddress` for
IP addresses, the issuing rules for US social security numbers (dashes, or the word SSN),
a birth keyword near a date for dates of birth. Phone numbers have no checksum, so they
need a shape that amounts, scores, years and dates do not have: an international prefix,
a national trunk ``0`` with 9-12 digits, the North American 3-3-4 grouping with dashes or
dots, or a phone keyword right before the digits; a candidate that overlaps a date or a
clock time is not a phone.

Matches that overlap merge into one finding of the strongest kind (the order of
:data:`KINDS`) covering their union, so redaction never leaves half an identifier behind.

Last, the normalised views the outbound guard matches values on: casefolded text with
separator runs as one space, the same date written other ways, and JSON-unescaped text,
each with the map back to the original offsets.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from riskscope.exceptions import ParameterError

__all__ = ["COLUMN_KINDS", "KINDS", "NUMBER_BEARING", "Finding", "apply_redaction",
           "as_text", "classify_column", "date_variants", "find_pii", "iban_valid",
           "is_missing", "json_unescaped", "luhn_valid", "merge_findings", "norm", "norm_map",
           "redact"]

#: Recognised kinds, strongest first: checksum-confirmed kinds win an overlap (an IBAN's
#: digits can hold a Luhn-valid run, so IBAN, with country, length and mod 97, comes first).
KINDS = ("iban", "card", "email", "ssn", "ipv6", "ipv4", "dob", "phone")
_RANK = {k: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True)
class Finding:
    """One piece of PII found in a text.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`, or a column kind (``"name"``, ``"address"``, ...) when an
        :class:`~riskscope.explain.pii.OutboundGuard` found one of the record's own values.
    start, end : int
        ``text[start:end]`` is the finding.
    text : str
        The matched text itself; never put it in a log or an error message.

    Examples
    --------
    >>> f = Finding("email", 0, 11, "a@b.example")
    >>> f.label
    '[EMAIL]'
    """

    kind: str
    start: int
    end: int
    text: str

    @property
    def label(self) -> str:
        """What :func:`redact` writes in place of the finding."""
        return f"[{self.kind.upper()}]"

    def __repr__(self) -> str:
        # The value stays out of reprs, so a finding in a traceback or log line leaks nothing.
        return f"Finding(kind={self.kind!r}, start={self.start}, end={self.end})"


# ----------------------------------------------------------------------------- checksums
def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn check (payment card numbers).

    Examples
    --------
    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112")
    (True, False)
    """
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


#: IBAN length per country (SWIFT IBAN registry); other country codes are not IBANs here,
#: because without the length a mod-97 test alone passes one random string in 97.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27,
    "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def iban_valid(iban: str) -> bool:
    """Whether a string (spaces allowed) is an IBAN: known country, its length, mod 97 == 1.

    Examples
    --------
    >>> iban_valid("DE89 3704 0044 0532 0130 00"), iban_valid("DE88 3704 0044 0532 0130 00")
    (True, False)
    """
    s = iban.replace(" ", "").upper()
    if IBAN_LENGTHS.get(s[:2]) != len(s) or not s[2:4].isdigit() or not s.isalnum():
        return False
    return int("".join(str(int(c, 36)) for c in s[4:] + s[:4])) % 97 == 1


# ----------------------------------------------------------------------------- patterns
# Digits in groups separated by single spaces or dashes; cards are 13-19 of them. Not
# glued to letters: hashes and UUIDs in a request body hold long digit runs.
# A fraction's digits (0.9605895448590362) are not a card either: not after "digit." and
# not before ".digit".
_CARD = re.compile(r"(?<!\d[.,])(?<![\w])\d+(?:[ -]\d+)*(?![\w]|[.,]\d)")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")
_EMAIL = re.compile(r"(?<![\w.%+-])[\w%+-]+(?:\.[\w%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                    r"\.[A-Za-z]{2,}(?![\w-])")
# Dashes only: "378 64 2024" is three figures in a row; with spaces or none it needs "SSN".
_SSN = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")
_SSN_CTX = re.compile(r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\s*[:#]?\s*"
                      r"(\d{3})([ -]?)(\d{2})\2(\d{4})(?!\d)")
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)")
# Hex groups and colons (at least two colons), an optional dotted IPv4 tail and zone id;
# ipaddress decides which candidates are addresses (times like 12:30:45 are not).
_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{2,39}"
                   r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?:%[0-9A-Za-z]+)?(?![\w:])")
_SEP = r"[ .\-/]?"
# Phone candidates may not touch letters or continue with "-x": hex digests and UUIDs
# (in every request body) hold digit runs that would otherwise pass.
_PHONE_INTL = re.compile(r"(?<![\w+.,/-])(?:\+|00)[1-9]\d{0,2}(?:" + _SEP
                         + r"(?:\(\d{1,4}\)|\d{1,5})){1,7}(?!\w|[-/]\w)")
_PHONE_TRUNK = re.compile(r"(?<![\w.,/+-])(?:\(0[1-9]\d{0,3}\)|0[1-9]\d{0,3})(?:" + _SEP
                          + r"\d{2,8}){1,5}(?!\w|[.,]\d|[-/]\w)")
# North American area and exchange codes start with 2-9 ("126 488 8440" is no number);
# bare spaces are not accepted as separators there: three figures in a row are too common.
_PHONE_NANP = re.compile(r"(?<![\w.,/+-])(?:1[ .-])?(?:\([2-9]\d\d\) ?[2-9]\d\d[ .-]|"
                         r"[2-9]\d\d([.-])[2-9]\d\d\1)\d{4}(?!\w|[.,]\d|[-/]\w)")
_PHONE_CTX = re.compile(r"(?i)\b(?:phone|tel|telephone|mobile|cell|fax|call|whatsapp|ph)"
                        r"\.?(?:\s*(?:no|nr|number|#)\.?)?\s*[:#]?\s*"
                        r"(\+?\(?\d[\d ()./-]{4,22}\d)(?!\w)")

_MONTHS = ("jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
# Numeric dates (day-month or month-day with a 2- or 4-digit year, ISO year-month-day) and
# dates with a month name; not followed by a further separated number, so the dotted
# groups of a phone number (06.12.34.56.78) are not a date.
_DATE = re.compile(
    r"(?i)(?<![\d./-])(?:\d{4}([./-])\d{1,2}\1\d{1,2}|\d{1,2}([./-])\d{1,2}\2(?:\d{4}|\d{2}))"
    r"(?!\d|[./-]\d)"
    r"|\b\d{1,2}(?:st|nd|rd|th)?(?: of)? (?:" + _MONTHS + r")\.?,? \d{4}\b"
    r"|\b(?:" + _MONTHS + r")\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}\b"
)
_BIRTH_BEFORE = re.compile(r"(?i)(?:\bborn\b|\bbirth(?:day|date)?\b|\bd\.?o\.?b\b\.?|"
                           r"\bgeb(?:oren|\.))[^.!?;\n\d]{0,30}$")
_BIRTH_AFTER = re.compile(r"(?i)^[^.!?\n]{0,8}(?:\(?\s*(?:d\.?o\.?b|date of birth|birthday|born)"
                          r"\b)")
_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)")


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def _card_grouping(sizes: list[int]) -> bool:
    """Whether digit groups are written as cards are: 4-4-4-4(-3), 4-6-5, 4-6-4, or one run.

    Other groupings are runs of unrelated numbers ("24 443 612 2024 ..."), of which one in
    ten would pass Luhn by chance.
    """
    if len(sizes) == 1:
        return True
    if sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(n == 4 for n in sizes[:-1]) and 1 <= sizes[-1] <= 4


def _cards(text: str) -> Iterable[Finding]:
    for m in _CARD.finditer(text):
        groups = [(g.start(), g.end()) for g in re.finditer(r"\d+", m.group())]
        n = len(groups)
        # Try the longest runs of whole groups first, so a card followed or preceded by
        # another number (an expiry year, an amount) is still found on its own.
        i = 0
        while i < n:
            nxt = i + 1
            for j in range(n, i, -1):
                a, b = m.start() + groups[i][0], m.start() + groups[j - 1][1]
                d = _digits(text[a:b])
                seps = {text[m.start() + groups[k][1]] for k in range(i, j - 1)}
                if (13 <= len(d) <= 19 and d[0] != "0" and len(seps) <= 1
                        and _card_grouping([e - s for s, e in groups[i:j]])
                        and luhn_valid(d)):
                    yield Finding("card", a, b, text[a:b])
                    nxt = j
                    break
            i = nxt


def _ibans(text: str) -> Iterable[Finding]:
    for m in _IBAN.finditer(text):
        s = m.group()
        want = IBAN_LENGTHS.get(s[:2].upper())
        if want is None:
            continue
        # Take exactly the country's length of characters (spaces skipped): a word after
        # the IBAN ("DE89 ... 00 EUR") may otherwise have joined the candidate.
        count, end = 0, 0
        for k, ch in enumerate(s):
            if ch != " ":
                count += 1
                if count == want:
                    end = k + 1
                    break
        if end and iban_valid(s[:end]):
            after = s[end:end + 1]
            if not after or after == " ":
                yield Finding("iban", m.start(), m.start() + end, s[:end])


def _emails(text: str) -> Iterable[Finding]:
    for m in _EMAIL.finditer(text):
        yield Finding("email", m.start(), m.end(), m.group())


def _ssn_ok(area: str, group: str, serial: str) -> bool:
    # Never issued: area 000, 666, 900-999; group 00; serial 0000.
    a = int(area)
    return a != 0 and a != 666 and a < 900 and group != "00" and serial != "0000"


def _ssns(text: str) -> Iterable[Finding]:
    for m in _SSN.finditer(text):
        if _ssn_ok(*m.groups()):
            yield Finding("ssn", m.start(), m.end(), m.group())
    for m in _SSN_CTX.finditer(text):
        if _ssn_ok(m.group(1), m.group(3), m.group(4)):
            yield Finding("ssn", m.start(1), m.end(4), text[m.start(1):m.end(4)])


def _ipv4s(text: str) -> Iterable[Finding]:
    for m in _IPV4.finditer(text):
        # Octets checked by hand: ipaddress rejects leading zeros (010), which people write.
        if all(int(g) <= 255 for g in m.groups()):
            yield Finding("ipv4", m.start(), m.end(), m.group())


def _ipv6s(text: str) -> Iterable[Finding]:
    for m in _IPV6.finditer(text):
        s = m.group()
        # A sentence may end right after the address ("... at fe80::1:"), so trim a colon.
        for cand in (s, s[:-1] if s.endswith(":") and not s.endswith("::") else ""):
            try:
                ipaddress.IPv6Address(cand)
            except ValueError:
                continue
            yield Finding("ipv6", m.start(), m.start() + len(cand), cand)
            break


def _dobs(text: str) -> Iterable[Finding]:
    for m in _DATE.finditer(text):
        before = text[max(0, m.start() - 40):m.start()]
        after = text[m.end():m.end() + 24]
        if _BIRTH_BEFORE.search(before) or _BIRTH_AFTER.search(after):
            yield Finding("dob", m.start(), m.end(), m.group())


def _phones(text: str) -> Iterable[Finding]:
    # Dates and clock times are the usual look-alikes of separated digit groups.
    blocked = [(m.start(), m.end()) for m in _DATE.finditer(text)]
    blocked += [(m.start(), m.end()) for m in _TIME.finditer(text)]

    def clear(a: int, b: int) -> bool:
        return not any(a < e and s < b for s, e in blocked)

    for rx, lo, hi in ((_PHONE_INTL, 8, 15), (_PHONE_TRUNK, 9, 12), (_PHONE_NANP, 10, 11)):
        for m in rx.finditer(text):
            d = _digits(m.group())
            if rx is _PHONE_INTL and m.group().startswith("00"):
                d = d[2:]
            if lo <= len(d) <= hi and clear(m.start(), m.end()):
                yield Finding("phone", m.start(), m.end(), m.group())
    for m in _PHONE_CTX.finditer(text):
        s = m.group(1).rstrip(" ./-(")
        if 7 <= len(_digits(s)) <= 15 and clear(m.start(1), m.start(1) + len(s)):
            yield Finding("phone", m.start(1), m.start(1) + len(s), s)


# ------------------------------------------------------------------------- column names
def _tokens(name: object) -> list[str]:
    s = str(name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", s)  # camelCase -> camel Case
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", s)  # IPAddress -> IP Address
    return [t for t in re.split(r"[^0-9a-z]+", s.casefold()) if t]


# A name with one of these tokens describes an identifier instead of holding it.
_DERIVED = {"has", "own", "owns", "is", "n", "count", "cnt", "flag", "len", "length",
            "missing", "valid", "verified", "type", "kind", "ratio", "changed", "changes",
            "age", "years", "months", "days", "since", "duration", "tenure", "year",
            "country", "nationality", "place"}
_NUMBERISH = {"number", "no", "nr", "num", "id", "code"}
_IP = {"ip", "ipv4", "ipv6", "ipaddr", "ipaddress", "srcip", "dstip", "sourceip", "destip",
       "destinationip", "clientip", "serverip", "remoteip", "localip", "peerip", "hostip"}
_HOST = {"host", "hostname", "hostnames", "computer", "computername", "fqdn", "workstation"}
_PHONE = {"phone", "telephone", "tel", "mobile", "cell", "cellphone", "fax", "phonenumber",
          "telefon", "msisdn", "telno", "phoneno"}
_GOV = {"passport", "passportno", "passportnumber", "nationalid", "idcard", "idnumber",
        "taxid", "tin", "driverlicense", "driverslicense", "licensenumber", "nino",
        "personalausweis", "steuerid"}
_POSTCODE = {"zip", "zipcode", "postcode", "postalcode", "plz"}
_ADDRESS = {"address", "addr", "street", "streetaddress", "housenumber", "addressline"}
_HOUSE = {"house", "number"}
_GEO = {"lat", "latitude", "lon", "lng", "longitude", "geolocation", "gps", "coordinates"}
_NAME_WORDS = {"firstname", "lastname", "surname", "fullname", "givenname", "familyname",
               "forename", "middlename", "maidenname", "username", "nickname", "login",
               "cardholder", "accountholder", "beneficiary", "user"}
# "<qualifier> name" that names a thing, not a person.
_THING = {"file", "process", "domain", "feature", "model", "product", "company", "bank",
          "branch", "service", "event", "attack", "protocol", "path", "image", "node",
          "class", "label", "column", "field", "program", "app", "application", "device",
          "server", "task", "job", "table", "dataset", "run", "rule", "signature", "threat",
          "malware", "family", "category", "merchant", "employer", "org", "organisation",
          "organization", "business", "city", "state", "region", "reason", "group", "key",
          "metric", "module", "object", "registry", "share", "pipe", "script", "command"}
_IDISH = {"id", "uid", "uuid", "guid", "identifier"}
_ID_OWNERS = {"customer", "client", "applicant", "user", "member", "account", "borrower",
              "employee", "patient", "person", "flow", "session", "loan", "contract",
              "policy", "device", "card", "national", "tax", "voter"}
_ACCOUNT = {"account", "acct", "acc"}

#: Column kinds :func:`classify_column` returns; number-bearing ones get the indicator rule.
COLUMN_KINDS = ("name", "email", "phone", "address", "postcode", "location", "iban", "card",
                "account", "ssn", "government_id", "dob", "ip", "mac", "host", "identifier")
NUMBER_BEARING = {"phone", "card", "account", "ssn", "government_id"}


def _classify_tokens(toks: list[str]) -> str | None:
    ts = set(toks)
    compact = "".join(toks)
    if ts & _DERIVED:
        return None
    if "birth" in ts or ts & {"dob", "birthdate", "birthday", "dateofbirth", "geburtsdatum"} \
            or "dateofbirth" in compact:
        return "dob"
    if ts & {"email", "mail", "emailaddress"} or "email" in compact:
        return "email"
    if ts & _IP or "ipaddress" in compact:
        return "ip"
    if "mac" in ts or "macaddress" in compact:
        return "mac"
    if ts & _HOST or "hostname" in compact:
        return "host"
    if "iban" in ts:
        return "iban"
    if ("card" in ts and ts & (_NUMBERISH | {"credit", "debit"})) or ts & {
            "creditcard", "cardnumber", "ccnumber", "ccnum", "cardno", "pan"}:
        return "card"
    if (ts & _ACCOUNT and ts & _NUMBERISH) or ts & {"accountnumber", "accountno", "acctno",
                                                    "acctnum", "bankaccount"} \
            or {"bank", "account"} <= ts:
        return "account"
    if ts & {"ssn", "sin"} or "socialsecurity" in compact or "socialinsurance" in compact \
            or "nationalinsurance" in compact:
        return "ssn"
    if ts & _GOV or compact in _GOV or ("national" in ts and ts & (_NUMBERISH | {"identity"})) \
            or ("driver" in compact and ts & {"license", "licence"}) \
            or ({"identity", "card"} <= ts):
        return "government_id"
    if ts & _PHONE or "phone" in compact:
        return "phone"
    if ts & _POSTCODE or ({"postal", "code"} <= ts):
        return "postcode"
    if ts & _ADDRESS or _HOUSE <= ts:
        return "address"
    if ts & _GEO:
        return "location"
    if "name" in ts or ts & _NAME_WORDS or compact in _NAME_WORDS:
        return None if ts & _THING else "name"
    if ts & _IDISH or any(t.endswith("id") and t[:-2] in _ID_OWNERS for t in toks):
        return "identifier"
    return None


def classify_column(name: object) -> str | None:
    """The PII kind a column name denotes (one of :data:`COLUMN_KINDS`), or None.

    The rule is in :mod:`riskscope.explain.pii`'s docstring; it reads the name only.

    Examples
    --------
    >>> [classify_column(c) for c in ["Surname", "e-mail", " Source IP", "Flow ID",
    ...                               "DateOfBirth", "zip_code", "iban"]]
    ['name', 'email', 'ip', 'identifier', 'dob', 'postcode', 'iban']
    >>> [classify_column(c) for c in ["personal_status_sex", "age_years", "foreign_worker",
    ...                               "own_telephone", "Destination Port", "process_name"]]
    [None, None, None, None, None, None]
    """
    return _classify_tokens(_tokens(name))


_RECOGNIZERS = {"card": _cards, "iban": _ibans, "email": _emails, "ssn": _ssns,
                "ipv6": _ipv6s, "ipv4": _ipv4s, "dob": _dobs, "phone": _phones}


# ----------------------------------------------- normalised views (the outbound guard's)
def is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (
        type(v).__name__ in {"NAType", "NaTType"})


_SEPS = re.compile(r"[\s\-_.,;/()'\"]+")


def as_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "item") and not isinstance(v, str | bytes):  # numpy scalar
        return as_text(v.item())
    return str(v)


_DATE_IN = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%Y%m%d",
            "%d %B %Y", "%B %d, %Y", "%d %b %Y", "%b %d, %Y")
_DATE_OUT = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d %B %Y", "%B %d %Y",
             "%d %b %Y", "%b %d %Y")


def date_variants(raw: str) -> set[str]:
    """The same date written the usual other ways (a birth date rarely keeps its format)."""
    raw = raw.strip().split(" 00:00:00")[0].split("T00:00:00")[0]
    days = set()
    for fmt in _DATE_IN:
        try:
            days.add(datetime.strptime(raw, fmt).date())
        except ValueError:
            continue
    out = set()
    for d in days:
        out |= {d.strftime(f) for f in _DATE_OUT}
        out |= {f"{d.day} {d.strftime('%B')} {d.year}", f"{d.strftime('%B')} {d.day} {d.year}"}
    return out


def norm_map(s: str) -> tuple[str, list[int]]:
    """Casefolded text with separator runs as one space, and each char's source index."""
    out: list[str] = []
    idx: list[int] = []
    i = 0
    for m in _SEPS.finditer(s):
        for j in range(i, m.start()):
            for c in s[j].casefold():
                out.append(c)
                idx.append(j)
        if out and out[-1] != " ":
            out.append(" ")
            idx.append(m.start())
        i = m.end()
    for j in range(i, len(s)):
        for c in s[j].casefold():
            out.append(c)
            idx.append(j)
    return "".join(out), idx


_JSON_ESC = re.compile(r'\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}'
                       r'|u[0-9a-fA-F]{4}|["\\/bfnrt])')
_SIMPLE_ESC = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def json_unescaped(s: str) -> tuple[str, list[int], list[int]]:
    """``s`` with JSON string escapes decoded, and each decoded char's source span."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in _JSON_ESC.finditer(s):
        for k in range(pos, m.start()):
            out.append(s[k])
            starts.append(k)
            ends.append(k + 1)
        esc = m.group()
        if esc[1] == "u":
            ch = esc.encode("ascii").decode("unicode_escape")
            ch = ch.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        else:
            ch = _SIMPLE_ESC.get(esc[1], esc[1])
        out.append(ch)
        starts.append(m.start())
        ends.append(m.end())
        pos = m.end()
    for k in range(pos, len(s)):
        out.append(s[k])
        starts.append(k)
        ends.append(k + 1)
    return "".join(out), starts, ends


def norm(s: str) -> str:
    return norm_map(s)[0].strip()


def merge_findings(text: str, findings: Iterable[Finding],
                   rank: dict[str, int] | None = None) -> list[Finding]:
    """Merge overlapping findings into one of the strongest kind spanning their union.

    ``rank`` orders kinds (lower wins); kinds it lacks rank after :data:`KINDS`.

    Examples
    --------
    >>> t = "x 10.0.0.1 y"
    >>> merge_findings(t, [Finding("phone", 2, 8, t[2:8]), Finding("ipv4", 2, 10, t[2:10])])
    [Finding(kind='ipv4', start=2, end=10)]
    """
    rank = _RANK if rank is None else rank
    out: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if out and f.start < out[-1].end:
            last = out[-1]
            end = max(last.end, f.end)
            kind = min((last.kind, f.kind), key=lambda k: rank.get(k, len(rank)))
            out[-1] = Finding(kind, last.start, end, text[last.start:end])
        else:
            out.append(f)
    return out


def _check_kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    if kinds is None:
        return KINDS
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in _RANK]
    if bad:
        raise ParameterError(f"`kinds` of find_pii must be among {KINDS}; got {bad}.")
    return kinds


def find_pii(text: str, kinds: Iterable[str] | None = None) -> list[Finding]:
    """Find payment cards, IBANs, emails, SSNs, IPs, dates of birth and phones in a text.

    Parameters
    ----------
    text : str
    kinds : iterable of str, optional
        Only these of :data:`KINDS` (default: all).

    Returns
    -------
    list of Finding
        In text order, not overlapping (overlaps merge, the strongest kind naming them).

    Examples
    --------
    >>> t = "Card 4111 1111 1111 1111, mail anna@example.org, score 612, paid 1,234.56."
    >>> [(f.kind, f.text) for f in find_pii(t)]
    [('card', '4111 1111 1111 1111'), ('email', 'anna@example.org')]
    >>> [f.kind for f in find_pii("DOB: 12/03/1985; loan opened 2021-03-04")]
    ['dob']
    """
    if not isinstance(text, str):
        raise ParameterError(f"find_pii needs text (str); got {type(text).__name__}.")
    found = [f for k in _check_kinds(kinds) for f in _RECOGNIZERS[k](text)]
    return merge_findings(text, found)


def apply_redaction(text: str, findings: Iterable[Finding]) -> str:
    """Replace each (non-overlapping) finding by its label."""
    parts, pos = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        parts += [text[pos:f.start], f.label]
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)


def redact(text: str, kinds: Iterable[str] | None = None) -> tuple[str, list[Finding]]:
    """Replace every finding of :func:`find_pii` by a label such as ``[EMAIL]``.

    Parameters
    ----------
    text : str
    kinds : iterable of str, optional
        Only these of :data:`KINDS` (default: all).

    Returns
    -------
    redacted : str
    findings : list of Finding
        Offsets refer to the original ``text``.

    Examples
    --------
    >>> redact("Call +49 30 1234567 or write to anna@example.org from 10.0.0.7.")[0]
    'Call [PHONE] or write to [EMAIL] from [IPV4].'
    >>> redact("IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789", kinds=["iban"])[0]
    'IBAN [IBAN], SSN 123-45-6789'
    """
    findings = find_pii(text, kinds)
    return apply_redaction(text, findings), findings
