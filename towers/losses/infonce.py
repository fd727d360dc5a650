"""Symmetric InfoNCE between two towers with a learnable temperature and a negative queue.

FIND Eq. 13 aligns the fused past-user embedding with the text describing the user's future;
MIM Eq. 6 adds negatives from past batches. Small CPU batches are the known failure of
CLIP-style training, so a MoCo-style queue of recent (detached) embeddings extends the
negatives of both directions.

Example:
    >>> loss_fn = InfoNCELoss(dim=64, queue_size=1024)
    >>> users, texts = torch.randn(32, 64), torch.randn(32, 64)
    >>> loss = loss_fn(users, texts)          # scalar; also enqueues both batches
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class NegativeQueue(nn.Module):
    """A ring buffer of detached, normalised embeddings (a buffer, so it moves with .to())."""

    def __init__(self, size: int, dim: int):
        super().__init__()
        self.size = size
        self.register_buffer("items", torch.zeros(size, dim))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def push(self, x: torch.Tensor) -> None:
        if self.size == 0:
            return
        x = x.detach()[-self.size:]
        n = x.shape[0]
        idx = (self.ptr + torch.arange(n, device=x.device)) % self.size
        self.items[idx] = x
        self.ptr.copy_((self.ptr + n) % self.size)
        self.filled.copy_(torch.clamp(self.filled + n, max=self.size))

    def get(self) -> torch.Tensor:
        return self.items[: int(self.filled)]


class InfoNCELoss(nn.Module):
    def __init__(self, dim: int, queue_size: int = 0, init_temperature: float = 0.07, max_logit_scale: float = 100.0):
        super().__init__()
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_temperature)))
        self.max_logit_scale = max_logit_scale
        self.user_queue = NegativeQueue(queue_size, dim)
        self.text_queue = NegativeQueue(queue_size, dim)

    @property
    def temperature(self) -> float:
        return float(1.0 / self.logit_scale.detach().exp().clamp(max=self.max_logit_scale))

    def forward(self, users: torch.Tensor, texts: torch.Tensor, enqueue: bool = True) -> torch.Tensor:
        u = F.normalize(users, dim=-1)
        t = F.normalize(texts, dim=-1)
        scale = self.logit_scale.exp().clamp(max=self.max_logit_scale)
        target = torch.arange(u.shape[0], device=u.device)
        # user -> text: the batch's texts plus queued texts as negatives; and symmetrically
        logits_u = scale * u @ torch.cat([t, self.text_queue.get()]).T
        logits_t = scale * t @ torch.cat([u, self.user_queue.get()]).T
        loss = 0.5 * (F.cross_entropy(logits_u, target) + F.cross_entropy(logits_t, target))
        if enqueue and self.training:
            self.user_queue.push(u)
            self.text_queue.push(t)
        return loss
