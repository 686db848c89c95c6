"""The PII guard: column rule, recognizers, pseudonyms, outbound guard, planted leak test."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import random
import re
import uuid

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskscope.datasets._german_codes import COLUMNS as GERMAN_COLUMNS
from riskscope.exceptions import ConfigError, ParameterError, RiskscopeError
from riskscope.explain.pii import (
    KINDS,
    PSEUDONYM_KEY_ENV,
    OutboundGuard,
    PiiLeakError,
    Pseudonymizer,
    classify_column,
    drop_pii,
    find_pii,
    iban_valid,
    luhn_valid,
    pii_columns,
    redact,
)

KEY = "test key, 16+ characters long"


def kinds(text: str) -> list[str]:
    return [f.kind for f in find_pii(text)]


def found(text: str, kind: str) -> list[str]:
    return [f.text for f in find_pii(text) if f.kind == kind]


# ------------------------------------------------------------------ checksum generators
def luhn_complete(body: str) -> str:
    """``body`` plus the check digit that makes it Luhn-valid."""
    for d in "0123456789":
        if luhn_valid(body + d):
            return body + d
    raise AssertionError("unreachable")


def iban_complete(cc: str, bban: str) -> str:
    """A valid IBAN for country ``cc`` and account part ``bban`` (check digits by mod 97)."""
    num = int("".join(str(int(c, 36)) for c in bban + cc + "00"))
    return f"{cc}{98 - num % 97:02d}{bban}"


# ------------------------------------------------------------------------- recognizers
@pytest.mark.parametrize("text, card", [
    ("pay with 4111 1111 1111 1111 today", "4111 1111 1111 1111"),
    ("card 5500-0000-0000-0004.", "5500-0000-0000-0004"),
    ("amex 3782 822463 10005", "3782 822463 10005"),
    ("raw 6011111111111117", "6011111111111117"),
    ("19 digits 4000 0000 0000 0000 006 ok", "4000 0000 0000 0000 006"),
    ("card 4111 1111 1111 1111 2027 expiry", "4111 1111 1111 1111"),
])
def test_card_positives(text, card):
    assert found(text, "card") == [card]


@pytest.mark.parametrize("text", [
    "pay with 4111 1111 1111 1112 today",   # Luhn-invalid
    "ref 1234 5678 9012 3456",               # Luhn-invalid
    "short 4111 1111 1111",                  # 12 digits
    "zeros 0000 0000 0000 0000",             # leading zero, not a card
    "twenty 41111111111111111111",           # a 20-digit run is not a card
])
def test_card_negatives(text):
    assert "card" not in kinds(text)


@pytest.mark.parametrize("iban", [
    "DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "GB82 WEST 1234 5698 7654 32",
    "NL91ABNA0417164300", "FR14 2004 1010 0505 0001 3M02 606", "BE68 5390 0754 7034",
    "CH93 0076 2011 6238 5295 7", "NO93 8601 1117 947", "fr14 2004 1010 0505 0001 3m02 606",
])
def test_iban_positives(iban):
    assert iban_valid(iban)
    assert found(f"IBAN: {iban} (EUR)", "iban") == [iban]


@pytest.mark.parametrize("text", [
    "DE88 3704 0044 0532 0130 00",      # check digits off by one
    "DE89 3704 0044 0532 0130 01",      # account digit changed
    "GB82 WEST 1234 5698 7654 3",       # too short for GB
    "XX89 3704 0044 0532 0130 00",      # unknown country
])
def test_iban_negatives(text):
    assert "iban" not in kinds(text)
    assert not iban_valid(text)


@pytest.mark.parametrize("text, email", [
    ("write to anna.schmidt@example.org.", "anna.schmidt@example.org"),
    ("<j+tag_1@mail.co.uk>", "j+tag_1@mail.co.uk"),
    ("FOO.BAR@EXAMPLE.COM", "FOO.BAR@EXAMPLE.COM"),
])
def test_email_positives(text, email):
    assert found(text, "email") == [email]


@pytest.mark.parametrize("text", ["user@localhost", "a @ b.com", "twitter @handle", "x@y"])
def test_email_negatives(text):
    assert "email" not in kinds(text)


@pytest.mark.parametrize("text, phone", [
    ("call +49 30 1234567 now", "+49 30 1234567"),
    ("+1 (555) 123-4567", "+1 (555) 123-4567"),
    ("+44 20 7946 0958.", "+44 20 7946 0958"),
    ("+33 6 12 34 56 78", "+33 6 12 34 56 78"),
    ("0044 20 7946 0958", "0044 20 7946 0958"),
    ("(212) 555-0147", "(212) 555-0147"),
    ("212-555-0147", "212-555-0147"),
    ("212.555.0147", "212.555.0147"),
    ("toll free 1-800-555-0199", "1-800-555-0199"),
    ("+44 (0) 7700 900123", "+44 (0) 7700 900123"),
    ("030 12345678", "030 12345678"),
    ("030/1234567", "030/1234567"),
    ("0171 2345678", "0171 2345678"),
    ("06.12.34.56.78", "06.12.34.56.78"),
    ("Tel: 1234567", "1234567"),
    ("phone no. 5551234567", "5551234567"),
])
def test_phone_positives(text, phone):
    assert found(text, "phone") == [phone]


@pytest.mark.parametrize("text", [
    "credit score 612", "score 612 of 850", "amount 1,234.56", "EUR 12,345,678.90",
    "in 2024", "opened 2024-01-15", "on 05/01/2024 10:30", "at 12:30:45", "10.0.19041.1",
    "+12.5% year on year", "+5 points", "duration 48 months, 3 credits", "0.61 > 0.50",
    "1700000000 epoch seconds", "000-12-3456", "call 612", "126-488-8440", "212-155-0147",
    "800 513 2024", "212-555.0147",
])
def test_phone_negatives(text):
    assert "phone" not in kinds(text)


@pytest.mark.parametrize("text, ssn", [
    ("SSN 123-45-6789.", "123-45-6789"), ("ssn: 078051120", "078051120"),
    ("Social Security No. 899 12 0001", "899 12 0001"),
])
def test_ssn_positives(text, ssn):
    assert found(text, "ssn") == [ssn]


@pytest.mark.parametrize("text", [
    "000-12-3456", "666-12-3456", "900-12-3456", "999-99-9999", "123-00-4567", "123-45-0000",
    "123-45 6789", "12-345-6789", "ssn: 000123456", "id 899 12 0001", "378 64 2024",
])
def test_ssn_negatives(text):
    assert "ssn" not in kinds(text)


@pytest.mark.parametrize("text, ip", [
    ("from 192.168.10.5 to", "192.168.10.5"), ("255.255.255.255", "255.255.255.255"),
    ("0.0.0.0:80", "0.0.0.0"), ("host 010.001.002.003", "010.001.002.003"),
])
def test_ipv4_positives(text, ip):
    assert found(text, "ipv4") == [ip]


@pytest.mark.parametrize("text", ["999.1.1.1", "1.2.3.256", "1.2.3", "1.2.3.4.5",
                                  "version 10.0.19041.1"])
def test_ipv4_negatives(text):
    assert "ipv4" not in kinds(text)


@pytest.mark.parametrize("text, ip", [
    ("beacon to 2001:db8::ff00:42:8329 seen", "2001:db8::ff00:42:8329"),
    ("[fe80::1%eth0]:443", "fe80::1%eth0"), ("loopback ::1", "::1"),
    ("mapped ::ffff:192.0.2.1", "::ffff:192.0.2.1"),
    ("full 2001:0db8:0000:0000:0000:ff00:0042:8329.", "2001:0db8:0000:0000:0000:ff00:0042:8329"),
    ("ends 2001:db8::1: then", "2001:db8::1"),
])
def test_ipv6_positives(text, ip):
    assert found(text, "ipv6") == [ip]


@pytest.mark.parametrize("text", ["at 12:30:45", "mac 00:1A:2B:3C:4D:5E", "std::vector",
                                  "2001:db8:::1", "1:2:3:4:5:6:7:8:9"])
def test_ipv6_negatives(text):
    assert "ipv6" not in kinds(text)


@pytest.mark.parametrize("text, date", [
    ("born on 12 March 1985 in Bonn", "12 March 1985"),
    ("DOB: 1985-03-12", "1985-03-12"), ("D.O.B. 12/03/1985", "12/03/1985"),
    ("date of birth 12.03.1985", "12.03.1985"), ("birthday: March 12, 1985", "March 12, 1985"),
    ("March 3, 1985 (DOB)", "March 3, 1985"), ("geboren am 03.07.1962", "03.07.1962"),
])
def test_dob_positives(text, date):
    assert found(text, "dob") == [date]


@pytest.mark.parametrize("text", [
    "loan opened 2021-03-04", "meeting on 12 March 1985", "due 12/03/1985",
    "DOB: 12/03/1985; loan opened 2021-03-04 and paid",  # only the first date is the DOB
    "born 1985", "birth rate fell in 2020",
])
def test_dob_needs_context(text):
    assert found(text, "dob") in ([], ["12/03/1985"])
    if "DOB" not in text:
        assert found(text, "dob") == []


def test_overlaps_merge_to_strongest_kind():
    # A card's digits also fit a phone shape; the merged finding is one card.
    t = "+4111 1111 1111 1111"
    assert [f.kind for f in find_pii(t)] == ["card"]


def test_redact_labels_and_kinds_filter():
    t = "Card 4111111111111111, ip 10.0.0.1, mail a.b@example.org"
    out, fs = redact(t)
    assert out == "Card [CARD], ip [IPV4], mail [EMAIL]"
    assert [t[f.start:f.end] for f in fs] == [f.text for f in fs]
    assert redact(t, kinds=["ipv4"])[0] == "Card 4111111111111111, ip [IPV4], mail a.b@example.org"
    with pytest.raises(ParameterError, match="`kinds` of find_pii must be among"):
        redact(t, kinds=["name"])
    with pytest.raises(ParameterError, match="find_pii needs text"):
        find_pii(b"bytes")  # type: ignore[arg-type]


def test_finding_repr_hides_value():
    (f,) = find_pii("mail secret.person@example.org")
    assert "secret" not in repr(f)


# ------------------------------------------------------------------------- column rule
def test_columns_detected_by_name():
    cols = ["name", "first_name", "Surname", "full name", "street", "address", "zip",
            "Postcode", "phone", "Mobile Number", "E-Mail", "iban", "account number",
            "ssn", "social security number", "passport_no", "national id", "customer_id",
            "ApplicantID", "date of birth", "dob", "BirthDate", "ip", "src_ip", "Dst IP",
            "hostname", "username", "mac_address", "credit_card_number", "latitude"]
    assert pii_columns(cols) == cols


def test_analytic_and_protected_attributes_are_not_pii():
    cols = ["personal_status_sex", "personal_status", "age", "age_years", "foreign_worker",
            "sex", "gender", "nationality", "marital_status", "city", "country",
            "birth_year", "own_telephone", "has_phone", "email_verified", "years_at_address",
            "residence_since", "checking_account", "account_balance", "card_type",
            "process_name", "file_name", " Destination Port", "Protocol", "Timestamp",
            "Label", "credit_amount", "ip_count"]
    assert pii_columns(cols) == []


def test_german_credit_keeps_everything_but_an_unseen_telephone():
    # By name alone `telephone` could hold numbers; its values (A191/A192) show a flag.
    assert pii_columns(GERMAN_COLUMNS) == ["telephone"]
    values = {"telephone": ["A191", "A192", None]}
    assert pii_columns(GERMAN_COLUMNS, values=values) == []
    assert pii_columns(["telephone"], values={"telephone": ["+49 30 1234567"]}) == ["telephone"]
    assert pii_columns(["telephone"], values={"telephone": [None]}) == ["telephone"]


def test_ids_flow_identifiers():
    header = ["Flow ID", " Source IP", " Source Port", " Destination IP",
              " Destination Port", " Protocol", " Timestamp", " Flow Duration", "id"]
    assert pii_columns(header) == ["Flow ID", " Source IP", " Destination IP", "id"]


def test_declared_and_keep():
    cols = ["name", "score", "notes"]
    assert pii_columns(cols, declared=[" NOTES "]) == ["name", "notes"]
    assert pii_columns(cols, declared=["absent"], keep=["Name"]) == []
    with pytest.raises(ParameterError, match="both declared PII and kept"):
        pii_columns(cols, declared=["name"], keep=["name"])


def test_drop_pii_on_frames_series_and_mappings():
    df = pd.DataFrame({"first_name": ["Anna", "Ben"], "email": ["a@x.org", "b@x.org"],
                       "age_years": [31, 45], "personal_status_sex": ["f", "m"],
                       "foreign_worker": ["yes", "no"], "telephone": ["none", "yes"],
                       "notes": ["x", "y"], "credit_amount": [1200, 800]})
    keep = ["age_years", "personal_status_sex", "foreign_worker", "telephone", "credit_amount"]
    assert list(drop_pii(df, declared=["notes"]).columns) == keep
    assert list(df.columns)[0] == "first_name"  # the input is not changed
    assert list(drop_pii(df.iloc[0], declared=["notes"]).index) == keep
    assert drop_pii(pl.from_pandas(df), declared=["notes"]).columns == keep
    assert list(drop_pii(df.iloc[0].to_dict(), declared=["notes"])) == keep
    with pytest.raises(ParameterError, match="drop_pii takes"):
        drop_pii([1, 2])


def test_classify_column_kinds():
    assert classify_column("CustomerID") == "identifier"
    assert classify_column("cardholder_name") == "name"
    assert classify_column("HouseNumber") == "address"
    assert classify_column("IPAddress") == "ip"


# -------------------------------------------------------------------------- pseudonyms
def test_pseudonyms_stable_and_key_dependent():
    a, b = Pseudonymizer(KEY), Pseudonymizer(KEY)
    other = Pseudonymizer(KEY + "!")
    ips = [str(ipaddress.IPv4Address(random.Random(1).getrandbits(32))) for _ in range(1)]
    ips += ["10.0.0.1", "2001:db8::1", "fe80::abcd"]
    for ip in ips:
        assert a.ip(ip) == b.ip(ip)
        assert a.ip(ip) != other.ip(ip)
        assert re.fullmatch(r"ip-[0-9a-f]{8}", a.ip(ip))
    assert a.ip("2001:0db8:0:0:0:0:0:1") == a.ip("2001:db8::1")
    assert a.host("WS-17.Corp.Example.") == a.host("ws-17.corp.example")
    assert a.host("ws-17") != other.host("ws-17")
    assert a.host("ws-17").startswith("host-")
    # Distinct values give distinct tokens (no collision among 2,000 addresses).
    rng = random.Random(0)
    many = {str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(2000)}
    assert len({a.ip(x) for x in many}) == len(many)
    assert len(Pseudonymizer(KEY, digest_chars=16).ip("10.0.0.1")) == 19


def test_pseudonym_key_from_env(monkeypatch):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)
    assert Pseudonymizer().ip("10.0.0.1") == Pseudonymizer(KEY).ip("10.0.0.1")
    monkeypatch.delenv(PSEUDONYM_KEY_ENV)
    with pytest.raises(ConfigError, match=PSEUDONYM_KEY_ENV):
        Pseudonymizer()
    with pytest.raises(ParameterError, match="at least 16 characters; got 5"):
        Pseudonymizer("short")
    with pytest.raises(ParameterError, match="digest_chars"):
        Pseudonymizer(KEY, digest_chars=2)
    assert KEY not in repr(Pseudonymizer(KEY))


def test_pseudonym_bad_ip_does_not_echo():
    with pytest.raises(ParameterError, match="needs an IPv4 or IPv6 address") as info:
        Pseudonymizer(KEY).ip("anna@example.org")
    assert "anna" not in str(info.value)


def test_pseudonymize_text_and_alert_record():
    p = Pseudonymizer(KEY)
    t = "10.0.0.1 -> 2001:db8::1 and 999.1.1.1 via ws-17.corp (WS-17.CORP)"
    out = p.text(t, hosts=["ws-17.corp"])
    assert find_pii(out, ["ipv4", "ipv6"]) == []
    assert p.ip("10.0.0.1") in out and p.ip("2001:db8::1") in out and "999.1.1.1" in out
    assert out.count(p.host("ws-17.corp")) == 2
    rec = {"Flow ID": "192.168.10.5-104.16.207.165-54865-443-6", " Source IP": "192.168.10.5",
           " Destination Port": 443, "Host": "ws-17", "cmd": "ping 8.8.8.8 from WS-17"}
    r = p.record(rec)
    assert r[" Source IP"] == p.ip("192.168.10.5")
    assert r["Flow ID"] == f"{p.ip('192.168.10.5')}-{p.ip('104.16.207.165')}-54865-443-6"
    assert r[" Destination Port"] == 443 and r["Host"] == p.host("ws-17")
    assert r["cmd"] == f"ping {p.ip('8.8.8.8')} from {p.host('ws-17')}"


# ----------------------------------------------------------------------- outbound guard
RECORD = {"full_name": "Anna-Lena Schmidt", "phone": "+49 (30) 123-4567",
          "card_number": "4111 1111 1111 1111", "iban": "DE89 3704 0044 0532 0130 00",
          "email": "anna.schmidt@example.org", "street_address": "Hauptstr. 5, 10115 Berlin",
          "date_of_birth": "1985-03-12", "customer_id": 10077, "age_years": 39,
          "personal_status_sex": "female : divorced/separated/married", "telephone": "yes",
          "credit_amount": 1200, "duration_months": 24}


@pytest.mark.parametrize("body, kind", [
    ("Explain the denial of Anna-Lena Schmidt.", "name"),
    ("Explain the denial of anna lena schmidt.", "name"),
    ("Dear Ms Schmidt, your loan...", "name"),
    ("SCHMIDT was denied", "name"),
    ("number 03012 34567", "phone"),
    ("reach her on 030-1234567", "phone"),
    ("card 4111111111111111", "card"),
    ("acct de89370400440532013000", "iban"),
    ("she writes as anna.schmidt", "email"),
    ("lives at Hauptstr. 5", "address"),
    ("lives in 10115 Berlin", "address"),
    ("on 12.03.1985 she", "dob"),
    ("customer 10077 asked", "identifier"),
])
def test_guard_finds_the_records_own_values(body, kind):
    g = OutboundGuard(RECORD)
    assert kind in [f.kind for f in g.check(body)]


@pytest.mark.parametrize("body", [
    "The applicant, 39, asked for 1200 DM over 24 months and was denied.",
    "Will the schmidt hammer test pass? Hannah's hat.",  # lower case; another name
    "Top reasons: duration 24 months, credit amount 1200, telephone yes.",
    "The score was 612; the threshold 0.5 (P(bad) = 0.61).",
])
def test_guard_passes_clean_bodies(body):
    g = OutboundGuard(RECORD)
    assert g.check(body) == []
    assert g.enforce(body) == body


def test_guard_error_names_kinds_never_values():
    g = OutboundGuard(RECORD)
    body = "Anna-Lena Schmidt, anna.schmidt@example.org, 4111 1111 1111 1111, 10.1.2.3"
    with pytest.raises(PiiLeakError, match=r"blocked: it contains 4 PII finding") as info:
        g.enforce(body)
    err = info.value
    assert isinstance(err, RiskscopeError)
    assert set(err.kinds) == {"name", "email", "card", "ipv4"}
    for secret in ("Schmidt", "anna", "4111", "10.1.2.3"):
        assert secret not in str(err)
    redacted, _ = g.redact(body)
    assert redacted.count("[") == 4 and "Schmidt" not in redacted
    with pytest.raises(PiiLeakError, match="blocked"):
        g(body)  # the callable form the LLM clients take as `guard=`
    assert g("Denied for a short credit history.") is None


def test_guard_one_word_names_match_only_as_names():
    g = OutboundGuard({"first_name": "Will", "last_name": "Grant", "credit_amount": 900})
    assert g.check("The bank may grant the loan if the applicant will repay.") == []
    assert [f.kind for f in g.check("Dear Will, ...")] == ["name"]
    assert [f.kind for f in g.check("GRANT was denied")] == ["name"]
    assert [f.kind for f in g.check("re: will grant")] == ["name"]  # written together


def test_guard_sees_through_json_escapes():
    g = OutboundGuard({"first_name": "Jürgen", "last_name": "Müller", "phone": "030 1234567"})
    for content in ["Dear Jürgen,", "x\nMüller denied", "\n030 1234567", "Herr MÜLLER"]:
        body = json.dumps({"messages": [{"role": "user", "content": content}]})
        assert "\\" in body
        assert g.check(body) != [], body
        redacted, _ = g.redact(body)
        assert json.loads(redacted)  # spans cover whole escapes: still valid JSON
    assert g.check(json.dumps({"content": "Zoë was\napproved"})) == []


def test_guard_from_plain_values_and_rejects_bytes():
    g = OutboundGuard(["Jane Roe", "555 010 9999", 7])
    assert [f.kind for f in g.check("jane roe; 5550109999; 7 days")] == ["record", "record"]
    with pytest.raises(ParameterError, match="request body as text"):
        g.check(b"x")  # type: ignore[arg-type]


# --------------------------------------------------------------- planted identifiers
FIRST = ["Anna", "Ben", "Chloe", "Dmitri", "Emeka", "Fatima", "Giulia", "Hiroshi", "Ines",
         "Jonas", "Kwame", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa",
         "Jürgen", "Zoë", "Łucja", "José"]
LAST = ["Schmidt", "Okafor", "Rossi", "Tanaka", "Kowalski", "Haddad", "Fernandes", "Nguyen",
        "Lindqvist", "Moreau", "Petrov", "Andersen", "Castillo", "Yilmaz", "Brennan",
        "Müller", "Ødegård", "Öztürk", "Núñez"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
FILLER = ["the", "applicant", "asked", "for", "a", "loan", "of", "1,234.56", "EUR", "over",
          "24", "months", "score", "612", "threshold", "0.5", "in", "2024", "opened",
          "2021-03-04", "port", "443", "flow", "lasted", "3.2", "seconds", "at", "10:30",
          "risk", "rose", "by", "12%", "reason", "duration", "credit", "history", "alert",
          "node", "55", "process", "powershell.exe", "wrote", "klog2.txt", "P(bad)", "0.61"]
IBAN_FORMATS = {"DE": "n18", "GB": "a4n14", "FR": "n23", "NL": "a4n10", "ES": "n20",
                "IT": "a1n22", "CH": "n17", "BE": "n12", "AT": "n16", "PL": "n24",
                "NO": "n11", "SE": "n20"}


def _gen_card(rng):
    prefix, n = rng.choice([("4", 16), ("51", 16), ("55", 16), ("34", 15), ("37", 15),
                            ("6011", 16), ("4", 19), ("36", 14), ("4", 13)])
    num = luhn_complete(prefix + "".join(rng.choice("0123456789")
                                         for _ in range(n - len(prefix) - 1)))
    sep = rng.choice([" ", "-", ""])
    return sep.join(num[i:i + 4] for i in range(0, len(num), 4))


def _gen_iban(rng):
    cc = rng.choice(sorted(IBAN_FORMATS))
    bban = ""
    for part in re.findall(r"[an]\d+", IBAN_FORMATS[cc]):
        pool = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if part[0] == "a" else "0123456789"
        bban += "".join(rng.choice(pool) for _ in range(int(part[1:])))
    iban = iban_complete(cc, bban)
    assert iban_valid(iban)
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if rng.random() < 0.6 \
        else iban


def _gen_email(rng):
    local = rng.choice([f"{rng.choice(FIRST)}.{rng.choice(LAST)}",
                        f"{rng.choice(FIRST)[0]}{rng.choice(LAST)}{rng.randint(1, 99)}",
                        f"{rng.choice(LAST)}+loans"]).lower()
    return f"{local}@{rng.choice(['example.org', 'mail.example.co.uk', 'bank-x.de'])}"


def _gen_phone(rng):
    d = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    nz = lambda n: rng.choice("23456789") + d(n - 1)  # noqa: E731
    return rng.choice([
        f"+49 {nz(2)} {d(7)}", f"+1 ({nz(3)}) {nz(3)}-{d(4)}", f"+44 20 {nz(4)} {d(4)}",
        f"+33 {rng.choice('1234567')} {d(2)} {d(2)} {d(2)} {d(2)}", f"0044 20 {nz(4)} {d(4)}",
        f"({nz(3)}) {nz(3)}-{d(4)}", f"{nz(3)}-{nz(3)}-{d(4)}", f"0{nz(2)} {d(8)}",
        f"0{nz(3)}/{d(7)}", f"+{rng.randint(30, 99)} {nz(3)} {d(3)} {d(3)}",
    ])


def _gen_ssn(rng):
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def _gen_dob(rng):
    y, m, day = rng.randint(1930, 2005), rng.randint(1, 12), rng.randint(1, 28)
    date = rng.choice([f"{y}-{m:02d}-{day:02d}", f"{day:02d}.{m:02d}.{y}", f"{day:02d}/{m:02d}/{y}",
                       f"{day} {MONTHS[m - 1]} {y}", f"{MONTHS[m - 1]} {day}, {y}"])
    ctx = rng.choice(["born on ", "DOB: ", "date of birth ", "birthday: ", "born "])
    return ctx, date


GENERATORS = {
    "card": _gen_card, "iban": _gen_iban, "email": _gen_email, "phone": _gen_phone,
    "ssn": _gen_ssn,
    "ipv4": lambda r: str(ipaddress.IPv4Address(r.getrandbits(32))),
    "ipv6": lambda r: rng_ipv6(r),
}


def rng_ipv6(rng):
    ip = ipaddress.IPv6Address(rng.getrandbits(128) >> rng.choice([0, 0, 64, 96]))
    return ip.exploded if rng.random() < 0.3 else ip.compressed


def _filler(rng, n):
    return " ".join(rng.choice(FILLER) for _ in range(n))


def planted(seed=2026, per_kind=70):
    """(kind, identifier, body, record) for >= 500 identifiers of 9 kinds."""
    rng = random.Random(seed)
    cases = []
    for kind in [*GENERATORS, "dob", "name"]:
        for _ in range(per_kind):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            record = {"first_name": first, "last_name": last, "age_years": rng.randint(18, 80),
                      "credit_amount": rng.randint(250, 20000)}
            pre, post = _filler(rng, rng.randint(3, 12)), _filler(rng, rng.randint(3, 12))
            if kind == "dob":
                ctx, ident = _gen_dob(rng)
                body = f"{pre}. The customer was {ctx}{ident}, {post}"
            elif kind == "name":
                record["full_name"] = f"{first} {last}"
                ident = rng.choice([f"{first} {last}", last, last.upper(), f"{last}, {first}",
                                    first, f"{first.lower()} {last.lower()}"])
                body = f"{pre}. Dear {ident}, {post}"
            else:
                ident = GENERATORS[kind](rng)
                body = f"{pre} ({ident}) {post}"
            cases.append((kind, ident, body, record))
    return cases


CASES = planted()


def test_planted_set_is_large_and_varied():
    assert len(CASES) >= 500
    assert len({k for k, *_ in CASES}) >= 8


def _leaked(ident: str, out: str, out_digits: str | None = None) -> bool:
    if ident in out or ident.casefold() in out.casefold():
        return True
    digits = re.sub(r"\D", "", ident)
    # Long digit strings must not survive with their separators changed either.
    out_digits = re.sub(r"\D", "", out) if out_digits is None else out_digits
    return len(digits) >= 6 and digits in out_digits


def test_redact_leaves_no_planted_identifier():
    leaks = []
    for kind, ident, body, record in CASES:
        if kind == "name":  # names need the record: the guard redacts them
            out, fs = OutboundGuard(record).redact(body)
        else:
            out, fs = redact(body)
            assert f"[{kind.upper()}]" in out, (kind, body)
        if _leaked(ident, out):
            leaks.append((kind, body, out))
        # filler words around the identifier survive: redaction is not wholesale
        assert out.split(" ")[0] == body.split(" ")[0]
    assert leaks == []


def test_guard_blocks_every_planted_body_leak_rate_zero():
    sent = []  # what a fake LLM server would have recorded

    def send(guard, body):
        try:
            sent.append(guard.enforce(body))
        except PiiLeakError:
            pass

    for _, _, body, record in CASES:
        guard = OutboundGuard(record)
        send(guard, body)
        # as a narrator sends it: a JSON chat request, non-ASCII escaped
        send(guard, json.dumps({"model": "m", "messages": [
            {"role": "system", "content": "Rewrite the report.\n"},
            {"role": "user", "content": f"Report:\n{body}\n"}]}))
    assert sent == []
    # and the guard did not block what carried nothing
    rng = random.Random(11)
    for _, _, _, record in CASES[:200]:
        send(OutboundGuard(record), _filler(rng, 30))
    assert len(sent) == 200


def test_all_planted_identifiers_in_one_document():
    doc = "\n".join(body for kind, _, body, _ in CASES if kind != "name")
    out, fs = redact(doc)
    assert len(fs) >= sum(kind != "name" for kind, *_ in CASES)
    out_digits = re.sub(r"\D", "", out)
    assert [i for k, i, _, _ in CASES if k != "name" and _leaked(i, out, out_digits)] == []


def test_filler_alone_has_no_findings():
    rng = random.Random(7)
    for _ in range(200):
        assert find_pii(_filler(rng, 40)) == []


def _number_noise(rng):
    """A token of the figures narratives are full of: counts, amounts, rates, dates, times."""
    r = rng.random()
    if r < 0.2:
        return str(rng.randint(0, 999))
    if r < 0.3:
        return f"{rng.randint(1, 99999):,}.{rng.randint(0, 99):02d}"
    if r < 0.35:
        return f"{rng.randint(1990, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if r < 0.4:
        return f"{rng.random():.4f}"
    if r < 0.45:
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    if r < 0.5:
        return str(rng.randint(1000, 99999999))
    if r < 0.55:
        return f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1990, 2030)}"
    if r < 0.6:
        return f"+{rng.randint(1, 30)}%"
    return rng.choice(FILLER)


def test_numbers_in_narratives_are_not_pii():
    # 1,000 texts of 30 tokens, ~18,000 figures: no phone, card or other finding among them.
    rng = random.Random(3)
    hits = []
    for _ in range(1000):
        text = " ".join(_number_noise(rng) for _ in range(30))
        hits += [(f.kind, f.text) for f in find_pii(text)]
    assert hits == []


def test_request_bodies_with_hashes_and_uuids_are_clean():
    # Digests, UUIDs and timestamps fill real request bodies; none of them is PII.
    rng = random.Random(5)
    guard = OutboundGuard(RECORD)
    for i in range(2000):
        body = json.dumps({
            "model": "gemma-3-270m", "digest": hashlib.sha256(str(i).encode()).hexdigest(),
            "run": str(uuid.UUID(int=rng.getrandbits(128))), "ts": "2026-12-07T18:11:38Z",
            "messages": [{"role": "user", "content": _filler(rng, 20)}], "max_tokens": 256})
        assert guard.check(body) == [], body


def test_pseudonymised_alerts_pass_the_guard():
    p, rng = Pseudonymizer(KEY), random.Random(9)
    guard = OutboundGuard({"Src IP": "10.1.2.3"})
    for _ in range(300):
        ips = [str(ipaddress.IPv4Address(rng.getrandbits(32))), rng_ipv6(rng)]
        text = f"alert: {ips[0]} beaconed to {ips[1]} on port 443 ({_filler(rng, 5)})"
        assert guard.check(text) != []
        assert guard.check(p.text(text)) == []


# --------------------------------------------------------------------------- properties
_card_numbers = st.tuples(st.sampled_from(["4", "51", "37", "6011"]),
                          st.text("0123456789", min_size=12, max_size=14)).map(
    lambda t: luhn_complete((t[0] + t[1])[:15]))


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(num=_card_numbers, sep=st.sampled_from(["", " ", "-"]),
       pre=st.text("abcxyz ,.;", max_size=20), post=st.text("abcxyz ,.;", max_size=20))
def test_property_any_luhn_card_is_found(num, sep, pre, post):
    card = sep.join(num[i:i + 4] for i in range(0, len(num), 4))
    out, _ = redact(f"{pre} {card} {post}")
    assert re.sub(r"\D", "", num) not in re.sub(r"\D", "", out)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text("0123456789 -.+@:/()abcdefAF", max_size=60))
def test_property_redacted_text_has_no_findings(text):
    assert find_pii(redact(text)[0]) == []


_values = st.text("abcxyzABÄéß0123456789 -.@/", min_size=3, max_size=24).filter(
    lambda v: sum(c.isalpha() for c in v) >= 2 or sum(c.isdigit() for c in v) >= 4)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(value=_values, pre=st.sampled_from(FILLER), post=st.sampled_from(FILLER),
       escape=st.booleans())
def test_property_guard_finds_any_record_value(value, pre, post, escape):
    body = f"{pre} {value} {post}"
    if escape:
        body = json.dumps({"content": body})
    assert OutboundGuard({"notes": value}, declared=["notes"]).check(body) != []


def test_kinds_constant():
    assert set(KINDS) == {"card", "iban", "email", "ssn", "ipv6", "ipv4", "dob", "phone"}


def test_digits_of_a_decimal_number_are_not_a_card():
    # a probability printed in full carries a Luhn-valid run of digits
    assert find_pii('{"p_bad": 0.96058954485903, "score": 12.4111111111111116}') == []
    assert [f.kind for f in find_pii("card 4111 1111 1111 1111.")] == ["card"]
