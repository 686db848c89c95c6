"""apt on real recordings: the Carbanak h3 EDR graph and three OTRF Sysmon logs.

Honest protocol: the detector (:class:`riskscope.graph.model.AptDetector`, the defaults
of ``riskscope apt train``) is fitted on benign windows only, its thresholds are set on
other benign windows (``apt train``'s seeded split, ``val_share`` 0.2), and it never sees
a window it is tested on.

Carbanak h3 (one EDR graph, 2024-05-07 19:05 to 05-09 02:57 UTC)
    Cut into ``--window`` second windows (default 600). Processes are labelled with
    :func:`~riskscope.io.provenance.truth.label_by_windows` (``descendants=True``) on the
    whole graph, then carried into the windows by node id (a long-lived stager is an attack
    node in every window it acts in). Each window is

    * ``attack``: it holds a labelled process, or overlaps a logged h3 step's window
      (``attack_windows``: 2 min before to 10 min after the logged minute);
    * ``benign``: it ends at least ``--margin`` minutes (default 30) before the first h3
      step's window opens -- the 4.5 hours of normal use before the attacker arrived;
    * ``gray``: after the first step, in no step's window, no labelled process: the
      compromised host between logged steps (persistence installed, sessions open).
      Reported, never counted as benign or attack.

    The chronologically last ``--holdout`` share (default 0.25) of the benign windows is
    the held-out benign test set (the future, as in deployment); the rest is split into
    training and validation windows by seed.

OTRF (three short recordings, 51 to 134 s, the attack running through each)
    Windows of ``--otrf-window`` seconds (default 10) with none of the YAML's processes
    (``otrf_attack_processes`` + ``label_by_process_names``) barely exist: the Empire agent
    (powershell.exe) is active in every window of both Empire logs. So: leave one dataset
    out. To test dataset D, the detector is fitted on the windows of the *other two*
    recordings with their named attack processes and the processes those started removed
    (what is left is their background activity), split into train / validation / held-out
    benign windows (60/20/20 by seed); D's windows are the test. D itself is never seen in
    training. Limits: two recordings of 1-2 minutes are little benign data; labels are by
    process name (every powershell.exe in the Empire logs is labelled, none of the
    agent's other effects are); the recordings come from different hosts and years.

The detector's own rules apply (``AptDetector`` defaults): a process running a program no
training window ran is an alert ranked above the others (``process:new``), thresholds
come from the validation windows, alerts grow along provenance in anomalous windows.

Threads: ``--n-jobs`` defaults to 1. On two shared cores (load ~6) two threads made the
LightGBM fit 7.5x slower (27 s -> 207 s) and the Carbanak fit 29 s -> 395 s; the numbers
also differ between thread counts (float summation order), so compare runs at equal
``--n-jobs``.

Ranks: the pessimistic rank of a labelled node among the alerts (how many alerts rank at
least as high: new programs first by novelty, then the classifier's alerts, then
provenance expansion, by confidence), per window and pooled over all test windows of
the dataset; a labelled node that raised no alert gets its rank among all nodes by
that score (``score_rank``) instead. Node metrics: strict and 2-hop (lenient), pooled.

    nice -n 5 python benchmarks/apt_real.py --shared /work/shared/data --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from _common import machine

from riskscope.evaluation.apt import graph_metrics, node_metrics, within_hops
from riskscope.graph.model import AptDetector
from riskscope.graph.schema import ProvenanceGraph
from riskscope.io.provenance import read_provenance
from riskscope.io.provenance.scenario import _mark_descendants
from riskscope.io.provenance.truth import (
    attack_windows,
    label_by_process_names,
    label_by_windows,
    otrf_attack_processes,
)
from riskscope.pipelines.apt import LoadedGraph, _labels_on, _split_graphs, node_summary

#: OTRF recording -> its description (checked against the YAMLs' ``files`` links).
OTRF = {
    "aptsimulator_cobaltstrike": "SDWIN-210611210814.yaml",
    "empire_psexec_dcerpc_tcp_svcctl": "SDWIN-190518210652.yaml",
    "empire_uac_shellapi_fodhelper": "SDWIN-200904032946.yaml",
}
TOP_K = (1, 5, 10, 20)


# ------------------------------------------------------------------------------ helpers
def _ids(g: ProvenanceGraph) -> np.ndarray:
    return np.asarray(g.nodes["id"].to_pylist(), dtype=object)


def _descendants(g: ProvenanceGraph, mask: np.ndarray) -> np.ndarray:
    """``mask`` plus every process a masked process started, transitively (the rule the
    recorded suite's ground truth uses)."""
    out = mask.copy()
    _mark_descendants(g, out)
    return out


def _window_span(g: ProvenanceGraph, t0: int) -> tuple[int, int]:
    w = g.meta["window"]
    step = int(w["seconds"] * 1e9)
    return t0 + w["index"] * step, t0 + (w["index"] + 1) * step


def _fit(train: list[ProvenanceGraph], val: list[ProvenanceGraph], seed: int,
         params: dict) -> tuple[AptDetector, float]:
    t = time.perf_counter()
    det = AptDetector(seed=seed, **params).fit(train, val)
    del det.fitted_
    return det, time.perf_counter() - t


def rank_score(r) -> np.ndarray:
    """One number per node that orders alerts as :meth:`GraphScore.rank_order` does
    (new programs by novelty, then unseen arguments by their share, then the
    classifier's alerts, then provenance, by confidence), so alerts of different
    windows can be pooled."""
    args = np.where(r.novel_args, 1.0 + np.nan_to_num(r.arguments), 0.0)
    return r.confidence + (2.0 + r.novelty) * r.unseen + args - 2.0 * r.expanded


def score_windows(det: AptDetector, windows: list[dict]
                  ) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Score each window; one row per window and one row per alert, labelled node or
    new-program process.

    ``windows``: dicts with ``graph`` (no label column), ``bad`` (set of attack node
    ids), ``kind`` and ``attack`` (graph truth or None).
    """
    out: dict[str, tuple[list, list]] = {"detector": ([], [])}
    for w in windows:
        g = w["graph"]
        r = det.score(g)
        lab_full = np.isin(_ids(g), list(w["bad"])) if w["bad"] else np.zeros(g.n_nodes, bool)
        lab = _labels_on(r.graph, g, lab_full)
        novel = r.unseen & (r.graph.node_types() == "process")
        ids, types = _ids(r.graph), r.graph.node_types()
        names = np.asarray(r.graph.nodes["name"].to_pylist(), dtype=object)
        for variant, alert, score, anomalous in (
                ("detector", r.alert, rank_score(r), bool(r.anomalous)),):
            m = node_metrics(r.graph.edge_index(), r.graph.n_nodes, alert, lab, hops=2)
            rows, nodes = out[variant]
            rows.append({"graph": g.name, "kind": w["kind"], "attack": w["attack"],
                         "nodes": g.n_nodes, "edges": g.n_edges,
                         "nodes_pruned": r.graph.n_nodes, "alerts": int(alert.sum()),
                         "anomalous": anomalous, "malicious": m["malicious"],
                         "malicious_lost": int(lab_full.sum() - lab.sum()),
                         "true_alerts": m["true_alerts"],
                         "lenient_true_alerts": m["lenient_true_alerts"],
                         "lenient_found": m["lenient_found"], "new_programs": int(novel.sum())})
            ranked = np.sort(score[alert])[::-1]
            # alerts with no labelled node within 2 hops: the false positives even by the
            # lenient count (FLASH's); the rest are the attack's own unlabelled activity
            unrelated = np.sort(score[alert & ~within_hops(
                r.graph.edge_index(), r.graph.n_nodes, lab, 2)])[::-1]
            for i in np.flatnonzero(alert | lab | novel):
                nodes.append({
                    "graph": g.name, "kind": w["kind"], "node_id": ids[i], "type": types[i],
                    "name": names[i], "class": r.classes[i], "predicted": r.predicted[i],
                    "confidence": float(r.confidence[i]), "score": float(score[i]),
                    "alert": bool(alert[i]), "label": bool(lab[i]), "new": bool(novel[i]),
                    "expanded": bool(r.expanded[i]),
                    "window_rank": int((ranked >= score[i]).sum()) if alert[i] else None,
                    "lenient_rank": (int((unrelated >= score[i]).sum()) + 1
                                     if alert[i] and lab[i] else None),
                    "score_rank": int((score >= score[i]).sum()),
                    "window_nodes": r.graph.n_nodes})
    return {k: (pd.DataFrame(r), pd.DataFrame(n)) for k, (r, n) in out.items()}


def node_ranks(nodes: pd.DataFrame, kinds: tuple[str, ...]) -> pd.DataFrame:
    """Each labelled node's best window rank and its pooled rank among the alerts of all
    windows of ``kinds`` (pessimistic: alerts scoring at least its own)."""
    if nodes.empty or not nodes["label"].any():
        return pd.DataFrame(columns=["node_id", "name", "alert", "global_rank"])
    pool = nodes[nodes["kind"].isin(kinds)]
    alerts = np.sort(pool.loc[pool["alert"], "score"].to_numpy())[::-1]
    lab = pool[pool["label"]].copy()
    lab["global_rank"] = [int((alerts >= c).sum()) if a else None
                          for c, a in zip(lab["score"], lab["alert"], strict=True)]
    best = (lab.sort_values(["alert", "score"], ascending=[False, False])
            .groupby("node_id", sort=False).head(1))
    return best[["node_id", "name", "class", "predicted", "confidence", "new", "alert",
                 "window_rank", "lenient_rank", "global_rank", "score_rank", "window_nodes",
                 "graph"]]


def pooled(rows: pd.DataFrame) -> dict:
    """Strict and 2-hop node metrics over the windows in ``rows``."""
    s = node_summary(rows)
    return {"strict": s["strict"], "lenient": s["lenient"], "alerts": s["alerts"],
            "malicious": s["malicious"]}


def alert_classes(nodes: pd.DataFrame, kind: str, k: int = 6) -> list[str]:
    """The commonest ``class->predicted`` pairs among the alerts of windows of ``kind``."""
    a = nodes[(nodes["kind"] == kind) & nodes["alert"]] if not nodes.empty else nodes
    if a.empty:
        return []
    c = Counter(f"{t}->{p}" for t, p in zip(a["class"], a["predicted"], strict=True))
    return [f"{n} {x}" for x, n in c.most_common(k)]


def summarise(rows: pd.DataFrame, nodes: pd.DataFrame, rank_kinds: tuple[str, ...]) -> dict:
    """Graph verdicts, pooled node metrics and labelled-node ranks of one variant."""
    by = {k: rows[rows["kind"] == k] for k in ("attack", "benign_test", "gray", "unlabelled")}
    att, ben = by["attack"], by["benign_test"]
    known = pd.concat([att, ben])
    ranks = node_ranks(nodes, rank_kinds)
    out = {
        "graph": graph_metrics(known["anomalous"].tolist(), known["attack"].astype(bool).tolist()),
        **{f"{k}_flagged": [int(v["anomalous"].sum()), len(v)] for k, v in by.items()},
        "labelled_flagged": [int(att.loc[att["malicious"] > 0, "anomalous"].sum()),
                             int((att["malicious"] > 0).sum())],
        **{f"alerts_{k}": int(v["alerts"].sum()) for k, v in by.items()},
        "nodes_attack": pooled(att),
        "malicious_lost_to_pruning": int(att["malicious_lost"].sum()),
        "labelled_alerted": [int(ranks["alert"].sum()), len(ranks)],
        "ranks": ranks.to_dict("records"),
        "alert_classes_attack": alert_classes(nodes, "attack"),
        "alert_classes_benign": alert_classes(nodes, "benign_test"),
        "windows": rows.to_dict("records"),
    }
    for k in TOP_K:
        out[f"labelled_in_top{k}"] = int((ranks["global_rank"].fillna(1e9) <= k).sum())
    top = (nodes[nodes["alert"] & nodes["kind"].isin(rank_kinds)].nlargest(10, "score")
           if not nodes.empty else nodes)
    out["top_alerts"] = (top[["graph", "kind", "name", "class", "predicted", "score", "label"]]
                         .to_dict("records") if not top.empty else [])
    return out


def evaluate(det: AptDetector, windows: list[dict], fit_s: float,
             n_train: int, n_val: int, rank_kinds: tuple[str, ...]) -> dict:
    t = time.perf_counter()
    scored = score_windows(det, windows)
    cal = det.detector_.calibration_
    return {"train_windows": n_train, "val_windows": n_val, "fit_s": round(fit_s, 1),
            "score_s": round(time.perf_counter() - t, 1), "programs": len(det.programs_),
            "node_threshold": det.detector_.node_threshold_,
            "graph_threshold": det.detector_.graph_threshold_,
            "val_alerts": cal["alerts_per_graph"], "val_nodes": cal["nodes"],
            "node_fpr": cal.get("node_fpr"), "calibration_warnings": cal.get("warnings", []),
            **{k: summarise(r, n, rank_kinds) for k, (r, n) in scored.items()}}


# ------------------------------------------------------------------------------ Carbanak
def carbanak_windows(shared: Path, window: float, margin: float, holdout: float) -> dict:
    folder = shared / "provenance" / "carbanak_h3"
    g = read_provenance(folder / "h3_attack_nodes.parquet")[0]
    steps = attack_windows(folder / "attack_log.csv", "h3")
    ets = g.edges["ts"].to_numpy()
    t0, t1 = int(ets.min()), int(ets.max())
    steps = [s for s in steps if s.end > t0 and s.start < t1]  # one row is dated 04-30
    bad = set(_ids(g)[label_by_windows(g, steps, descendants=True)].tolist())
    first = min(s.start for s in steps)
    benign_end = first - int(margin * 60e9)
    out = []
    for w in g.time_windows(window):
        s, e = _window_span(w, t0)
        wbad = bad & set(_ids(w).tolist())
        on_step = any(x.start < e and x.end > s for x in steps)
        if wbad or on_step:
            kind, attack = "attack", True
        elif e <= benign_end:
            kind, attack = "benign", False
        else:
            kind, attack = "gray", None
        out.append({"graph": w, "bad": wbad, "kind": kind, "attack": attack,
                    "start": str(pd.Timestamp(s, unit="ns")), "labelled": len(wbad)})
    benign = [w for w in out if w["kind"] == "benign"]
    n_test = max(1, round(holdout * len(benign)))
    for w in benign[-n_test:]:
        w["kind"] = "benign_test"
    names = np.asarray(g.nodes["name"].to_pylist(), dtype=object)
    return {"windows": out, "t0": str(pd.Timestamp(t0, unit="ns")),
            "t1": str(pd.Timestamp(t1, unit="ns")),
            "first_step": str(pd.Timestamp(first, unit="ns")),
            "benign_end": str(pd.Timestamp(benign_end, unit="ns")),
            "labelled": sorted(names[np.isin(_ids(g), list(bad))].tolist()),
            "nodes": g.n_nodes, "edges": g.n_edges}


def run_carbanak(data: dict, seed: int, params: dict) -> dict:
    pool = [LoadedGraph(w["graph"], Path("h3")) for w in data["windows"] if w["kind"] == "benign"]
    train, val = _split_graphs(pool, 0.2, seed)
    det, fit_s = _fit([x.graph for x in train], [x.graph for x in val], seed, params)
    test = [w for w in data["windows"] if w["kind"] in ("attack", "benign_test", "gray")]
    return evaluate(det, test, fit_s, len(train), len(val),
                    ("attack", "benign_test", "gray"))


# ------------------------------------------------------------------------------ OTRF
def otrf_recordings(shared: Path, window: float) -> dict:
    folder = shared / "provenance" / "otrf"
    out = {}
    for name, yaml in OTRF.items():
        g = read_provenance(folder / f"{name}.zip")[0]
        procs = otrf_attack_processes(folder / yaml)
        lab = label_by_process_names(g, procs)
        drop = _descendants(g, lab)
        clean = g.take_nodes(~drop).drop_isolated()
        ets = g.edges["ts"].to_numpy()
        wins = []
        for w in g.time_windows(window):
            wbad = set(_ids(w)[label_by_process_names(w, procs)].tolist())
            wins.append({"graph": w, "bad": wbad, "kind": "attack" if wbad else "unlabelled",
                         "attack": True if wbad else None})
        out[name] = {"windows": wins, "clean": clean.time_windows(window),
                     "processes": sorted(procs), "seconds": round((ets.max() - ets.min()) / 1e9, 1),
                     "nodes": g.n_nodes, "edges": g.n_edges, "labelled": int(lab.sum()),
                     "removed": int(drop.sum())}
    return out


def run_otrf(data: dict, test: str, seed: int, params: dict) -> dict:
    pool = [LoadedGraph(w, Path(n)) for n, d in data.items() if n != test for w in d["clean"]]
    order = np.random.default_rng(seed).permutation(len(pool))
    n_hold = max(1, round(0.2 * len(pool)))
    held = [pool[i] for i in sorted(order[:n_hold])]
    train, val = _split_graphs([pool[i] for i in sorted(order[n_hold:])], 0.25, seed)
    det, fit_s = _fit([x.graph for x in train], [x.graph for x in val], seed, params)
    windows = data[test]["windows"] + [{"graph": x.graph, "bad": set(), "kind": "benign_test",
                                        "attack": False} for x in held]
    return evaluate(det, windows, fit_s, len(train), len(val), ("attack", "unlabelled"))


# ------------------------------------------------------------------------------ report
VARIANTS = {"detector": "AptDetector defaults"}


def _ms(values: list[float], digits: int = 3) -> str:
    v = [x for x in values if x is not None and not np.isnan(x)]
    if not v:
        return "n/a"
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{statistics.mean(v):.{digits}f} ± {statistics.stdev(v):.{digits}f}"


def _frac(pair: list[int]) -> str:
    return f"{pair[0]}/{pair[1]}"


def _prf(m: dict) -> str:
    return " / ".join("-" if np.isnan(m[k]) else f"{m[k]:.2f}"
                      for k in ("precision", "recall", "f1"))


def _table(per_seed: dict[int, dict], other: str) -> list[str]:
    """One markdown table per variant (rows: seeds, then the mean)."""
    seeds = sorted(per_seed)
    lines = []
    for v, title in VARIANTS.items():
        lines += [f"*{title}*", "",
                  f"| seed | attack win flagged | with labelled flagged | benign held-out "
                  f"flagged | {other} flagged | alerts attack / benign / {other} | strict "
                  "P / R / F1 | 2-hop P / R / F1 | labelled alerted | labelled in pooled "
                  "top 5 / 10 / 20 |", "|" + "---|" * 10]
        for s in seeds:
            r = per_seed[s][v]
            n = r["nodes_attack"]
            lines.append(
                f"| {s} | {_frac(r['attack_flagged'])} | {_frac(r['labelled_flagged'])} | "
                f"{_frac(r['benign_test_flagged'])} | {_frac(r[f'{other}_flagged'])} | "
                f"{r['alerts_attack']} / {r['alerts_benign_test']} / {r[f'alerts_{other}']} | "
                f"{_prf(n['strict'])} | {_prf(n['lenient'])} | {_frac(r['labelled_alerted'])} | "
                f"{r['labelled_in_top5']} / {r['labelled_in_top10']} / {r['labelled_in_top20']} |")
        g = [per_seed[s][v]["graph"] for s in seeds]
        nd = [per_seed[s][v]["nodes_attack"] for s in seeds]
        lines += ["", f"Mean ± sd over seeds {seeds}: graph level (attack vs held-out benign "
                  f"windows) precision {_ms([x['precision'] for x in g])}, recall "
                  f"{_ms([x['recall'] for x in g])}, F1 {_ms([x['f1'] for x in g])}; node "
                  f"level on attack windows: strict F1 {_ms([x['strict']['f1'] for x in nd])}, "
                  f"2-hop F1 {_ms([x['lenient']['f1'] for x in nd])}; labelled nodes alerted "
                  f"{_ms([per_seed[s][v]['labelled_alerted'][0] for s in seeds], 1)} of "
                  f"{per_seed[seeds[0]][v]['labelled_alerted'][1]}.", ""]
    return lines


def _rank_table(per_seed: dict[int, dict]) -> list[str]:
    """Each labelled node's window rank / pooled rank, both variants, every seed."""
    seeds = sorted(per_seed)
    keys: dict = {}
    for s in seeds:
        for v in VARIANTS:
            for x in per_seed[s][v]["ranks"]:
                keys.setdefault((x["name"], x["node_id"]), {})[(s, v)] = x
    lines = ["Labelled attack nodes: rank in their window's alert list (in brackets: 1 + the "
             "alerts ranked at least as high with no labelled node within 2 hops, i.e. false "
             "positives even by the lenient count) / rank in the alerts pooled over all test "
             "windows (classifier confidence); `-` no alert (then its rank among all the "
             "window's nodes by confidence).", "",
             "| node | " + " | ".join(f"seed {s}" for s in seeds)
             + " |", "|---|" + "---|" * len(seeds)]
    for (name, nid), by in keys.items():
        cells = []
        for s in seeds:
            for v in VARIANTS:
                x = by.get((s, v))
                if x is None:
                    cells.append("pruned")
                elif x["alert"]:
                    cells.append(f"{x['window_rank']:.0f} ({x['lenient_rank']:.0f}) / "
                                 f"{x['global_rank']:.0f} ({x['confidence']:.3f})")
                else:
                    cells.append(f"- ({x['score_rank']} of {x['window_nodes']}, "
                                 f"{x['confidence']:.3f})")
        short = str(name).replace("\\", "/").rsplit("/", 1)[-1]
        lines.append(f"| {short} `{str(nid).split('|')[-1][:18]}` | " + " | ".join(cells) + " |")
    for k in (5, 10):
        cells = []
        for s in seeds:
            rk = pd.DataFrame(per_seed[s]["detector"]["ranks"])
            if rk.empty:
                continue
            cells.append(f"seed {s}: {int((rk['window_rank'].fillna(1e9) <= k).sum())} "
                         f"({int((rk['lenient_rank'].fillna(1e9) <= k).sum())}) of {len(rk)}")
        lines.append(f"In their window's top {k} (lenient): " + "; ".join(cells) + ".")
    r = per_seed[seeds[0]]
    lines += ["", f"Seed {seeds[0]}: {r['train_windows']} training / {r['val_windows']} "
              f"validation windows ({r['val_nodes']} validation nodes), {r['programs']} "
              f"programs with their own class; node threshold {r['node_threshold']:.6f}, "
              f"(node_fpr {r['node_fpr']:.4g}), graph threshold {r['graph_threshold']} "
              f"(validation alerts {r['val_alerts']}); fit {r['fit_s']} s, scoring "
              f"{r['score_s']} s. Commonest alerts (class->predicted), attack windows: "
              f"{r['detector']['alert_classes_attack']}; benign held-out: "
              f"{r['detector']['alert_classes_benign']}. Calibration warnings: "
              f"{r['calibration_warnings'] or 'none'}.", ""]
    return lines


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--window", type=float, default=600.0,
                        help="Carbanak window length in seconds")
    parser.add_argument("--margin", type=float, default=30.0,
                        help="minutes between the last benign window and the first h3 step")
    parser.add_argument("--holdout", type=float, default=0.25,
                        help="share of benign Carbanak windows (the last ones) held out")
    parser.add_argument("--otrf-window", type=float, default=10.0)
    parser.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                        help="override an AptDetector parameter (programs=1, node_fpr=0.01)")
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="threads for GraphSAGE and LightGBM (1: see the module doc)")
    parser.add_argument("--skip", choices=["carbanak", "otrf"], action="append", default=[])
    parser.add_argument("--out", type=Path, default=Path("/tmp/apt-real.json"))
    args = parser.parse_args(argv)
    params: dict = {"n_jobs": args.n_jobs}  # everything else: AptDetector's defaults
    defaults = AptDetector().__dict__
    for item in args.set:
        key, value = item.split("=", 1)
        if key not in defaults:
            sys.exit(f"error: --set {key}: not an AptDetector parameter ({', '.join(defaults)})")
        if isinstance(defaults[key], bool):
            params[key] = value.lower() == "true"
        elif key == "node_fpr":
            params[key] = None if value.lower() == "none" else float(value)
        else:
            params[key] = type(defaults[key])(value)
    result: dict = {
        "command": "python benchmarks/apt_real.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(), "date": dt.date.today().isoformat(), "detector": params,
        "window": args.window, "margin_min": args.margin, "holdout": args.holdout,
        "otrf_window": args.otrf_window, "seeds": args.seeds}
    lines = [f"### apt on real recordings ({result['date']})", "",
             f"`{result['command']}` -- {result['machine']}; detector {params}", ""]
    if "carbanak" not in args.skip:
        data = carbanak_windows(args.shared, args.window, args.margin, args.holdout)
        kinds = Counter(w["kind"] for w in data["windows"])
        info = {k: v for k, v in data.items() if k != "windows"} | {"kinds": dict(kinds)}
        print(f"carbanak: {info}", flush=True)
        per_seed = {}
        for s in args.seeds:
            per_seed[s] = run_carbanak(data, s, params)
            print(f"carbanak seed {s}: fit {per_seed[s]['fit_s']} s, scoring "
                  f"{per_seed[s]['score_s']} s", flush=True)
        result["carbanak"] = {"data": info, "seeds": per_seed}
        lines += ["#### Carbanak h3", "", f"{data['nodes']:,} nodes, {data['edges']:,} edges, "
                  f"{data['t0']} to {data['t1']} UTC; {args.window:g} s windows: "
                  f"{dict(kinds)}; the first h3 step's window opens {data['first_step']}, "
                  f"benign windows end by {data['benign_end']}; labelled processes: "
                  f"{len(data['labelled'])}.", ""]
        lines += _table(per_seed, "gray") + _rank_table(per_seed)
    if "otrf" not in args.skip:
        data = otrf_recordings(args.shared, args.otrf_window)
        result["otrf"] = {}
        for name in OTRF:
            d = data[name]
            info = {k: v for k, v in d.items() if k not in ("windows", "clean")}
            info |= {"windows": len(d["windows"]),
                     "attack_windows": sum(w["kind"] == "attack" for w in d["windows"])}
            per_seed = {}
            for s in args.seeds:
                per_seed[s] = run_otrf(data, name, s, params)
                print(f"otrf {name} seed {s}: fit {per_seed[s]['fit_s']} s", flush=True)
            result["otrf"][name] = {"data": info, "seeds": per_seed}
            lines += [f"#### OTRF {name} (trained on the other two)", "",
                      f"{info['seconds']} s, {info['nodes']} nodes, {info['edges']} edges; "
                      f"YAML processes {info['processes']}: {info['labelled']} labelled "
                      f"nodes; {info['attack_windows']} of {info['windows']} "
                      f"{args.otrf_window:g} s windows hold one.", ""]
            lines += _table(per_seed, "unlabelled") + _rank_table(per_seed)
    print("\n".join(lines))
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


if __name__ == "__main__":
    main()
