"""Node-type detector: LightGBM learns what each node type looks like in benign graphs;
a node it cannot recognise as its own type becomes an alert.

The classifier is trained on benign training graphs only, with ``[semantic || context]``
vectors as input and the node's type as the target. On new data a node whose predicted
type differs from its real type, with threat confidence ``1 - P(real type)`` above the
node threshold, is an alert; a node whose type (class) never occurred in training is
always an alert, with confidence 1. Alerts are ranked by confidence.

Both thresholds are set on benign *validation* graphs, never on the data scored:

* node threshold: the ``1 - node_fpr`` quantile of the confidence of the validation
  nodes of known classes, at least ``min_confidence`` (0.5: the real type is then less
  likely than not) and at most :data:`MAX_THRESHOLD`. By default ``node_fpr`` is an alert
  budget of one false node alert per benign graph, ``1 / (mean nodes per validation
  graph)``: a fixed share such as 0.001 is a tenth of an alert in a 100-node graph and
  dozens in a 50,000-node one (on the recorded suite 0.001 gave strict node F1 0.31).
  Nodes of unseen classes are left out of the quantile: they alert anyway, and with
  more of them than ``node_fpr`` of the nodes the quantile was 1.0 and nothing of a
  known class could ever alert again (seen on the OTRF recordings). The cap below 1
  keeps the same from happening through a classifier that is sure and wrong on many
  validation nodes;
* graph threshold: the most alerts any validation graph raised (unseen classes
  included); a graph with more is anomalous.

Scoring uses LightGBM's prediction early stopping: every :data:`EARLY_STOP_FREQ` rounds,
a node whose two highest raw class scores differ by more than ``early_stop_margin`` keeps
its partial scores and skips the remaining trees. Nearly every node of a benign graph is
that clear after a few rounds, so scoring the recorded suite's 18,205 test nodes took
0.46 s instead of 3.57 s (38 classes x 60 rounds = 2,280 trees) with the same alert
decisions. The margin bounds what is lost: a node stopped with its real type on top has
``P(real) >= 1 / (1 + (K - 1) exp(-margin))`` (K classes; K = 38, margin 5: >= 0.80, so
a confidence <= 0.2, below ``min_confidence``), and one stopped with another type on top
has ``P(real) <= exp(-margin)`` of that type's. :meth:`NodeTypeDetector.calibrate` checks
it on the validation nodes, at the threshold set from full predictions: it keeps the
first margin of ``early_stop_margin x`` :data:`EARLY_STOP_STEPS` that changes none of
their alert decisions, and scores with every tree if each does. A node threshold close
to 1 needs the wider margins (seen on the real recordings, thresholds 0.9996-0.9998:
margin 5 changed 1-3 validation decisions).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from riskscope.exceptions import NotFittedError, ParameterError
from riskscope.models._base import check_params

__all__ = ["EARLY_STOP_FREQ", "EARLY_STOP_STEPS", "MAX_THRESHOLD", "NodeTypeDetector"]

#: Highest node threshold: a node of a known class whose real type the classifier gives
#: a probability below one in a million, and predicts as another type, always alerts.
MAX_THRESHOLD = 1 - 1e-6

#: Rounds between two early-stopping checks while scoring (LightGBM's default is 10; 5
#: stopped most nodes twice as early on the recorded suite, at the same decisions).
EARLY_STOP_FREQ = 5
#: Multiples of ``early_stop_margin`` tried at calibration, narrowest first (margins 5, 8
#: and 12 scored the suite's test nodes 7.8x, 2.8x and 1.2x faster than every tree).
EARLY_STOP_STEPS = (1.0, 1.6, 2.4)


class NodeTypeDetector:
    """LightGBM node-type classifier with benign-calibrated alert thresholds.

    Parameters
    ----------
    n_estimators, num_leaves, learning_rate, min_child_samples :
        LightGBM's.
    node_fpr : float or None
        Share of benign validation nodes (of known classes) allowed above the node
        threshold. None (default): one per validation graph, ``1 / (mean nodes per
        validation graph)``.
    min_confidence : float
        Lower bound of the node threshold.
    early_stop_margin : float or None
        Narrowest raw-score margin of prediction early stopping tried (see the module
        docstring); None scores every node with every tree.
    seed : int
    n_jobs : int
        LightGBM threads. 1 by default: the thread count changes LightGBM's results
        (float summation order), and two threads were several times slower on a busy
        2-core machine.

    Attributes
    ----------
    classes_ : list of str
    node_threshold_ : float
    graph_threshold_ : int
    calibration_ : dict
        What the thresholds were set from: validation graphs, nodes, nodes of known
        classes, the ``node_fpr`` used, the quantile, alerts per graph and
        ``warnings`` (a list of lines; one when there are fewer than ``10 / node_fpr``
        validation nodes of known classes, too few for the quantile to be stable),
        and ``early_stop_flips``: per margin tried, the validation alert decisions
        prediction early stopping changed (None without it).
    early_stop_margin_ : float or None
        The margin scoring uses, None for every tree (set by :meth:`calibrate`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> F = np.r_[rng.normal(0, 1, (60, 3)), rng.normal(4, 1, (60, 3))]
    >>> t = np.array(["process"] * 60 + ["file"] * 60, dtype=object)
    >>> det = NodeTypeDetector(n_estimators=20, min_child_samples=5).fit([F], [t])
    >>> _ = det.calibrate([F], [t])
    >>> pred, conf = det.score(np.array([[4.0, 4, 4]]), np.array(["process"], dtype=object))
    >>> pred.tolist(), bool(conf[0] > 0.5)
    (['file'], True)
    """

    _rules = {
        "n_estimators": ("int", 1, None),
        "num_leaves": ("int", 2, None),
        "learning_rate": ("float", 1e-6, 1),
        "min_child_samples": ("int", 1, None),
        "node_fpr": ("float", 0, 1),  # or None: see the class docstring
        "min_confidence": ("float", 0, 1),
        "early_stop_margin": ("float", 0, None),  # or None
        "seed": ("int", 0, None),
        "n_jobs": ("int", 1, None),
    }

    _nullable = ("node_fpr", "early_stop_margin")

    def __init__(self, *, n_estimators: int = 60, num_leaves: int = 31,
                 learning_rate: float = 0.1, min_child_samples: int = 20,
                 node_fpr: float | None = None, min_confidence: float = 0.5,
                 early_stop_margin: float | None = 5.0, seed: int = 0, n_jobs: int = 1
                 ) -> None:
        self.n_estimators = n_estimators
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.min_child_samples = min_child_samples
        self.node_fpr = node_fpr
        self.min_confidence = min_confidence
        self.early_stop_margin = early_stop_margin
        self.seed = seed
        self.n_jobs = n_jobs

    def fit(self, features: Sequence[np.ndarray], types: Sequence[np.ndarray]
            ) -> NodeTypeDetector:
        """Train on the nodes of benign training graphs."""
        check_params(self, {k: r for k, r in self._rules.items()
                            if not (k in self._nullable and getattr(self, k) is None)})
        import lightgbm as lgb

        X = np.concatenate([np.asarray(f, np.float32) for f in features])
        names = np.concatenate([np.asarray(t, dtype=object) for t in types])
        self.classes_ = sorted(set(names.tolist()))
        if len(self.classes_) < 2:
            raise ParameterError(f"NodeTypeDetector.fit needs nodes of at least two types; "
                                 f"the training graphs only have {self.classes_}.")
        y = np.searchsorted(np.array(self.classes_, dtype=object), names)
        params = {"objective": "multiclass", "num_class": len(self.classes_),
                  "num_leaves": self.num_leaves, "learning_rate": self.learning_rate,
                  "min_child_samples": self.min_child_samples, "seed": self.seed,
                  "deterministic": True, "force_row_wise": True, "num_threads": self.n_jobs,
                  "verbosity": -1}
        # Balanced class weights: with dozens of classes, some with a handful of nodes,
        # unweighted multiclass boosting fits the rare classes badly (training accuracy
        # 0.90 on the recorded suite, confident mistakes on common nodes); weighted: 1.0.
        counts = np.bincount(y, minlength=len(self.classes_))
        weight = (len(y) / (len(counts) * counts))[y]
        self.booster_ = lgb.train(params, lgb.Dataset(X, y, weight=weight),
                                  num_boost_round=self.n_estimators)
        self.n_features_in_ = X.shape[1]
        self.early_stop_margin_ = None  # until calibrate has checked it
        return self

    def _check(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("NodeTypeDetector is not fitted; call fit first.")

    @property
    def early_stop_(self) -> bool:
        """Whether scoring uses prediction early stopping."""
        return getattr(self, "early_stop_margin_", None) is not None

    def predict_proba(self, features: np.ndarray, *, margin: float | None | str = "fitted"
                      ) -> np.ndarray:
        """Class probabilities, with prediction early stopping at ``margin`` (default:
        the calibrated :attr:`early_stop_margin_`; None: every tree)."""
        self._check()
        X = np.asarray(features, np.float32)
        if X.shape[0] == 0:
            return np.zeros((0, len(self.classes_)))
        # one thread for small inputs: the same contention as the GNN's (see context.py)
        threads = max(1, min(self.n_jobs, X.shape[0] // 20_000))
        if margin == "fitted":
            margin = getattr(self, "early_stop_margin_", None)
        kw = ({"pred_early_stop": True, "pred_early_stop_freq": EARLY_STOP_FREQ,
               "pred_early_stop_margin": float(margin)} if margin is not None else {})
        return self.booster_.predict(X, num_threads=threads, **kw)

    def known(self, types: np.ndarray) -> np.ndarray:
        """Whether each node's type (class) occurred in training."""
        self._check()
        return np.isin(np.asarray(types, dtype=object), np.array(self.classes_, dtype=object))

    def score(self, features: np.ndarray, types: np.ndarray, *,
              margin: float | None | str = "fitted") -> tuple[np.ndarray, np.ndarray]:
        """Predicted type and threat confidence ``1 - P(real type)`` of every node
        (1 for a type never seen in training)."""
        proba = self.predict_proba(features, margin=margin)
        classes = np.array(self.classes_, dtype=object)
        types = np.asarray(types, dtype=object)
        pred = classes[proba.argmax(axis=1)] if len(proba) else np.array([], dtype=object)
        col = np.searchsorted(classes, types)
        col = np.minimum(col, len(classes) - 1)
        known = classes[col] == types
        p_real = np.where(known, proba[np.arange(len(types)), col] if len(types) else 0, 0.0)
        return pred, 1.0 - p_real

    def alerts(self, features: np.ndarray, types: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(is_alert, predicted type, confidence)`` per node (needs :meth:`calibrate`).

        A node alerts when its type is unseen, or when it is predicted as another type
        with confidence above the node threshold.
        """
        if not hasattr(self, "node_threshold_"):
            raise NotFittedError("NodeTypeDetector has no thresholds; call calibrate with "
                                 "benign validation graphs first.")
        pred, conf = self.score(features, types)
        return self._alert(pred, conf, types), pred, conf

    def _alert(self, pred: np.ndarray, conf: np.ndarray, types: np.ndarray) -> np.ndarray:
        types = np.asarray(types, dtype=object)
        return ((pred != types) & (conf > self.node_threshold_)) | ~self.known(types)

    def calibrate(self, features: Sequence[np.ndarray], types: Sequence[np.ndarray]
                  ) -> NodeTypeDetector:
        """Set the node and graph thresholds from benign validation graphs."""
        self._check()
        if not features:
            raise ParameterError("NodeTypeDetector.calibrate needs at least one benign "
                                 "validation graph.")
        if self.node_fpr is not None:
            check_params(self, {"node_fpr": self._rules["node_fpr"]})
        scored = [self.score(f, t, margin=None) for f, t in zip(features, types, strict=True)]
        known = np.concatenate([self.known(t) for t in types])
        conf = np.concatenate([c for _, c in scored])[known]
        n_nodes = len(known)
        fpr = (self.node_fpr if self.node_fpr is not None
               else min(1.0, len(scored) / max(n_nodes, 1)))
        q = float(np.quantile(conf, 1 - fpr)) if len(conf) else 0.0
        self.node_threshold_ = min(max(self.min_confidence, q), MAX_THRESHOLD)
        per_graph = [int(self._alert(p, c, t).sum())
                     for (p, c), t in zip(scored, types, strict=True)]
        self.graph_threshold_ = max(per_graph)
        notes = []
        flips: dict[str, int] | None = None
        self.early_stop_margin_ = None
        if self.early_stop_margin is not None:
            flips = {}
            full = [self._alert(p, c, t) for (p, c), t in zip(scored, types, strict=True)]
            for step in EARLY_STOP_STEPS:
                m = round(self.early_stop_margin * step, 6)
                quick = [self._alert(*self.score(f, t, margin=m), t)
                         for f, t in zip(features, types, strict=True)]
                flips[str(m)] = int(sum((a != b).sum() for a, b in zip(quick, full,
                                                                        strict=True)))
                if not flips[str(m)]:
                    self.early_stop_margin_ = m
                    break
            else:
                notes.append(f"prediction early stopping changed validation alert decisions "
                             f"at every margin tried ({flips} of {n_nodes}); scoring uses "
                             "every tree (slower).")
        if len(conf) < 10 / max(fpr, 1e-12):
            notes.append(f"only {len(conf)} benign validation nodes of known classes for "
                         f"node_fpr={fpr:.3g} (fewer than 10 / node_fpr = "
                         f"{10 / max(fpr, 1e-12):.0f}): the node threshold rests on under "
                         "10 nodes above it; add validation graphs or raise node_fpr.")
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=2)
        self.calibration_ = {"graphs": len(per_graph), "nodes": int(n_nodes),
                             "known_nodes": int(len(conf)), "node_fpr": fpr,
                             "confidence_quantile": q, "alerts_per_graph": per_graph,
                             "early_stop_flips": flips, "warnings": notes}
        return self

    def is_anomalous(self, n_alerts: int) -> bool:
        return n_alerts > self.graph_threshold_

    # --- persistence ---------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """``detector.txt`` (LightGBM's text model) and ``detector.json``."""
        from riskscope.report.atomic import write_text

        self._check()
        folder = Path(folder)
        write_text(folder / "detector.txt", self.booster_.model_to_string())
        info = {"params": {k: getattr(self, k) for k in self._rules},
                "classes": self.classes_, "n_features_in": self.n_features_in_}
        if hasattr(self, "node_threshold_"):
            info.update(node_threshold=self.node_threshold_,
                        graph_threshold=self.graph_threshold_, calibration=self.calibration_,
                        early_stop_margin_used=self.early_stop_margin_)
        write_text(folder / "detector.json", json.dumps(info, indent=2))

    @classmethod
    def load(cls, folder: str | Path) -> NodeTypeDetector:
        import lightgbm as lgb

        folder = Path(folder)
        info = json.loads((folder / "detector.json").read_text())
        params = {"early_stop_margin": None, **info["params"]}  # older models: no shortcut
        det = cls(**params)
        det.classes_ = info["classes"]
        det.n_features_in_ = info["n_features_in"]
        det.booster_ = lgb.Booster(model_str=(folder / "detector.txt").read_text())
        if "node_threshold" in info:
            det.node_threshold_ = info["node_threshold"]
            det.graph_threshold_ = info["graph_threshold"]
            det.calibration_ = info["calibration"]
        det.early_stop_margin_ = info.get("early_stop_margin_used")
        return det
