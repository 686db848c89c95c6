"""Declarative tables behind :func:`riskscope.io.flows.read_flows`.

Everything here is data: the three published CICIDS2017 CSV headers, the alias table that
maps every known spelling of a CICFlowMeter feature onto one canonical name, the meta
columns, and the canonical spellings of the labels. ``flows.py`` holds the logic (with
``_flow_read.py`` for one file and ``_flow_clean.py`` for policies and duplicates).

Canonical feature names are the original MachineLearningCVE names stripped of their
surrounding spaces (``"Flow Duration"``, ``"Init_Win_bytes_forward"``, ``"CWE Flag Count"``
with the release's own typo). Matching is case-, space- and underscore-insensitive
(:func:`name_key`), so ``" Fwd Header Length"``, ``"fwd header length"`` and
``"Fwd_Header_Length"`` are one column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

import polars as pl

__all__ = [
    "ATTEMPTED_SUFFIX",
    "ColumnPlan",
    "LabelFix",
    "CANONICAL_FEATURES",
    "CANONICAL_LABELS",
    "FEATURE_ALIASES",
    "HASH_FEATURES",
    "IMPROVED_HEADER",
    "LABEL_ALIASES",
    "LAYOUTS",
    "MACHINE_LEARNING_CVE_HEADER",
    "META_ALIASES",
    "META_COLUMNS",
    "TRAFFIC_LABELLING_HEADER",
    "label_key",
    "name_key",
    "normalise_label",
    "parse_timestamps",
    "plan_columns",
]

# --- the three published layouts, header text exactly as in the files ----------------

#: MachineLearningCVE/*.csv: 79 columns, leading spaces, ``Fwd Header Length`` twice.
MACHINE_LEARNING_CVE_HEADER: tuple[str, ...] = (
    " Destination Port", " Flow Duration", " Total Fwd Packets", " Total Backward Packets",
    "Total Length of Fwd Packets", " Total Length of Bwd Packets", " Fwd Packet Length Max",
    " Fwd Packet Length Min", " Fwd Packet Length Mean", " Fwd Packet Length Std",
    "Bwd Packet Length Max", " Bwd Packet Length Min", " Bwd Packet Length Mean",
    " Bwd Packet Length Std", "Flow Bytes/s", " Flow Packets/s", " Flow IAT Mean",
    " Flow IAT Std", " Flow IAT Max", " Flow IAT Min", "Fwd IAT Total", " Fwd IAT Mean",
    " Fwd IAT Std", " Fwd IAT Max", " Fwd IAT Min", "Bwd IAT Total", " Bwd IAT Mean",
    " Bwd IAT Std", " Bwd IAT Max", " Bwd IAT Min", "Fwd PSH Flags", " Bwd PSH Flags",
    " Fwd URG Flags", " Bwd URG Flags", " Fwd Header Length", " Bwd Header Length",
    "Fwd Packets/s", " Bwd Packets/s", " Min Packet Length", " Max Packet Length",
    " Packet Length Mean", " Packet Length Std", " Packet Length Variance", "FIN Flag Count",
    " SYN Flag Count", " RST Flag Count", " PSH Flag Count", " ACK Flag Count",
    " URG Flag Count", " CWE Flag Count", " ECE Flag Count", " Down/Up Ratio",
    " Average Packet Size", " Avg Fwd Segment Size", " Avg Bwd Segment Size",
    " Fwd Header Length", "Fwd Avg Bytes/Bulk", " Fwd Avg Packets/Bulk", " Fwd Avg Bulk Rate",
    " Bwd Avg Bytes/Bulk", " Bwd Avg Packets/Bulk", "Bwd Avg Bulk Rate", "Subflow Fwd Packets",
    " Subflow Fwd Bytes", " Subflow Bwd Packets", " Subflow Bwd Bytes",
    "Init_Win_bytes_forward", " Init_Win_bytes_backward", " act_data_pkt_fwd",
    " min_seg_size_forward", "Active Mean", " Active Std", " Active Max", " Active Min",
    "Idle Mean", " Idle Std", " Idle Max", " Idle Min", " Label",
)  # fmt: skip

#: TrafficLabelling/*.csv (GeneratedLabelledFlows): 85 columns. The CICFlowMeter header
#: ``Flow ID, Source IP, Source Port, Destination IP, Destination Port, Protocol,
#: Timestamp, Flow Duration, ...`` written with ", " separators, so every name after the
#: first carries a leading space; MachineLearningCVE is this file without the six
#: identifier columns (Destination Port kept).
TRAFFIC_LABELLING_HEADER: tuple[str, ...] = (
    "Flow ID", " Source IP", " Source Port", " Destination IP", " Destination Port",
    " Protocol", " Timestamp", *MACHINE_LEARNING_CVE_HEADER[1:],
)  # fmt: skip

#: The corrected release (Engelen et al., CNS2022 "CICIDS2017_improved"): 91 columns, in
#: file order (also :data:`riskscope.datasets.CICIDS2017_IMPROVED_COLUMNS`).
IMPROVED_HEADER: tuple[str, ...] = (
    "id", "Flow ID", "Src IP", "Src Port", "Dst IP", "Dst Port", "Protocol", "Timestamp",
    "Flow Duration", "Total Fwd Packet", "Total Bwd packets", "Total Length of Fwd Packet",
    "Total Length of Bwd Packet", "Fwd Packet Length Max", "Fwd Packet Length Min",
    "Fwd Packet Length Mean", "Fwd Packet Length Std", "Bwd Packet Length Max",
    "Bwd Packet Length Min", "Bwd Packet Length Mean", "Bwd Packet Length Std",
    "Flow Bytes/s", "Flow Packets/s", "Flow IAT Mean", "Flow IAT Std", "Flow IAT Max",
    "Flow IAT Min", "Fwd IAT Total", "Fwd IAT Mean", "Fwd IAT Std", "Fwd IAT Max",
    "Fwd IAT Min", "Bwd IAT Total", "Bwd IAT Mean", "Bwd IAT Std", "Bwd IAT Max",
    "Bwd IAT Min", "Fwd PSH Flags", "Bwd PSH Flags", "Fwd URG Flags", "Bwd URG Flags",
    "Fwd RST Flags", "Bwd RST Flags", "Fwd Header Length", "Bwd Header Length",
    "Fwd Packets/s", "Bwd Packets/s", "Packet Length Min", "Packet Length Max",
    "Packet Length Mean", "Packet Length Std", "Packet Length Variance", "FIN Flag Count",
    "SYN Flag Count", "RST Flag Count", "PSH Flag Count", "ACK Flag Count", "URG Flag Count",
    "CWR Flag Count", "ECE Flag Count", "Down/Up Ratio", "Average Packet Size",
    "Fwd Segment Size Avg", "Bwd Segment Size Avg", "Fwd Bytes/Bulk Avg",
    "Fwd Packet/Bulk Avg", "Fwd Bulk Rate Avg", "Bwd Bytes/Bulk Avg", "Bwd Packet/Bulk Avg",
    "Bwd Bulk Rate Avg", "Subflow Fwd Packets", "Subflow Fwd Bytes", "Subflow Bwd Packets",
    "Subflow Bwd Bytes", "FWD Init Win Bytes", "Bwd Init Win Bytes", "Fwd Act Data Pkts",
    "Fwd Seg Size Min", "Active Mean", "Active Std", "Active Max", "Active Min", "Idle Mean",
    "Idle Std", "Idle Max", "Idle Min", "ICMP Code", "ICMP Type", "Total TCP Flow Time",
    "Label", "Attempted Category",
)  # fmt: skip

#: Layout name -> header, in the order layouts are tried when two match equally well.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "machine_learning_cve": MACHINE_LEARNING_CVE_HEADER,
    "traffic_labelling": TRAFFIC_LABELLING_HEADER,
    "cicids2017_improved": IMPROVED_HEADER,
}

# --- the alias table -----------------------------------------------------------------

#: Canonical feature name -> other spellings. Sources: the corrected CICIDS2017 release
#: (Engelen et al.; ``Total Fwd Packet``, ``FWD Init Win Bytes``, ...) and the
#: CICFlowMeter-V3 abbreviations of CSE-CIC-IDS2018 (``Tot Fwd Pkts``, ``Flow Byts/s``,
#: ...). The key order is the output column order. The last five exist only in the
#: corrected release and keep their own names.
FEATURE_ALIASES: dict[str, tuple[str, ...]] = {
    "Protocol": (),
    "Flow Duration": (),
    "Total Fwd Packets": ("Total Fwd Packet", "Tot Fwd Pkts"),
    "Total Backward Packets": ("Total Bwd packets", "Tot Bwd Pkts"),
    "Total Length of Fwd Packets": ("Total Length of Fwd Packet", "TotLen Fwd Pkts"),
    "Total Length of Bwd Packets": ("Total Length of Bwd Packet", "TotLen Bwd Pkts"),
    "Fwd Packet Length Max": ("Fwd Pkt Len Max",),
    "Fwd Packet Length Min": ("Fwd Pkt Len Min",),
    "Fwd Packet Length Mean": ("Fwd Pkt Len Mean",),
    "Fwd Packet Length Std": ("Fwd Pkt Len Std",),
    "Bwd Packet Length Max": ("Bwd Pkt Len Max",),
    "Bwd Packet Length Min": ("Bwd Pkt Len Min",),
    "Bwd Packet Length Mean": ("Bwd Pkt Len Mean",),
    "Bwd Packet Length Std": ("Bwd Pkt Len Std",),
    "Flow Bytes/s": ("Flow Byts/s",),
    "Flow Packets/s": ("Flow Pkts/s",),
    "Flow IAT Mean": (),
    "Flow IAT Std": (),
    "Flow IAT Max": (),
    "Flow IAT Min": (),
    "Fwd IAT Total": ("Fwd IAT Tot",),
    "Fwd IAT Mean": (),
    "Fwd IAT Std": (),
    "Fwd IAT Max": (),
    "Fwd IAT Min": (),
    "Bwd IAT Total": ("Bwd IAT Tot",),
    "Bwd IAT Mean": (),
    "Bwd IAT Std": (),
    "Bwd IAT Max": (),
    "Bwd IAT Min": (),
    "Fwd PSH Flags": (),
    "Bwd PSH Flags": (),
    "Fwd URG Flags": (),
    "Bwd URG Flags": (),
    "Fwd Header Length": ("Fwd Header Len",),
    "Bwd Header Length": ("Bwd Header Len",),
    "Fwd Packets/s": ("Fwd Pkts/s",),
    "Bwd Packets/s": ("Bwd Pkts/s",),
    "Min Packet Length": ("Packet Length Min", "Pkt Len Min"),
    "Max Packet Length": ("Packet Length Max", "Pkt Len Max"),
    "Packet Length Mean": ("Pkt Len Mean",),
    "Packet Length Std": ("Pkt Len Std",),
    "Packet Length Variance": ("Pkt Len Var",),
    "FIN Flag Count": ("FIN Flag Cnt",),
    "SYN Flag Count": ("SYN Flag Cnt",),
    "RST Flag Count": ("RST Flag Cnt",),
    "PSH Flag Count": ("PSH Flag Cnt",),
    "ACK Flag Count": ("ACK Flag Cnt",),
    "URG Flag Count": ("URG Flag Cnt",),
    # CICFlowMeter's typo in the original release; the corrected one spells it CWR.
    "CWE Flag Count": ("CWR Flag Count", "CWE Flag Cnt", "CWR Flag Cnt"),
    "ECE Flag Count": ("ECE Flag Cnt",),
    "Down/Up Ratio": (),
    "Average Packet Size": ("Pkt Size Avg",),
    "Avg Fwd Segment Size": ("Fwd Segment Size Avg", "Fwd Seg Size Avg"),
    "Avg Bwd Segment Size": ("Bwd Segment Size Avg", "Bwd Seg Size Avg"),
    "Fwd Avg Bytes/Bulk": ("Fwd Bytes/Bulk Avg", "Fwd Byts/b Avg"),
    "Fwd Avg Packets/Bulk": ("Fwd Packet/Bulk Avg", "Fwd Pkts/b Avg"),
    "Fwd Avg Bulk Rate": ("Fwd Bulk Rate Avg", "Fwd Blk Rate Avg"),
    "Bwd Avg Bytes/Bulk": ("Bwd Bytes/Bulk Avg", "Bwd Byts/b Avg"),
    "Bwd Avg Packets/Bulk": ("Bwd Packet/Bulk Avg", "Bwd Pkts/b Avg"),
    "Bwd Avg Bulk Rate": ("Bwd Bulk Rate Avg", "Bwd Blk Rate Avg"),
    "Subflow Fwd Packets": ("Subflow Fwd Pkts",),
    "Subflow Fwd Bytes": ("Subflow Fwd Byts",),
    "Subflow Bwd Packets": ("Subflow Bwd Pkts",),
    "Subflow Bwd Bytes": ("Subflow Bwd Byts",),
    "Init_Win_bytes_forward": ("FWD Init Win Bytes", "Init Fwd Win Byts"),
    "Init_Win_bytes_backward": ("Bwd Init Win Bytes", "Init Bwd Win Byts"),
    "act_data_pkt_fwd": ("Fwd Act Data Pkts",),
    "min_seg_size_forward": ("Fwd Seg Size Min",),
    "Active Mean": (),
    "Active Std": (),
    "Active Max": (),
    "Active Min": (),
    "Idle Mean": (),
    "Idle Std": (),
    "Idle Max": (),
    "Idle Min": (),
    "Fwd RST Flags": (),
    "Bwd RST Flags": (),
    "ICMP Code": (),
    "ICMP Type": (),
    "Total TCP Flow Time": (),
}

#: Canonical feature names in output order.
CANONICAL_FEATURES: tuple[str, ...] = tuple(FEATURE_ALIASES)

#: Features with many distinct values in CICFlowMeter output. Row hashes for duplicate
#: detection are computed over these only (4x cheaper than all 76); rows that agree on
#: them are then compared on every feature, so the choice affects speed, never results.
HASH_FEATURES: tuple[str, ...] = (
    "Flow Duration", "Flow Bytes/s", "Flow Packets/s", "Flow IAT Mean", "Flow IAT Std",
    "Flow IAT Max", "Flow IAT Min", "Fwd IAT Total", "Fwd IAT Mean", "Bwd IAT Total",
    "Fwd Packets/s", "Bwd Packets/s", "Total Length of Fwd Packets",
    "Total Length of Bwd Packets", "Packet Length Variance", "Init_Win_bytes_forward",
    "Init_Win_bytes_backward", "Average Packet Size",
)  # fmt: skip

#: Meta column -> spellings in the files. Identifiers are never features: a model that
#: learns the lab's addresses and ports learns the lab, not the attacks (Engelen et al.).
#: ``protocol`` is also a feature; the meta copy keeps it for conversation splits.
META_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "flow_id": ("Flow ID",),
    "src_ip": ("Source IP", "Src IP"),
    "src_port": ("Source Port", "Src Port"),
    "dst_ip": ("Destination IP", "Dst IP"),
    "dst_port": ("Destination Port", "Dst Port"),
    "protocol": ("Protocol",),
    "timestamp": ("Timestamp",),
    "attempted_category": ("Attempted Category",),
}

#: Meta columns in output order.
META_COLUMNS: tuple[str, ...] = tuple(META_ALIASES)

#: Spellings of the label column looked for when ``label_column`` is not given.
LABEL_ALIASES: tuple[str, ...] = ("Label",)

# --- labels --------------------------------------------------------------------------

#: label_key(spelling) -> canonical spelling. Keys ignore case, spaces and punctuation,
#: so "Web Attack \ufffd Brute Force", "WEB ATTACK - BRUTE FORCE" and "Web Attack Brute
#: Force" are one label; the corrected release's names (Portscan, Botnet, DoS Slowloris,
#: Web Attack - SQL Injection, Infiltration - Portscan) map to the original spellings.
CANONICAL_LABELS: dict[str, str] = {
    "benign": "BENIGN",
    "doshulk": "DoS Hulk",
    "portscan": "PortScan",
    "bot": "Bot",
    "botnet": "Bot",
    "webattackbruteforce": "Web Attack - Brute Force",
    "webattackxss": "Web Attack - XSS",
    "webattacksqlinjection": "Web Attack - Sql Injection",
    "infiltration": "Infiltration",
    "infiltrationportscan": "Infiltration - PortScan",
    "heartbleed": "Heartbleed",
    "ddos": "DDoS",
    "dosgoldeneye": "DoS GoldenEye",
    "dosslowloris": "DoS slowloris",
    "dosslowhttptest": "DoS Slowhttptest",
    "ftppatator": "FTP-Patator",
    "sshpatator": "SSH-Patator",
}

#: The corrected release marks attack flows that carried no attack payload with this
#: suffix ("DoS Hulk - Attempted"); matched on the dash-repaired, stripped label.
ATTEMPTED_SUFFIX = re.compile(r"\s*-\s*attempted$", re.IGNORECASE)

_KEY_DROP = re.compile(r"[\s_]+")
_LABEL_DROP = re.compile(r"[^0-9a-z]+")


def name_key(name: str) -> str:
    """Matching key of a column name: lower case, no spaces, underscores or BOM."""
    return _KEY_DROP.sub("", name.replace("\ufeff", "").lower())


def label_key(label: str) -> str:
    """Matching key of a label: lower case letters and digits only."""
    return _LABEL_DROP.sub("", label.lower())


# --- labels: one raw spelling -> canonical -----------------------------------------------

#: Damaged or typographic dashes seen in CICIDS2017 labels: the cp1252 en dash (byte 0x96)
#: read as UTF-8 (U+FFFD) or as Latin-1 (U+0096), and proper en/em dashes.
_DASHES = str.maketrans({"\ufffd": "-", "\x96": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"})
_SPACES = re.compile(r"\s+")


class LabelFix(NamedTuple):
    """How one raw label spelling is read."""

    label: str  #: canonical spelling (the base class for attempted flows)
    known: bool  #: whether the base is a CICIDS2017 class
    attempted: bool  #: whether the raw label carried the " - Attempted" suffix


def normalise_label(raw: str) -> LabelFix:
    """Canonical spelling of a raw label; unknown labels keep their text, cleaned.

    Examples
    --------
    >>> from riskscope.io._flow_schema import normalise_label
    >>> normalise_label(" Web Attack \ufffd Brute Force ")
    LabelFix(label='Web Attack - Brute Force', known=True, attempted=False)
    >>> normalise_label("DoS Hulk - Attempted")
    LabelFix(label='DoS Hulk', known=True, attempted=True)
    >>> normalise_label("Web Attack \u2013 Bogus")
    LabelFix(label='Web Attack - Bogus', known=False, attempted=False)
    """
    text = _SPACES.sub(" ", raw.translate(_DASHES)).strip()
    attempted = ATTEMPTED_SUFFIX.search(text)
    if attempted is not None and attempted.start() > 0:
        text = text[: attempted.start()]
    canonical = CANONICAL_LABELS.get(label_key(text))
    return LabelFix(canonical or text, canonical is not None, attempted is not None)


# --- columns: one file's header -> roles ------------------------------------------------

_FEATURE_BY_KEY: dict[str, str] = {
    name_key(alias): canon
    for canon, aliases in FEATURE_ALIASES.items()
    for alias in (canon, *aliases)
}
_META_BY_KEY: dict[str, str] = {
    name_key(alias): meta for meta, aliases in META_ALIASES.items() for alias in aliases
}
_LABEL_KEYS = {name_key(a) for a in LABEL_ALIASES}
# pandas and polars rename a repeated column "x.1" / "x_duplicated_0" when they read it.
_REPEAT = re.compile(r"^(.*?)(?:\.\d+|_duplicated_\d+)$")


@dataclass
class ColumnPlan:
    """Roles of one file's columns, by position (see :func:`plan_columns`)."""

    layout: str  #: a name in :data:`LAYOUTS`, or "custom" for any other header
    closest_layout: str  #: the known layout whose features this header covers best
    match: float  #: share of ``closest_layout``'s features found in this header
    features: dict[int, str] = field(default_factory=dict)  #: position -> canonical name
    meta: dict[int, str] = field(default_factory=dict)  #: position -> meta column
    label: int | None = None  #: position of the label column
    repeats: dict[int, str] = field(default_factory=dict)  #: position -> feature it repeats
    unknown: dict[int, str] = field(default_factory=dict)  #: position -> raw name (dropped)
    missing: list[str] = field(default_factory=list)  #: closest layout's features not found
    n_expected: int = 0  #: number of features in the closest layout


