"""The attack subgraph: alerts and their neighbourhood, to draw, export and hand over.

:func:`alert_subgraph` keeps the highest-confidence alerts (at most ``max_alerts``) and
the nodes within ``hops`` of them (at most ``max_nodes`` in all, nearest and
process nodes first), marks which are alerts, and returns an :class:`AlertSubgraph`
that writes GraphML (for Gephi, yEd, networkx) and node-link JSON, and draws itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from riskscope.graph.schema import ProvenanceGraph

__all__ = ["AlertSubgraph", "alert_subgraph"]

_COLOURS = {"process": "#d62728", "file": "#1f77b4", "netflow": "#2ca02c",
            "module": "#9467bd", "registry": "#8c564b", "pipe": "#17becf"}


@dataclass(frozen=True)
class AlertSubgraph:
    """A small provenance graph around alerts (node columns ``alert`` and ``confidence``)."""

    graph: ProvenanceGraph

    def to_networkx(self):
        import networkx as nx

        g = self.graph
        out = nx.MultiDiGraph(name=g.name)
        cols = [c for c in ("id", "type", "name", "cmdline", "alert", "confidence",
                            "predicted") if c in g.nodes.column_names]
        rows = g.nodes.select(cols).to_pylist()
        for i, row in enumerate(rows):
            out.add_node(i, **{k: ("" if v is None else v) for k, v in row.items()})
        for s, d, t, ts in zip(g.edges["src"].to_pylist(), g.edges["dst"].to_pylist(),
                               g.edges["type"].to_pylist(), g.edges["ts"].to_pylist(),
                               strict=True):
            out.add_edge(s, d, type=t, ts=ts)
        return out

    def write_graphml(self, path: str | Path) -> Path:
        import networkx as nx

        from riskscope.report.atomic import atomic_path

        with atomic_path(path) as tmp:
            nx.write_graphml(self.to_networkx(), tmp)
        return Path(path)

    def to_dict(self) -> dict:
        g = self.graph
        return {"name": g.name, "nodes": g.nodes.to_pylist(), "edges": g.edges.to_pylist()}

    def write_json(self, path: str | Path) -> Path:
        from riskscope.report.atomic import write_text

        write_text(path, json.dumps(self.to_dict(), indent=1, default=str))
        return Path(path)

    def plot(self, ax=None, *, title: str | None = None, max_labels: int = 40):
        """Draw the subgraph: nodes coloured by type, alerts ringed in black and labelled."""
        import matplotlib.pyplot as plt
        import networkx as nx

        nxg = nx.DiGraph(self.to_networkx())
        if ax is None:
            fig, ax = plt.subplots(figsize=(9, 7))
        else:
            fig = ax.figure
        # Kamada-Kawai spreads a hub's neighbours evenly (spring layouts pile them up);
        # it is quadratic, so large subgraphs fall back to a seeded spring layout.
        if not len(nxg):
            pos = {}
        elif len(nxg) <= 150:
            pos = nx.kamada_kawai_layout(nxg.to_undirected())
        else:
            pos = nx.spring_layout(nxg, seed=0)
        types = [nxg.nodes[n].get("type", "") for n in nxg]
        alert = [bool(nxg.nodes[n].get("alert", False)) for n in nxg]
        nx.draw_networkx_edges(nxg, pos, ax=ax, alpha=0.3, arrowsize=6, width=0.6)
        nx.draw_networkx_nodes(nxg, pos, ax=ax, node_size=[120 if a else 40 for a in alert],
                               node_color=[_COLOURS.get(t, "#7f7f7f") for t in types],
                               edgecolors=["black" if a else "none" for a in alert],
                               linewidths=1.5)
        labels = {n: _short(nxg.nodes[n].get("name", "")) for n, a in zip(nxg, alert,
                                                                        strict=True) if a}
        nx.draw_networkx_labels(nxg, pos, labels=dict(list(labels.items())[:max_labels]),
                                ax=ax, font_size=7, verticalalignment="bottom",
                                bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                      "ec": "none", "alpha": 0.8})
        for t in sorted(set(types)):
            ax.scatter([], [], color=_COLOURS.get(t, "#7f7f7f"), label=t, s=30)
        if types:
            ax.legend(loc="lower left", fontsize=7, frameon=False)
        ax.set_title(title or f"Alerts and their neighbourhood ({sum(alert)} alerts, "
                     f"{len(nxg)} nodes)", loc="left", fontsize=10)
        ax.set_axis_off()
        return fig


def _short(name: str, n: int = 28) -> str:
    name = name or ""
    tail = name.replace("\\", "/").rsplit("/", 1)[-1] or name
    return tail if len(tail) <= n else tail[: n - 1] + "…"


def alert_subgraph(graph: ProvenanceGraph, alerts: np.ndarray, confidence: np.ndarray, *,
                   predicted: np.ndarray | None = None, hops: int = 1, max_alerts: int = 50,
                   max_nodes: int = 300) -> AlertSubgraph:
    """The alerts with the highest confidence and their ``hops`` neighbourhood.

    Examples
    --------
    >>> import numpy as np
    >>> from riskscope.graph.schema import GraphBuilder
    >>> b = GraphBuilder(name="g")
    >>> ids = [b.node(f"n{i}", "process" if i < 2 else "file", f"/x/{i}") for i in range(5)]
    >>> b.edge(0, 2, "write", 1); b.edge(1, 3, "read", 2); b.edge(1, 4, "read", 3)
    >>> sub = alert_subgraph(b.build(), np.array([True, False, False, False, False]),
    ...                      np.array([0.9, 0, 0, 0, 0]))
    >>> sub.graph.nodes["id"].to_pylist(), sub.graph.nodes["alert"].to_pylist()
    (['n0', 'n2'], [True, False])
    """
    alerts = np.asarray(alerts, bool)
    confidence = np.asarray(confidence, float)
    n = graph.n_nodes
    idx = np.flatnonzero(alerts)
    idx = idx[np.argsort(-confidence[idx], kind="stable")][:max_alerts]
    keep = np.zeros(n, bool)
    keep[idx] = True
    src = graph.edges["src"].to_numpy().astype(np.int64)
    dst = graph.edges["dst"].to_numpy().astype(np.int64)
    is_proc = graph.node_types() == "process"
    frontier = keep.copy()
    for _ in range(hops):
        nb = np.zeros(n, bool)
        nb[dst[frontier[src]]] = True
        nb[src[frontier[dst]]] = True
        nb &= ~keep
        room = max_nodes - int(keep.sum())
        cand = np.flatnonzero(nb)
        if len(cand) > room:  # processes first: they carry the story
            cand = cand[np.argsort(~is_proc[cand], kind="stable")][:max(room, 0)]
        nb[:] = False
        nb[cand] = True
        keep |= nb
        frontier = nb
    sub_rows = np.flatnonzero(keep)
    extra = {"alert": pa.array(alerts[sub_rows]),
             "confidence": pa.array(confidence[sub_rows])}
    if predicted is not None:
        extra["predicted"] = pa.array(np.asarray(predicted, dtype=object)[sub_rows].tolist(),
                                      pa.string())
    g = graph.take_nodes(keep)
    for name, arr in extra.items():
        g = g.with_node_column(name, arr)
    return AlertSubgraph(g)
