"""Parsing and validation behind the public loaders in :mod:`riskscope.datasets`."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskscope.datasets import _german_codes as gc
from riskscope.exceptions import InputError, SchemaError
from riskscope.io._flow_schema import IMPROVED_HEADER

__all__ = [
    "BUNDLED",
    "CICIDS2017_IMPROVED_COLUMNS",
    "GRAPH_EDGE_COLUMNS",
    "GRAPH_NODE_COLUMNS",
    "ProvenanceExcerpt",
    "dataset_card",
    "load_carbanak_excerpt",
    "load_cicids2017_excerpt",
    "load_german_credit",
    "parse_german",
    "validate_graph",
]

BUNDLED: tuple[str, ...] = ("german_credit", "cicids2017_excerpt", "carbanak_excerpt",
                             "apt_recorded")

REBUILD = "reinstall riskscope or rebuild it with `python scripts/make_bundled_data.py`"

#: The 91 columns of the corrected CICIDS2017 CSVs (Engelen et al.), in file order; the
#: ingest layer's table of that layout (datasets build on io, not the other way round).
CICIDS2017_IMPROVED_COLUMNS: tuple[str, ...] = IMPROVED_HEADER

GRAPH_NODE_COLUMNS: tuple[str, ...] = ("id", "type", "name", "time", "uuid")
GRAPH_EDGE_COLUMNS: tuple[str, ...] = ("src", "dst", "type", "time", "uuid")


# --- resources -----------------------------------------------------------------------


def _resource(dataset: str, filename: str) -> Traversable:
    # A Traversable rather than a Path so the data also loads from a zipped install;
    # tests replace this function to point a loader at a corrupted copy.
    return resources.files("riskscope.datasets") / dataset / filename


def _read_bytes(dataset: str, filename: str) -> bytes:
    res = _resource(dataset, filename)
    if not res.is_file():
        raise InputError(
            f"Bundled file '{dataset}/{filename}' is missing from the riskscope installation; "
            f"{REBUILD}."
        )
    return res.read_bytes()


def _check_name(name: str) -> None:
    if name not in BUNDLED:
        raise InputError(f"Unknown bundled dataset '{name}'; choose one of: {', '.join(BUNDLED)}.")


def dataset_card(name: str) -> dict:
    """Return the data card (source, licence, citation, counts) of a bundled dataset.

    Parameters
    ----------
    name : str
        One of :data:`BUNDLED`.

    Returns
    -------
    dict
        The parsed ``card.json``: ``name``, ``title``, ``description``, ``source``,
        ``licence``, ``citation``, ``rows`` (graphs: ``nodes`` and ``edges``),
        ``label_column``, ``label_counts``, ``columns``, ``files`` (name -> sha256),
        ``built_by`` and ``notes``.

    Raises
    ------
    InputError
        If ``name`` is not a bundled dataset.

    Examples
    --------
    >>> from riskscope.datasets import dataset_card
    >>> card = dataset_card("german_credit")
    >>> card["rows"], card["label_counts"]
    (1000, {'good': 700, 'bad': 300})
    """
    _check_name(name)
    return json.loads(_read_bytes(name, "card.json"))


# --- German credit -------------------------------------------------------------------


def parse_german(text: str, *, decode: bool, where: str, fix: str) -> pd.DataFrame:
    """Parse the text of UCI ``german.data`` into a validated frame.

    ``where`` names the file in error messages and ``fix`` says what to do about it, so
    the same parser serves the bundled copy and the shared raw file.
    """
    n_fields = len(gc.COLUMNS) + 1
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != n_fields:
            raise SchemaError(
                f"{where} line {lineno} has {len(fields)} fields; expected {n_fields} "
                f"(20 attributes and the class); {fix}."
            )
        rows.append(fields)
        line_numbers.append(lineno)
    if not rows:
        raise SchemaError(f"{where} has no data rows; {fix}.")

    data: dict[str, object] = {}
    for j, col in enumerate((*gc.COLUMNS, gc.TARGET)):
        raw = [r[j] for r in rows]
        if col in gc.NUMERIC:
            data[col] = _german_ints(raw, col, where, fix, line_numbers)
            continue
        book = gc.CLASS_CODES if col == gc.TARGET else gc.CODES[col]
        bad = next((i for i, v in enumerate(raw) if v not in book), None)
        if bad is not None:
            raise SchemaError(
                f"{where} line {line_numbers[bad]} has code '{raw[bad]}' in column '{col}'; "
                f"expected one of {', '.join(book)}; {fix}."
            )
        if col == gc.TARGET or decode:
            data[col] = pd.Categorical([book[v] for v in raw], categories=list(book.values()))
        else:
            data[col] = pd.Categorical(raw, categories=list(book))
    return pd.DataFrame(data)


def _german_ints(
    raw: list[str], col: str, where: str, fix: str, line_numbers: list[int]
) -> pd.Series:
    for i, v in enumerate(raw):
        if not v.isdigit():
            raise SchemaError(
                f"{where} line {line_numbers[i]} has '{v}' in numeric column '{col}'; "
                f"expected a non-negative integer; {fix}."
            )
    return pd.Series([int(v) for v in raw], dtype="int64")


def load_german_credit(*, decode: bool = True) -> pd.DataFrame:
    """Load UCI Statlog German credit: 1,000 applicants, 20 attributes, good/bad class.

    The bundled file is the unmodified UCI ``german.data``; the loader names the
    columns and, by default, replaces the ``A11``-style codes with the texts of the UCI
    attribute description.

    Parameters
    ----------
    decode : bool, default True
        Map the A-codes to readable categories (``"no checking account"``, ...). With
        ``False`` the categorical columns hold the raw codes (``"A14"``, ...).

    Returns
    -------
    pandas.DataFrame
        1,000 rows and 21 columns: 13 categorical attributes (``category`` dtype, every
        documented level present as a category), 7 numerical attributes (``int64``) and
        the target ``class`` (``category``: ``"good"``, ``"bad"``).

    Raises
    ------
    SchemaError
        If the bundled file is damaged (wrong field count, unknown code, non-integer).

    See Also
    --------
    dataset_card : source, licence and citation (Hofmann, UCI, CC BY 4.0).

    Examples
    --------
    >>> from riskscope.datasets import load_german_credit
    >>> df = load_german_credit()
    >>> df.shape
    (1000, 21)
    >>> df["class"].value_counts().to_dict()
    {'good': 700, 'bad': 300}
    >>> df.loc[0, "checking_status"], load_german_credit(decode=False).loc[0, "checking_status"]
    ('... < 0 DM', 'A11')
    """
    text = _read_bytes("german_credit", "german.data").decode("ascii")
    return parse_german(
        text, decode=decode, where="Bundled file 'german_credit/german.data'", fix=REBUILD
    )


# --- CICIDS2017 excerpt --------------------------------------------------------------


def load_cicids2017_excerpt() -> pd.DataFrame:
    """Load the bundled excerpt of the corrected CICIDS2017 flows, all 16 labels.

    Rows and values are exactly as in the corrected release by Engelen et al. (original
    column names, ``Timestamp`` parsed to datetime as :func:`riskscope.io.readers.read_table`
    parses the CSVs); nothing is cleaned. Every row of the five rarest classes is kept and
    the others are a seeded, class-proportional sample sized to fit the package.

    Returns
    -------
    pandas.DataFrame
        One row per flow, the 91 columns of :data:`CICIDS2017_IMPROVED_COLUMNS`; the label
        is in ``Label``.

    Raises
    ------
    SchemaError
        If a required column is missing or ``Label`` has missing values.

    See Also
    --------
    dataset_card : row and label counts, duplicates, citation (Sharafaldin et al. 2018;
        Engelen et al. 2021).

    Examples
    --------
    >>> from riskscope.datasets import load_cicids2017_excerpt
    >>> df = load_cicids2017_excerpt()
    >>> df.shape[1], df["Label"].nunique()
    (91, 16)
    >>> int((df["Label"] == "Heartbleed").sum())
    11
    """
    table = pq.read_table(pa.BufferReader(_read_bytes("cicids2017_excerpt", "flows.parquet")))
    where = "Bundled file 'cicids2017_excerpt/flows.parquet'"
    missing = [c for c in CICIDS2017_IMPROVED_COLUMNS if c not in table.column_names]
    if missing:
        raise SchemaError(
            f"{where} lacks {len(missing)} required column(s): {_preview(missing)}; "
            f"found {table.num_columns} columns; {REBUILD}."
        )
    n_null = table.column("Label").null_count
    if n_null:
        raise SchemaError(f"{where} has {n_null} rows with no 'Label'; {REBUILD}.")
    return table.to_pandas()


# --- Carbanak provenance excerpt -----------------------------------------------------


@dataclass(frozen=True, eq=False)
class ProvenanceExcerpt:
    """A slice of a provenance graph: node and edge tables plus the operator's log.

    Attributes
    ----------
    nodes : pandas.DataFrame
        ``id`` (unique int), ``type`` (process, file, regkey, socket), ``name``,
        ``time`` (UNIX microseconds), ``uuid``.
    edges : pandas.DataFrame
        ``src``, ``dst`` (node ids), ``type`` (filemod, regmod, moduleload, crossproc,
        netconn, procstart, procend, scriptload), ``time`` (UNIX microseconds), ``uuid``.
    attack_log : pandas.DataFrame
        The attack-log rows of the excerpt's time windows, columns as upstream plus
        ``telemetry_time_us``, the log time on the graph's clock.
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    attack_log: pd.DataFrame

    def validate(self, where: str = "provenance excerpt", fix: str = REBUILD) -> None:
        """Raise :class:`SchemaError` unless columns, id uniqueness and endpoints hold."""
        validate_graph(self.nodes, self.edges, where=where, fix=fix)


