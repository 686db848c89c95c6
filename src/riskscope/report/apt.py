"""The reports of ``apt train`` and ``apt detect`` runs, built from the pipeline state.

Train: the benign graphs and their split, pruning counts and storage, the encoders,
the classifier and the thresholds it got from the validation graphs. Detect: verdicts
per graph, ranked alerts, the attack subgraphs drawn, and (with ground truth) strict,
2-hop and graph-level metrics.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from riskscope.report.html import Report

__all__ = ["build_detect_report", "build_train_report"]

_HONESTY = (
    "Trained on benign graphs only. The encoders and the node-type classifier learned from "
    "the training graphs; both alert thresholds were set on separate benign validation "
    "graphs, never on the data scored. Pruning uses no labels and runs the same way at "
    "training and detection.")

_STREAMSPOT_DARPA = (
    "StreamSpot and DARPA TC E3 cannot be measured here: their record files are not "
    "available offline. With the data, run e.g. `riskscope apt train --benign "
    "streamspot/benign/` then `riskscope apt detect --model RUN --data streamspot/test/`, "
    "or for CDM18 JSON (CADETS, THEIA) train on the benign days and detect on the attack "
    "days; ground-truth UUID lists are read by riskscope.io.provenance.truth.")


def _prune_section(rep: Report, table: pd.DataFrame) -> None:
    if table.empty or table["edges_before"].isna().all():
        rep.section("Pruning", intro="Pruning was turned off for this model.")
        return
    tot = table[["nodes_before", "nodes_after", "edges_before", "edges_after",
                 "bytes_before", "bytes_after"]].sum()
    sec = rep.section("Pruning", intro=(
        "Low-priority events (exit, close) and short-lived quiet processes were dropped, "
        "nodes differing only in execution-specific details merged, and repeated events "
        "of one type between the same two nodes kept once. Objects read by a single "
        "process are kept: an exfiltration's credential files look exactly like that."))
    sec.kv({"nodes before / after": f"{int(tot['nodes_before']):,} / {int(tot['nodes_after']):,}",
            "edges before / after": f"{int(tot['edges_before']):,} / {int(tot['edges_after']):,}",
            "edge reduction": f"{1 - tot['edges_after'] / max(tot['edges_before'], 1):.1%}",
            "storage (Arrow bytes) before / after":
                f"{int(tot['bytes_before']):,} / {int(tot['bytes_after']):,} "
                f"(1/{tot['bytes_before'] / max(tot['bytes_after'], 1):.2f})"})
    sec.table(table, caption="Per graph", collapsed=True)


def build_train_report(s: dict[str, Any]) -> Report:
    """Report of an ``apt train`` run."""
    det = s["detector"]
    cfg = s["config"]
    m = s["run"].metrics
    rep = Report("APT detector training", subtitle=", ".join(cfg.benign))
    rep.section("Summary", intro=_HONESTY).kv({
        "benign graphs (train / validation)": f"{m.get('train_graphs')} / {m.get('val_graphs')}",
        "node types learned": ", ".join(det.detector_.classes_),
        "node alert threshold (threat confidence)": det.detector_.node_threshold_,
        "graph threshold (alerts; more is anomalous)": det.detector_.graph_threshold_,
        "window": f"{cfg.window:g} s" if cfg.window else "whole logs",
    })
    split = s["split"]
    rep.section("Graphs", intro="Benign graphs and the split they went to (by graph, "
                "seeded).").table(split, caption="Graphs", collapsed=len(split) > 20)
    _prune_section(rep, s["prune_table"])
    sem, ctx = det.semantic_, det.context_
    rep.section("Encoders", intro=(
        "Semantic: Word2Vec (gensim skip-gram, one worker, stable hash) over each node's "
        "name and command-line tokens and its time-ordered events, each token vector "
        "rotated by its position (rotary encoding) and averaged. Context: GraphSAGE "
        "(mean aggregation, ReLU, dropout) trained to tell node types apart, edges used "
        "both ways; its last layer is the embedding.")).kv({
            "vocabulary": len(sem.vocab_), "semantic vector size": sem.vector_size,
            "events per node (max)": sem.max_events, "Word2Vec epochs": sem.epochs,
            "GraphSAGE layers x width": f"{ctx.num_layers} x {ctx.hidden}",
            "GraphSAGE epochs": ctx.epochs,
            "final training loss": round(ctx.loss_[-1], 5) if getattr(ctx, "loss_", None)
            else None})
    cal = det.detector_.calibration_
    fpr = cal.get("node_fpr", det.detector_.node_fpr)
    sec = rep.section("Thresholds", intro=(
        "A node is an alert when LightGBM predicts another type than its own with threat "
        "confidence 1 - P(own type) above the node threshold (the larger of 0.5 and the "
        f"{1 - fpr:.3%} quantile of the confidence of validation nodes of known classes, "
        "capped below 1), or when its class never occurred in training (a process of a "
        "program no training graph ran: process:new). A graph is anomalous when it "
        "raises more alerts than any validation graph did; in an anomalous graph the "
        "processes an alerted process started and the writers of the files it executed "
        "become alerts too. A process of a known program also alerts when more of its "
        "argument tokens (paths left out) than the argument threshold never occurred in "
        "training (set like the node threshold: one such process per validation graph, "
        "at least one half); these alerts do not count towards the graph verdict. "
        "Scoring stops each node's trees early once its two likeliest types are the "
        "stated margin apart, a margin checked to change no validation decision.")
    )
    flips = cal.get("early_stop_flips")
    sec.kv({"validation graphs": cal["graphs"], "validation nodes": cal["nodes"],
            "validation nodes of known classes": cal.get("known_nodes", cal["nodes"]),
            "node_fpr": fpr, "confidence quantile": cal["confidence_quantile"],
            "alerts per validation graph": ", ".join(map(str, cal["alerts_per_graph"])),
            "argument threshold (share of unseen argument tokens)":
                cal.get("args_threshold", "off"),
            "argument alerts per validation graph":
                ", ".join(map(str, cal.get("args_alerts_per_graph", []))) or "-",
            "prediction early stopping margin (validation decisions changed per margin "
            "tried)": f"{det.detector_.early_stop_margin_} ({flips})" if flips is not None
            else "off"})
    for note in cal.get("warnings", []):
        sec.note(note, level="warn")
    rep.section("Other benchmarks", intro=_STREAMSPOT_DARPA)
    return rep


def build_detect_report(s: dict[str, Any]) -> Report:
    """Report of an ``apt detect`` run."""
    v = s["verdicts"]
    m = s["run"].metrics
    rep = Report("APT detection", subtitle=f"model {s['model_id']}")
    kv = {"graphs scored": len(v), "anomalous graphs": int(v["anomalous"].sum()),
          "alerts": int(v["alerts"].sum()),
          "events read and scored": f"{int(v['events'].sum()):,} in {s['seconds']:.2f} s "
                                    f"({m.get('events_per_second', 0):,.0f} events/s)"}
    summary = s.get("summary")
    if summary:
        st, le = summary["strict"], summary["lenient"]
        kv["node level, strict: precision / recall / F1"] = (
            f"{st['precision']:.3f} / {st['recall']:.3f} / {st['f1']:.3f}")
        kv[f"node level, {s['config'].hops}-hop: precision / recall / F1"] = (
            f"{le['precision']:.3f} / {le['recall']:.3f} / {le['f1']:.3f}")
        if "graph" in summary:
            g = summary["graph"]
            kv["graph level: precision / recall"] = f"{g['precision']:.3f} / {g['recall']:.3f}"
    rep.section("Summary", intro=_HONESTY).kv(kv)
    rep.section("Verdicts", intro="One row per graph: alerts raised and the verdict "
                "(more alerts than any benign validation graph).").table(
        v.sort_values(["anomalous", "alerts"], ascending=False), caption="Graphs",
        collapsed=len(v) > 30)
    alerts = s["alerts"]
    sec = rep.section("Alerts", intro="Ranked: processes of programs never seen in training "
                      "(reason 'unseen'), then processes of known programs whose arguments "
                      "are mostly tokens never seen in training ('arguments'), then nodes "
                      "whose predicted type disagrees with their "
                      "own, by threat confidence 1 - P(own type) ('type'), then processes "
                      "reached from those along provenance in anomalous graphs ('provenance').")
    if alerts.empty:
        sec.note("No alerts.")
    else:
        sec.table(alerts, caption="Ranked alerts", max_rows=50)
    for slug, name, sub in s.get("subgraphs", []):
        rep.section(f"Attack subgraph: {name}", intro=(
            "The alerts (ringed) and their neighbours; exported as "
            f"subgraphs/{slug}.graphml and .json.")).figure(sub.plot(), name=slug)
    ev = s.get("evaluation")
    if ev is not None and not ev.empty:
        rep.section("Evaluation", intro=(
            "Strict: an alert counts only on a malicious node. Lenient: an alert counts when "
            f"a malicious node is within {s['config'].hops} hops, and a malicious node is "
            "found when an alert is within that distance (as FLASH and ThreaTrace count). "
            "Labels come from the ground truth found next to the logs.")).table(
            ev, caption="Per graph", collapsed=len(ev) > 30)
    return rep
