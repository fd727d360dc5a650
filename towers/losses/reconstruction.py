"""Reconstruct the per-modality embeddings from the fused one.

Alignment trains the fused embedding to predict text about the user's next window, so it is
free to drop what text does not say, such as how intensely a user uses an app: the linear
probe found the fused embedding below the plain concatenation of the modality embeddings,
most of all on app activity (docs/RESULTS.md). A linear decoder from the fused embedding back to the modality
embeddings keeps that information, in the spirit of MIM's reconstruction terms.

Targets are detached (the modalities are not pulled towards what is easy to reconstruct) and
standardised per dimension over the batch, not per user, so each user's magnitude, which
carries intensity, stays in the target.

Example:
    >>> loss_fn = ModalityReconstructionLoss(dim=128, target_dim=3 * 128)
    >>> fused, parts = torch.randn(32, 128), torch.randn(32, 3 * 128)
    >>> loss = loss_fn(fused, parts)          # scalar
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ModalityReconstructionLoss(nn.Module):
    def __init__(self, dim: int, target_dim: int):
        super().__init__()
        self.decoder = nn.Linear(dim, target_dim)

    @staticmethod
    def standardise(target: torch.Tensor) -> torch.Tensor:
        target = target.detach()
        return (target - target.mean(0)) / target.std(0).clamp_min(1e-6)

    def forward(self, fused: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """fused (B, dim), target (B, target_dim) -> mean squared error against the standardised target."""
        return F.mse_loss(self.decoder(fused), self.standardise(target))
