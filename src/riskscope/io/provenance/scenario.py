"""Ground truth of recorded scenario runs, and the node labels it implies.

``benchmarks/apt_record.py`` writes one ``<run>.truth.json`` beside each strace log:
``kind``, ``attack`` (bool), ``processes`` (executable or script paths, or pids, of the
attack's processes), ``markers`` (unique randomised names that appear in the attack
processes' names or command lines), ``files`` (paths the attack created or read),
``netflows`` (``ip:port`` endpoints the attack used) and ``command``. A benign run has
empty lists. :func:`label_graph` turns a truth into a boolean mask over a parsed
graph's nodes, the ``label`` column of :class:`~riskscope.graph.schema.ProvenanceGraph`.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from riskscope.exceptions import InputError
from riskscope.graph.schema import ProvenanceGraph

__all__ = ["TRUTH_FIELDS", "label_graph", "read_truth"]

#: Required fields of a truth file and their JSON types.
TRUTH_FIELDS: dict[str, type | tuple[type, ...]] = {
    "kind": str, "attack": bool, "processes": list, "files": list, "command": (list, str),
}  # fmt: skip


def read_truth(path: str | Path) -> dict[str, Any]:
    """Read and check a ``<run>.truth.json`` written by ``benchmarks/apt_record.py``.

    Parameters
    ----------
    path : str or Path
        The truth file.

    Returns
    -------
    dict
        The truth, with ``markers``, ``netflows`` (empty lists) and ``descendants``
        (True) filled in when absent.

    Raises
    ------
    InputError
        Missing file, invalid JSON, or a required field missing or of the wrong type.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "001.truth.json"
    >>> _ = p.write_text(json.dumps({"kind": "build", "attack": False, "processes": [],
    ...                              "files": [], "command": ["sh", "run.sh"]}))
    >>> t = read_truth(p)
    >>> (t["kind"], t["attack"], t["markers"])
    ('build', False, [])
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such truth file; record the scenarios with "
                         "benchmarks/apt_record.py (it writes <run>.truth.json beside each log).")
    try:
        truth = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc}); re-record the run.") from None
    if not isinstance(truth, dict):
        raise InputError(f"{path}: a truth file holds a JSON object; found "
                         f"{type(truth).__name__}.")
    for key, typ in TRUTH_FIELDS.items():
        if key not in truth:
            raise InputError(f"{path}: truth field {key!r} is missing (found "
                             f"{sorted(truth)}); a truth needs {list(TRUTH_FIELDS)}.")
        if not isinstance(truth[key], typ):
            raise InputError(f"{path}: truth field {key!r} must be "
                             f"{getattr(typ, '__name__', 'list or str')}; found "
                             f"{type(truth[key]).__name__}.")
    truth.setdefault("markers", [])
    truth.setdefault("netflows", [])
    truth.setdefault("descendants", True)
    return truth


def label_graph(graph: ProvenanceGraph, truth: dict[str, Any]) -> np.ndarray:
    """Boolean mask over ``graph``'s nodes: True for the attack's processes and objects.

    A process is an attack process when its name (executable) or pid is in
    ``truth["processes"]``, or a marker occurs in its name or command line; with
    ``truth["descendants"]`` (default) every process it started, transitively, is one
    too. Files and modules whose path is in ``truth["files"]`` and netflows whose
    ``ip:port`` is in ``truth["netflows"]`` are marked as well. A benign truth gives an
    all-False mask.

    Parameters
    ----------
    graph : ProvenanceGraph
        A parsed recording (e.g. from :func:`riskscope.io.provenance.strace.read`).
    truth : dict
        From :func:`read_truth` (or the same fields).

    Returns
    -------
    numpy.ndarray
        ``bool`` array of length ``graph.n_nodes``; attach it with
        ``graph.with_node_column("label", mask)``.

    Examples
    --------
    >>> import pandas as pd
    >>> g = ProvenanceGraph.from_frames(
    ...     pd.DataFrame({"id": ["1@0", "2@1", "3@2", "/h/.ssh/id_rsa", "/etc/hosts"],
    ...                   "type": ["process", "process", "process", "file", "file"],
    ...                   "name": ["/bin/sh", "/tmp/upd-x1.sh", "/bin/tar", "/h/.ssh/id_rsa",
    ...                            "/etc/hosts"]}),
    ...     pd.DataFrame({"src": [0, 1, 2, 0], "dst": [1, 2, 3, 4],
    ...                   "type": ["start", "start", "read", "read"], "ts": [1, 2, 3, 4]}))
    >>> truth = {"kind": "driveby", "attack": True, "processes": [], "markers": ["upd-x1"],
    ...          "files": ["/h/.ssh/id_rsa"], "command": "sh run.sh"}
    >>> label_graph(g, truth).tolist()
    [False, True, True, True, False]
    """
    n = graph.n_nodes
    mask = np.zeros(n, dtype=bool)
    if not truth.get("attack"):
        return mask
    types = graph.node_types()
    names = graph.nodes["name"].to_pylist()
    cmds = (graph.nodes["cmdline"].to_pylist() if "cmdline" in graph.nodes.column_names
            else [None] * n)
    pids = (graph.nodes["pid"].to_pylist() if "pid" in graph.nodes.column_names
            else [None] * n)
    wanted = {str(p) for p in truth.get("processes", [])}
    markers = [m for m in truth.get("markers", []) if m]
    for i in np.flatnonzero(types == "process"):
        text = f"{names[i] or ''}\0{cmds[i] or ''}"
        if (names[i] in wanted or (pids[i] is not None and str(pids[i]) in wanted)
                or any(m in text for m in markers)):
            mask[i] = True
    if truth.get("descendants", True) and mask.any():
        _mark_descendants(graph, mask)
    files = set(truth.get("files", []))
    flows = set(truth.get("netflows", []))
    for i, (t, name) in enumerate(zip(types, names, strict=True)):
        if (t != "process" and name in files) or (t == "netflow" and name in flows):
            mask[i] = True
    return mask


def _mark_descendants(graph: ProvenanceGraph, mask: np.ndarray) -> None:
    etype = np.asarray(graph.edges["type"].to_numpy(zero_copy_only=False), dtype=object)
    start = etype == "start"
    src = graph.edges["src"].to_numpy()[start]
    dst = graph.edges["dst"].to_numpy()[start]
    children: dict[int, list[int]] = {}
    for s, d in zip(src.tolist(), dst.tolist(), strict=True):
        children.setdefault(s, []).append(d)
    todo = deque(np.flatnonzero(mask).tolist())
    while todo:
        for c in children.get(todo.popleft(), ()):
            if not mask[c]:
                mask[c] = True
                todo.append(c)
