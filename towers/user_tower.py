"""The user tower: behaviour, tabular and search encoders fused into one embedding.

Also exposes per-modality embeddings (projected into the shared space) for the per-modality
InfoNCE terms of alignment and for the linear-probe evaluation.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from targetbot.towers.behaviour import BehaviourEncoder
from targetbot.towers.config import TowerConfig
from targetbot.towers.fusion import Fusion
from targetbot.towers.inputs import UserInputs
from targetbot.towers.search import SearchEncoder
from targetbot.towers.tabular import TabularEncoder

MODALITIES = ("behaviour", "tabular", "search")


class UserTower(nn.Module):
    def __init__(self, cfg: TowerConfig, content_dim: int, cardinalities: list[int], n_numeric: int, n_items: int = 0):
        super().__init__()
        self.modalities = list(cfg.align.modalities)
        encoder_dim = cfg.encoder_dim or cfg.dim
        self.behaviour = BehaviourEncoder(content_dim, encoder_dim, cfg.behaviour.hidden, cfg.behaviour.horizon, n_items)
        self.tabular = TabularEncoder(cardinalities, n_numeric, cfg.tabular.dim, cfg.tabular.layers, cfg.tabular.heads)
        self.search = SearchEncoder(content_dim, encoder_dim)
        dims = {"behaviour": self.behaviour.out_dim, "tabular": cfg.tabular.dim, "search": self.search.out_dim}
        self.fusion = Fusion([dims[m] for m in self.modalities], cfg.dim, cfg.align.fusion,
                             residual=cfg.align.fusion_residual)
        self.heads = nn.ModuleDict({m: nn.Linear(dims[m], cfg.dim) for m in MODALITIES})

    def modality_embeddings(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        _, _, beh = self.behaviour(batch["steps"], batch["counts"], batch["step_mask"], batch.get("items"),
                                   batch["bag"], batch["bag_mask"])
        return {
            "behaviour": beh,
            "tabular": self.tabular(batch["cat"], batch["num"]),
            "search": self.search(batch["searches"], batch["search_mask"]),
        }

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        parts = self.modality_embeddings(batch)
        missing = torch.stack([
            ~(batch["step_mask"].any(1) | batch["bag_mask"].any(1)) if m == "behaviour" else
            ~batch["search_mask"].any(1) if m == "search" else
            torch.zeros_like(batch["step_mask"][:, 0]) for m in self.modalities], dim=1)
        fused = self.fusion([parts[m] for m in self.modalities], missing)
        return fused, {m: self.heads[m](parts[m]) for m in MODALITIES}


def make_batch(inputs: UserInputs, idx: np.ndarray, matrix: np.ndarray, steps_only: bool = False) -> dict[str, torch.Tensor]:
    """Tensors for users `idx`; search and bag vectors are gathered from the content matrix here."""
    if steps_only:  # behaviour pretraining reads the step sequence only
        batch = {"steps": torch.from_numpy(inputs.step_content[idx].astype(np.float32)),
                 "counts": torch.from_numpy(inputs.step_counts[idx]),
                 "step_mask": torch.from_numpy(inputs.step_counts[idx] > 0)}
        if inputs.step_items is not None:
            batch["items"] = torch.from_numpy(inputs.step_items[idx])
        return batch
    rows = inputs.search_rows[idx]
    smask = rows >= 0
    searches = matrix[np.maximum(rows, 0)].astype(np.float32) * smask[..., None]
    brows = inputs.bag_rows[idx]
    bmask = brows >= 0
    batch = {
        "bag": torch.from_numpy(matrix[np.maximum(brows, 0)].astype(np.float32) * bmask[..., None]),
        "bag_mask": torch.from_numpy(bmask),
        "steps": torch.from_numpy(inputs.step_content[idx].astype(np.float32)),
        "counts": torch.from_numpy(inputs.step_counts[idx]),
        "step_mask": torch.from_numpy(inputs.step_counts[idx] > 0),
        "searches": torch.from_numpy(searches),
        "search_mask": torch.from_numpy(smask),
        "cat": torch.from_numpy(inputs.cat[idx]),
        "num": torch.from_numpy(inputs.num[idx]),
    }
    if inputs.step_items is not None:
        batch["items"] = torch.from_numpy(inputs.step_items[idx])
    return batch
