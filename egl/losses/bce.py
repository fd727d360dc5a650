"""Binary cross-entropy for link prediction: candidate edges against sampled non-edges."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def link_bce(pos_logits: torch.Tensor, neg_logits: torch.Tensor, pos_weight: torch.Tensor | None = None,
             neg_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted mean over positives of -log s(l) + weighted mean over negatives of -log(1 - s(l)).

    Both halves are averaged separately, so the loss does not depend on the sampling ratio."""
    return _wmean(F.softplus(-pos_logits), pos_weight) + _wmean(F.softplus(neg_logits), neg_weight)


def _wmean(x: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
    if w is None:
        return x.mean()
    return (x * w).sum() / w.sum().clamp_min(1e-12)
