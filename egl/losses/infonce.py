"""InfoNCE with semantic positives and in-batch negatives (EGL Eq. 4).

For a batch of anchor entities, the positive of anchor a is its nearest semantic neighbour
p(a) (by text-encoder cosine); the other anchors' positives are its negatives:

    L_cl = -1/B sum_a log( exp(z_a . z_p(a) / tau) / sum_j exp(z_a . z_p(j) / tau) )

z are L2-normalised projections of the GNN embeddings. This pulls entities that *mean* similar
things together even when behaviour links them weakly — the cold-start case.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def semantic_infonce(anchors: torch.Tensor, positives: torch.Tensor, tau: float = 0.1) -> torch.Tensor:
    """anchors, positives: (B, d), row i of `positives` is anchor i's positive. Normalised here."""
    za = F.normalize(anchors, dim=-1)
    zp = F.normalize(positives, dim=-1)
    logits = za @ zp.T / tau
    target = torch.arange(len(za), device=za.device)
    return F.cross_entropy(logits, target)