def _roles(names: list[str], label_column: str | None) -> ColumnPlan:
    plan = ColumnPlan(layout="custom", closest_layout="", match=0.0)
    label_keys = _LABEL_KEYS if label_column is None else {name_key(label_column)}
    exact = [i for i, n in enumerate(names) if label_column is not None and n == label_column]
    for i, raw in enumerate(names):
        key = name_key(raw)
        if plan.label is None and (i in exact or (not exact and key in label_keys)):
            plan.label = i
            continue
        feature = _FEATURE_BY_KEY.get(key)
        meta = _META_BY_KEY.get(key)
        if meta is not None and meta not in plan.meta.values():
            plan.meta[i] = meta
            if feature is None:
                continue
        if feature is None:
            repeat = _REPEAT.match(raw.strip())
            base = _FEATURE_BY_KEY.get(name_key(repeat.group(1))) if repeat else None
            if base is not None and base in plan.features.values():
                plan.repeats[i] = base
            else:
                plan.unknown[i] = raw
        elif feature in plan.features.values():
            plan.repeats[i] = feature
        else:
            plan.features[i] = feature
    return plan


def _layout_sets() -> dict[str, tuple[set[str], list[str]]]:
    out = {}
    for name, header in LAYOUTS.items():
        plan = _roles(list(header), None)
        out[name] = (set(plan.features.values()), [name_key(h) for h in header])
    return out


