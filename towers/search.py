"""Search-text encoder: multi-head attention pooling over the representation-center
embeddings of a user's recent searches (the text encoder itself is the shared MiniLM)."""

from __future__ import annotations

import torch
from torch import nn

from targetbot.towers.pooling import AttentionPool


class SearchEncoder(nn.Module):
    def __init__(self, content_dim: int, dim: int = 128, heads: int = 2):
        super().__init__()
        self.pool = AttentionPool(content_dim, dim, heads)
        self.out_dim = dim

    def forward(self, searches: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """searches: (B, S, Dc); mask: (B, S) valid entries -> (B, dim)."""
        return self.pool(searches, mask)
