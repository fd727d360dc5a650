"""Adaptive per-source threshold loss (EGL Eq. 3).

Entities differ in how many relations they have: a category has dozens, a payment channel
few. One global cut-off on link scores therefore keeps too much around hubs and too little
elsewhere. Each source entity a gets its own threshold t_a (predicted from its embedding),
trained so that its positive links score above it and its negative links below it:

    L_th = mean_{(a,b) in E+} softplus(t_a - s_ab) + mean_{(a,b') in E-} softplus(s_ab' - t_a)

s are link logits. At inference a keeps b as a relation iff s_ab > t_a.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def adaptive_threshold_loss(pos_logits: torch.Tensor, pos_threshold: torch.Tensor,
                            neg_logits: torch.Tensor, neg_threshold: torch.Tensor,
                            margin: float = 0.0) -> torch.Tensor:
    """pos_threshold / neg_threshold: the source entity's threshold for each pair (same shapes as the logits)."""
    above = F.softplus(pos_threshold + margin - pos_logits).mean()
    below = F.softplus(neg_logits - neg_threshold + margin).mean()
    return above + below
