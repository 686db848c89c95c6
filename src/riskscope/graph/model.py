"""The apt detector as one object: prune -> semantic encoder -> context encoder ->
node-type detector, fitted on benign graphs, saved as portable files.

:class:`AptDetector` is what ``riskscope apt train`` fits and ``apt detect`` loads.
Training uses benign graphs only: the encoders and the classifier learn from the
training graphs, the alert thresholds are set on separate benign validation graphs.

Beyond the paper's node-type rule, four rules (each a parameter, on by default; with
them and the detector's alert budget, ``benchmarks/apt_eval.py`` over 5 seeds moved
from graph precision / recall 0.945 / 0.835, strict F1 0.31 and 0% of attack chains
among the alerts to 0.981 / 1.000, 0.68 and 100%):

* ``new_programs``: a process running a program no training graph ran is its own class,
  ``process:new``, which the classifier never saw: it always alerts and ranks first (an
  attack's dropped payload is such a program);
* ``novel_args``: a process of a known program whose command-line arguments are mostly
  tokens no training graph held alerts, ranked after the new programs. Word2Vec skips
  unknown tokens, so without it an Empire agent (``powershell -noP -sta -w 1 -enc ...``)
  looks like any PowerShell; the share that alerts is set on the validation graphs
  (:meth:`AptDetector.fit`);
* ``count_weights``: GraphSAGE's neighbour mean is weighted by pruning's dedupe
  ``count``, so pruning changes the embeddings far less (strict F1 pruned minus
  unpruned: -14 +- 15 points before, +4.8 +- 2.6 with it);
* ``expand``: in a graph judged anomalous, the alerts grow along provenance
  (:func:`expand_alerts`): the processes an alerted process started, transitively
  (not below the roots of the process tree), the
  processes that wrote or chmodded a file one of those executed (the download and
  ``chmod +x`` of a payload), and the processes most of whose children alert. The
  attack's process chain is then among the alerts instead of only its most unusual
  member.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskscope.exceptions import InputError, NotFittedError, ParameterError
from riskscope.graph.context import ContextEncoder
from riskscope.graph.detector import NodeTypeDetector
from riskscope.graph.encode import SemanticEncoder
from riskscope.graph.prune import GraphPruner
from riskscope.graph.schema import ProvenanceGraph

__all__ = ["AptDetector", "GraphScore", "MODEL_KIND", "NEW_PROGRAM", "expand_alerts",
           "node_classes", "program"]

MODEL_KIND = "riskscope-apt-model"
_FORMAT = 1
_DIGITS = re.compile(r"\d+")
#: Class of a process running a program no training graph ran (never a training class).
NEW_PROGRAM = "process:new"
#: Lowest argument threshold: an alert needs more than half of its argument tokens unseen
#: (the same "more likely than not" floor as the node threshold's ``min_confidence``).
_MIN_ARGS_SHARE = 0.5
#: Events by which a process makes a file what it is when executed.
_AUTHOR_EVENTS = ("write", "create", "chmod")


def node_classes(graph: ProvenanceGraph, programs: frozenset[str] | set[str] | None = None,
                 known: frozenset[str] | set[str] | None = None) -> np.ndarray:
    """What the detector predicts for each node: its type, and for processes running
    one of ``programs`` also the program, ``process:<program>``; other processes are
    ``process:*``. A program is the executable's file name, lower case, digit runs
    masked (``python3.11`` and ``python3.12`` are one program: see :func:`program`).
    With ``programs=None`` processes keep the plain type ``process``. With ``known``
    (every program the training graphs ran), a process running any other program is
    :data:`NEW_PROGRAM`.

    Examples
    --------
    >>> from riskscope.graph.schema import GraphBuilder
    >>> b = GraphBuilder()
    >>> p = b.node("p", "process", "/usr/bin/Python3.11"); q = b.node("q", "process", "/x/zz")
    >>> b.edge(p, q, "start", 1)
    >>> node_classes(b.build(), {"python#.#"}).tolist()
    ['process:python#.#', 'process:*']
    >>> node_classes(b.build(), {"python#.#"}, known={"python#.#"}).tolist()
    ['process:python#.#', 'process:new']
    """
    types = graph.node_types()
    if programs is None and known is None:
        return types
    out = types.copy()
    names = graph.nodes["name"].to_pylist()
    for i in np.flatnonzero(types == "process"):
        prog = program(names[i])
        if known is not None and prog not in known:
            out[i] = NEW_PROGRAM
        elif programs is not None:
            out[i] = f"process:{prog}" if prog in programs else "process:*"
    return out


def _reach(src: np.ndarray, dst: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Nodes reachable from ``mask`` by one or more ``src -> dst`` steps."""
    out = np.zeros_like(mask)
    frontier = mask
    while True:
        new = np.zeros_like(mask)
        new[dst[frontier[src]]] = True
        new &= ~out
        if not new.any():
            return out
        out |= new
        frontier = new


