"""The apt method as named stages: logs -> graphs -> prune -> Word2Vec + RoPE ->
GraphSAGE -> embedding store -> LightGBM node types -> ranked alerts and subgraphs.

``apt train`` reads benign logs only, splits the graphs into training and validation
graphs (by graph, seeded), fits :class:`~riskscope.graph.model.AptDetector` on the first
and sets its alert thresholds on the second. ``apt detect`` scores new logs with a saved
model: ranked alerts, a verdict per graph, the attack subgraph (GraphML, JSON and a
drawing in the report) and, where ground truth is found next to the logs, node-level
(strict and 2-hop) and graph-level metrics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from riskscope.config import Settings
from riskscope.exceptions import InputError, ParameterError
from riskscope.graph.schema import ProvenanceGraph
from riskscope.pipelines._stages import Stage, StageProgress, run_stages
from riskscope.report.run import start_run

if TYPE_CHECKING:
    from riskscope.graph.model import AptDetector, GraphScore

__all__ = ["AptDetectConfig", "AptTrainConfig", "LoadedGraph", "detect_apt", "detect_logs",
           "load_graphs", "train_apt"]

# Files in a log folder that are never logs.
_NOT_LOGS = (".truth.json", ".yaml", ".yml", ".md", ".txt.sha256", "manifest.json",
             "card.json", "SHA256SUMS", "LICENSE")


class AptTrainConfig(BaseModel):
    """Settings of ``riskscope apt train`` (``[apt]`` in a config file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    benign: tuple[str, ...] = Field(..., min_length=1,
                                    description="Benign log files or folders.")
    format: str = "auto"
    window: float | None = Field(None, gt=0, description="Cut graphs into windows of "
                                 "this many seconds (one graph per window).")
    val_share: float = Field(0.2, gt=0, lt=1, description="Share of benign graphs held "
                             "out to set the alert thresholds.")
    programs: int = Field(3, ge=0, description="Programs run in at least this many "
                          "training graphs get their own class; 0: plain node types.")
    new_programs: bool = Field(True, description="A process running a program no "
                               "training graph ran always alerts (class process:new).")
    novel_args: bool = Field(True, description="A process of a known program whose "
                             "arguments are mostly tokens no training graph held alerts "
                             "(threshold set on the validation graphs).")
    expand: bool = Field(True, description="In anomalous graphs, also alert the processes "
                         "an alerted process started and the writers of what it executed.")
    count_weights: bool = Field(True, description="Weight GraphSAGE's neighbour mean by "
                                "pruning's edge counts.")
    prune: bool = True
    vector_size: int = Field(32, ge=2)
    w2v_epochs: int = Field(10, ge=1)
    hidden: int = Field(32, ge=2)
    gnn_epochs: int = Field(60, ge=1)
    n_estimators: int = Field(60, ge=1)
    node_fpr: float | None = Field(None, ge=0, lt=1, description="Share of benign "
                                   "validation nodes above the node threshold; default "
                                   "one per validation graph.")
    n_jobs: int = Field(1, ge=1, description="Threads for GraphSAGE and LightGBM (the "
                        "thread count changes LightGBM's results).")


class AptDetectConfig(BaseModel):
    """Settings of ``riskscope apt detect``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    data: tuple[str, ...] = Field(..., min_length=1)
    format: str = "auto"
    window: float | None = Field(None, gt=0)
    hops: int = Field(2, ge=0, description="Hops of lenient (2-hop) credit in metrics.")
    subgraphs: int = Field(3, ge=0, description="Attack subgraphs drawn and exported.")


@dataclass
class LoadedGraph:
    """A parsed graph, the file it came from and its ground truth if any was found."""

    graph: ProvenanceGraph
    source: Path
    labels: np.ndarray | None = None
    attack: bool | None = None


# ------------------------------------------------------------------------------ reading
def _log_files(path: Path) -> list[Path]:
    """Log files and graph folders under ``path`` (a folder holding ``nodes.parquet``
    is one graph, not three files)."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; pass audit logs or a graph folder.")
    found = _walk(path)
    if not found:
        raise InputError(f"{path}: the folder holds no log files; pass logs recorded "
                         "with `riskscope apt record` or another supported format.")
    return found


