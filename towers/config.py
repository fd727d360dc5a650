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

from targetbot.core.errors import TargetbotError
from targetbot.core.resources import package_path

CONFIG_DIR = package_path("targetbot.towers", "configs")


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
                                                  "one (towers/losses/reconstruction.py); 0 = off. Keeps what text does not "
                                                  "say (how intensely a user uses an app) in the fused embedding; too large a "
                                                  "weight crowds out the alignment (probe figures: docs/RESULTS.md).")
    lora_rank: int = 8
    lora_top_layers: int = Field(2, description="LoRA on the top N encoder layers only (0 = all layers).")
    max_text_tokens: int = 32
    fusion: Literal["attention", "concat"] = "attention"
    fusion_residual: bool = Field(True, description="Attention fusion adds its query (learned query + mean modality "
                                                    "token) back to the attended output, as a transformer block does; "
                                                    "without it the output sees the tokens only through the value "
                                                    "projection (probe figures: docs/RESULTS.md).")
    statements_per_step: int = Field(1, description="Future statements sampled per user per step (joined).")
    lora_steps: int = Field(60, description="Phase-2 steps that also train the text tower's LoRA adapters.")
    lora_batch_size: int = 64
    modalities: list[Literal["behaviour", "tabular", "search"]] = ["behaviour", "tabular", "search"]


class IndexConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["flat", "ivf", "hnsw"] = "flat"
    nlist: int = 256
    hnsw_m: int = 32
    ivf_above: int | None = Field(None, ge=1, description="A flat index of at least this many users is built as IVF "
                                  "instead (nlist grows as the square root of the users); None: stay flat.")


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
    sample_users: int | None = Field(None, ge=100, description="Train on at most this many users (a seeded "
                                     "sample, train and eval halves in proportion); every user is embedded. "
                                     "None: train on everyone.")
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


# ---- the zero-shot scorer's settings: WS/find.yaml ------------------------------------------------
FIND_CONFIG_FILE = "find.yaml"
FORECAST_DATA_FORMAT = 5  # bumped when ForecastData's stored layout or content changes
ANCHOR_FORMAT = 1  # bumped when how anchor towers are picked, computed or stored changes


class ForecastConfig(BaseModel):
    """The forecast scorer (towers/forecast.py). `min_users` shapes the stored features (it is in
    `data_key()`); every other field acts at scoring time, so changing it re-scores without a rebuild."""

    model_config = ConfigDict(extra="forbid")
    margin: float = Field(0.12, ge=0, description="Future texts within this cosine of the best match count as the "
                          "same behaviour.")
    written_weight: float = Field(0.6, ge=0, le=1, description="A text's match to a request: this weight on the "
                                  "request as written, the rest on its best template sentence.")
    category_lift: float = Field(0.2, ge=0, description="How far a text's event category may raise its match "
                                 "(0 = texts only).")
    max_texts: int = Field(200, ge=1, description="At most this many matched future texts.")
    min_positives: int = Field(5, ge=1, description="Fewer pseudo-positives than this: no forecast (the towers answer).")
    min_users: int = Field(5, ge=1, description="History tokens seen by fewer users are dropped from the features.")
    C: float = Field(0.03, gt=0, description="Inverse L2 strength of the logistic regression (the pseudo-labels "
                     "are noisy, so it is strong).")
    exclusion_weight: float = Field(0.5, ge=0, description="An exclusion's forecast is subtracted with this weight.")
    edge_weight: float = Field(0.3, ge=0, le=1, description="Training weight of a pseudo-positive whose best "
                               "matched text sits at the margin's edge (1 at the best match).")
    seed_share: float = Field(1.0, ge=0, description="Few-shot: the seed positives' total weight relative to the "
                              "pseudo-positives'.")
    adaptive_seed_share: bool = Field(True, description="Few-shot: scale seed_share down when the zero-shot "
                                      "forecast already ranks the seeds well.")
    repeat_weight: float = Field(0.25, ge=0, description="z-weight of the matched texts' share of a user's latest "
                                 "history (people repeat themselves).")
    seed_repeat_margin: float = Field(0.25, ge=0, description="Few-shot: texts this close to the best match that "
                                      "seed positives already did join the repeat prior...")
    seed_repeat_min: int = Field(2, ge=0, description="...when at least this many seed positives did them and no "
                              "seed negative did (0 = off).")

    def data_key(self) -> str:
        """What the stored ForecastData depends on: the feature threshold and the storage format."""
        blob = json.dumps({"min_users": self.min_users, "format": FORECAST_DATA_FORMAT}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]


class AnchorConfig(BaseModel):
    """Anchor towers (towers/anchors.py): the forecast scorer distilled over `count` anchor demands."""

    model_config = ConfigDict(extra="forbid")
    count: int = Field(1000, ge=1, description="Anchor demands (future behaviour texts) the forecaster answers "
                       "at build time; the user embedding's width.")
    temperature: float = Field(0.05, gt=0, description="Softmax temperature of a demand's weights over the anchors "
                               "(scoring time).")
    min_users: int = Field(10, ge=1, description="An anchor text at least this many training users did.")
    seed: int = 0

    def data_key(self, forecast: ForecastConfig) -> str:
        """What the stored anchor embeddings depend on: the anchors and every forecast setting."""
        blob = json.dumps({"format": ANCHOR_FORMAT, "count": self.count, "min_users": self.min_users, "seed": self.seed,
                           "forecast": forecast.model_dump(mode="json"), "data": forecast.data_key()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]


class ProfilePriorConfig(BaseModel):
    """The profile term of a request's subject (towers/profile_prior.py); scoring time only."""

    model_config = ConfigDict(extra="forbid")
    weight: float = Field(1.0, ge=0, description="z-weight of the matched profile values (0 = off).")
    min_similarity: float = Field(0.45, ge=-1, le=1, description="A column description the subject is at least "
                                  "this close to (cosine) ...")
    margin: float = Field(0.1, ge=0, description="... and this much closer than to the column's next description.")
    max_values: int = Field(30, ge=2, description="Categorical columns with more distinct values are not described.")


class FindConfig(BaseModel):
    """Settings of zero-shot and few-shot `find`, read from WS/find.yaml (every key optional):

        forecast:
          margin: 0.15
        profile:
          weight: 0.5
        tower_exclusion_weight: 0.5
    """

    model_config = ConfigDict(extra="forbid")
    forecast: ForecastConfig = Field(default_factory=ForecastConfig)
    profile: ProfilePriorConfig = Field(default_factory=ProfilePriorConfig)
    anchors: AnchorConfig = Field(default_factory=AnchorConfig)
    tower_exclusion_weight: float = Field(0.5, ge=0, description="Tower scorer: score = sim(demand) - w * "
                                          "sim(exclusions).")

    @classmethod
    def for_workspace(cls, root: str | Path) -> "FindConfig":
        from targetbot.core.yamlfile import load_workspace_config

        return load_workspace_config(cls, root, FIND_CONFIG_FILE)

    def key(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:10]
