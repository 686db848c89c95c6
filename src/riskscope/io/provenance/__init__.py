"""Readers of host audit logs into :class:`~riskscope.graph.schema.ProvenanceGraph`.

One module per format, each with the same two functions:

``sniff(head: bytes) -> bool``
    Whether the first bytes of a file look like this format (for ``format="auto"``).
``read(path, **options) -> list[ProvenanceGraph]``
    Parse the file (streaming: line by line or batch by batch, never the whole file in
    memory as text). Malformed records are skipped and counted in
    ``graph.meta["parse"]``; a file with no usable record at all raises
    :class:`~riskscope.exceptions.InputError`. Most formats give one graph per file;
    StreamSpot files hold many (one per ``graph_id``).

Formats: ``strace`` (``strace -f -ttt -yy -s 256``), ``cdm`` (DARPA TC CDM18 JSON
lines), ``sysmon`` (Windows Sysmon JSON lines, e.g. OTRF Security-Datasets; ``.zip``
archives are read member by member), ``edr`` (node and edge tables, e.g. the Carbanak
Parquet files), ``streamspot`` (6-column TSV) and ``graph`` (a folder written by
:meth:`ProvenanceGraph.write`).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from riskscope.exceptions import InputError, ParameterError
from riskscope.graph.schema import ProvenanceGraph

__all__ = ["FORMATS", "detect_format", "is_table_folder", "read_provenance"]

#: Format name -> module (under this package) implementing ``sniff`` and ``read``.
FORMATS: dict[str, str] = {
    "strace": "strace",
    "cdm": "cdm",
    "sysmon": "sysmon",
    "edr": "edr",
    "streamspot": "streamspot",
}
_SNIFF_BYTES = 64 * 1024


def _module(fmt: str):
    return importlib.import_module(f"{__name__}.{FORMATS[fmt]}")


def _head(path: Path) -> bytes:
    if path.suffix == ".zip":
        import zipfile

        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if not members:
                return b""
            with zf.open(members[0]) as fh:
                return fh.read(_SNIFF_BYTES)
    if path.suffix == ".gz":
        import gzip

        try:
            with gzip.open(path, "rb") as fh:
                return fh.read(_SNIFF_BYTES)
        except (OSError, EOFError):
            pass  # not really gzip (or truncated): sniff the raw bytes below
    with open(path, "rb") as fh:
        return fh.read(_SNIFF_BYTES)


def is_table_folder(path: Path) -> bool:
    """Whether a folder holds a node table and an edge table (one graph, not many logs)."""
    if (path / "nodes.parquet").is_file():
        return True
    names = {p.name for p in path.iterdir() if p.is_file()}
    for ext in (".parquet", ".csv", ".csv.gz"):
        if f"nodes{ext}" in names and f"edges{ext}" in names:
            return True
        if any(n.endswith(f"_nodes{ext}") and n.replace("_nodes", "_edges") in names
               for n in names):
            return True
    return False


def detect_format(path: str | Path) -> str:
    """The format of ``path``, sniffed from its first bytes (or its layout for folders).

    Raises :class:`InputError` for a missing, empty or unrecognised input.
    """
    path = Path(path)
    if path.is_dir():
        if (path / "graph.json").is_file() and (path / "nodes.parquet").is_file():
            return "graph"
        if is_table_folder(path):
            return "edr"
        raise InputError(f"{path}: a folder must hold a node and an edge table (a saved "
                         "graph, or EDR nodes/edges or *_nodes/*_edges files); pass a log "
                         "file otherwise.")
    if not path.is_file():
        raise InputError(f"{path}: no such file; pass an audit log or a graph folder.")
    if path.suffix == ".parquet":
        return "edr"
    try:
        head = _head(path)
    except (OSError, ValueError) as exc:  # e.g. a corrupt zip archive
        raise InputError(f"{path}: cannot be read ({exc}); pass an audit log.") from None
    if not head.strip():
        raise InputError(f"{path}: the log is empty; record some activity first "
                         "(riskscope apt record --out LOG -- CMD).")
    for fmt in FORMATS:
        if _module(fmt).sniff(head):
            return fmt
    raise InputError(f"{path}: not a known audit-log format (first bytes "
                     f"{head[:40]!r}); use one of {sorted(FORMATS)} or pass --format.")


def read_provenance(path: str | Path, *, format: str = "auto", **options: Any
                    ) -> list[ProvenanceGraph]:
    """Parse an audit log (or a saved graph folder) into provenance graphs.

    Parameters
    ----------
    path : str or Path
        Log file, ``.zip`` of logs (Sysmon), EDR node table / folder, or graph folder.
    format : str
        ``"auto"`` (sniff) or one of :data:`FORMATS` or ``"graph"``.
    **options
        Passed to the format's reader.

    Returns
    -------
    list of ProvenanceGraph
        Validated graphs, with parse statistics in ``meta["parse"]``.
    """
    path = Path(path)
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "graph":
        return [ProvenanceGraph.read(path)]
    if fmt not in FORMATS:
        raise ParameterError(f"format must be 'auto', 'graph' or one of {sorted(FORMATS)}; "
                             f"got {format!r}.")
    return _module(fmt).read(path, **options)