def _walk(path: Path) -> list[Path]:
    from riskscope.io.provenance import is_table_folder

    if not path.is_dir() or is_table_folder(path):
        return [path]
    out: list[Path] = []
    for p in sorted(path.iterdir()):
        if p.name.startswith(".") or p.name.endswith(_NOT_LOGS) or "_edges." in p.name:
            continue
        out += _walk(p)
    return out


def _truth_for(log: Path, graph: ProvenanceGraph) -> tuple[np.ndarray | None, bool | None]:
    """Ground truth next to a log: ``<name>.truth.json`` of a recorded run, else a
    ``label`` node column from the parser."""
    stem = log.name
    for suffix in (".gz", ".log", ".jsonl", ".json", ".txt"):
        stem = stem.removesuffix(suffix)
    truth = log.parent / f"{stem}.truth.json"
    if truth.is_file():
        from riskscope.io.provenance.scenario import label_graph, read_truth

        t = read_truth(truth)
        return np.asarray(label_graph(graph, t), bool), bool(t.get("attack"))
    if "label" in graph.nodes.column_names:
        lab = np.asarray(graph.nodes["label"].fill_null(False).to_numpy(zero_copy_only=False),
                         bool)
        return lab, bool(lab.any())
    return None, None


def _log_list(paths: tuple[str, ...] | list[str]) -> list[tuple[Path, str]]:
    """Every log under ``paths`` with the name its graphs get (its path relative to the
    folder given, so names stay unique and readable)."""
    out = []
    for given in paths:
        base = Path(given)
        for f in _log_files(base):
            out.append((f, f.relative_to(base).as_posix() if base.is_dir() and f != base
                        else f.name))
    return out


def _load_log(f: Path, rel: str, format: str, window: float | None) -> list[LoadedGraph]:
    from riskscope.io.provenance import read_provenance

    out = []
    for g in read_provenance(f, format=format):
        name = rel if not g.name or g.name == f.name else f"{rel}:{g.name}"
        g = ProvenanceGraph(g.nodes, g.edges, name=name, meta=g.meta)
        for w in (g.time_windows(window) if window else [g]):
            labels, attack = _truth_for(f, w)
            out.append(LoadedGraph(w, f, labels, attack))
    return out


def _none_read(paths: tuple[str, ...] | list[str]) -> InputError:
    return InputError(f"No graph could be read from {', '.join(paths)}; check the logs.")


def load_graphs(paths: tuple[str, ...] | list[str], *, format: str = "auto",
                window: float | None = None) -> list[LoadedGraph]:
    """Parse every log under ``paths`` into graphs (windowed if asked), with ground truth.

    Graphs are named by their file's path relative to the path given.
    """
    out = [lg for f, rel in _log_list(paths) for lg in _load_log(f, rel, format, window)]
    if not out:
        raise _none_read(paths)
    return out


def detect_logs(detector: AptDetector, paths: tuple[str, ...] | list[str], *,
                format: str = "auto", window: float | None = None
                ) -> list[tuple[LoadedGraph, GraphScore]]:
    """Read and score every log under ``paths``, one log at a time.

    (Two threads, one parsing while the other scores, were no faster on the recorded
    suite: parsing, pruning and Word2Vec lookups are Python and hold the GIL.)
    """
    out = [(lg, detector.score(lg.graph)) for f, rel in _log_list(paths)
           for lg in _load_log(f, rel, format, window)]
    if not out:
        raise _none_read(paths)
    return out


def _split_graphs(graphs: list[LoadedGraph], share: float, seed: int
                  ) -> tuple[list[LoadedGraph], list[LoadedGraph]]:
    if len(graphs) < 2:
        raise ParameterError(
            f"apt train needs at least 2 benign graphs (training and validation); got "
            f"{len(graphs)}. Record more runs or cut long logs with --window SECONDS.")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(graphs))
    n_val = min(len(graphs) - 1, max(1, round(share * len(graphs))))
    val = sorted(order[:n_val].tolist())
    train = sorted(order[n_val:].tolist())
    return [graphs[i] for i in train], [graphs[i] for i in val]


