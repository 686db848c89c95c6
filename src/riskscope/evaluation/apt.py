"""Detection metrics for provenance graphs: node level (strict and lenient) and graph level.

Node level, for one graph with ground-truth labels:

* **strict**: an alert is a true positive only when the alerted node itself is labelled
  malicious.
* **lenient** (``hops=2``, as FLASH and ThreaTrace count): an alert is correct when a
  malicious node lies within ``hops`` undirected hops of it, and a malicious node counts
  as found when an alert lies within ``hops`` of it. Precision uses the first, recall the
  second.

Graph level: each graph's verdict (anomalous or not) against whether it holds an attack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["graph_metrics", "node_metrics", "prf", "within_hops"]


def within_hops(edge_index: np.ndarray, n_nodes: int, mask: np.ndarray, hops: int
                ) -> np.ndarray:
    """Nodes within ``hops`` undirected hops of any node in ``mask`` (itself included).

    Examples
    --------
    >>> import numpy as np
    >>> ei = np.array([[0, 1, 2], [1, 2, 3]])
    >>> within_hops(ei, 5, np.array([True, False, False, False, False]), 2).tolist()
    [True, True, True, False, False]
    """
    reach = np.asarray(mask, bool).copy()
    if hops <= 0 or not reach.any():
        return reach
    import scipy.sparse as sp

    src, dst = np.asarray(edge_index[0]), np.asarray(edge_index[1])
    adj = sp.csr_matrix((np.ones(2 * len(src), np.int8), (np.r_[src, dst], np.r_[dst, src])),
                        shape=(n_nodes, n_nodes))
    frontier = reach.astype(np.int8)
    for _ in range(hops):
        frontier = ((adj @ frontier) > 0) & ~reach
        if not frontier.any():
            break
        reach |= frontier
        frontier = frontier.astype(np.int8)
    return reach


def prf(tp_alerts: int, n_alerts: int, found: int, n_true: int) -> dict[str, float]:
    """Precision (true alerts / alerts), recall (found / malicious) and F1; NaN where
    undefined (no alert, or nothing to find)."""
    precision = tp_alerts / n_alerts if n_alerts else float("nan")
    recall = found / n_true if n_true else float("nan")
    if not n_true:
        f1 = float("nan")  # nothing to find: F1 is undefined, not 0
    elif n_alerts and precision + recall > 0:
        f1 = 2 * precision * recall / (precision + recall)
    else:
        f1 = 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def node_metrics(edge_index: np.ndarray, n_nodes: int, alerts: np.ndarray,
                 labels: np.ndarray, *, hops: int = 2) -> dict[str, Any]:
    """Strict and lenient node-level precision, recall, F1 and counts for one graph.

    Examples
    --------
    >>> import numpy as np
    >>> ei = np.array([[0, 1, 2], [1, 2, 3]])
    >>> m = node_metrics(ei, 4, np.array([False, True, False, False]),
    ...                  np.array([False, False, True, False]))
    >>> m["strict"]["precision"], m["lenient"]["precision"], m["lenient"]["recall"]
    (0.0, 1.0, 1.0)
    """
    alerts = np.asarray(alerts, bool)
    labels = np.asarray(labels, bool)
    n_alerts, n_true = int(alerts.sum()), int(labels.sum())
    tp = int((alerts & labels).sum())
    near_true = within_hops(edge_index, n_nodes, labels, hops)
    near_alert = within_hops(edge_index, n_nodes, alerts, hops)
    l_tp = int((alerts & near_true).sum())
    l_found = int((labels & near_alert).sum())
    return {
        "alerts": n_alerts, "malicious": n_true, "true_alerts": tp,
        "false_alerts": n_alerts - tp, "lenient_true_alerts": l_tp,
        "lenient_found": l_found, "lenient_false_alerts": n_alerts - l_tp,
        "strict": prf(tp, n_alerts, tp, n_true),
        "lenient": prf(l_tp, n_alerts, l_found, n_true),
        "hops": hops,
    }


def graph_metrics(verdicts: Sequence[bool], attacks: Sequence[bool]) -> dict[str, float]:
    """Precision, recall, F1 and counts of graph verdicts against attack truth.

    Examples
    --------
    >>> graph_metrics([True, True, False, False], [True, False, False, True])["precision"]
    0.5
    """
    v = np.asarray(verdicts, bool)
    a = np.asarray(attacks, bool)
    tp, fp = int((v & a).sum()), int((v & ~a).sum())
    fn, tn = int((~v & a).sum()), int((~v & ~a).sum())
    out = prf(tp, tp + fp, tp, tp + fn)
    out.update(tp=tp, fp=fp, fn=fn, tn=tn, graphs=len(v))
    return out
