"""Ground truth for provenance graphs: which nodes belong to an attack.

No public host log used here ships per-node labels in the same form, so each source
gets a reader and a labelling rule, all returning a boolean mask aligned with
``graph.nodes`` (attach it with :func:`attach_labels`):

OTRF Security-Datasets (:func:`otrf_attack_processes`, :func:`label_by_process_names`)
    The dataset's YAML describes the simulation, not the events. The executables it
    names are taken as the attack's processes: every ``*.exe`` in the simulation text,
    the ``Process`` column of Empire's agent tables (``powershell`` -> powershell.exe),
    and Windows binaries from a short list (:data:`KNOWN_BINARIES`: ``FodHelper`` in
    the title, ``shell whoami``, ``[SC]``) named anywhere but the references.
    Limits: labels are per dataset, so every process with such a name is labelled,
    benign instances included (an OTRF log holds a few minutes around one technique,
    so these are few); a name in the text that never ran (``psexec.exe`` for Empire's
    PowerShell re-implementation) simply labels nothing; processes the YAML does not
    name (``conhost.exe`` under the attacker's ``cmd.exe``) stay unlabelled.

Carbanak attack log (:func:`attack_windows`, :func:`label_by_windows`)
    The operator logged each step (time, machine, free text). A step opens a window
    from ``before`` minutes before to ``after`` minutes after its time (the log has
    minute resolution and the operator wrote after acting). The step texts name files
    (``Java-Update.exe``, ``klog2.txt``...) and commands in backticks (```hostname```
    -> hostname.exe). A node is labelled when its type is selected (processes by
    default), its name's basename is one of those names, and it is active in a window
    (first seen there or an edge there); ``descendants=True`` adds the processes
    those started, transitively. Limits: a run of an attack tool outside every window
    (a persistence relaunch after an unlogged reboot) stays unlabelled; an attack
    process with a generic name the log does not use (the ``powershell.exe`` a stager
    starts) is found only through ``descendants``; a benign process sharing a logged
    name inside a window is labelled. The Carbanak log's "UTC" times are US Central
    Daylight time (UTC-5): ``hostname.exe`` ran at 00:24:25 UTC for the step logged at
    19:24, ``Java-Update.exe`` appeared at 00:48:38 for 19:49; the default clock
    offset is therefore +5 h, unless the file has a ``telemetry_time_us`` column (the
    bundled excerpt) which is used as is.

DARPA TC Engagement 3 (:func:`read_uuid_list`, :func:`label_by_ids`)
    ThreaTrace's lists (one UUID per line) and Orthrus' curated lists
    (``uuid,{'subject': name},index``); node ids compared case-insensitively.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskscope.exceptions import InputError, SchemaError
from riskscope.graph.schema import ProvenanceGraph

__all__ = [
    "KNOWN_BINARIES",
    "AttackWindow",
    "attach_labels",
    "attack_windows",
    "label_by_ids",
    "label_by_process_names",
    "label_by_windows",
    "otrf_attack_processes",
    "read_uuid_list",
]

#: Windows binaries recognised by name alone (without ``.exe``) in OTRF descriptions:
#: auto-elevating UAC-bypass targets, living-off-the-land tools and shells. Names of six
#: letters or more match inside words (``Invoke-FodHelperBypass``); shorter ones only as
#: whole words (``sc`` in ``[SC] CreateService``, not in ``script``).
KNOWN_BINARIES: frozenset[str] = frozenset({
    "fodhelper", "eventvwr", "sdclt", "computerdefaults", "slui", "wsreset", "cmstp",
    "mshta", "rundll32", "regsvr32", "psexec", "psexesvc", "wmic", "schtasks", "sc",
    "reg", "certutil", "bitsadmin", "msbuild", "installutil", "whoami", "net", "net1",
    "netsh", "nltest", "vssadmin", "wevtutil", "bcdedit", "powershell", "pwsh", "cmd",
    "cscript", "wscript", "mimikatz", "procdump", "taskkill", "tasklist", "systeminfo",
    "ipconfig", "curl", "forfiles", "msiexec", "odbcconf", "regasm", "regsvcs", "sdbinst",
    "winrm",
})  # fmt: skip

_EXE = re.compile(r"[\w$.\-]+\.exe\b", re.IGNORECASE)
# Empire's agent table row: ... <Process> <PID> <Delay "5/0.0"> ...
_AGENT_ROW = re.compile(r"(\S+)\s+\d+\s+\d+/[\d.]+\s")
_WORD = re.compile(r"[A-Za-z0-9_]+")
_FILE = re.compile(r"[\w$\-.]+\.(?:exe|dll|vbs|vbe|js|ps1|bat|cmd|msi|reg|txt|png|py|hta|"
                   r"lnk|zip|scr|jar)\b", re.IGNORECASE)
_TICKS = re.compile(r"`([^`]+)`")
_COMMAND = re.compile(r"[A-Za-z][\w\-]*")


# --- OTRF ------------------------------------------------------------------------------
def otrf_attack_processes(yaml_path: str | Path) -> set[str]:
    """Executable names (lower case, ``.exe``) an OTRF dataset description names.

    Parameters
    ----------
    yaml_path : str or Path
        The dataset's YAML (``SDWIN-*.yaml``).

    Returns
    -------
    set of str
        Basenames such as ``{"powershell.exe", "fodhelper.exe", "whoami.exe"}``; see the
        module docstring for the rules and their limits.

    Raises
    ------
    InputError
        The file is missing or not YAML.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.yaml"
    >>> _ = p.write_text('''title: Invoke BypassUAC FodHelper
    ... simulation:
    ...   adversary_view: |-
    ...     Name     La Internal IP  Machine Name  Username  Process     PID   Delay
    ...     SP7B3U2X ps 172.18.39.5  WORKSTATION5  pgustavo  powershell  1376  5/0.0  2020
    ...     (Empire: F2X6GE4R) > shell whoami
    ...     SUCCESS: The process "CreateNamedPipe.exe" with PID 4748 has been terminated.
    ... references:
    ...   - https://example.org/cmd.exe
    ... ''')
    >>> sorted(otrf_attack_processes(p))
    ['createnamedpipe.exe', 'fodhelper.exe', 'powershell.exe', 'whoami.exe']
    """
    import yaml

    path = Path(yaml_path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; pass an OTRF dataset description "
                         "(SDWIN-*.yaml).")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not YAML ({str(exc).splitlines()[0]}); pass an OTRF "
                         "dataset description (SDWIN-*.yaml).") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a YAML mapping (title, simulation, ...); found "
                         f"{type(doc).__name__}.")
    # references are URLs to write-ups: any name in them is not what ran
    text = "\n".join(_strings({k: v for k, v in doc.items() if k != "references"}))
    names = {m.lower() for m in _EXE.findall(text)}
    names |= {f"{m.lower()}.exe" for m in _AGENT_ROW.findall(text)
              if m.isidentifier() and "." not in m}
    low = text.lower()
    words = {w.lower() for w in _WORD.findall(text)}
    for b in KNOWN_BINARIES:
        if (b in low) if len(b) >= 6 else (b in words):
            names.add(f"{b}.exe")
    return names


def _strings(obj: Any) -> Iterable[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _basenames(graph: ProvenanceGraph) -> pa.Array:
    names = pc.utf8_lower(pc.fill_null(graph.nodes["name"], ""))
    return pc.struct_field(pc.extract_regex(names, r"(?P<b>[^\\/]*)$"), [0])


def _typed(graph: ProvenanceGraph, types: Sequence[str] | None) -> np.ndarray:
    if types is None:
        return np.ones(graph.n_nodes, bool)
    return pc.is_in(graph.nodes["type"], value_set=pa.array(list(types), pa.string())
                    ).to_numpy(zero_copy_only=False)


def label_by_process_names(graph: ProvenanceGraph, names: Iterable[str], *,
                           types: Sequence[str] | None = ("process",)) -> np.ndarray:
    """Mask of nodes whose name's basename is one of ``names`` (case-insensitive).

    Parameters
    ----------
    graph : ProvenanceGraph
    names : iterable of str
        Executable names (``"fodhelper.exe"``); paths are reduced to their basename.
    types : sequence of str or None
        Node types that may be labelled; ``None`` for all.

    Returns
    -------
    numpy.ndarray of bool, shape (n_nodes,)

    Examples
    --------
    >>> import pandas as pd
    >>> g = ProvenanceGraph.from_frames(
    ...     pd.DataFrame({"id": ["a", "b", "c"], "type": ["process", "process", "file"],
    ...                   "name": ["C:\\\\Windows\\\\FodHelper.exe", "c:\\\\x\\\\cmd.exe",
    ...                            "c:\\\\fodhelper.exe"]}),
    ...     pd.DataFrame({"src": [0], "dst": [2], "type": ["read"], "ts": [1]}))
    >>> label_by_process_names(g, {"fodhelper.exe"}).tolist()
    [True, False, False]
    """
    want = pa.array(sorted({_base(n) for n in names}), pa.string())
    hit = pc.is_in(_basenames(graph), value_set=want).to_numpy(zero_copy_only=False)
    return hit & _typed(graph, types)


def _base(name: str) -> str:
    return re.split(r"[\\/]", name.strip().lower())[-1]


# --- Carbanak attack log ---------------------------------------------------------------
@dataclass(frozen=True)
class AttackWindow:
    """One logged attack step on the graph's clock.

    Attributes
    ----------
    start, end : int
        Nanoseconds since the epoch, ``[start, end)``.
    step : int
        The step's row in the log (0-based).
    text : str
        What the operator wrote.
    names : frozenset of str
        File and command names the text mentions (lower case).
    """

    start: int
    end: int
    step: int
    text: str
    names: frozenset[str]


def attack_windows(path: str | Path, machine: str, *, before: float = 2.0,
                   after: float = 10.0, clock_offset: float | None = None
                   ) -> list[AttackWindow]:
    """Time windows of the attack steps an operator's log records for one machine.

    Parameters
    ----------
    path : str or Path
        The log (CSV with ``Time (UTC)``, ``Machine``, ``Logs`` columns, as Carbanak's
        ``attack_log.csv``; a ``telemetry_time_us`` column, when present, gives each
        step's time on the graph's clock).
    machine : str
        Machine as the log writes it (``"h3"``); a row for ``"h1+ fs"`` counts for both.
    before, after : float
        Minutes the window opens before and stays open after the logged time.
    clock_offset : float, optional
        Hours to add to the logged times to reach the telemetry's clock. Default: 5
        (Carbanak's log is US Central Daylight time written as UTC; module docstring),
        ignored when the file has ``telemetry_time_us``.

    Returns
    -------
    list of AttackWindow
        In log order.

    Raises
    ------
    InputError
        The file is missing, lacks the columns, or has no step for ``machine``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "log.csv"
    >>> _ = p.write_text('Time (UTC),Machine,Logs\\n'
    ...                  '2024-05-07 19:24:00 +0000,h3,Ran `hostname` on command prompt\\n'
    ...                  '2024-05-07 19:49:00 +0000,h1,Scp\\'d `Java-Update.exe`\\n')
    >>> (w,) = attack_windows(p, "h3")
    >>> sorted(w.names), (w.end - w.start) // 60_000_000_000
    (['hostname.exe'], 12)
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; pass the operator's attack log (CSV).")
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    cols = set(rows[0]) if rows else set()
    need = {"Time (UTC)", "Machine", "Logs"}
    if not need <= cols and not {"telemetry_time_us", "Machine", "Logs"} <= cols:
        raise InputError(f"{path}: an attack log needs columns {sorted(need)}; found "
                         f"{sorted(cols)}.")
    want = machine.strip().lower()
    offset = timedelta(hours=5.0 if clock_offset is None else clock_offset)
    out = []
    for i, row in enumerate(rows):
        machines = {m.strip().lower() for m in (row.get("Machine") or "").split("+")}
        if want not in machines:
            continue
        telemetry = (row.get("telemetry_time_us") or "").strip()
        if telemetry and clock_offset is None:
            t = int(telemetry) * 1000
        else:
            try:
                when = datetime.strptime(row["Time (UTC)"].strip(), "%Y-%m-%d %H:%M:%S %z")
            except (KeyError, ValueError):
                raise InputError(f"{path}: row {i + 2} has time "
                                 f"{row.get('Time (UTC)')!r}; expected "
                                 "'YYYY-MM-DD HH:MM:SS +0000'.") from None
            t = int((when + offset).timestamp()) * 10**9
        text = row.get("Logs") or ""
        out.append(AttackWindow(start=t - int(before * 60e9), end=t + int(after * 60e9),
                                step=i, text=text, names=_step_names(text)))
    if not out:
        seen = sorted({m.strip() for r in rows for m in (r.get("Machine") or "").split("+")
                       if m.strip()})
        raise InputError(f"{path}: no attack step for machine {machine!r}; the log names "
                         f"{seen}; pass one of them.")
    return out


def _step_names(text: str) -> frozenset[str]:
    names = {m.lower() for m in _FILE.findall(text)}
    for cmd in _TICKS.findall(text):
        first = cmd.strip().split()[0] if cmd.strip() else ""
        if _FILE.fullmatch(first):
            names.add(first.lower())
        elif _COMMAND.fullmatch(first):
            names.add(f"{first.lower()}.exe")
    return frozenset(names)


def label_by_windows(graph: ProvenanceGraph, windows: Sequence[AttackWindow],
                     names: Iterable[str] | None = None, *,
                     types: Sequence[str] | None = ("process",),
                     descendants: bool = False) -> np.ndarray:
    """Mask of nodes named by the attack steps and active in their windows.

    Parameters
    ----------
    graph : ProvenanceGraph
        With clock times (``meta["time"] == "ns"``).
    windows : sequence of AttackWindow
        From :func:`attack_windows`.
    names : iterable of str, optional
        Basenames to look for; default every name the windows' steps mention.
    types : sequence of str or None
        Node types that may be labelled; ``None`` for all.
    descendants : bool
        Also label processes started (transitively, any time) by a labelled process.

    Returns
    -------
    numpy.ndarray of bool, shape (n_nodes,)

    Raises
    ------
    SchemaError
        The graph numbers its events instead of timing them.

    Examples
    --------
    >>> import pandas as pd
    >>> nodes = pd.DataFrame({"id": ["p", "q", "c"], "type": ["process"] * 3,
    ...                       "name": ["c:\\\\hostname.exe", "c:\\\\hostname.exe", "cmd.exe"]})
    >>> edges = pd.DataFrame({"src": [2, 2], "dst": [0, 1], "type": ["start"] * 2,
    ...                       "ts": [100, 900]})
    >>> g = ProvenanceGraph.from_frames(nodes, edges)
    >>> w = AttackWindow(start=50, end=200, step=0, text="", names=frozenset({"hostname.exe"}))
    >>> label_by_windows(g, [w]).tolist()
    [True, False, False]
    """
    if graph.meta.get("time", "ns") != "ns":
        raise SchemaError(f"graph {graph.name!r} numbers its events (meta['time'] == "
                          f"{graph.meta.get('time')!r}); time windows need clock times.")
    if names is None:
        names = set().union(*(w.names for w in windows)) if windows else set()
    named = label_by_process_names(graph, names, types=types)
    if not windows or not named.any():
        return named & False
    starts, ends = _merge([(w.start, w.end) for w in windows])
    ets = graph.edges["ts"].to_numpy()
    active = np.zeros(graph.n_nodes, bool)
    hit = _inside(ets, starts, ends)
    active[graph.edges["src"].to_numpy()[hit]] = True
    active[graph.edges["dst"].to_numpy()[hit]] = True
    if "ts" in graph.nodes.column_names:
        nts = graph.nodes["ts"]
        first = pc.fill_null(nts, np.iinfo(np.int64).min).to_numpy(zero_copy_only=False)
        active |= _inside(first, starts, ends)
    mask = named & active
    if descendants:
        mask = _descend(graph, mask)
    return mask


def _merge(spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    spans.sort()
    out: list[list[int]] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    arr = np.asarray(out, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def _inside(ts: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    i = np.searchsorted(starts, ts, side="right") - 1
    ok = i >= 0
    out = np.zeros(ts.shape, bool)
    out[ok] = ts[ok] < ends[i[ok]]
    return out


def _descend(graph: ProvenanceGraph, mask: np.ndarray) -> np.ndarray:
    start = pc.equal(graph.edges["type"], "start").to_numpy(zero_copy_only=False)
    src = graph.edges["src"].to_numpy()[start]
    dst = graph.edges["dst"].to_numpy()[start]
    is_proc = _typed(graph, ("process",))
    mask = mask.copy()
    while True:  # one generation per pass; a process tree is shallow
        new = np.zeros_like(mask)
        new[dst[mask[src]]] = True
        new &= is_proc & ~mask
        if not new.any():
            return mask
        mask |= new


# --- DARPA TC ground truth -------------------------------------------------------------
def read_uuid_list(path: str | Path) -> set[str]:
    """Node UUIDs of a ground-truth list (ThreaTrace ``*.txt`` or Orthrus ``node_*.csv``).

    Parameters
    ----------
    path : str or Path
        A file with one UUID per line, a CSV whose first field is the UUID
        (``uuid,{'subject': 'nginx'},211776``), or a folder of such files (their union).

    Returns
    -------
    set of str
        UUIDs as written (compare case-insensitively: :func:`label_by_ids` does).

    Raises
    ------
    InputError
        The path does not exist, or a folder holds no ``.txt``/``.csv`` file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "node_attack.csv"
    >>> _ = p.write_text("674D8313-390A-11E8-BF66-D9AA8AFF4A69,{'subject': 'None nginx'},211776\\n"
    ...                  "60040266-39AE-11E8-BF66-D9AA8AFF4A69,{'netflow': '1.2.3.4:80'},26277\\n")
    >>> sorted(read_uuid_list(p))[0]
    '60040266-39AE-11E8-BF66-D9AA8AFF4A69'
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".txt", ".csv"))
        if not files:
            raise InputError(f"{path}: no .txt or .csv ground-truth list in this folder; "
                             "pass a list file or a folder of them.")
        return set().union(*(read_uuid_list(p) for p in files))
    if not path.is_file():
        raise InputError(f"{path}: no such file; pass a ground-truth list (one UUID per "
                         "line, or Orthrus node_*.csv).")
    out = set()
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            first = line.split(",", 1)[0].strip()
            if first and first.lower() != "uuid":
                out.add(first)
    return out


def label_by_ids(graph: ProvenanceGraph, ids: Iterable[str], *, column: str = "id",
                 case_sensitive: bool = False) -> np.ndarray:
    """Mask of nodes whose ``column`` value is in ``ids``.

    Parameters
    ----------
    graph : ProvenanceGraph
    ids : iterable of str
        E.g. from :func:`read_uuid_list`.
    column : str
        Node column holding the ids (``"uuid"`` for EDR graphs whose ids are row keys).
    case_sensitive : bool
        UUIDs are written in either case by different tools; compared folded by default.

    Returns
    -------
    numpy.ndarray of bool, shape (n_nodes,)

    Raises
    ------
    SchemaError
        ``column`` is not a node column.

    Examples
    --------
    >>> import pandas as pd
    >>> g = ProvenanceGraph.from_frames(
    ...     pd.DataFrame({"id": ["9ef37e2e-3e80", "a4dd7c60-3e80"], "type": ["process"] * 2,
    ...                   "name": ["nginx", "sh"]}),
    ...     pd.DataFrame({"src": [0], "dst": [1], "type": ["start"], "ts": [1]}))
    >>> label_by_ids(g, {"9EF37E2E-3E80"}).tolist()
    [True, False]
    """
    if column not in graph.nodes.column_names:
        raise SchemaError(f"graph {graph.name!r} has no node column {column!r}; found "
                          f"{graph.nodes.column_names}; pass column= one of them.")
    values = graph.nodes[column].cast(pa.string())
    ids = [str(i) for i in ids]
    if not case_sensitive:
        values = pc.utf8_upper(values)
        ids = [i.upper() for i in ids]
    hit = pc.is_in(values, value_set=pa.array(sorted(set(ids)), pa.string()))
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False)


def attach_labels(graph: ProvenanceGraph, mask: np.ndarray, *, column: str = "label"
                  ) -> ProvenanceGraph:
    """A copy of ``graph`` with ``mask`` as the boolean node column ``column``.

    Raises
    ------
    SchemaError
        The mask's length is not the number of nodes.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> g = ProvenanceGraph.from_frames(
    ...     pd.DataFrame({"id": ["p"], "type": ["process"], "name": ["sh"]}),
    ...     pd.DataFrame({"src": [0], "dst": [0], "type": ["exit"], "ts": [1]}))
    >>> attach_labels(g, np.array([True])).nodes["label"].to_pylist()
    [True]
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (graph.n_nodes,):
        raise SchemaError(f"a label mask for graph {graph.name!r} needs one value per node "
                          f"({graph.n_nodes}); got shape {mask.shape}.")
    return graph.with_node_column(column, pa.array(mask, pa.bool_()))