# ------------------------------------------------------------------------------ training
def _read_benign(s: dict[str, Any]) -> None:
    cfg: AptTrainConfig = s["config"]
    graphs = load_graphs(cfg.benign, format=cfg.format, window=cfg.window)
    attacks = [g.graph.name for g in graphs if g.attack]
    if attacks:
        raise InputError(f"apt train takes benign logs only, but the ground truth marks "
                         f"{len(attacks)} as attacks (first: {attacks[0]}); move them to "
                         "the data of `apt detect`.")
    for f in sorted({g.source for g in graphs}):
        s["run"].add_input(f)
    s["graphs"] = graphs


def _fit(s: dict[str, Any]) -> None:
    from riskscope.graph.model import AptDetector

    cfg: AptTrainConfig = s["config"]
    run = s["run"]
    train, val = _split_graphs(s["graphs"], cfg.val_share, run.seed)
    det = AptDetector(programs=cfg.programs, new_programs=cfg.new_programs,
                      novel_args=cfg.novel_args, expand=cfg.expand, count_weights=cfg.count_weights,
                      prune=cfg.prune, vector_size=cfg.vector_size,
                      w2v_epochs=cfg.w2v_epochs, hidden=cfg.hidden, gnn_epochs=cfg.gnn_epochs,
                      n_estimators=cfg.n_estimators, node_fpr=cfg.node_fpr, seed=run.seed,
                      n_jobs=cfg.n_jobs)
    det.fit([g.graph for g in train], [g.graph for g in val])
    split = pd.DataFrame([{"graph": g.graph.name, "split": part, "nodes": g.graph.n_nodes,
                           "edges": g.graph.n_edges}
                          for part, gs in (("train", train), ("val", val)) for g in gs])
    run.write_table("graphs", split)
    s.update(detector=det, split=split)


def _store_train(s: dict[str, Any]) -> None:
    from riskscope.graph.store import EmbeddingStore

    det = s["detector"]
    rows = pd.DataFrame([{"graph": g.name, "split": part, **_prune_counts(g.meta)}
                         for part, g, _, _ in det.fitted_])
    with s["run"].artifact("embeddings.duckdb") as tmp, EmbeddingStore(tmp) as store:
        for part, g, x, h in det.fitted_:
            store.put(g, x, h, split=part)
    s["prune_table"] = rows
    del det.fitted_  # the vectors are in the store now


def _prune_counts(meta: dict) -> dict[str, Any]:
    p = meta.get("prune") or {}
    b, a = p.get("before", {}), p.get("after", {})
    return {"nodes_before": b.get("nodes"), "edges_before": b.get("edges"),
            "nodes_after": a.get("nodes"), "edges_after": a.get("edges"),
            "bytes_before": b.get("bytes"), "bytes_after": a.get("bytes")}


def _save_model(s: dict[str, Any]) -> None:
    run, det = s["run"], s["detector"]
    model_dir = run.path / "model"
    det.save(model_dir)
    cal = det.detector_.calibration_
    pt = s["prune_table"]
    run.log_metrics(
        train_graphs=int((s["split"]["split"] == "train").sum()),
        val_graphs=int((s["split"]["split"] == "val").sum()),
        node_threshold=det.detector_.node_threshold_,
        graph_threshold=det.detector_.graph_threshold_,
        val_alerts_max=max(cal["alerts_per_graph"]),
        val_nodes=cal["nodes"],
        edges_before=int(pt["edges_before"].fillna(0).sum()),
        edges_after=int(pt["edges_after"].fillna(0).sum()))


def _train_report(s: dict[str, Any]) -> None:
    from riskscope.report.apt import build_train_report

    s["run"].write_report(build_train_report(s))


TRAIN_STAGES = (
    Stage("read benign logs", _read_benign),
    Stage("fit detector", _fit),
    Stage("embedding store", _store_train),
    Stage("save model", _save_model),
    Stage("report", _train_report),
)


