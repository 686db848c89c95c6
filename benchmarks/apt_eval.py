"""apt detection on the recorded scenario suite: held-out runs, several seeds, pruning ablation.

Targets (apt issue): on held-out recorded runs, graph-level precision and recall >= 0.95
and every attack's process chain among the alerts with <= 10 false-positive nodes per
attack graph; pruning >= 50% fewer edges for <= 1 point of strict F1; node-level strict
and lenient (2-hop) precision / recall / F1 over several seeds, mean and spread.

Data: a suite recorded by ``benchmarks/apt_record.py`` (``<data>/{train,test}/<kind>/
<run>.log`` with ``<run>.truth.json``): benign kinds only under ``train``, benign kinds
and attack kinds under ``test``. Logs are parsed once (``load_graphs``, ground truth
attached). For each seed the training graphs are split into training and validation
graphs by graph with the pipeline's own rule (``_split_graphs``, ``--val-share``), an
``AptDetector(seed=seed)`` with default parameters is fitted on the first (thresholds
set on the benign validation graphs, never on test runs) and every test graph is scored.

Per seed:

* graph level: each test graph's verdict against the truth's ``attack`` flag;
* node level, pooled over test graphs (counts summed as ``node_summary`` does), strict
  (the alerted node itself is labelled) and lenient (2 undirected hops, FLASH's rule);
  labels are those of the unpruned graph carried over by node id, so a labelled node
  that pruning removed or merged away counts as lost, not as missed (see ``lost``);
* per attack graph: false-positive alert nodes, strict (alerts on unlabelled nodes)
  and lenient (alerts with no labelled node within 2 hops), and the process chain at
  the levels of :data:`CHAIN_LEVELS`. The target verdict of an attack graph is
  ``chain`` (root alerted, every attack process alerted or next to an alerted attack
  process) with at most ``--max-fp`` strict false-positive nodes.

Ablation (skip with ``--no-ablation``): the same seeds with ``AptDetector(prune=False)``;
edges and Arrow bytes before and after pruning (test and training graphs), scoring wall
time over the test graphs with and without pruning, strict F1 difference per seed.

    python benchmarks/apt_eval.py --data /tmp/apt-suite --seeds 0 1 2 3 4
    python benchmarks/apt_eval.py --data /tmp/apt-suite --seeds 0 --no-ablation  # quick
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import machine

from riskscope.evaluation.apt import graph_metrics, node_metrics, within_hops
from riskscope.graph.model import AptDetector
from riskscope.graph.prune import GraphPruner
from riskscope.graph.schema import ProvenanceGraph
from riskscope.io.provenance.scenario import read_truth
from riskscope.pipelines.apt import (
    LoadedGraph,
    _labels_on,
    _split_graphs,
    load_graphs,
    node_summary,
)

#: How "the attack's process chain is among the alerts" is counted, per attack graph.
#: Attack processes are the labelled process nodes of the (pruned) scored graph: those
#: the truth names (``processes``, or a ``markers`` name in the name or command line:
#: the payload's download and chmod, the implant) and every process they started,
#: transitively. Roots are the processes running the payload / implant itself
#: (:func:`root_mask`). All levels are False when pruning removed every root.
CHAIN_LEVELS = {
    "root": "every root attack process (the one running the payload / implant named in "
            "the truth's 'processes') is itself an alert",
    "chain": "root, and every attack process (root and its descendants) is an alert or "
             "adjacent (1 undirected hop) to an alerted attack process",
    "chain_strict": "every attack process is itself an alert",
    "chain_2hop": "every attack process lies within 2 undirected hops of some alert "
                  "(lenient, FLASH's rule; the alert may be a false positive)",
}


# ------------------------------------------------------------------------------ helpers
def truth_path(log: Path) -> Path:
    """``<run>.truth.json`` next to a recorded ``<run>.log``."""
    stem = log.name
    for suffix in (".gz", ".log"):
        stem = stem.removesuffix(suffix)
    return log.parent / f"{stem}.truth.json"


def root_mask(graph: ProvenanceGraph, truth: dict[str, Any]) -> np.ndarray:
    """Root attack processes: the processes that run the attack's own program (the
    payload or implant in ``truth["processes"]``), as executable (``name``) or as the
    first argument of an interpreter (``python3 implant.py``). Processes that only
    mention it (``curl -o payload``, ``chmod +x payload``) are attack processes through
    the truth's markers, not roots.

    Examples
    --------
    >>> import pandas as pd
    >>> g = ProvenanceGraph.from_frames(
    ...     pd.DataFrame({"id": ["1", "2", "3"], "type": ["process"] * 3,
    ...                   "name": ["/usr/bin/curl", "/usr/bin/python3", "/tmp/x.sh"],
    ...                   "cmdline": ["curl -o /tmp/x.sh u", "python3 /tmp/i.py", "/tmp/x.sh"]}),
    ...     pd.DataFrame({"src": [0, 0], "dst": [1, 2], "type": ["start", "start"],
    ...                   "ts": [1, 2]}))
    >>> root_mask(g, {"processes": ["/tmp/x.sh", "/tmp/i.py"]}).tolist()
    [False, True, True]
    """
    wanted = {str(p) for p in truth.get("processes", [])}
    types = graph.node_types()
    names = graph.nodes["name"].to_pylist()
    cmds = (graph.nodes["cmdline"].to_pylist() if "cmdline" in graph.nodes.column_names
            else [None] * graph.n_nodes)
    out = np.zeros(graph.n_nodes, bool)
    for i in np.flatnonzero(types == "process"):
        argv = (cmds[i] or "").split()
        out[i] = names[i] in wanted or (len(argv) > 1 and argv[1] in wanted)
    return out


def chain_levels(edge_index: np.ndarray, n_nodes: int, types: np.ndarray, alert: np.ndarray,
                 labels: np.ndarray, root: np.ndarray) -> dict[str, Any]:
    """The :data:`CHAIN_LEVELS` of one attack graph, with process counts.

    Examples
    --------
    >>> import numpy as np
    >>> ei = np.array([[0, 1, 1], [1, 2, 3]])      # sh -> payload -> {tar, file}
    >>> t = np.array(["process", "process", "process", "file"], dtype=object)
    >>> lab = np.array([False, True, True, True]); root = np.array([False, True, False, False])
    >>> c = chain_levels(ei, 4, t, np.array([False, True, False, False]), lab, root)
    >>> c["root"], c["chain"], c["chain_strict"], c["chain_2hop"]
    (True, True, False, True)
    """
    alert = np.asarray(alert, bool)
    procs = np.asarray(labels, bool) & (types == "process")
    root = np.asarray(root, bool) & procs
    n_procs, n_root = int(procs.sum()), int(root.sum())
    out = {"attack_processes": n_procs, "root_processes": n_root,
           "attack_processes_alerted": int((procs & alert).sum()),
           "root": False, "chain": False, "chain_strict": False, "chain_2hop": False}
    if not n_root:
        return out
    out["root"] = bool(alert[root].all())
    out["chain_strict"] = bool(alert[procs].all())
    near_true_alert = within_hops(edge_index, n_nodes, alert & procs, 1)
    out["chain"] = out["root"] and bool(near_true_alert[procs].all())
    out["chain_2hop"] = bool(within_hops(edge_index, n_nodes, alert, 2)[procs].all())
    return out


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation, NaN values left out (sd 0 for one value).

    Examples
    --------
    >>> mean_sd([1.0, 3.0, float("nan")])
    (2.0, 1.4142135623730951)
    """
    v = [float(x) for x in values if x is not None and not math.isnan(float(x))]
    if not v:
        return float("nan"), float("nan")
    return statistics.fmean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def fmt(values: list[float], digits: int = 3) -> str:
    """``mean ± sd`` of a list of per-seed values."""
    m, s = mean_sd(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def code_version() -> dict[str, Any]:
    """The commit measured, and whether the apt code differs from it (others edit it)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]

    def git(*a: str) -> str:
        out = subprocess.run(["git", *a], cwd=root, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    paths = ["src/riskscope/graph", "src/riskscope/pipelines/apt.py",
             "src/riskscope/evaluation/apt.py", "src/riskscope/io/provenance"]
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "apt_code_modified": git("status", "--porcelain", "--", *paths).splitlines()}


def _bytes(g: ProvenanceGraph) -> int:
    return int(g.nodes.nbytes + g.edges.nbytes)


# ------------------------------------------------------------------------------ one seed
def evaluate_graph(lg: LoadedGraph, truth: dict[str, Any], root_full: np.ndarray, r,
                   *, hops: int) -> tuple[dict[str, Any], pd.DataFrame]:
    """One scored test graph: counts, chain levels and its alerts (with labels)."""
    g = r.graph
    labels = _labels_on(g, lg.graph, lg.labels)
    root = _labels_on(g, lg.graph, root_full)
    ei = g.edge_index()
    m = node_metrics(ei, g.n_nodes, r.alert, labels, hops=hops)
    name = lg.graph.name
    row = {"graph": name, "kind": truth["kind"], "attack": bool(lg.attack),
           "anomalous": bool(r.anomalous), "nodes_full": lg.graph.n_nodes,
           "edges_full": lg.graph.n_edges, "nodes": g.n_nodes, "edges": g.n_edges,
           "bytes_full": _bytes(lg.graph), "bytes": _bytes(g),
           **{k: m[k] for k in ("alerts", "malicious", "true_alerts", "false_alerts",
                                "lenient_true_alerts", "lenient_found",
                                "lenient_false_alerts")},
           "lost": int(lg.labels.sum()) - int(labels.sum()),
           "root_lost": int(root_full.sum()) - int(root.sum())}
    if lg.attack:
        row.update(chain_levels(ei, g.n_nodes, g.node_types(), r.alert, labels, root))
    frame = r.alerts_frame() if r.n_alerts else pd.DataFrame()
    if len(frame):
        ids = g.nodes["id"].to_pylist()
        pos = {i: k for k, i in enumerate(ids)}
        idx = np.array([pos[i] for i in frame["node_id"]])
        near = within_hops(ei, g.n_nodes, labels, hops)
        frame = frame.assign(kind=truth["kind"], attack=bool(lg.attack), label=labels[idx],
                             near_label=near[idx], root=root[idx])
    return row, frame


def _missed(lg: LoadedGraph, kind: str, r, root_full: np.ndarray) -> list[dict[str, Any]]:
    """Attack processes of one attack graph that are not alerts."""
    g = r.graph
    labels = _labels_on(g, lg.graph, lg.labels)
    root = _labels_on(g, lg.graph, root_full)
    miss = np.flatnonzero(labels & (g.node_types() == "process") & ~r.alert)
    names = g.nodes["name"].to_pylist()
    return [{"kind": kind, "root": bool(root[i]),
             "class": r.classes[i], "predicted": r.predicted[i],
             "confidence": float(r.confidence[i]), "name": names[i]} for i in miss]


def run_seed(train: list[LoadedGraph], test: list[LoadedGraph], truths: list[dict],
             roots: list[np.ndarray], *, seed: int, prune: bool, val_share: float,
             hops: int, n_jobs: int, save: Path | None = None) -> dict[str, Any]:
    """Fit on one seed's split of the benign graphs and score every test graph."""
    tr, va = _split_graphs(train, val_share, seed)
    start = time.perf_counter()
    det = AptDetector(seed=seed, prune=prune, n_jobs=n_jobs).fit(
        [g.graph for g in tr], [g.graph for g in va])
    fit_s = time.perf_counter() - start
    if save is not None:
        det.save(save / f"seed{seed}-{'pruned' if prune else 'unpruned'}")
    fitted = [g for _, g, _, _ in det.fitted_]
    del det.fitted_
    originals = [g.graph for g in tr + va]
    train_counts = {"edges_full": sum(g.n_edges for g in originals),
                    "edges": sum(g.n_edges for g in fitted),
                    "bytes_full": sum(_bytes(g) for g in originals),
                    "bytes": sum(_bytes(g) for g in fitted)}
    rows, frames, missed, score_s = [], [], [], 0.0
    for lg, truth, root in zip(test, truths, roots, strict=True):
        start = time.perf_counter()
        r = det.score(lg.graph)
        score_s += time.perf_counter() - start
        row, frame = evaluate_graph(lg, truth, root, r, hops=hops)
        rows.append(row)
        frames.append(frame)
        if lg.attack:
            missed += _missed(lg, truth["kind"], r, root)
    prune_s = 0.0
    if prune:  # pruning alone, for the share of scoring time it takes
        start = time.perf_counter()
        for lg in test:
            GraphPruner().fit_transform(lg.graph)
        prune_s = time.perf_counter() - start
    cal = det.detector_.calibration_
    return {"seed": seed, "prune": prune, "fit_s": fit_s, "score_s": score_s,
            "prune_s": prune_s, "train_graphs": len(tr), "val_graphs": len(va),
            "node_threshold": det.detector_.node_threshold_,
            "graph_threshold": det.detector_.graph_threshold_,
            "val_alerts_per_graph": cal["alerts_per_graph"],
            "node_fpr": cal["node_fpr"], "calibration_warnings": cal["warnings"],
            "classes": len(det.detector_.classes_), "train": train_counts,
            "rows": pd.DataFrame(rows),
            "alerts": pd.concat([f for f in frames if len(f)], ignore_index=True)
            if any(len(f) for f in frames) else pd.DataFrame(),
            "missed": pd.DataFrame(missed)}


# ------------------------------------------------------------------------------ summaries
def summarise(res: dict[str, Any], *, max_fp: int) -> dict[str, Any]:
    """Per-seed metrics of one variant from :func:`run_seed`'s output."""
    t = res["rows"]
    g = graph_metrics(t["anomalous"].tolist(), t["attack"].tolist())
    nodes = node_summary(t)
    att = t[t["attack"]].copy()
    for lvl in CHAIN_LEVELS:  # NaN on benign rows made these columns objects
        att[lvl] = att[lvl].astype(bool)
    att["target"] = att["chain"] & (att["false_alerts"] <= max_fp)
    att["target_2hop"] = att["chain_2hop"] & (att["false_alerts"] <= max_fp)
    per_kind = {}
    for kind, a in att.groupby("kind"):
        per_kind[kind] = {
            "graphs": len(a), "detected": float(a["anomalous"].mean()),
            **{lvl: float(a[lvl].mean()) for lvl in CHAIN_LEVELS},
            "process_recall": float(a["attack_processes_alerted"].sum()
                                    / max(a["attack_processes"].sum(), 1)),
            "fp_strict_mean": float(a["false_alerts"].mean()),
            "fp_strict_max": int(a["false_alerts"].max()),
            "fp_lenient_mean": float(a["lenient_false_alerts"].mean()),
            "fp_lenient_max": int(a["lenient_false_alerts"].max()),
            "target": float(a["target"].mean()), "target_2hop": float(a["target_2hop"].mean()),
            "lost": int(a["lost"].sum()), "root_lost": int(a["root_lost"].sum())}
    ben = t[~t["attack"]]
    out = {
        "seed": res["seed"], "prune": res["prune"],
        "graph": g, "strict": nodes["strict"], "lenient": nodes["lenient"],
        "alerts": nodes["alerts"], "malicious": nodes["malicious"],
        **{lvl: float(att[lvl].mean()) for lvl in CHAIN_LEVELS},
        "target": float(att["target"].mean()), "target_2hop": float(att["target_2hop"].mean()),
        "fp_strict_mean": float(att["false_alerts"].mean()),
        "fp_strict_max": int(att["false_alerts"].max()),
        "fp_lenient_mean": float(att["lenient_false_alerts"].mean()),
        "fp_lenient_max": int(att["lenient_false_alerts"].max()),
        "benign_alerts_mean": float(ben["alerts"].mean()),
        "benign_alerts_max": int(ben["alerts"].max()),
        "benign_flagged": ben.loc[ben["anomalous"], "graph"].tolist(),
        "per_kind": per_kind,
        "lost_labelled": int(t["lost"].sum()), "labelled_full": int(nodes["malicious"]
                                                                    + t["lost"].sum()),
        "root_lost": int(t["root_lost"].sum()),
        "test_edges_full": int(t["edges_full"].sum()), "test_edges": int(t["edges"].sum()),
        "test_bytes_full": int(t["bytes_full"].sum()), "test_bytes": int(t["bytes"].sum()),
        "train_edges_full": res["train"]["edges_full"], "train_edges": res["train"]["edges"],
        "train_bytes_full": res["train"]["bytes_full"], "train_bytes": res["train"]["bytes"],
        "fit_s": res["fit_s"], "score_s": res["score_s"], "prune_s": res["prune_s"],
        "node_threshold": res["node_threshold"], "graph_threshold": res["graph_threshold"],
        "val_alerts_per_graph": res["val_alerts_per_graph"], "classes": res["classes"],
        "node_fpr": res["node_fpr"], "calibration_warnings": res["calibration_warnings"],
    }
    out["diagnostics"] = diagnostics(res)
    return out


def diagnostics(res: dict[str, Any], top: int = 12) -> dict[str, Any]:
    """What the alerts are: false positives by (class -> predicted), missed attack
    processes by class, benign graphs' alert counts against the graph threshold."""
    a = res["alerts"]
    out: dict[str, Any] = {}
    if len(a):
        fp = a[~a["label"]]
        out["fp_by_class"] = [
            {"class": c, "predicted": p, "alerts": int(n)}
            for (c, p), n in Counter(zip(fp["class"], fp["predicted"], strict=True)
                                     ).most_common(top)]
        out["fp_by_kind"] = {k: int(n) for k, n in fp.groupby("kind").size().items()}
        out["fp_by_reason"] = {k: int(n) for k, n in fp.groupby("reason").size().items()}
        out["fp_attack_graphs_by_reason"] = {
            k: int(n) for k, n in fp[fp["attack"]].groupby("reason").size().items()}
        out["fp_confidence_quantiles"] = [round(float(q), 4) for q in
                                          np.quantile(fp["confidence"], [0.1, 0.5, 0.9])
                                          ] if len(fp) else []
        tp = a[a["label"]]
        out["tp_by_class"] = [{"class": c, "alerts": int(n)}
                              for c, n in Counter(tp["class"]).most_common(top)]
    m = res["missed"]
    if len(m):
        out["missed_by_class"] = [
            {"class": c, "predicted": p, "root": bool(rt), "processes": int(n)}
            for (c, p, rt), n in Counter(zip(m["class"], m["predicted"], m["root"],
                                             strict=True)).most_common(top)]
    t = res["rows"]
    ben = t[~t["attack"]]
    out["benign_alerts_by_kind"] = {k: {"max": int(v.max()), "mean": float(v.mean())}
                                    for k, v in ben.groupby("kind")["alerts"]}
    return out


# ------------------------------------------------------------------------------ printing
def _col(summaries: list[dict], key) -> list[float]:
    return [key(s) for s in summaries]


MAIN_COLUMNS = (
    ("graph P", lambda s: s["graph"]["precision"]),
    ("graph R", lambda s: s["graph"]["recall"]),
    ("graph F1", lambda s: s["graph"]["f1"]),
    ("strict P", lambda s: s["strict"]["precision"]),
    ("strict R", lambda s: s["strict"]["recall"]),
    ("strict F1", lambda s: s["strict"]["f1"]),
    ("2-hop P", lambda s: s["lenient"]["precision"]),
    ("2-hop R", lambda s: s["lenient"]["recall"]),
    ("2-hop F1", lambda s: s["lenient"]["f1"]),
    ("root", lambda s: s["root"]),
    ("chain", lambda s: s["chain"]),
    ("chain strict", lambda s: s["chain_strict"]),
    ("chain 2-hop", lambda s: s["chain_2hop"]),
    ("FP/attack graph", lambda s: s["fp_strict_mean"]),
    ("FP max", lambda s: s["fp_strict_max"]),
    ("target share", lambda s: s["target"]),
)


def table(summaries: list[dict], columns=MAIN_COLUMNS, first: str = "seed") -> str:
    head = f"| {first} | " + " | ".join(c for c, _ in columns) + " |"
    lines = [head, "|" + "---|" * (len(columns) + 1)]
    for s in summaries:
        lines.append(f"| {s['seed']} | " + " | ".join(
            _num(f(s)) for _, f in columns) + " |")
    lines.append("| mean ± sd | " + " | ".join(
        fmt(_col(summaries, f), 3 if not c.startswith("FP") else 1) for c, f in columns)
        + " |")
    return "\n".join(lines)


def _num(x) -> str:
    if isinstance(x, int | np.integer):
        return str(int(x))
    return f"{x:.3f}"


def kind_table(summaries: list[dict]) -> str:
    kinds = sorted(summaries[0]["per_kind"])
    keys = ("detected", "root", "chain", "chain_strict", "chain_2hop", "process_recall",
            "fp_strict_mean", "fp_strict_max", "fp_lenient_mean", "target", "root_lost")
    lines = ["| kind | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 1)]
    for k in kinds:
        lines.append(f"| {k} | " + " | ".join(
            fmt([s["per_kind"][k][key] for s in summaries], 1 if "fp" in key else 3)
            for key in keys) + " |")
    return "\n".join(lines)


def ablation(pruned: list[dict], full: list[dict]) -> dict[str, Any]:
    per_seed = []
    for p, f in zip(pruned, full, strict=True):
        per_seed.append({
            "seed": p["seed"],
            "strict_f1_pruned": p["strict"]["f1"], "strict_f1_unpruned": f["strict"]["f1"],
            "strict_f1_diff_points": 100 * (p["strict"]["f1"] - f["strict"]["f1"]),
            "lenient_f1_pruned": p["lenient"]["f1"], "lenient_f1_unpruned": f["lenient"]["f1"],
            "graph_f1_pruned": p["graph"]["f1"], "graph_f1_unpruned": f["graph"]["f1"],
            "chain_pruned": p["chain"], "chain_unpruned": f["chain"],
            "score_s_pruned": p["score_s"], "score_s_unpruned": f["score_s"],
            "prune_s": p["prune_s"],
            "fit_s_pruned": p["fit_s"], "fit_s_unpruned": f["fit_s"]})
    p0 = pruned[0]  # edges and bytes do not depend on the seed (test); train split does
    out = {
        "per_seed": per_seed,
        "test_edges_before": p0["test_edges_full"], "test_edges_after": p0["test_edges"],
        "test_edge_reduction": 1 - p0["test_edges"] / p0["test_edges_full"],
        "test_bytes_before": p0["test_bytes_full"], "test_bytes_after": p0["test_bytes"],
        "test_bytes_ratio": p0["test_bytes_full"] / p0["test_bytes"],
        "train_edges_before": [p["train_edges_full"] for p in pruned],
        "train_edges_after": [p["train_edges"] for p in pruned],
        "train_edge_reduction": [1 - p["train_edges"] / p["train_edges_full"] for p in pruned],
        "train_bytes_ratio": [p["train_bytes_full"] / p["train_bytes"] for p in pruned],
        "lost_labelled": p0["lost_labelled"], "labelled_before": p0["labelled_full"],
        "root_lost": p0["root_lost"],
    }
    for key in ("strict_f1_diff_points", "score_s_pruned", "score_s_unpruned", "prune_s",
                "fit_s_pruned", "fit_s_unpruned"):
        m, s = mean_sd([r[key] for r in per_seed])
        out[key] = {"mean": m, "sd": s}
    return out


def ablation_table(ab: dict[str, Any]) -> str:
    lines = ["| seed | strict F1 pruned | strict F1 unpruned | diff (points) | 2-hop F1 pruned |"
             " 2-hop F1 unpruned | graph F1 pruned | graph F1 unpruned | score s pruned |"
             " score s unpruned | fit s pruned | fit s unpruned |",
             "|" + "---|" * 12]
    keys = ("strict_f1_pruned", "strict_f1_unpruned", "strict_f1_diff_points",
            "lenient_f1_pruned", "lenient_f1_unpruned", "graph_f1_pruned",
            "graph_f1_unpruned", "score_s_pruned", "score_s_unpruned", "fit_s_pruned",
            "fit_s_unpruned")
    for r in ab["per_seed"]:
        lines.append(f"| {r['seed']} | " + " | ".join(_num(r[k]) for k in keys) + " |")
    lines.append("| mean ± sd | " + " | ".join(
        fmt([r[k] for r in ab["per_seed"]], 2 if k.endswith(("_s_pruned", "_s_unpruned",
                                                              "points")) else 3)
        for k in keys) + " |")
    return "\n".join(lines)


def verdicts(pruned: list[dict], ab: dict[str, Any] | None, max_fp: int) -> list[str]:
    def worst(key):
        return min(key(s) for s in pruned)

    gp, _ = mean_sd([s["graph"]["precision"] for s in pruned])
    gr, _ = mean_sd([s["graph"]["recall"] for s in pruned])
    tg, _ = mean_sd([s["target"] for s in pruned])
    lines = [
        f"graph precision >= 0.95: {'met' if gp >= 0.95 else 'NOT met'} "
        f"(mean {gp:.3f}, worst seed {worst(lambda s: s['graph']['precision']):.3f})",
        f"graph recall >= 0.95: {'met' if gr >= 0.95 else 'NOT met'} "
        f"(mean {gr:.3f}, worst seed {worst(lambda s: s['graph']['recall']):.3f})",
        f"every attack's chain among alerts with <= {max_fp} FP nodes: "
        f"{'met' if tg == 1 else 'NOT met'} (share of attack graphs meeting it: mean "
        f"{tg:.3f}, worst seed {worst(lambda s: s['target']):.3f})"]
    if ab:
        red = ab["test_edge_reduction"]
        d = ab["strict_f1_diff_points"]["mean"]
        lines.append(f"pruning >= 50% fewer edges: {'met' if red >= 0.5 else 'NOT met'} "
                     f"(test {100 * red:.1f}% fewer; training "
                     f"{100 * min(ab['train_edge_reduction']):.1f}% fewer or more)")
        lines.append(f"strict F1 loss from pruning <= 1 point: "
                     f"{'met' if d >= -1 else 'NOT met'} (pruned - unpruned: mean {d:+.2f} "
                     f"points, sd {ab['strict_f1_diff_points']['sd']:.2f}; per seed "
                     + ", ".join(f"{r['strict_f1_diff_points']:+.2f}"
                                 for r in ab["per_seed"]) + ")")
    return lines


# ------------------------------------------------------------------------------ main
def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        return None if math.isnan(float(obj)) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="suite folder with train/ and test/ (benchmarks/apt_record.py)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--no-ablation", action="store_true",
                        help="skip the prune=False runs")
    parser.add_argument("--val-share", type=float, default=0.2)
    parser.add_argument("--hops", type=int, default=2, help="hops of lenient credit")
    parser.add_argument("--max-fp", type=int, default=10,
                        help="false-positive nodes allowed per attack graph (target)")
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="threads (1: LightGBM's results depend on the thread count)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/apt-eval.json"))
    parser.add_argument("--save-models", type=Path,
                        help="also save every fitted detector here (seed<k>-pruned/...)")
    args = parser.parse_args(argv)

    load_start = os.getloadavg()
    version = code_version()  # before anything is imported lazily from a changing tree
    start = time.perf_counter()
    train = load_graphs([str(args.data / "train")])
    test = load_graphs([str(args.data / "test")])
    parse_s = time.perf_counter() - start
    if any(g.attack for g in train):
        sys.exit("error: the training split holds attack runs; it must be benign only.")
    truths = [read_truth(truth_path(lg.source)) for lg in test]
    roots = [root_mask(lg.graph, t) for lg, t in zip(test, truths, strict=True)]
    no_root = [lg.graph.name for lg, r in zip(test, roots, strict=True) if lg.attack
               and not r.any()]
    print(f"parsed {len(train)} training and {len(test)} test graphs in {parse_s:.1f} s; "
          f"attack graphs without a root process: {len(no_root)}", flush=True)

    variants = [True] if args.no_ablation else [True, False]
    results: dict[bool, list[dict]] = {v: [] for v in variants}
    for seed in args.seeds:
        for prune in variants:
            res = run_seed(train, test, truths, roots, seed=seed, prune=prune,
                           val_share=args.val_share, hops=args.hops, n_jobs=args.n_jobs,
                           save=args.save_models)
            s = summarise(res, max_fp=args.max_fp)
            s["graphs"] = res["rows"].to_dict("records")
            results[prune].append(s)
            print(f"seed {seed} prune={prune}: fit {s['fit_s']:.1f} s, score "
                  f"{s['score_s']:.1f} s, graph P/R {s['graph']['precision']:.3f}/"
                  f"{s['graph']['recall']:.3f}, strict F1 {s['strict']['f1']:.3f}, "
                  f"2-hop F1 {s['lenient']['f1']:.3f}, chain {s['chain']:.3f}, "
                  f"target {s['target']:.3f}", flush=True)

    pruned = results[True]
    ab = None if args.no_ablation else ablation(pruned, results[False])
    command = "python benchmarks/apt_eval.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    result = {"command": command, "machine": machine(), "date": dt.date.today().isoformat(),
              **version,
              "load_before": round(load_start[0], 2), "load_after": round(os.getloadavg()[0], 2),
              "data": str(args.data), "seeds": args.seeds, "val_share": args.val_share,
              "hops": args.hops, "max_fp": args.max_fp, "parse_s": parse_s,
              "train_graphs": len(train), "test_graphs": len(test),
              "test_attack_graphs": int(sum(bool(g.attack) for g in test)),
              "chain_levels": CHAIN_LEVELS,
              "target_definition": f"attack graph passes when 'chain' holds and it has <= "
                                   f"{args.max_fp} strict false-positive alert nodes",
              "pruned": pruned, "unpruned": results.get(False), "ablation": ab}
    result["verdicts"] = verdicts(pruned, ab, args.max_fp)

    print(f"\n{command}\n{result['machine']}; load {result['load_before']}->"
          f"{result['load_after']}; {result['date']}; commit {result['commit']}"
          f"{' + local changes to the apt code' if result['apt_code_modified'] else ''}\n")
    print("Chain levels (per attack graph):")
    for k, v in CHAIN_LEVELS.items():
        print(f"- {k}: {v}")
    print(f"- target share: {result['target_definition']}\n")
    print("AptDetector(prune=True), held-out test graphs:\n")
    print(table(pruned))
    print("\nPer attack kind (mean ± sd over seeds):\n")
    print(kind_table(pruned))
    if ab:
        print("\nAptDetector(prune=False), same seeds:\n")
        print(table(results[False]))
        print("\nPruning ablation:\n")
        print(ablation_table(ab))
        print(f"\nedges, test graphs: {ab['test_edges_before']} -> {ab['test_edges_after']} "
              f"({100 * ab['test_edge_reduction']:.1f}% fewer); Arrow bytes ratio "
              f"{ab['test_bytes_ratio']:.2f}x")
        print(f"edges, training+validation graphs: {ab['train_edges_before'][0]} -> "
              f"{ab['train_edges_after'][0]} "
              f"({100 * ab['train_edge_reduction'][0]:.1f}% fewer); Arrow bytes ratio "
              f"{ab['train_bytes_ratio'][0]:.2f}x (all graphs of the split, every seed)")
        print(f"labelled nodes lost by pruning (removed or merged away): "
              f"{ab['lost_labelled']} of {ab['labelled_before']}; root processes lost: "
              f"{ab['root_lost']}")
        print(f"scoring wall time over {len(test)} test graphs: pruned "
              f"{ab['score_s_pruned']['mean']:.1f} s (pruning alone "
              f"{ab['prune_s']['mean']:.1f} s), unpruned {ab['score_s_unpruned']['mean']:.1f} s")
    print("\nSummary:")
    for line in result["verdicts"]:
        print(f"- {line}")
    d = pruned[0]["diagnostics"]
    print(f"\nseed {pruned[0]['seed']} diagnostics: benign flagged "
          f"{pruned[0]['benign_flagged']}; graph threshold {pruned[0]['graph_threshold']}; "
          f"node threshold {pruned[0]['node_threshold']:.4f} (node_fpr "
          f"{pruned[0]['node_fpr']:.4g}); calibration warnings: "
          f"{pruned[0]['calibration_warnings'] or 'none'}")
    print(json.dumps({k: d[k] for k in ("fp_by_reason", "fp_attack_graphs_by_reason",
                                        "fp_by_class", "missed_by_class") if k in d},
                     indent=1))
    args.out.write_text(json.dumps(_jsonable(result), indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
