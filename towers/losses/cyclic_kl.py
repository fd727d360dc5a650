"""Cyclic regularisation (FIND Eq. 7): contexts one period apart should describe the same habit.

Behaviour repeats weekly and monthly (salaries, bills, weekend shopping), so the context at t
and at t + T are pushed together with KL(softmax(c_t) || softmax(c_{t+T})).

Example:
    >>> c = torch.randn(4, 12, 32)
    >>> cyclic_kl(c, period=4)   # scalar >= 0, zero when c is periodic
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cyclic_kl(c: torch.Tensor, period: int, mask: torch.Tensor | None = None) -> torch.Tensor:
    B, T, _ = c.shape
    if period <= 0 or period >= T:
        return c.sum() * 0.0
    now, later = c[:, :-period], c[:, period:]
    log_p = F.log_softmax(now, dim=-1)
    log_q = F.log_softmax(later, dim=-1)
    kl = (log_p.exp() * (log_p - log_q)).sum(-1)  # (B, T - period)
    if mask is not None:
        valid = (mask[:, :-period] & mask[:, period:]).float()
        return (kl * valid).sum() / valid.sum().clamp(min=1.0)
    return kl.mean()
