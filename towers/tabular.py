"""TabTransformer-style tabular encoder with masked-feature prediction and replaced-token detection.

Every profile column becomes a token: categorical values through a per-column embedding,
numeric values (rank-gauss normalised) through a per-column linear map; a column embedding
is added and a small Transformer mixes the tokens. Pretraining (FIND Eq. 8 and ELECTRA-style
RTD): mask some cells and predict them; let a tiny generator fill other cells with plausible
values and train one binary head per column to spot the replacements.
"""

from __future__ import annotations

import torch
from torch import nn

from targetbot.towers.losses import MaskedFeatureLoss, ReplacedTokenLoss


class ColumnTokens(nn.Module):
    def __init__(self, cardinalities: list[int], n_numeric: int, dim: int):
        super().__init__()
        self.cat = nn.ModuleList(nn.Embedding(c + 1, dim) for c in cardinalities)  # +1: the [MASK] value
        self.num_w = nn.Parameter(torch.randn(n_numeric, dim) * 0.1)
        self.num_b = nn.Parameter(torch.zeros(n_numeric, dim))
        self.num_mask = nn.Parameter(torch.zeros(n_numeric, dim))
        self.column = nn.Parameter(torch.randn(len(cardinalities) + n_numeric, dim) * 0.02)
        self.cardinalities = cardinalities

    def forward(self, cat: torch.Tensor, num: torch.Tensor, cat_mask=None, num_mask=None) -> torch.Tensor:
        toks = []
        for j, emb in enumerate(self.cat):
            codes = cat[:, j]
            if cat_mask is not None:
                codes = torch.where(cat_mask[:, j], torch.full_like(codes, self.cardinalities[j]), codes)
            toks.append(emb(codes))
        if num.shape[1]:
            nt = num[:, :, None] * self.num_w + self.num_b
            if num_mask is not None:
                nt = torch.where(num_mask[:, :, None], self.num_mask.expand_as(nt), nt)
            toks.extend(nt.unbind(1))
        return torch.stack(toks, dim=1) + self.column


class TabularEncoder(nn.Module):
    def __init__(self, cardinalities: list[int], n_numeric: int, dim: int = 48, layers: int = 2, heads: int = 4):
        super().__init__()
        self.tokens = ColumnTokens(cardinalities, n_numeric, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 2, dropout=0.1, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.cat_heads = nn.ModuleList(nn.Linear(dim, c) for c in cardinalities)
        self.num_head = nn.Linear(dim, 1)
        self.rtd_head = nn.Linear(dim, 1)  # applied per column token: one binary decision per column
        self.n_cat = len(cardinalities)
        self.dim = dim

    def token_states(self, cat, num, cat_mask=None, num_mask=None) -> torch.Tensor:
        return self.norm(self.encoder(self.tokens(cat, num, cat_mask, num_mask)))

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        """(B, dim) user embedding: mean of the column token states."""
        return self.token_states(cat, num).mean(dim=1)


class TabularPretrainer(nn.Module):
    """Masked-feature prediction plus replaced-token detection with an auxiliary generator."""

    def __init__(self, encoder: TabularEncoder, mask_rate: float = 0.15):
        super().__init__()
        self.encoder = encoder
        card = [e.num_embeddings - 1 for e in encoder.tokens.cat]
        n_num = encoder.tokens.num_w.shape[0]
        self.generator = TabularEncoder(card, n_num, dim=max(16, encoder.dim // 2), layers=1, heads=2)
        self.mask_rate = mask_rate
        self.mfp = MaskedFeatureLoss()
        self.rtd = ReplacedTokenLoss()

    def _predict(self, model: TabularEncoder, cat, num, cat_mask, num_mask):
        h = model.token_states(cat, num, cat_mask, num_mask)
        cat_logits = [head(h[:, j]) for j, head in enumerate(model.cat_heads)]
        num_pred = model.num_head(h[:, model.n_cat:]).squeeze(-1)
        return h, cat_logits, num_pred

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> dict[str, torch.Tensor]:
        B, C = cat.shape
        N = num.shape[1]
        cat_mask = torch.rand(B, C, device=cat.device) < self.mask_rate
        num_mask = torch.rand(B, N, device=num.device) < self.mask_rate
        # generator: learns MFP and proposes replacements for the masked cells
        _, g_logits, g_num = self._predict(self.generator, cat, num, cat_mask, num_mask)
        loss_gen = self.mfp(g_logits, cat, cat_mask, g_num, num, num_mask)
        with torch.no_grad():
            sampled = torch.stack([torch.distributions.Categorical(logits=l).sample() for l in g_logits], 1) if C else cat
            cat_r = torch.where(cat_mask, sampled, cat)
            num_r = torch.where(num_mask, g_num + 0.3 * torch.randn_like(g_num), num)
            replaced = torch.cat([cat_mask & (cat_r != cat), num_mask], dim=1)
        # encoder: detect replaced cells (RTD) and reconstruct separately masked cells (MFP)
        h = self.encoder.token_states(cat_r, num_r)
        loss_rtd = self.rtd(self.encoder.rtd_head(h).squeeze(-1), replaced)
        m_cat = torch.rand(B, C, device=cat.device) < self.mask_rate
        m_num = torch.rand(B, N, device=num.device) < self.mask_rate
        _, e_logits, e_num = self._predict(self.encoder, cat, num, m_cat, m_num)
        loss_mfp = self.mfp(e_logits, cat, m_cat, e_num, num, m_num)
        return {"mfp": loss_mfp, "rtd": loss_rtd, "generator": loss_gen, "loss": loss_mfp + loss_rtd + loss_gen}