def validate_graph(nodes: pd.DataFrame, edges: pd.DataFrame, *, where: str, fix: str) -> None:
    """Check required columns, unique node ids and that every edge endpoint is a node."""
    for label, frame, required in (
        ("nodes", nodes, GRAPH_NODE_COLUMNS),
        ("edges", edges, GRAPH_EDGE_COLUMNS),
    ):
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise SchemaError(
                f"{where}: {label} table lacks column(s) {_preview(missing)}; found "
                f"{_preview(list(frame.columns))}; {fix}."
            )
    dup = nodes["id"].duplicated()
    if dup.any():
        first = nodes["id"][dup].iloc[0]
        raise SchemaError(
            f"{where}: {int(dup.sum())} node ids are repeated (first: id={first}); "
            f"node ids must be unique; {fix}."
        )
    known = pd.Index(nodes["id"])
    for end in ("src", "dst"):
        dangling = ~edges[end].isin(known)
        if dangling.any():
            pos = int(dangling.to_numpy().argmax())
            raise SchemaError(
                f"{where}: {int(dangling.sum())} edges have a '{end}' that is not a node id "
                f"(first: row {pos}, {end}={edges[end].iloc[pos]}); {fix}."
            )


def load_carbanak_excerpt() -> ProvenanceExcerpt:
    """Load a few thousand edges of the real Carbanak host provenance graph (host h3).

    Two short time windows around attack steps of the MITRE Carbanak emulation (the
    persistence step on 2024-05-07/08 and the keylogger step on 2024-05-08), every edge
    recorded in them and every node those edges touch. Node ids are those of the full
    graph, so results can be traced back.

    Returns
    -------
    ProvenanceExcerpt
        ``nodes``, ``edges`` and ``attack_log`` frames; validated.

    Raises
    ------
    SchemaError
        If a required column is missing, a node id repeats or an edge endpoint is not a
        node.

    See Also
    --------
    dataset_card : windows, counts and the attack-log clock offset.

    Examples
    --------
    >>> from riskscope.datasets import load_carbanak_excerpt
    >>> g = load_carbanak_excerpt()
    >>> sorted(g.nodes["type"].unique())
    ['file', 'process', 'regkey', 'socket']
    >>> bool(g.edges["src"].isin(g.nodes["id"]).all())
    True
    >>> "java-update.exe" in " ".join(g.nodes["name"])
    True
    """
    name = "carbanak_excerpt"
    nodes = pq.read_table(pa.BufferReader(_read_bytes(name, "nodes.parquet"))).to_pandas()
    edges = pq.read_table(pa.BufferReader(_read_bytes(name, "edges.parquet"))).to_pandas()
    log = pd.read_csv(io.BytesIO(_read_bytes(name, "attack_log.csv")))
    excerpt = ProvenanceExcerpt(nodes=nodes, edges=edges, attack_log=log)
    excerpt.validate(where=f"Bundled dataset '{name}'")
    return excerpt


