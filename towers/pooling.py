"""Multi-head attention pooling over a set of content vectors (MIM-style interest heads).

Each head has a learnable query; it attends over the set and returns a weighted sum of the
projected values; heads are concatenated and mixed. A user's distinct behaviour texts or
searches become a few "interest" vectors instead of one washed-out mean.
"""

from __future__ import annotations

import torch
from torch import nn


class AttentionPool(nn.Module):
    def __init__(self, in_dim: int, dim: int, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.key = nn.Linear(in_dim, dim)
        self.value = nn.Linear(in_dim, dim)
        self.queries = nn.Parameter(torch.randn(heads, dim) * 0.05)
        self.out = nn.Sequential(nn.Linear(heads * dim, dim), nn.GELU(), nn.Linear(dim, dim), nn.LayerNorm(dim))
        self.empty = nn.Parameter(torch.zeros(dim))
        self.dim = dim

    def forward(self, items: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """items: (B, S, in_dim); mask: (B, S) -> (B, dim)."""
        k = self.key(items)  # (B, S, d)
        v = self.value(items)
        scores = torch.einsum("bsd,hd->bhs", k, self.queries) / self.dim ** 0.5
        scores = scores.masked_fill(~mask[:, None, :], -1e4)
        w = torch.softmax(scores, dim=-1)
        pooled = torch.einsum("bhs,bsd->bhd", w, v).flatten(1)
        out = self.out(pooled)
        has = mask.any(1, keepdim=True)
        return torch.where(has, out, self.empty.expand_as(out))
