"""GraphSAGE network: SAGEConv layers with ReLU and dropout, and a node-type head."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import SAGEConv

__all__ = ["GraphSAGE"]


class GraphSAGE(nn.Module):
    """Stacked :class:`torch_geometric.nn.SAGEConv` (mean aggregation), ReLU and dropout
    between layers, then a linear layer scoring each node type.

    :meth:`embed` returns the last SAGE layer's output (the context embedding);
    :meth:`forward` the type logits on top of it.

    Args:
        in_channels: size of the input node vectors (the semantic encoder's).
        hidden_channels: size of every SAGE layer's output (and of the embedding).
        out_channels: number of node types.
        num_layers: SAGE layers (neighbourhood radius).
        dropout: dropout probability after each ReLU (training only).

    Shapes:
        - **input:** node features ``(N, in_channels)``, edge index ``(2, E)``
        - **embed output:** ``(N, hidden_channels)``
        - **forward output:** ``(N, out_channels)``

    Examples:
        >>> import torch
        >>> net = GraphSAGE(8, 16, 3)
        >>> x = torch.randn(4, 8); ei = torch.tensor([[0, 1, 2], [1, 2, 3]])
        >>> net.eval()(x, ei).shape
        torch.Size([4, 3])
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

    def embed(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = conv(x, edge_index).relu()
            x = nn.functional.dropout(x, p=self.dropout, training=self.training)
        return x

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x, edge_index))
