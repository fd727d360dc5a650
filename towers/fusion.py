"""Fusion of modality embeddings into one user embedding (FIND Eq. 11).

`attention`: each modality embedding becomes a token; a learnable query (plus the mean token)
cross-attends over the tokens (modalities a user lacks can be masked) and, with `residual`, is
added back to what it attended to, followed by a feed-forward block. Without the residual the
output only sees the tokens through the attention's value projection, and the linear probe
rates the fused embedding lower (docs/RESULTS.md).
`concat`: the ablation — concatenate and project.
"""

from __future__ import annotations

import torch
from torch import nn


class Fusion(nn.Module):
    def __init__(self, in_dims: list[int], dim: int, kind: str = "attention", heads: int = 4, residual: bool = True):
        super().__init__()
        self.kind = kind
        self.residual = residual
        self.proj = nn.ModuleList(nn.Sequential(nn.Linear(d, dim), nn.LayerNorm(dim)) for d in in_dims)
        if kind == "attention":
            self.modality = nn.Parameter(torch.randn(len(in_dims), dim) * 0.02)
            self.query = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
            self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.ffn = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim * 2), nn.GELU(), nn.Linear(dim * 2, dim))
        else:
            self.out = nn.Sequential(nn.Linear(dim * len(in_dims), dim), nn.GELU(), nn.Linear(dim, dim))

    def tokens(self, parts: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack([p(x) for p, x in zip(self.proj, parts)], dim=1)

    def forward(self, parts: list[torch.Tensor], missing: torch.Tensor | None = None) -> torch.Tensor:
        """parts: per-modality (B, d_i); missing: (B, M) True where a modality is absent."""
        toks = self.tokens(parts)
        if self.kind == "attention":
            toks = toks + self.modality
            q = self.query.expand(toks.shape[0], -1, -1) + toks.mean(1, keepdim=True)
            if missing is not None:
                missing = missing & ~missing.all(1, keepdim=True)  # never mask every token
            fused, _ = self.attn(q, toks, toks, key_padding_mask=missing)
            fused = fused.squeeze(1) + (q.squeeze(1) if self.residual else 0)
            return fused + self.ffn(fused)
        return self.out(toks.flatten(1))
