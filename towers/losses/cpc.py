"""Contrastive Predictive Coding over future time steps (FIND Eq. 6).

Given per-step embeddings z_t and autoregressive contexts c_t, a linear map W_k predicts
z_{t+k} from c_t; the true future step must score above the other steps of the batch
(every other user's and time's z as negatives), for k = 1..K.

Example:
    >>> cpc = CPCLoss(context_dim=32, step_dim=16, horizon=3)
    >>> z, c = torch.randn(8, 10, 16), torch.randn(8, 10, 32)
    >>> mask = torch.ones(8, 10, dtype=torch.bool)   # which steps exist
    >>> loss = cpc(z, c, mask)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CPCLoss(nn.Module):
    def __init__(self, context_dim: int, step_dim: int, horizon: int = 3, max_pairs: int = 1024):
        super().__init__()
        self.horizon = horizon
        self.max_pairs = max_pairs  # negatives per horizon are capped: the logits are max_pairs^2
        self.predictors = nn.ModuleList(nn.Linear(context_dim, step_dim, bias=False) for _ in range(horizon))

    def forward(self, z: torch.Tensor, c: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """z: (B, T, Dz) step embeddings; c: (B, T, Dc) contexts; mask: (B, T) valid steps."""
        B, T, _ = z.shape
        if mask is None:
            mask = torch.ones(B, T, dtype=torch.bool, device=z.device)
        losses = []
        for k, W in enumerate(self.predictors, start=1):
            if T - k <= 0:
                break
            ctx = c[:, : T - k]  # (B, T-k, Dc)
            tgt = z[:, k:]  # (B, T-k, Dz)
            valid = mask[:, : T - k] & mask[:, k:]
            if not valid.any():
                continue
            pred = W(ctx)[valid]  # (N, Dz)
            true = tgt[valid]  # (N, Dz)
            if len(pred) > self.max_pairs:
                keep = torch.randperm(len(pred), device=z.device)[: self.max_pairs]
                pred, true = pred[keep], true[keep]
            logits = pred @ true.T  # every other valid future step is a negative
            losses.append(F.cross_entropy(logits, torch.arange(len(pred), device=z.device)))
        if not losses:
            return z.sum() * 0.0
        return torch.stack(losses).mean()
