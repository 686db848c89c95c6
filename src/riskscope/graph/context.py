"""Context encoder: GraphSAGE trained to tell node types apart, used for its embeddings.

The semantic vectors say what a node is called and what it did; the context encoder
adds who it did it with. A :class:`~riskscope.graph.sage.GraphSAGE` network is trained
(full batch, on the disjoint union of the benign training graphs, class-weighted
cross-entropy) to predict each node's type from its own and its neighbours' semantic
vectors; its last hidden layer is the node's context embedding. Edges are used in both
directions, so a file learns from the processes that touch it and vice versa.

Edge weights, when given, weight each layer's neighbour mean (see
:func:`~riskscope.graph.sage.weighted_sage`). The apt model passes pruning's dedupe
``count``, so a pruned graph's embeddings see as many reads as the unpruned graph had;
without it the mean over one kept edge per node pair moved the embeddings enough that
pruning cost up to 14 points of strict F1 on the recorded suite.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from riskscope.exceptions import NotFittedError, ParameterError
from riskscope.models._base import check_params

__all__ = ["ContextEncoder"]


def _threads(n_jobs: int, n_edges: int) -> int:
    """Torch threads for inference: one for graphs below ~100k edges. Each SAGE layer
    is a few milliseconds of work there, and OpenMP threads waiting on a busy second
    core made a 2,000-edge graph take 0.26 s instead of 0.01 s (measured, 2 cores)."""
    return max(1, min(n_jobs, n_edges // 100_000))


def _both_ways(edge_index: np.ndarray):
    import torch

    ei = torch.as_tensor(np.asarray(edge_index, dtype=np.int64))
    return torch.cat([ei, ei.flip(0)], dim=1)


def _weights_both_ways(edge_weight: np.ndarray | None, n_edges: int):
    """Edge weights for :func:`_both_ways`'s edges (None: unweighted)."""
    if edge_weight is None:
        return None
    import torch

    w = np.asarray(edge_weight, dtype=np.float32)
    if w.shape != (n_edges,) or not (w > 0).all():
        raise ParameterError(f"Edge weights must be one positive number per edge ({n_edges}); "
                             f"got shape {w.shape}, minimum {w.min() if w.size else None}.")
    wt = torch.from_numpy(w)
    return torch.cat([wt, wt])