def expand_alerts(graph: ProvenanceGraph, alert: np.ndarray) -> np.ndarray:
    """Alerts grown along provenance, in three steps:

    1. **down**: every process an alerted process started, transitively (``start``
       edges); not below a root of the process tree (a process with no parent in the
       graph: the traced session's shell, init, a service host), whose tree is the
       whole graph;
    2. **authors**: every process that wrote, created or chmodded a file that a process
       of step 1 executed (``exec`` edges): the download and ``chmod +x`` of a payload;
    3. **up**: a process most of whose children (more than half) are alerts by now,
       repeatedly: what starts alerted processes (a reverse shell's implant, whose
       commands alert while the interpreter running it looks ordinary).

    Objects are not added.

    Examples
    --------
    >>> from riskscope.graph.schema import GraphBuilder
    >>> b = GraphBuilder()
    >>> sh, curl, chmod, pay, tar, make = (b.node(n, "process", n) for n in
    ...                                    ("sh", "curl", "chmod", "payload", "tar", "make"))
    >>> f = b.node("/tmp/payload", "file", "/tmp/payload")
    >>> for child in (curl, chmod, pay, make):
    ...     b.edge(sh, child, "start", 1)
    >>> b.edge(curl, f, "write", 2); b.edge(chmod, f, "chmod", 3)
    >>> b.edge(pay, f, "exec", 4); b.edge(pay, tar, "start", 5)
    >>> g = b.build()
    >>> ids = g.nodes["id"].to_numpy(zero_copy_only=False)
    >>> ids[expand_alerts(g, ids == "payload")].tolist()  # sh: 3 of its 4 children
    ['sh', 'curl', 'chmod', 'payload', 'tar']
    >>> ids[expand_alerts(g, ids == "sh")].tolist()  # the root: its tree is everything
    ['sh']
    """
    alert = np.asarray(alert, bool)
    n = len(alert)
    is_proc = graph.node_types() == "process"
    etype = np.asarray(graph.edges["type"].to_numpy(zero_copy_only=False), dtype=object)
    src = graph.edges["src"].to_numpy().astype(np.int64)
    dst = graph.edges["dst"].to_numpy().astype(np.int64)
    start = etype == "start"
    pairs = np.unique(src[start] * max(n, 1) + dst[start])
    s_src, s_dst = pairs // max(n, 1), pairs % max(n, 1)
    has_parent = np.zeros(n, bool)
    has_parent[s_dst] = True
    seeds = alert & is_proc
    chain = seeds | _reach(s_src, s_dst, seeds & has_parent)
    ex = etype == "exec"
    executed = np.zeros(n, bool)
    executed[dst[ex][chain[src[ex]]]] = True
    authored = np.isin(etype, _AUTHOR_EVENTS) & executed[dst] & is_proc[src]
    chain[src[authored]] = True
    children = np.bincount(s_src, minlength=n)
    while True:
        hit = np.bincount(s_src[chain[s_dst]], minlength=n)
        up = is_proc & ~chain & (2 * hit > children)
        if not up.any():
            break
        chain |= up
    return alert | chain


def program(name: str | None) -> str:
    r"""A process's program: executable file name, lower case, digit runs as ``#``.

    Examples
    --------
    >>> program(r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe")
    'powershell.exe'
    """
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].lower()
    return _DIGITS.sub("#", base)


