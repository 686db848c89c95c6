"""GraphSAGE network: SAGEConv layers with ReLU and dropout, and a node-type head.

The mean aggregation can be weighted per edge: pruning keeps one edge per node pair and
type and writes how many events it stood for (``count``); weighting the mean by it
makes a pruned graph's neighbourhood look as it did before deduplication (a file read
50 times weighs 50 reads, not one) without storing the 50 edges.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import SAGEConv

__all__ = ["GraphSAGE", "weighted_sage"]


def weighted_sage(conv: SAGEConv, x: torch.Tensor, edge_index: torch.Tensor,
                  edge_weight: torch.Tensor) -> torch.Tensor:
    """``conv`` (a mean-aggregating :class:`~torch_geometric.nn.SAGEConv` with its
    default root weight, no projection, no normalisation) with the neighbour mean
    weighted per edge: ``lin_l(sum_j w_ij x_j / sum_j w_ij) + lin_r(x_i)``.

    The same as repeating each edge ``w`` times (integer weights), and as ``conv``
    itself when all weights are equal, up to float rounding. Written out here because
    SAGEConv's mean takes no edge weights; the parameters are SAGEConv's own, so a
    network trained either way loads into the other.

    Shapes:
        - **input:** node features ``(N, in_channels)``, edge index ``(2, E)``, edge
          weight ``(E,)`` (positive)
        - **output:** ``(N, out_channels)``

    Examples:
        >>> import torch
        >>> conv = SAGEConv(2, 3)
        >>> x = torch.randn(3, 2); ei = torch.tensor([[0, 1], [2, 2]])
        >>> twice = torch.tensor([[0, 0, 1], [2, 2, 2]])
        >>> a = weighted_sage(conv, x, ei, torch.tensor([2.0, 1.0]))
        >>> bool(torch.allclose(a, conv(x, twice), atol=1e-6))
        True
    """
    src, dst = edge_index[0], edge_index[1]
    w = edge_weight.to(x.dtype)
    total = torch.zeros(x.shape[0], dtype=x.dtype).index_add_(0, dst, w)
    norm = w / total[dst]
    agg = torch.zeros(x.shape[0], x.shape[1], dtype=x.dtype).index_add_(
        0, dst, x[src] * norm.unsqueeze(-1))
    return conv.lin_l(agg) + conv.lin_r(x)


class GraphSAGE(nn.Module):
    """Stacked SAGE layers (mean aggregation, optionally weighted per edge), ReLU and
    dropout between layers, then a linear layer scoring each node type.

    :meth:`embed` returns the last SAGE layer's output (the context embedding);
    :meth:`forward` the type logits on top of it. With ``edge_weight`` (e.g. pruning's
    ``count``) every layer takes the weighted mean of its neighbours: the same as
    repeating each edge ``edge_weight`` times, and the plain mean when all are 1.

    Args:
        in_channels: size of the input node vectors (the semantic encoder's).
        hidden_channels: size of every SAGE layer's output (and of the embedding).
        out_channels: number of node types.
        num_layers: SAGE layers (neighbourhood radius).
        dropout: dropout probability after each ReLU (training only).

    Shapes:
        - **input:** node features ``(N, in_channels)``, edge index ``(2, E)``,
          optional edge weight ``(E,)`` (positive)
        - **embed output:** ``(N, hidden_channels)``
        - **forward output:** ``(N, out_channels)``

    Examples:
        >>> import torch
        >>> net = GraphSAGE(8, 16, 3)
        >>> x = torch.randn(4, 8); ei = torch.tensor([[0, 1, 2], [1, 2, 3]])
        >>> net.eval()(x, ei).shape
        torch.Size([4, 3])
        >>> w = torch.ones(3)
        >>> bool(torch.allclose(net(x, ei, w), net(x, ei), atol=1e-6))
        True
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, *,
                 num_layers: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            SAGEConv(in_channels if i == 0 else hidden_channels, hidden_channels, aggr="mean")
            for i in range(num_layers))
        self.head = nn.Linear(hidden_channels, out_channels)
        self.dropout = dropout
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()
        self.head.reset_parameters()

    def embed(self, x: torch.Tensor, edge_index: torch.Tensor,
              edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        for conv in self.convs:
            x = (conv(x, edge_index) if edge_weight is None
                 else weighted_sage(conv, x, edge_index, edge_weight)).relu()
            x = nn.functional.dropout(x, p=self.dropout, training=self.training)
        return x

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor,
                edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.embed(x, edge_index, edge_weight))
