"""Prompt-tuning triplet loss (FIND Eq. 14): the tuned demand embedding must be closer to every
positive seed user than to every negative one, by a margin.

Example:
    >>> text = torch.randn(64)
    >>> pos, neg = torch.randn(5, 64), torch.randn(5, 64)
    >>> loss = prompt_triplet_loss(text, pos, neg, margin=0.2)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def prompt_triplet_loss(text: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor,
                        margin: float = 0.2) -> torch.Tensor:
    t = F.normalize(text.reshape(1, -1), dim=-1)
    sp = (F.normalize(positives, dim=-1) @ t.T).squeeze(-1)  # (P,)
    sn = (F.normalize(negatives, dim=-1) @ t.T).squeeze(-1)  # (N,)
    # all positive/negative pairs: max(0, margin - s(t, u+) + s(t, u-))
    return F.relu(margin - sp[:, None] + sn[None, :]).mean()