@dataclass
class GraphScore:
    """One scored graph: the pruned graph, node vectors, predictions and alerts.

    ``alert`` holds every alert; ``unseen`` the nodes whose class the classifier never
    saw (new programs, unseen node types: always alerts, confidence 1) and ``expanded``
    the alerts added along provenance in an anomalous graph (see :func:`expand_alerts`).
    ``novelty`` ranks the unseen nodes among themselves: ``1 - max P(any known class)``,
    how unlike every class of the training graphs the node looks (0 for other nodes).
    ``arguments`` is each node's share of command-line argument tokens no training
    graph held (NaN without arguments) and ``novel_args`` the processes alerted for it.
    The graph verdict ``anomalous`` counts the classifier's alerts (unseen classes
    included), not those for arguments or along provenance.
    """

    graph: ProvenanceGraph
    semantic: np.ndarray
    context: np.ndarray
    classes: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    alert: np.ndarray
    anomalous: bool
    prune: dict = field(default_factory=dict)
    unseen: np.ndarray | None = None
    expanded: np.ndarray | None = None
    novelty: np.ndarray | None = None
    arguments: np.ndarray | None = None
    novel_args: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.alert)
        if self.arguments is None:
            self.arguments = np.full(n, np.nan)
        if self.novel_args is None:
            self.novel_args = np.zeros(n, bool)
        if self.unseen is None:
            self.unseen = np.zeros(n, bool)
        if self.expanded is None:
            self.expanded = np.zeros(n, bool)
        if self.novelty is None:
            self.novelty = np.zeros(n)

    @property
    def n_alerts(self) -> int:
        return int(self.alert.sum())

    def rank_order(self) -> np.ndarray:
        """Alert positions, best first: unseen classes (by novelty), then processes with
        unseen arguments (by their share), then the classifier's alerts, then provenance
        expansion (by confidence)."""
        idx = np.flatnonzero(self.alert)
        tier = np.select([self.unseen[idx], self.novel_args[idx], self.expanded[idx]],
                         [0, 1, 3], 2)
        args = np.where(self.novel_args[idx], self.arguments[idx], 0.0)
        return idx[np.lexsort((-self.confidence[idx], -args, -self.novelty[idx], tier))]

    def alerts_frame(self) -> pd.DataFrame:
        """Alerts ranked (:meth:`rank_order`): graph, node id, type, predicted type,
        confidence, reason (``unseen``, ``arguments``, ``type`` or ``provenance``), name,
        ..."""
        idx = self.rank_order()
        nodes = self.graph.nodes
        reason = np.select([self.unseen[idx], self.novel_args[idx], self.expanded[idx]],
                           ["unseen", "arguments", "provenance"], "type")
        cols = {"graph": [self.graph.name] * len(idx),
                "rank": np.arange(1, len(idx) + 1),
                "node_id": np.asarray(nodes["id"].to_pylist(), dtype=object)[idx],
                "type": self.graph.node_types()[idx],
                "class": self.classes[idx],
                "predicted": self.predicted[idx],
                "confidence": self.confidence[idx],
                "novelty": self.novelty[idx],
                "unseen_arguments": self.arguments[idx],
                "reason": reason.astype(object),
                "name": np.asarray(nodes["name"].to_pylist(), dtype=object)[idx]}
        if "cmdline" in nodes.column_names:
            cols["cmdline"] = np.asarray(nodes["cmdline"].to_pylist(), dtype=object)[idx]
        return pd.DataFrame(cols)