_LAYOUT_SETS = _layout_sets()


def plan_columns(names: list[str], *, label_column: str | None = None) -> ColumnPlan:
    """Assign a role to every column of a header and name the closest known layout.

    A header is one of the known :data:`LAYOUTS` when it has exactly that layout's
    columns (compared by :func:`name_key`, so spaces and case do not count); any other
    header is ``"custom"``. ``match`` says how much of the closest layout's feature set
    the header covers; the caller decides what is too little.

    Examples
    --------
    >>> from riskscope.io._flow_schema import IMPROVED_HEADER, plan_columns
    >>> plan = plan_columns(list(IMPROVED_HEADER))
    >>> plan.layout, len(plan.features), sorted(plan.meta.values())[:3]
    ('cicids2017_improved', 82, ['attempted_category', 'dst_ip', 'dst_port'])
    """
    plan = _roles(names, label_column)
    found = set(plan.features.values())
    keys = [name_key(n) for n in names]
    best: tuple[bool, float, int] | None = None
    for name, (features, header_keys) in _LAYOUT_SETS.items():
        exact = keys == header_keys
        score = (exact, len(found & features) / len(features), -len(found - features))
        if best is None or score > best:
            best = score
            plan.layout = name if exact else "custom"
            plan.closest_layout = name
            plan.match = round(score[1], 4)
            plan.missing = [f for f in CANONICAL_FEATURES if f in features and f not in found]
            plan.n_expected = len(features)
    return plan


