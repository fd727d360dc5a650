"""The ALPC model: a GeniePath encoder over the candidate graph and a link decoder, in plain torch.

GeniePath (Liu et al., AAAI 2019; PyG's `examples/geniepath.py`) stacks layers that each do
* breadth — attention over a node's neighbours (GAT-style; here the attention logits also see
  the candidate edge's own features: its co-occurrence and semantic scores and sources), and
* depth — an LSTM-style gated memory carried across layers, deciding how much of each hop's
  message to keep.

The decoder scores any pair (a, b) symmetrically from [h_a ⊙ h_b, |h_a − h_b|] plus the pair's
raw similarities, so held-out pairs and non-candidates can be scored too. A threshold head
gives each source entity its adaptive threshold t_a (EGL Eq. 3) and a projection head feeds the
contrastive loss (EGL Eq. 4).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Breadth(nn.Module):
    """Multi-head attention over in-neighbours (self loops included), tanh output."""

    def __init__(self, dim: int, heads: int = 2, edge_dim: int = 0):
        super().__init__()
        self.heads, self.dim = heads, dim
        self.lin = nn.Linear(dim, heads * dim, bias=False)
        self.att_src = nn.Parameter(torch.empty(heads, dim))
        self.att_dst = nn.Parameter(torch.empty(heads, dim))
        self.lin_edge = nn.Linear(edge_dim, heads, bias=False) if edge_dim else None
        nn.init.xavier_uniform_(self.att_src)
        nn.init.xavier_uniform_(self.att_dst)

    def forward(self, x: torch.Tensor, src: torch.Tensor, dst: torch.Tensor,
                edge_attr: torch.Tensor | None = None) -> torch.Tensor:
        n = x.shape[0]
        h = self.lin(x).view(n, self.heads, self.dim)
        logits = (h[src] * self.att_src).sum(-1) + (h[dst] * self.att_dst).sum(-1)
        if self.lin_edge is not None and edge_attr is not None:
            logits = logits + self.lin_edge(edge_attr)
        logits = F.leaky_relu(logits, 0.2)
        alpha = segment_softmax(logits, dst, n)
        out = torch.zeros(n, self.heads, self.dim, dtype=h.dtype).index_add_(0, dst, alpha.unsqueeze(-1) * h[src])
        return torch.tanh(out.mean(1))


def segment_softmax(logits: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Softmax of `logits` (E, H) over the groups given by `index` (E,)."""
    big = torch.full((n, logits.shape[1]), float("-inf"), dtype=logits.dtype)
    mx = big.scatter_reduce(0, index.unsqueeze(-1).expand_as(logits), logits, reduce="amax", include_self=True)
    w = torch.exp(logits - mx[index])
    denom = torch.zeros(n, logits.shape[1], dtype=logits.dtype).index_add_(0, index, w)
    return w / denom[index].clamp_min(1e-16)


class Depth(nn.Module):
    """Gated memory across layers (an LSTM cell whose 'time' is the layer)."""

    def __init__(self, dim: int):
        super().__init__()
        self.cell = nn.LSTMCell(dim, dim, bias=False)

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.cell(x, (h, c))


class GeniePath(nn.Module):
    def __init__(self, in_dim: int, dim: int, layers: int = 2, heads: int = 2, edge_dim: int = 0,
                 dropout: float = 0.1):
        super().__init__()
        self.lin_in = nn.Linear(in_dim, dim)
        self.breadth = nn.ModuleList([Breadth(dim, heads, edge_dim) for _ in range(layers)])
        self.depth = nn.ModuleList([Depth(dim) for _ in range(layers)])
        self.lin_out = nn.Linear(dim, dim)
        self.dropout = dropout
        self.dim = dim

    def forward(self, x: torch.Tensor, src: torch.Tensor, dst: torch.Tensor,
                edge_attr: torch.Tensor | None = None) -> torch.Tensor:
        x = F.dropout(self.lin_in(x), self.dropout, self.training)
        h = torch.zeros(x.shape[0], self.dim, dtype=x.dtype)
        c = torch.zeros_like(h)
        for breadth, depth in zip(self.breadth, self.depth):
            x = breadth(x, src, dst, edge_attr)
            h, c = depth(x, h, c)
            x = h
        return self.lin_out(F.dropout(x, self.dropout, self.training))


class LinkDecoder(nn.Module):
    """Symmetric pair scorer: MLP([h_a*h_b, |h_a-h_b|, pair features]) -> logit."""

    def __init__(self, dim: int, pair_dim: int = 0, hidden: int = 64):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * dim + pair_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, ha: torch.Tensor, hb: torch.Tensor, pair: torch.Tensor | None = None) -> torch.Tensor:
        z = [ha * hb, (ha - hb).abs()]
        if pair is not None:
            z.append(pair)
        return self.mlp(torch.cat(z, -1)).squeeze(-1)


class ALPCModel(nn.Module):
    """Encoder + decoder + per-source threshold head + contrastive projection head."""

    def __init__(self, in_dim: int, dim: int = 64, layers: int = 2, heads: int = 2, edge_dim: int = 0,
                 pair_dim: int = 0, dropout: float = 0.1):
        super().__init__()
        self.encoder = GeniePath(in_dim, dim, layers, heads, edge_dim, dropout)
        self.decoder = LinkDecoder(dim, pair_dim)
        self.threshold = nn.Linear(dim, 1)
        self.project = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))

    def forward(self, x, src, dst, edge_attr=None):
        return self.encoder(x, src, dst, edge_attr)
