"""Tower configs as data: named recipes in towers/configs/*.yaml behind a tiny registry.

    >>> cfg = TowerConfig.from_name("quick")
    >>> cfg.align.epochs
    4
    >>> list_configs()
    ['full', 'quick']

`key()` hashes the config, so artifacts built with different settings never mix.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from targetbot.errors import TargetbotError

CONFIG_DIR = Path(__file__).parent / "configs"


class BehaviourConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hidden: int = 128
    horizon: int = Field(3, ge=1, description="CPC predicts this many steps ahead.")
    period: int = Field(3, ge=1, description="Cyclic KL pairs steps this many steps apart (about a week).")
    kl_weight: float = 0.1
    epochs: int = 2
    max_users: int = Field(6000, description="Users sampled per window per epoch (0 = all).")
    item_ids: bool = Field(False, description="MIM: add item-ID embeddings fused with content (helps warm items).")


class TabularConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dim: int = 48
    layers: int = 2
    heads: int = 4
    mask_rate: float = 0.15
    epochs: int = 3


class AlignConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    epochs: int = 12
    batch_size: int = 512
    lr: float = 2e-3
    text_lr: float = 2e-4
    queue_size: int = 2048
    modality_weight: float = Field(0.25, description="Weight of the per-modality InfoNCE terms.")
    forecast_weight: float = Field(1.0, description="Weight of the multi-label BCE over the whole future-statement "
                                                    "vocabulary (towers/losses/forecast.py); 0 = InfoNCE only.")
    recon_weight: float = Field(1.0, description="Weight of reconstructing the per-modality embeddings from the fused "
                                                  "one (towers/losses/reconstruction.py); 0 = off. Probe AUC of the fused "
                                                  "embedding on the 20k world: 0.745 at 0, 0.769 at 1, 0.753 at 4.")
    lora_rank: int = 8
    lora_top_layers: int = Field(2, description="LoRA on the top N encoder layers only (0 = all layers).")
    max_text_tokens: int = 32
    fusion: Literal["attention", "concat"] = "attention"
    fusion_residual: bool = Field(True, description="Attention fusion adds its query (learned query + mean modality "
                                                    "token) back to the attended output, as a transformer block does. "
                                                    "Probe AUC of the fused embedding: 0.769 without, 0.778 with.")
    statements_per_step: int = Field(1, description="Future statements sampled per user per step (joined).")
    lora_steps: int = Field(60, description="Phase-2 steps that also train the text tower's LoRA adapters.")
    lora_batch_size: int = 64
    modalities: list[Literal["behaviour", "tabular", "search"]] = ["behaviour", "tabular", "search"]


class IndexConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["flat", "ivf", "hnsw"] = "flat"
    nlist: int = 256
    hnsw_m: int = 32


class TowerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    dim: int = 128
    step_days: int = 3
    max_searches: int = 16
    standardize_content: bool = Field(True, description="Centre and rescale content vectors before the encoders "
                                                        "(towers.train.standardize).")
    seed: int = 0
    encoder_dim: int | None = Field(None, ge=8, description="Output width of the behaviour step and search encoders "
                                    "(default: `dim`). Set apart from `dim` to widen the shared space without "
                                    "widening the encoders, e.g. dim 288 = the concatenation's width "
                                    "(bench/probe_seeds.py).")
    behaviour: BehaviourConfig = BehaviourConfig()
    tabular: TabularConfig = TabularConfig()
    align: AlignConfig = AlignConfig()
    text_encoder: Literal["minilm", "qwen"] = "minilm"
    index: IndexConfig = IndexConfig()

    @classmethod
    def from_name(cls, name: str, **overrides) -> "TowerConfig":
        path = CONFIG_DIR / f"{name}.yaml"
        if not path.exists():
            raise TargetbotError(f"unknown tower config '{name}' (configs: {', '.join(list_configs())})")
        data = yaml.safe_load(path.read_text())
        for k, v in overrides.items():
            if isinstance(v, dict) and isinstance(data.get(k), dict):
                data[k] = {**data[k], **v}
            else:
                data[k] = v
        return cls.model_validate(data)

    def key(self) -> str:
        # unset optional fields drop out, so adding one leaves every existing bundle's key as it was
        blob = json.dumps(self.model_dump(mode="json", exclude_none=True), sort_keys=True)
        return f"{self.name}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"


def list_configs() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