def train_apt(config: AptTrainConfig, settings: Settings, *,
              progress: StageProgress | None = None, parent: str | None = None) -> Path:
    """Train an apt detector on benign logs; return the finished run folder."""
    with start_run("apt-train", runs_dir=settings.runs_dir, seed=settings.seed,
                   parameters=config.model_dump(mode="json"), parent=parent) as run:
        state: dict[str, Any] = {"config": config, "settings": settings, "run": run}
        run_stages("apt-train", TRAIN_STAGES, state, progress)
    return run.path


# ------------------------------------------------------------------------------ detection
def resolve_model(ref: str | os.PathLike[str], settings: Settings) -> tuple[Path, str]:
    """A model folder and its run id, from a run id or a run / model folder."""
    p = Path(ref)
    if p.is_dir():
        for cand in (p, p / "model"):
            if (cand / "model.json").is_file():
                return cand, (p.name if cand != p else p.parent.name)
        raise InputError(f"Folder '{p}' holds no apt model (no model.json in it or in "
                         "model/); pass the folder of an `apt train` run or its run id.")
    from riskscope.report.catalog import Catalog

    info = Catalog(settings.runs_dir).get(str(ref))
    if info["pipeline"] != "apt-train":
        raise InputError(f"Run {ref} is a {info['pipeline']} run, not an apt-train run; pass "
                         "the run id of `riskscope apt train`.")
    return Path(info["path"]) / "model", str(ref)


def _load_model(s: dict[str, Any]) -> None:
    from riskscope.graph.model import AptDetector

    path, model_id = resolve_model(s["config"].model, s["settings"])
    s.update(detector=AptDetector.load(path), model_id=model_id, model_path=path)
    s["run"].add_input(path, role="model")


def _score(s: dict[str, Any]) -> None:
    import time

    cfg: AptDetectConfig = s["config"]
    t0 = time.perf_counter()
    pairs = detect_logs(s["detector"], cfg.data, format=cfg.format, window=cfg.window)
    s["seconds"] = time.perf_counter() - t0
    s["graphs"] = [lg for lg, _ in pairs]
    s["results"] = [r for _, r in pairs]
    for f in sorted({g.source for g in s["graphs"]}):
        s["run"].add_input(f)


def _outputs(s: dict[str, Any]) -> None:
    from riskscope.graph.store import EmbeddingStore
    from riskscope.graph.subgraph import alert_subgraph

    cfg: AptDetectConfig = s["config"]
    run, results = s["run"], s["results"]
    alerts = pd.concat([r.alerts_frame() for r in results], ignore_index=True)
    run.write_table("alerts", alerts)
    verdicts = pd.DataFrame([{
        "graph": r.graph.name, "nodes": r.graph.n_nodes, "edges": r.graph.n_edges,
        "events": lg.graph.n_edges, "alerts": r.n_alerts, "anomalous": r.anomalous,
        "top_confidence": float(r.confidence[r.alert].max()) if r.n_alerts else 0.0,
        "attack": lg.attack} for lg, r in zip(s["graphs"], results, strict=True)])
    run.write_table("verdicts", verdicts)
    with run.artifact("embeddings.duckdb") as tmp, EmbeddingStore(tmp) as store:
        for r in results:
            store.put(r.graph, r.semantic, r.context, split="detect")
    ranked = sorted(range(len(results)), key=lambda i: (not results[i].anomalous,
                                                        -results[i].n_alerts))
    subgraphs = []
    for i in ranked[:cfg.subgraphs]:
        r = results[i]
        if not r.n_alerts:
            continue
        sub = alert_subgraph(r.graph, r.alert, r.confidence, predicted=r.predicted)
        slug = f"subgraph-{len(subgraphs) + 1}"
        with run.artifact(f"subgraphs/{slug}.graphml") as tmp:
            sub.write_graphml(tmp)
        with run.artifact(f"subgraphs/{slug}.json") as tmp:
            sub.write_json(tmp)
        subgraphs.append((slug, r.graph.name, sub))
    s.update(alerts=alerts, verdicts=verdicts, subgraphs=subgraphs)