class ContextEncoder:
    """GraphSAGE context embeddings of provenance-graph nodes.

    Parameters
    ----------
    hidden : int
        Embedding size (every SAGE layer's width).
    num_layers : int
        SAGE layers: how many hops of neighbourhood an embedding sees.
    dropout : float
        Dropout after each layer during training.
    epochs : int
        Full-batch training epochs.
    lr, weight_decay : float
        Adam's step size and L2 penalty.
    seed : int
        Seeds weight initialisation and dropout.
    n_jobs : int
        Torch threads (used for graphs of 100k edges and more; see ``_threads``).

    Attributes
    ----------
    classes_ : list of str
        Node types seen in training (the network's outputs).
    loss_ : list of float
        Training loss per epoch.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    >>> ei = np.array([[0, 0, 1, 2], [3, 4, 5, 3]])
    >>> types = np.array(["process"] * 3 + ["file"] * 3, dtype=object)
    >>> enc = ContextEncoder(hidden=8, epochs=5).fit([X], [ei], [types])
    >>> enc.transform(X, ei).shape
    (6, 8)
    >>> w = np.ones(4)
    >>> bool(np.allclose(enc.transform(X, ei, w), enc.transform(X, ei), atol=1e-6))
    True
    """

    _rules = {
        "hidden": ("int", 2, None),
        "num_layers": ("int", 1, 8),
        "dropout": ("float", 0, 0.95),
        "epochs": ("int", 1, None),
        "lr": ("float", 1e-6, 10),
        "weight_decay": ("float", 0, None),
        "seed": ("int", 0, None),
        "n_jobs": ("int", 1, None),
    }

    def __init__(self, *, hidden: int = 32, num_layers: int = 2, dropout: float = 0.2,
                 epochs: int = 60, lr: float = 0.01, weight_decay: float = 5e-4,
                 seed: int = 0, n_jobs: int = 1) -> None:
        self.hidden = hidden
        self.num_layers = num_layers
        self.dropout = dropout
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.seed = seed
        self.n_jobs = n_jobs

    def _net(self, in_channels: int, n_classes: int):
        from riskscope.graph.sage import GraphSAGE

        return GraphSAGE(in_channels, self.hidden, n_classes, num_layers=self.num_layers,
                         dropout=self.dropout)

    def fit(self, features: Sequence[np.ndarray], edge_indexes: Sequence[np.ndarray],
            types: Sequence[np.ndarray], edge_weights: Sequence[np.ndarray] | None = None
            ) -> ContextEncoder:
        """Train on graphs given as (node features, ``(2, E)`` edge index, node types),
        and optionally one positive weight per edge (weighted neighbour means)."""
        check_params(self, self._rules)
        if not (len(features) == len(edge_indexes) == len(types)) or not features or (
                edge_weights is not None and len(edge_weights) != len(features)):
            raise ParameterError("ContextEncoder.fit needs the same number (>= 1) of "
                                 "feature arrays, edge indexes, type arrays and (if given) "
                                 "edge weight arrays.")
        import torch

        from riskscope.models._torch import torch_session

        offsets = np.cumsum([0] + [len(x) for x in features])
        x = np.concatenate(features).astype(np.float32)
        ei = np.concatenate([np.asarray(e, np.int64) + o
                             for e, o in zip(edge_indexes, offsets[:-1], strict=True)], axis=1)
        y_names = np.concatenate([np.asarray(t, dtype=object) for t in types])
        self.classes_ = sorted(set(y_names.tolist()))
        if len(self.classes_) < 2:
            raise ParameterError(f"ContextEncoder.fit needs nodes of at least two types; "
                                 f"the training graphs only have {self.classes_}.")
        y = np.searchsorted(np.array(self.classes_, dtype=object), y_names)
        counts = np.bincount(y, minlength=len(self.classes_))
        weight = torch.as_tensor(len(y) / (len(counts) * np.maximum(counts, 1)),
                                 dtype=torch.float32)
        self.in_channels_ = x.shape[1]
        # threads by graph size, as for inference (a fixed count for given data, so the
        # same seed still gives the same weights)
        with torch_session(self.seed, _threads(self.n_jobs, ei.shape[1])):
            net = self._net(self.in_channels_, len(self.classes_))
            opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            xt, eit, yt = torch.from_numpy(x), _both_ways(ei), torch.from_numpy(y)
            wt = (None if edge_weights is None else _weights_both_ways(
                np.concatenate([np.asarray(w, np.float32) for w in edge_weights]), ei.shape[1]))
            self.loss_ = []
            net.train()
            for _ in range(self.epochs):
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(net(xt, eit, wt), yt, weight=weight)
                loss.backward()
                opt.step()
                self.loss_.append(float(loss.detach()))
        self.net_ = net.eval()
        return self

    def transform(self, features: np.ndarray, edge_index: np.ndarray,
                  edge_weight: np.ndarray | None = None) -> np.ndarray:
        """Context embeddings ``(n_nodes, hidden)`` of one graph (``edge_weight``: one
        positive weight per edge, or None for plain means)."""
        self._check()
        import torch

        from riskscope.models._torch import torch_threads

        n_edges = np.shape(edge_index)[1]
        with torch.inference_mode(), torch_threads(_threads(self.n_jobs, n_edges)):
            out = self.net_.embed(torch.from_numpy(np.asarray(features, np.float32)),
                                  _both_ways(edge_index), _weights_both_ways(edge_weight, n_edges))
        return out.numpy()

    def predict_proba(self, features: np.ndarray, edge_index: np.ndarray,
                      edge_weight: np.ndarray | None = None) -> np.ndarray:
        """The network's own type probabilities ``(n_nodes, n_classes)``."""
        self._check()
        import torch

        from riskscope.models._torch import torch_threads

        n_edges = np.shape(edge_index)[1]
        with torch.inference_mode(), torch_threads(_threads(self.n_jobs, n_edges)):
            logits = self.net_(torch.from_numpy(np.asarray(features, np.float32)),
                               _both_ways(edge_index), _weights_both_ways(edge_weight, n_edges))
        return torch.softmax(logits, dim=1).numpy()

    def _check(self) -> None:
        if not hasattr(self, "net_"):
            raise NotFittedError("ContextEncoder is not fitted; call fit first.")

    def save(self, folder: str | Path) -> None:
        """``context.json`` (parameters, classes) and ``context.safetensors`` (weights)."""
        from safetensors.torch import save_file

        from riskscope.report.atomic import atomic_path, write_text

        self._check()
        folder = Path(folder)
        state = {k: v.detach().contiguous() for k, v in self.net_.state_dict().items()}
        with atomic_path(folder / "context.safetensors") as tmp:
            save_file(state, str(tmp))
        params = {k: getattr(self, k) for k in self._rules}
        write_text(folder / "context.json", json.dumps(
            {"params": params, "classes": self.classes_, "in_channels": self.in_channels_}))

    @classmethod
    def load(cls, folder: str | Path) -> ContextEncoder:
        from safetensors.torch import load_file

        folder = Path(folder)
        info = json.loads((folder / "context.json").read_text())
        enc = cls(**info["params"])
        enc.classes_ = info["classes"]
        enc.in_channels_ = info["in_channels"]
        net = enc._net(enc.in_channels_, len(enc.classes_))
        net.load_state_dict(load_file(str(folder / "context.safetensors")), strict=True)
        enc.net_ = net.eval()
        return enc
