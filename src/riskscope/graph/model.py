"""The apt detector as one object: prune -> semantic encoder -> context encoder ->
node-type detector, fitted on benign graphs, saved as portable files.

:class:`AptDetector` is what ``riskscope apt train`` fits and ``apt detect`` loads.
Training uses benign graphs only: the encoders and the classifier learn from the
training graphs, the alert thresholds are set on separate benign validation graphs.
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

__all__ = ["AptDetector", "GraphScore", "MODEL_KIND", "node_classes", "program"]

MODEL_KIND = "riskscope-apt-model"
_FORMAT = 1
_DIGITS = re.compile(r"\d+")


def node_classes(graph: ProvenanceGraph, programs: frozenset[str] | set[str] | None = None
                 ) -> np.ndarray:
    """What the detector predicts for each node: its type, and for processes running
    one of ``programs`` also the program, ``process:<program>``; other processes are
    ``process:*``. A program is the executable's file name, lower case, digit runs
    masked (``python3.11`` and ``python3.12`` are one program: see :func:`program`).
    With ``programs=None`` every node gets its plain type.

    Examples
    --------
    >>> from riskscope.graph.schema import GraphBuilder
    >>> b = GraphBuilder()
    >>> p = b.node("p", "process", "/usr/bin/Python3.11"); q = b.node("q", "process", "/x/zz")
    >>> b.edge(p, q, "start", 1)
    >>> node_classes(b.build(), {"python#.#"}).tolist()
    ['process:python#.#', 'process:*']
    """
    types = graph.node_types()
    if programs is None:
        return types
    out = types.copy()
    names = graph.nodes["name"].to_pylist()
    for i in np.flatnonzero(types == "process"):
        prog = program(names[i])
        out[i] = f"process:{prog}" if prog in programs else "process:*"
    return out


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
    """One scored graph: the pruned graph, node vectors, predictions and alerts."""

    graph: ProvenanceGraph
    semantic: np.ndarray
    context: np.ndarray
    classes: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    alert: np.ndarray
    anomalous: bool
    prune: dict = field(default_factory=dict)

    @property
    def n_alerts(self) -> int:
        return int(self.alert.sum())

    def alerts_frame(self) -> pd.DataFrame:
        """Alerts ranked by confidence: graph, node id, type, predicted type, name, ..."""
        idx = np.flatnonzero(self.alert)
        idx = idx[np.argsort(-self.confidence[idx], kind="stable")]
        nodes = self.graph.nodes
        cols = {"graph": [self.graph.name] * len(idx),
                "rank": np.arange(1, len(idx) + 1),
                "node_id": np.asarray(nodes["id"].to_pylist(), dtype=object)[idx],
                "type": self.graph.node_types()[idx],
                "class": self.classes[idx],
                "predicted": self.predicted[idx],
                "confidence": self.confidence[idx],
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
        Share of benign validation nodes allowed above the node threshold.
    seed, n_jobs :

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

    def __init__(self, *, programs: int = 3, prune: bool = True, vector_size: int = 32,
                 w2v_epochs: int = 10,
                 hidden: int = 32, gnn_epochs: int = 60, n_estimators: int = 60,
                 node_fpr: float = 0.001, seed: int = 0, n_jobs: int = 2) -> None:
        self.programs = programs
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
        return {k: getattr(self, k) for k in ("programs", "prune", "vector_size", "w2v_epochs",
                                              "hidden", "gnn_epochs", "n_estimators",
                                              "node_fpr", "seed", "n_jobs")}

    def _classes(self, graph: ProvenanceGraph) -> np.ndarray:
        return node_classes(graph, self.programs_ if self.programs else None)

    def _learn_programs(self, graphs: Sequence[ProvenanceGraph]) -> None:
        """Programs run in at least ``programs`` training graphs."""
        seen: dict[str, int] = {}
        for g in graphs:
            names = np.asarray(g.nodes["name"].to_pylist(), dtype=object)[g.node_types()
                                                                          == "process"]
            for prog in {program(n) for n in names}:
                seen[prog] = seen.get(prog, 0) + 1
        self.programs_ = frozenset(p for p, k in seen.items() if k >= max(self.programs, 1))

    def _pruned(self, graph: ProvenanceGraph) -> ProvenanceGraph:
        return GraphPruner().fit_transform(graph) if self.prune else graph

    def fit(self, train: Sequence[ProvenanceGraph], val: Sequence[ProvenanceGraph]
            ) -> AptDetector:
        """Fit on benign ``train`` graphs; set thresholds on benign ``val`` graphs.

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
        self.context_ = ContextEncoder(hidden=self.hidden, epochs=self.gnn_epochs,
                                       seed=self.seed, n_jobs=self.n_jobs).fit(
            x_tr, [g.edge_index() for g in tr], [self._classes(g) for g in tr])
        h_tr = [self.context_.transform(x, g.edge_index()) for x, g in zip(x_tr, tr, strict=True)]
        self.detector_ = NodeTypeDetector(n_estimators=self.n_estimators,
                                          node_fpr=self.node_fpr, seed=self.seed,
                                          n_jobs=self.n_jobs).fit(
            [np.hstack([x, h]) for x, h in zip(x_tr, h_tr, strict=True)],
            [self._classes(g) for g in tr])
        x_va = [self.semantic_.transform(g) for g in va]
        h_va = [self.context_.transform(x, g.edge_index()) for x, g in zip(x_va, va, strict=True)]
        self.detector_.calibrate([np.hstack([x, h]) for x, h in zip(x_va, h_va, strict=True)],
                                 [self._classes(g) for g in va])
        self.fitted_ = ([("train", g, x, h) for g, x, h in zip(tr, x_tr, h_tr, strict=True)]
                        + [("val", g, x, h) for g, x, h in zip(va, x_va, h_va, strict=True)])
        self.train_summary_ = {"train_graphs": len(tr), "val_graphs": len(va),
                               "train_nodes": int(sum(g.n_nodes for g in tr)),
                               "train_edges": int(sum(g.n_edges for g in tr)),
                               "node_types": self.detector_.classes_}
        return self

    def _check(self) -> None:
        if not hasattr(self, "detector_"):
            raise NotFittedError("AptDetector is not fitted; call fit or load a model.")

    def score(self, graph: ProvenanceGraph) -> GraphScore:
        """Prune, encode and score one graph."""
        self._check()
        g = self._pruned(graph)
        x = self.semantic_.transform(g)
        h = self.context_.transform(x, g.edge_index())
        classes = self._classes(g)
        alert, pred, conf = self.detector_.alerts(np.hstack([x, h]), classes)
        return GraphScore(graph=g, semantic=x, context=h, classes=classes, predicted=pred,
                          confidence=conf,
                          alert=alert, anomalous=self.detector_.is_anomalous(int(alert.sum())),
                          prune=g.meta.get("prune", {}))

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
             "programs": sorted(self.programs_)}, indent=2))
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
        det = cls(**info["params"])
        det.semantic_ = SemanticEncoder.load(folder)
        det.context_ = ContextEncoder.load(folder)
        det.detector_ = NodeTypeDetector.load(folder)
        det.train_summary_ = info.get("summary", {})
        det.programs_ = frozenset(info.get("programs", []))
        return det
