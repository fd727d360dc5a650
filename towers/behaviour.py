"""Behaviour-sequence encoder: per-step content embeddings -> GRU contexts, pretrained with CPC
(FIND Eq. 6) and cyclic KL (Eq. 7). The user embedding combines the masked mean of the
contexts (temporal habits) with attention pooling over the user's most characteristic
distinct events (interests: a single repair bill should not be averaged away).

A step is a few days of bills, mini-program uses and page clicks; its input is the mean of the
representation-center embeddings of those events (plus a log-count feature). MIM option: an
item-ID embedding bag per step, fused with the content by a content-computed gate, so warm
items get an ID signal while cold items fall back to content.
"""

from __future__ import annotations

import torch
from torch import nn

from targetbot.towers.losses import CPCLoss, cyclic_kl
from targetbot.towers.pooling import AttentionPool


class BehaviourEncoder(nn.Module):
    def __init__(self, content_dim: int, dim: int = 128, hidden: int = 128, horizon: int = 3,
                 n_items: int = 0):
        super().__init__()
        self.step = nn.Sequential(nn.Linear(content_dim + 1, dim), nn.GELU(), nn.Linear(dim, dim), nn.LayerNorm(dim))
        self.items = nn.EmbeddingBag(n_items + 1, dim, mode="mean", padding_idx=0) if n_items else None
        self.gate = nn.Linear(content_dim, dim) if n_items else None
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.cpc = CPCLoss(hidden, dim, horizon)
        self.bag = AttentionPool(content_dim, hidden, heads=4)
        self.mix = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.LayerNorm(hidden))
        self.out_dim = hidden

    def steps(self, content: torch.Tensor, counts: torch.Tensor, item_ids: torch.Tensor | None = None) -> torch.Tensor:
        """content: (B, T, Dc) mean content per step; counts: (B, T) events per step."""
        z = self.step(torch.cat([content, torch.log1p(counts)[..., None]], dim=-1))
        if self.items is not None and item_ids is not None:
            B, T, K = item_ids.shape
            ids = self.items(item_ids.reshape(B * T, K)).reshape(B, T, -1)
            z = z + torch.sigmoid(self.gate(content)) * ids
        return z

    def forward(self, content, counts, mask, item_ids=None, bag=None, bag_mask=None):
        """Returns (z, c, pooled): step embeddings, contexts, and the (B, hidden) user embedding."""
        z = self.steps(content, counts, item_ids)
        c, _ = self.gru(z)
        m = mask.float()[..., None]
        pooled = (c * m).sum(1) / m.sum(1).clamp(min=1.0)
        if bag is not None:
            pooled = self.mix(torch.cat([pooled, self.bag(bag, bag_mask)], dim=-1))
        return z, c, pooled

    def pretrain_loss(self, content, counts, mask, period: int, kl_weight: float, item_ids=None):
        z, c, _ = self(content, counts, mask, item_ids)
        cpc = self.cpc(z, c, mask)
        kl = cyclic_kl(c, period, mask)
        return {"cpc": cpc, "kl": kl, "loss": cpc + kl_weight * kl}
