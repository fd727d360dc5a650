"""Multi-label future forecasting: which of the vocabulary's statements will describe the user's
next window? Binary cross-entropy over the whole statement vocabulary at once.

InfoNCE with one sampled statement per user sees one positive and a batch of negatives per
step; a user's next window holds dozens of statements (a phone rental *and* a repair bill *and*
a game top-up), and a rare, decisive one is sampled seldom. Scoring every user against every
statement each step gives each of them a gradient, rare ones included. The logit is a scaled
cosine, as at targeting time, plus a per-statement bias that absorbs how common the statement
is — so the cosine is left to rank users, which is all zero-shot targeting reads.

Example:
    >>> loss_fn = ForecastLoss(vocab_size=1000)
    >>> users, statements = torch.randn(32, 64), torch.randn(1000, 64)
    >>> targets = (torch.rand(32, 1000) < 0.01).float()
    >>> loss = loss_fn(users, statements, targets)   # scalar
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ForecastLoss(nn.Module):
    def __init__(self, vocab_size: int, init_scale: float = 10.0, init_bias: float = -4.0, max_scale: float = 100.0):
        super().__init__()
        self.bias = nn.Parameter(torch.full((vocab_size,), float(init_bias)))
        self.log_scale = nn.Parameter(torch.tensor(math.log(init_scale)))
        self.max_scale = max_scale

    def logits(self, users: torch.Tensor, statements: torch.Tensor) -> torch.Tensor:
        scale = self.log_scale.exp().clamp(max=self.max_scale)
        return scale * F.normalize(users, dim=-1) @ F.normalize(statements, dim=-1).T + self.bias

    def forward(self, users: torch.Tensor, statements: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """users (B, d), statements (V, d), targets (B, V) in {0, 1} -> mean over users of the
        summed per-statement BCE, divided by the mean number of positives (a scale near 1 that
        does not depend on the vocabulary size)."""
        bce = F.binary_cross_entropy_with_logits(self.logits(users, statements), targets, reduction="sum")
        return bce / targets.shape[0] / targets.sum(1).mean().clamp(min=1.0)
