"""Facts for security decisions: one scored ids flow, one apt alert.

ids: the decision is the alert rule of the saved model (attack score = 1 - P(BENIGN)
against the alert threshold chosen on validation data); contributions are TreeSHAP
values from the booster itself (LightGBM ``pred_contrib``, XGBoost ``pred_contribs``:
exact for trees, no sampling, no extra dependency) on the raw margin of the predicted
class. ``up`` means the feature pushes towards an attack class: towards the predicted
class when that is an attack, away from it when the flow is predicted benign.

apt: the decision is the node alert; the facts are its threat confidence and the node
threshold, the type the node has and the type the classifier expected, the graph's
verdict against its threshold, and the node's name (addresses pseudonymised).

Identifiers (IPs, host names) never enter facts as they are: pass ``pseudonymize`` (a
keyed hash, see :mod:`riskscope.explain.pii`) and they appear as stable tokens an
analyst can still correlate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskscope.exceptions import SchemaError
from riskscope.explain.facts import Fact, FactTable, record_hash

__all__ = ["apt_alert_facts", "ids_flow_facts", "tree_contributions"]

#: Flow columns that identify hosts or conversations: pseudonymised, never features.
IDS_IDENTIFIERS = ("Flow ID", "Source IP", "Destination IP", "Src IP", "Dst IP")


def tree_contributions(detector: Any, Z: np.ndarray) -> np.ndarray | None:
    """Exact TreeSHAP contributions per class: shape (rows, classes, features + 1).

    The last column is the expected value (bias). None when the detector has no trees
    (MLP, autoencoder) or a forest without a booster.
    """
    booster = getattr(detector, "booster_", None)
    if booster is None:
        return None
    module = type(booster).__module__
    n, f = Z.shape
    if module.startswith("lightgbm"):
        # one thread for a few records: a busy thread pool costs more than the trees
        raw = np.asarray(booster.predict(Z, pred_contrib=True,
                                         num_threads=1 if n < 1000 else 0))
        return raw.reshape(n, -1, f + 1)
    if module.startswith("xgboost"):
        import xgboost as xgb

        # a thread pool per DMatrix costs ~15 ms: one record needs one thread (0.5 ms)
        dm = xgb.DMatrix(Z, nthread=1 if n < 1000 else -1)
        raw = np.asarray(booster.predict(dm, pred_contribs=True))
        return raw.reshape(n, -1, f + 1)
    return None


def ids_flow_facts(model: Any, flow: pd.DataFrame, *, subject: str, top: int = 5,
                   pseudonymize: Callable[[str], str] | None = None) -> FactTable:
    """Facts of one flow scored by a saved ids model (:class:`IdsModel`).

    Parameters
    ----------
    model : IdsModel
        From :func:`riskscope.pipelines.ids_score.load_ids_model`.
    flow : DataFrame
        One row as ingested (``read_flows(...).frame``), identifiers included.
    subject : str
        How the flow is named in reports (``"flow 17"``).
    top : int
        Contributions kept (largest absolute first).
    pseudonymize : callable, optional
        Maps an identifier to a stable token; identifiers are left out without it.
    """
    if len(flow) != 1:
        raise SchemaError(f"ids_flow_facts explains one flow; got {len(flow)} rows.")
    pred = model.predict_frame(flow).iloc[0]
    predicted = str(pred["predicted"])
    benign = str(model.classes[0])
    attack = predicted != benign
    score = float(pred["attack_score"]) if "attack_score" in pred else None
    thr = model.meta.get("alert_threshold")
    alert = bool(pred["alert"]) if "alert" in pred else attack
    facts = [Fact("decision", "decision", "decision", "attack" if alert else "benign"),
             Fact("predicted_class", "attribute", "predicted class", predicted)]
    if score is not None:
        facts.append(Fact("attack_score", "probability", "attack score", score,
                          unit="probability", detail={"meaning": "1 - P(BENIGN)"}))
    if thr is not None:
        facts.append(Fact("threshold", "threshold", "alert threshold", float(thr),
                          unit="probability", detail={"chosen_on": "validation split"}))
    p_col = f"p_{predicted}"
    if p_col in pred:
        facts.append(Fact("p_predicted", "probability", f"P({predicted})",
                          float(pred[p_col]), unit="probability"))
    Z = model.preprocessor.transform(flow)
    contrib = tree_contributions(model.detector, Z.to_numpy(np.float64))
    if contrib is not None:
        mcls = np.asarray(model.detector.classes_)
        k = int(np.flatnonzero(np.asarray(model.classes, dtype=object)[mcls] == predicted)[0])
        row = contrib[0, k if contrib.shape[1] > 1 else 0, :-1]
        if contrib.shape[1] == 1 and not attack:
            row = -row  # binary boosters explain the attack margin; benign is its negative
        names = list(Z.columns)
        order = np.argsort(-np.abs(row), kind="stable")[:top]
        for rank, j in enumerate(order, start=1):
            v = flow.iloc[0][names[j]]
            towards = bool(row[j] > 0)
            facts.append(Fact(
                f"c{rank}", "contribution", names[j], float(row[j]),
                unit="margin", direction="up" if towards == attack else "down",
                feature_value=None if pd.isna(v) else (float(v) if isinstance(
                    v, float | np.floating) else v),
                detail={"rank": rank, "class": predicted, "method": "tree_shap"}))
    else:
        facts.append(Fact("contributions", "attribute", "contributions",
                          "not available for this detector (no trees)"))
    for col in IDS_IDENTIFIERS:
        if pseudonymize is not None and col in flow.columns and pd.notna(flow.iloc[0][col]):
            facts.append(Fact(f"id_{col.lower().replace(' ', '_')}", "attribute", col,
                              pseudonymize(str(flow.iloc[0][col])),
                              detail={"pseudonymised": True}))
    facts.append(Fact("model", "model", "model", str(model.model_id)))
    record = {c: flow.iloc[0][c] for c in flow.columns}
    facts.append(Fact("data", "data", "record sha256", record_hash(record)))
    return FactTable("ids", subject, facts)


#: The detector's alert reasons (``alerts.parquet`` column ``reason``) in words.
_APT_REASONS = {
    "unseen": "a program no benign training graph ran",
    "arguments": "a known program run with arguments mostly never seen in benign training",
    "type": "its behaviour does not look like its own node type",
    "provenance": "started by, or wrote a file run by, an alerted process",
}


def apt_alert_facts(alert: Mapping[str, Any], *, node_threshold: float,
                    graph_alerts: int, graph_threshold: int, anomalous: bool,
                    model_id: str, neighbours: Sequence[str] = (),
                    pseudonymize: Callable[[str], str] | None = None) -> FactTable:
    """Facts of one apt alert (a row of ``alerts.parquet`` from ``apt detect``).

    Examples
    --------
    >>> t = apt_alert_facts({"graph": "run3", "rank": 1, "node_id": "n7", "type": "process",
    ...                      "class": "process:curl", "predicted": "process:bash",
    ...                      "confidence": 0.97, "name": "/tmp/x/payload"},
    ...                     node_threshold=0.8, graph_alerts=5, graph_threshold=2,
    ...                     anomalous=True, model_id="apt-1")
    >>> t.decision.value, t["confidence"].value, t["graph_verdict"].value
    ('alert', 0.97, 'anomalous')
    """
    hide = pseudonymize or (lambda s: s)
    name = alert.get("name")
    subject = f"node {alert['node_id']} of {alert['graph']}"
    facts = [
        Fact("decision", "decision", "decision", "alert"),
        Fact("confidence", "score", "threat confidence", float(alert["confidence"]),
             detail={"meaning": "1 - P(the node's own type)"}),
        Fact("threshold", "threshold", "node threshold", float(node_threshold),
             detail={"chosen_on": "benign validation graphs"}),
        Fact("rank", "attribute", "alert rank", int(alert["rank"])),
        Fact("reason", "attribute", "why it alerts",
             _APT_REASONS.get(str(alert.get("reason", "type")), str(alert.get("reason")))),
        Fact("node_type", "attribute", "node type", str(alert["class"])),
        Fact("predicted_type", "attribute", "expected type", str(alert["predicted"])),
        Fact("graph_verdict", "attribute", "graph verdict",
             "anomalous" if anomalous else "normal"),
        Fact("graph_alerts", "attribute", "alerts in the graph", int(graph_alerts)),
        Fact("graph_threshold", "threshold", "graph alert threshold", int(graph_threshold)),
    ]
    if name:
        facts.append(Fact("node_name", "attribute", "node name", hide(str(name))))
    for i, nb in enumerate(neighbours[:5], start=1):
        facts.append(Fact(f"n{i}", "attribute", "neighbour", hide(str(nb))))
    facts.append(Fact("model", "model", "model", str(model_id)))
    facts.append(Fact("data", "data", "record sha256", record_hash(dict(alert))))
    return FactTable("apt", subject, facts)