# --- timestamps ---------------------------------------------------------------------------

_ISO = "%Y-%m-%d %H:%M:%S%.f"
_DMY = (
    r"^(\d{1,2})/(\d{1,2})/(\d{4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*([AaPp][Mm])?$"
)


def parse_timestamps(values: pl.Series) -> tuple[pl.Series, dict]:
    """Parse flow timestamps (ISO, or CICIDS2017's ``d/m/yyyy h:mm[:ss]``) to naive datetimes.

    Slash dates are day/month/year unless some second field exceeds 12 (the capture ran
    3-7 July 2017, written "3/7/2017"). Without AM/PM and with no hour above 12, hours
    1-7 are afternoon hours on a 12-hour clock and move to 13-19. Times are kept as
    written (the lab's local clock); nothing is converted between time zones.

    Returns the parsed series (``Datetime("ns")``, null where a value did not parse) and
    a dict: ``format`` read, ``unparsed`` count, ``pm_repaired`` count.

    Examples
    --------
    >>> import polars as pl
    >>> from riskscope.io._flow_schema import parse_timestamps
    >>> ts, info = parse_timestamps(pl.Series(["3/7/2017 8:55", "03/07/2017 03:12:58"]))
    >>> [str(t) for t in ts.to_list()], info["format"], info["pm_repaired"]
    (['2017-07-03 08:55:00', '2017-07-03 15:12:58'], 'day/month/year', 1)
    """
    text = values.cast(pl.String).str.strip_chars()
    present = len(text) - text.null_count()
    iso = text.str.to_datetime(_ISO, time_unit="ns", strict=False)
    n_iso = len(iso) - iso.null_count()
    if n_iso == present:
        return iso, {"format": "ISO", "unparsed": 0, "pm_repaired": 0}
    parts = text.str.extract_groups(_DMY).struct.unnest()
    first, second = parts["1"].cast(pl.Int32), parts["2"].cast(pl.Int32)
    month_first = bool((second > 12).any()) and not bool((first > 12).any())
    day, month = (second, first) if month_first else (first, second)
    hour = parts["4"].cast(pl.Int32)
    pm = parts["8"].str.to_lowercase()
    repaired = 0
    if pm.null_count() < len(pm):
        hour = hour % 12 + (pm == "pm").fill_null(False).cast(pl.Int32) * 12
    elif not bool((hour > 12).any()):
        afternoon = (hour >= 1) & (hour <= 7)
        repaired = int(afternoon.sum())
        hour = hour + afternoon.cast(pl.Int32) * 12
    cols = pl.DataFrame(
        [parts["3"], month, day, hour, parts["5"], parts["6"].fill_null("00"),
         parts["7"].fill_null("")]  # fmt: skip
    )
    stamp = cols.select(pl.format("{}-{}-{} {}:{}:{}{}", *cols.columns)).to_series()
    dmy = stamp.str.to_datetime(_ISO, time_unit="ns", strict=False)
    n_dmy = len(dmy) - dmy.null_count()
    if n_dmy < n_iso:
        return iso, {"format": "ISO", "unparsed": present - n_iso, "pm_repaired": 0}
    order = "month/day/year" if month_first else "day/month/year"
    return dmy, {"format": order, "unparsed": present - n_dmy, "pm_repaired": repaired}