class AptDetector:
    """Pruning, Word2Vec + RoPE, GraphSAGE and LightGBM node-type detection.

    Parameters
    ----------
    programs : int
        Tell processes apart by program (:func:`node_classes`): programs run in at least
        this many training graphs get their own class (``process:curl``), the rest share
        ``process:*``; a process that does not behave like its program is an alert.
        0 predicts the plain node types (the paper's setting).
    new_programs : bool
        A process running a program that no training graph ran is class ``process:new``:
        always an alert, ranked above the classifier's alerts.
    novel_args : bool
        A process of a known program whose command-line arguments are mostly tokens no
        training graph held (share above :attr:`args_threshold_`) is an alert, ranked
        after the new programs (see :meth:`fit`).
    expand : bool
        In anomalous graphs, add the processes :func:`expand_alerts` reaches from the
        alerted ones (ranked after the classifier's alerts).
    count_weights : bool
        Weight GraphSAGE's neighbour mean by pruning's edge ``count`` (a deduplicated
        edge weighs as many events as it stands for).
    prune : bool
        Prune graphs (:class:`~riskscope.graph.prune.GraphPruner` defaults) before
        encoding; False keeps every event (the pruning ablation).
    vector_size, w2v_epochs :
        Semantic encoder size and Word2Vec passes.
    hidden, gnn_epochs :
        Context embedding size and GraphSAGE training epochs.
    n_estimators :
        LightGBM boosting rounds.
    node_fpr :
        Share of benign validation nodes allowed above the node threshold; None (the
        default): one false alert per validation graph, see
        :class:`~riskscope.graph.detector.NodeTypeDetector`.
    seed, n_jobs :
        Seed of every random step; threads for GraphSAGE and LightGBM (1 by default:
        LightGBM's results depend on the thread count).

    Examples
    --------
    >>> from riskscope.graph.schema import GraphBuilder
    >>> def run(k, extra=False):
    ...     b = GraphBuilder(name=f"run{k}")
    ...     sh = b.node("sh", "process", "/bin/sh")
    ...     for j in range(6):
    ...         f = b.node(f"f{j}", "file", f"/home/u/doc{j}.txt")
    ...         b.edge(sh, f, "write", j)
    ...     return b.build()
    >>> det = AptDetector(w2v_epochs=2, gnn_epochs=5, n_estimators=5).fit(
    ...     [run(0), run(1)], [run(2)])
    >>> det.score(run(3)).n_alerts
    0
    """

    def __init__(self, *, programs: int = 3, new_programs: bool = True,
                 novel_args: bool = True, expand: bool = True,
                 count_weights: bool = True, prune: bool = True, vector_size: int = 32,
                 w2v_epochs: int = 10,
                 hidden: int = 32, gnn_epochs: int = 60, n_estimators: int = 60,
                 node_fpr: float | None = None, seed: int = 0, n_jobs: int = 1) -> None:
        self.programs = programs
        self.new_programs = new_programs
        self.novel_args = novel_args
        self.expand = expand
        self.count_weights = count_weights
        self.prune = prune
        self.vector_size = vector_size
        self.w2v_epochs = w2v_epochs
        self.hidden = hidden
        self.gnn_epochs = gnn_epochs
        self.n_estimators = n_estimators
        self.node_fpr = node_fpr
        self.seed = seed
        self.n_jobs = n_jobs

    def _params(self) -> dict:
        return {k: getattr(self, k) for k in ("programs", "new_programs", "novel_args",
                                              "expand", "count_weights", "prune", "vector_size",
                                              "w2v_epochs", "hidden", "gnn_epochs",
                                              "n_estimators", "node_fpr", "seed", "n_jobs")}

    def _classes(self, graph: ProvenanceGraph) -> np.ndarray:
        return node_classes(graph, self.programs_ if self.programs else None,
                            self.known_programs_ if self.new_programs else None)

    def _weights(self, graph: ProvenanceGraph) -> np.ndarray | None:
        if not self.count_weights or "count" not in graph.edges.column_names:
            return None
        return graph.edges["count"].to_numpy().astype(np.float32)

    def _learn_programs(self, graphs: Sequence[ProvenanceGraph]) -> None:
        """Programs run in at least ``programs`` training graphs, and all of them."""
        seen: dict[str, int] = {}
        for g in graphs:
            names = np.asarray(g.nodes["name"].to_pylist(), dtype=object)[g.node_types()
                                                                          == "process"]
            for prog in {program(n) for n in names}:
                seen[prog] = seen.get(prog, 0) + 1
        self.programs_ = frozenset(p for p, k in seen.items() if k >= max(self.programs, 1))
        self.known_programs_ = frozenset(seen)

    def _pruned(self, graph: ProvenanceGraph) -> ProvenanceGraph:
        return GraphPruner().fit_transform(graph) if self.prune else graph

    def fit(self, train: Sequence[ProvenanceGraph], val: Sequence[ProvenanceGraph]
            ) -> AptDetector:
        """Fit on benign ``train`` graphs; set thresholds on benign ``val`` graphs.

        With ``novel_args``, the argument threshold ``args_threshold_`` is set like the
        node threshold: the share of unseen argument tokens exceeded by one process per
        validation graph (the ``1 - graphs / processes`` quantile over the validation
        processes of known programs that have arguments), at least one half (most of
        the arguments never seen). These alerts do not count towards the graph verdict:
        counted, they raised the graph threshold and cost attack graphs on the recorded
        suite (seed 0: graph recall 1.0 -> 0.975, strict F1 0.679 -> 0.648).

        ``fitted_`` keeps ``(split, pruned graph, semantic, context)`` of every graph
        seen, for the embedding store; drop it once written.
        """
        if not train or not val:
            raise ParameterError("AptDetector.fit needs at least one benign training graph "
                                 "and one benign validation graph.")
        tr = [self._pruned(g) for g in train]
        va = [self._pruned(g) for g in val]
        self._learn_programs(tr)
        self.semantic_ = SemanticEncoder(vector_size=self.vector_size, epochs=self.w2v_epochs,
                                         seed=self.seed).fit(tr)
        x_tr = [self.semantic_.transform(g) for g in tr]
        w_tr = [self._weights(g) for g in tr]
        if any(w is None for w in w_tr):  # weighted throughout or not at all
            w_tr = [None] * len(tr)
        self.context_ = ContextEncoder(hidden=self.hidden, epochs=self.gnn_epochs,
                                       seed=self.seed, n_jobs=self.n_jobs).fit(
            x_tr, [g.edge_index() for g in tr], [self._classes(g) for g in tr],
            None if w_tr[0] is None else w_tr)
        h_tr = [self.context_.transform(x, g.edge_index(), w)
                for x, g, w in zip(x_tr, tr, w_tr, strict=True)]
        self.detector_ = NodeTypeDetector(n_estimators=self.n_estimators,
                                          node_fpr=self.node_fpr, seed=self.seed,
                                          n_jobs=self.n_jobs).fit(
            [np.hstack([x, h]) for x, h in zip(x_tr, h_tr, strict=True)],
            [self._classes(g) for g in tr])
        x_va = [self.semantic_.transform(g) for g in va]
        h_va = [self.context_.transform(x, g.edge_index(), self._weights(g))
                for x, g in zip(x_va, va, strict=True)]
        f_va = [np.hstack([x, h]) for x, h in zip(x_va, h_va, strict=True)]
        c_va = [self._classes(g) for g in va]
        self.detector_.calibrate(f_va, c_va)
        self._calibrate_args(va, c_va)
        self.fitted_ = ([("train", g, x, h) for g, x, h in zip(tr, x_tr, h_tr, strict=True)]
                        + [("val", g, x, h) for g, x, h in zip(va, x_va, h_va, strict=True)])
        self.train_summary_ = {"train_graphs": len(tr), "val_graphs": len(va),
                               "train_nodes": int(sum(g.n_nodes for g in tr)),
                               "train_edges": int(sum(g.n_edges for g in tr)),
                               "node_types": self.detector_.classes_}
        return self

    def _args_candidates(self, classes: np.ndarray) -> np.ndarray:
        """Processes of programs seen in training: those the argument rule may alert."""
        return (np.char.startswith(classes.astype(str), "process")
                & (classes != NEW_PROGRAM) & self.detector_.known(classes))

    def _args_alerts(self, graph: ProvenanceGraph, classes: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        if not self.novel_args:
            return np.full(graph.n_nodes, np.nan), np.zeros(graph.n_nodes, bool)
        share = self.semantic_.unseen_arguments(graph)
        with np.errstate(invalid="ignore"):  # NaN: no arguments, never an alert
            hit = self._args_candidates(classes) & (share > self.args_threshold_)
        return share, hit

    def _calibrate_args(self, val: Sequence[ProvenanceGraph], classes: list[np.ndarray]
                        ) -> None:
        self.args_threshold_ = 1.0
        if not self.novel_args:
            return
        shares = [self.semantic_.unseen_arguments(g) for g in val]
        cands = [self._args_candidates(c) for c in classes]
        pool = np.concatenate([s[m & ~np.isnan(s)] for s, m in zip(shares, cands, strict=True)])
        if len(pool):
            q = float(np.quantile(pool, 1 - min(1.0, len(val) / len(pool))))
            self.args_threshold_ = max(_MIN_ARGS_SHARE, q)
        with np.errstate(invalid="ignore"):  # NaN: no arguments, never an alert
            hits = [m & (s > self.args_threshold_) for s, m in zip(shares, cands, strict=True)]
        self.detector_.calibration_.update(
            args_threshold=self.args_threshold_, args_processes=int(len(pool)),
            args_alerts_per_graph=[int(h.sum()) for h in hits])

    def _check(self) -> None:
        if not hasattr(self, "detector_"):
            raise NotFittedError("AptDetector is not fitted; call fit or load a model.")

    def score(self, graph: ProvenanceGraph) -> GraphScore:
        """Prune, encode and score one graph."""
        self._check()
        g = self._pruned(graph)
        x = self.semantic_.transform(g)
        h = self.context_.transform(x, g.edge_index(), self._weights(g))
        classes = self._classes(g)
        features = np.hstack([x, h])
        alert, pred, conf = self.detector_.alerts(features, classes)
        anomalous = self.detector_.is_anomalous(int(alert.sum()))
        share, novel_args = self._args_alerts(g, classes)
        alert = alert | novel_args
        unseen = ~self.detector_.known(classes)
        novelty = np.zeros(len(classes))
        if unseen.any():  # unseen nodes all have confidence 1: tell them apart
            novelty[unseen] = 1 - self.detector_.predict_proba(features[unseen]).max(axis=1)
        expanded = np.zeros_like(alert)
        if self.expand and anomalous:
            expanded = expand_alerts(g, alert) & ~alert
        return GraphScore(graph=g, semantic=x, context=h, classes=classes, predicted=pred,
                          confidence=conf, alert=alert | expanded, anomalous=anomalous,
                          prune=g.meta.get("prune", {}),
                          unseen=unseen, expanded=expanded, novelty=novelty,
                          arguments=share, novel_args=novel_args & ~unseen)

    # --- persistence ---------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the model as JSON, ``.npy``, safetensors and LightGBM text files."""
        from riskscope.report.atomic import write_text

        self._check()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.semantic_.save(folder)
        self.context_.save(folder)
        self.detector_.save(folder)
        write_text(folder / "model.json", json.dumps(
            {"kind": MODEL_KIND, "format": _FORMAT, "params": self._params(),
             "summary": getattr(self, "train_summary_", {}),
             "programs": sorted(self.programs_),
             "args_threshold": self.args_threshold_,
             "known_programs": sorted(self.known_programs_)}, indent=2))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> AptDetector:
        folder = Path(folder)
        path = folder / "model.json"
        if not path.is_file():
            raise InputError(f"{folder}: no apt model here (model.json missing); pass the "
                             "folder of an `apt train` run or its run id.")
        info = json.loads(path.read_text())
        if info.get("kind") != MODEL_KIND:
            raise InputError(f"{path}: not an apt model (kind {info.get('kind')!r}); pass "
                             "the model of an `apt train` run.")
        params = dict(info["params"])
        if "known_programs" not in info:  # a model from before the new-program rule
            params["new_programs"] = False
        params.setdefault("novel_args", False)  # ... or before the argument rule
        det = cls(**params)
        det.semantic_ = SemanticEncoder.load(folder)
        det.context_ = ContextEncoder.load(folder)
        det.detector_ = NodeTypeDetector.load(folder)
        det.train_summary_ = info.get("summary", {})
        det.programs_ = frozenset(info.get("programs", []))
        det.known_programs_ = frozenset(info.get("known_programs", []))
        det.args_threshold_ = float(info.get("args_threshold", 1.0))
        return det
