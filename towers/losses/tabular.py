"""Self-supervised tabular losses: masked-feature prediction (FIND Eq. 8) and replaced-token detection.

Masked-feature prediction reconstructs masked columns (cross-entropy over each categorical
column's values, MSE for numeric ones). Replaced-token detection trains one binary head per
column to tell which cells an auxiliary generator replaced.

Example:
    >>> mfp = MaskedFeatureLoss()
    >>> logits = [torch.randn(8, 5), torch.randn(8, 3)]       # per categorical column
    >>> loss = mfp(logits, torch.randint(0, 3, (8, 2)), torch.ones(8, 2, dtype=torch.bool))
    >>> rtd = ReplacedTokenLoss()
    >>> loss = rtd(torch.randn(8, 4), torch.rand(8, 4) < 0.2)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MaskedFeatureLoss(nn.Module):
    def forward(self, cat_logits: list[torch.Tensor], cat_targets: torch.Tensor, cat_masked: torch.Tensor,
                num_pred: torch.Tensor | None = None, num_targets: torch.Tensor | None = None,
                num_masked: torch.Tensor | None = None) -> torch.Tensor:
        """cat_logits[j]: (B, V_j); cat_targets/cat_masked: (B, C); numeric tensors: (B, N)."""
        terms = []
        for j, logits in enumerate(cat_logits):
            m = cat_masked[:, j]
            if m.any():
                terms.append(F.cross_entropy(logits[m], cat_targets[m, j]))
        if num_pred is not None and num_masked is not None and num_masked.any():
            terms.append(F.mse_loss(num_pred[num_masked], num_targets[num_masked]))
        if not terms:
            ref = cat_logits[0] if cat_logits else num_pred
            return ref.sum() * 0.0
        return torch.stack(terms).mean()


class ReplacedTokenLoss(nn.Module):
    def forward(self, logits: torch.Tensor, replaced: torch.Tensor) -> torch.Tensor:
        """logits, replaced: (B, C) — one binary head per column; balanced over the two classes."""
        target = replaced.float()
        pos = target.mean().clamp(1e-3, 1 - 1e-3)
        weight = torch.where(replaced, 0.5 / pos, 0.5 / (1 - pos))
        return F.binary_cross_entropy_with_logits(logits, target, weight=weight)