def _preview(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


# --- recorded strace runs --------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRun:
    """One bundled strace recording: where its log is and what its ground truth says."""

    name: str
    split: str
    kind: str
    attack: bool
    log: Path
    truth: Path


def apt_recorded_runs(split: str | None = None) -> list[RecordedRun]:
    """The bundled recorded runs (``apt_recorded``), optionally of one split.

    ``train`` holds benign runs only; ``test`` holds benign runs and the two harmless
    attacks (drive-by download, reverse shell). Logs are gzip strace logs that
    :func:`riskscope.io.provenance.read_provenance` reads as they are.

    Examples
    --------
    >>> from riskscope.datasets import apt_recorded_runs
    >>> runs = apt_recorded_runs("test")
    >>> sorted({r.kind for r in runs if r.attack})
    ['driveby', 'revshell']
    """
    if split not in (None, "train", "test"):
        raise InputError(f"split must be 'train', 'test' or None; got {split!r}.")
    folder = resources.files("riskscope.datasets") / "apt_recorded"
    if not isinstance(folder, Path):  # zipped install: the readers need real files
        raise InputError(f"The bundled apt_recorded logs are not files on disk; {REBUILD}.")
    card = dataset_card("apt_recorded")
    out = []
    for f in sorted(card["files"]):
        if not f.endswith(".log.gz"):
            continue
        stem = f.removesuffix(".log.gz")
        part, kind, _ = stem.split("-", 2)
        if split is not None and part != split:
            continue
        truth = folder / f"{stem}.truth.json"
        attack = bool(json.loads(truth.read_text()).get("attack"))
        out.append(RecordedRun(stem, part, kind, attack, folder / f, truth))
    return out