def _evaluate(s: dict[str, Any]) -> None:
    from riskscope.evaluation.apt import graph_metrics, node_metrics

    cfg: AptDetectConfig = s["config"]
    run = s["run"]
    rows = []
    for lg, r in zip(s["graphs"], s["results"], strict=True):
        if lg.labels is None:
            continue
        # labels belong to the unpruned graph: carry them over by node id
        labels = _labels_on(r.graph, lg.graph, lg.labels)
        m = node_metrics(r.graph.edge_index(), r.graph.n_nodes, r.alert, labels, hops=cfg.hops)
        lost = int(lg.labels.sum()) - int(labels.sum())
        rows.append({"graph": r.graph.name, "attack": lg.attack, "anomalous": r.anomalous,
                     "alerts": m["alerts"], "malicious": m["malicious"],
                     "malicious_pruned": lost, "true_alerts": m["true_alerts"],
                     "false_alerts": m["false_alerts"],
                     "strict_precision": m["strict"]["precision"],
                     "strict_recall": m["strict"]["recall"],
                     "lenient_precision": m["lenient"]["precision"],
                     "lenient_recall": m["lenient"]["recall"],
                     "lenient_true_alerts": m["lenient_true_alerts"],
                     "lenient_found": m["lenient_found"],
                     "lenient_false_alerts": m["lenient_false_alerts"]})
    table = pd.DataFrame(rows)
    s["evaluation"] = table
    if table.empty:
        return
    run.write_table("evaluation", table)
    summary = node_summary(table)
    known = table["attack"].notna()
    if known.any():
        summary["graph"] = graph_metrics(table.loc[known, "anomalous"].tolist(),
                                         table.loc[known, "attack"].astype(bool).tolist())
    run.write_json("metrics.json", summary)
    s["summary"] = summary
    run.log_metrics(**{f"strict_{k}": v for k, v in summary["strict"].items()},
                    **{f"lenient_{k}": v for k, v in summary["lenient"].items()},
                    **({f"graph_{k}": summary["graph"][k] for k in ("precision", "recall", "f1")}
                       if "graph" in summary else {}))


def node_summary(table: pd.DataFrame) -> dict[str, Any]:
    """Node-level metrics pooled over graphs (alerts and malicious nodes summed)."""
    from riskscope.evaluation.apt import prf

    tot = table[["alerts", "malicious", "true_alerts", "lenient_true_alerts",
                 "lenient_found"]].sum().astype(int)
    strict = prf(tot["true_alerts"], tot["alerts"], tot["true_alerts"], tot["malicious"])
    lenient = prf(tot["lenient_true_alerts"], tot["alerts"], tot["lenient_found"],
                  tot["malicious"])
    return {"strict": strict, "lenient": lenient, "graphs": len(table),
            "alerts": int(tot["alerts"]), "malicious": int(tot["malicious"])}


def _labels_on(pruned: ProvenanceGraph, full: ProvenanceGraph, labels: np.ndarray
               ) -> np.ndarray:
    ids = full.nodes["id"].to_pylist()
    bad = {ids[i] for i in np.flatnonzero(labels)}
    return np.array([i in bad for i in pruned.nodes["id"].to_pylist()], bool)


def _detect_report(s: dict[str, Any]) -> None:
    from riskscope.report.apt import build_detect_report

    run = s["run"]
    v = s["verdicts"]
    events = int(v["events"].sum())
    run.log_metrics(graphs=len(v), anomalous_graphs=int(v["anomalous"].sum()),
                    alerts=int(v["alerts"].sum()), events=events,
                    events_per_second=events / max(s["seconds"], 1e-9))
    run.write_report(build_detect_report(s))


DETECT_STAGES = (
    Stage("load model", _load_model),
    Stage("read and score logs", _score),
    Stage("alerts and subgraphs", _outputs),
    Stage("evaluate", _evaluate),
    Stage("report", _detect_report),
)


def detect_apt(config: AptDetectConfig, settings: Settings, *,
               progress: StageProgress | None = None, parent: str | None = None
               ) -> tuple[Path, dict[str, Any]]:
    """Score logs with a saved apt model; return the run folder and the final state."""
    with start_run("apt-detect", runs_dir=settings.runs_dir, seed=settings.seed,
                   parameters=config.model_dump(mode="json"), parent=parent) as run:
        state: dict[str, Any] = {"config": config, "settings": settings, "run": run}
        run_stages("apt-detect", DETECT_STAGES, state, progress)
    return run.path, state
