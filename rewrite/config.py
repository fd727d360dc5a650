"""Rewriter configuration as data: synthesis, the two SFT recipes (CPU and GPU), serving.

Every artifact records the config it was built from; `config_key` hashes what changes results.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from targetbot.core.resources import package_path

PROMPTS_DIR = package_path("targetbot.prompts")
BUNDLED_ADAPTER_DIR = package_path("targetbot.rewrite", "adapters", "default")
SERVED_NAME = "targetbot-rewriter"
CHAT_TEMPLATE = PROMPTS_DIR / "rewriter_chat_template.jinja"

# Which demand family a catalog entity type belongs to (types not listed fall back to "click":
# content the user views, e.g. teams, shows, games).
TYPE_FAMILY: dict[str, str] = {
    "product": "purchase", "category": "purchase", "brand": "purchase", "service": "purchase",
    "merchant": "purchase", "loan_product": "purchase", "insurance_product": "purchase", "course": "purchase",
    "car_model": "purchase", "pet_breed": "purchase", "restaurant_chain": "purchase", "hotel_chain": "purchase",
    "airline": "purchase", "destination": "purchase", "bank": "purchase", "telecom_operator": "purchase",
    "utility_company": "purchase", "insurer": "purchase", "school": "purchase", "city": "purchase",
    "mini_program": "browsing", "app": "browsing",
    "spm_page": "click", "interest_topic": "click", "athlete": "click", "sports_team": "click",
    "sports_league": "click", "media_show": "click", "movie": "click", "game": "click", "music_artist": "click",
    "film_genre": "click", "music_genre": "click", "game_studio": "click",
    "payment_channel": "payment",
}


class SynthConfig(BaseModel):
    seed: int = 7
    knowledge_per_entity: float = Field(0.08, description="Stage-1 dialogues per catalog entity (grows with the catalog).")
    knowledge_min: int = 40
    knowledge_max: int = 2000
    requests: int = Field(420, description="Stage-2 training pairs.")
    heldout_requests: int = Field(60, description="Held-out evaluation requests (held-out paraphrase families only).")
    typo_rate: float = 0.08
    alias_rate: float = 0.35
    # Off (None) in the default recipe, which the bundled adapter was trained with; measured on the
    # dev requests in docs/RESULTS.md ("Retrieval-augmented training").
    variety: bool | None = Field(None, description="More request shapes: exclusions said first and in "
                                 "pairs, more exclusion wordings, totals, frequencies and horizons, and "
                                 "demands for what the catalog lacks.")
    candidates_rate: float | None = Field(None, ge=0, le=1, description="Share of training requests shown with "
                                          "their retrieved catalog matches, as a grounded rewrite shows them.")


class RetrievalConfig(BaseModel):
    """Entity retrieval and grounding (rewrite/retrieval.py, rewrite/ground.py). The defaults were
    chosen on the hand-written dev requests (eval/data/rewrite_requests_dev.jsonl), never on test."""

    k: int = Field(24, description="Candidates kept per request.")
    span_words: int = Field(4, description="Longest request span (words) matched against entities.")
    support_floor: float = Field(0.6, description="Cosine a span needs to an entity's form to make it a candidate.")
    snap_floor: float = Field(0.55, description="Closeness a written phrase needs to a candidate to snap onto it.")
    phrase_weight: float = Field(0.5, description="Weight of the phrase (vs the request's own support) when snapping.")
    words_floor: float = Field(0.6, description="Cosine a phrase needs to a request span to be kept as words.")
    exclude_floor: float = Field(0.75, description="Support a negated span needs to exclude an entity by itself.")
    recall_floor: float = Field(0.95, description="Support at which a named entity the model left out is added.")

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:12]


class LoraSpec(BaseModel):
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj",
                                                               "gate_proj", "up_proj", "down_proj"])
    top_layers: int | None = Field(8, description="Adapt only the top N decoder layers (None: all); "
                                   "backward then stops there, which is what makes CPU training affordable.")


class StageRecipe(BaseModel):
    steps: int
    batch_size: int = 2
    lr: float = 2e-4
    warmup: int = 10
    max_len: int = 192


class TrainConfig(BaseModel):
    recipe: Literal["cpu", "gpu"] = "cpu"
    seed: int = 7
    dtype: str = "float32"
    lora: LoraSpec = Field(default_factory=LoraSpec)
    stage1: StageRecipe = Field(default_factory=lambda: StageRecipe(steps=20, batch_size=2, lr=2e-4, warmup=3))
    stage2: StageRecipe = Field(default_factory=lambda: StageRecipe(steps=110, batch_size=2, lr=4e-4, warmup=8))
    synth: SynthConfig = Field(default_factory=SynthConfig)
    system_prompt_file: str = "rewrite_system.txt"

    @classmethod
    def cpu(cls) -> "TrainConfig":
        """The recipe that finishes on a 2-core CPU: top-8-layer rank-8 LoRA, 130 optimiser steps of batch 2."""
        return cls()

    @classmethod
    def gpu(cls) -> "TrainConfig":
        """GPU recipe: all layers, larger rank and data, bf16, more steps (minutes on one GPU)."""
        return cls(recipe="gpu", dtype="bfloat16", lora=LoraSpec(r=16, alpha=32, top_layers=None),
                   stage1=StageRecipe(steps=400, batch_size=16, lr=2e-4, warmup=20, max_len=384),
                   stage2=StageRecipe(steps=1200, batch_size=16, lr=2e-4, warmup=50, max_len=256),
                   synth=SynthConfig(knowledge_per_entity=1.0, requests=20000))

    def key(self) -> str:
        # unset optional fields drop out, so adding one leaves every existing adapter's key as it was
        blob = json.dumps(self.model_dump(mode="json", exclude_none=True), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


class VllmConfig(BaseModel):
    gpu_memory_utilization: float = 0.85
    cpu_kvcache_gib: int = Field(2, description="KV cache on a CPU (VLLM_CPU_KVCACHE_SPACE), GiB.")
    max_model_len: int = 4096
    max_lora_rank: int = 16
    max_loras: int = 2
    dtype: str = Field("auto", description="auto: bfloat16 on a CPU, the model's own on a GPU.")
    seed: int = 0
    tool_call_parser: str = "hermes"
    tools_in_prompt: bool = Field(False, description="Serve the model's own chat template, which writes tool "
                                  "schemas into the prompt; default: prompts/rewriter_chat_template.jinja, which "
                                  "does not (the adapter is trained without them; they still constrain decoding).")
    ready_timeout_s: float = 900.0
    extra_args: list[str] = Field(default_factory=list)


class ServeConfig(BaseModel):
    engine: Literal["local", "vllm"] = "local"
    host: str = "127.0.0.1"
    port: int = 8011
    served_name: str = SERVED_NAME
    base_name: str = "base"
    adapter: Path | None = Field(None, description="LoRA adapter folder; default: the workspace's, else the bundled one.")
    merge: bool = Field(False, description="Merge LoRA into the weights and serve that (faster decoding, one model).")
    device: Literal["cpu", "gpu"] = "cpu"
    dtype: str = "float32"
    threads: int | None = None
    vllm: VllmConfig = Field(default_factory=VllmConfig)


def read_prompt(name: str) -> str:
    path = PROMPTS_DIR / name
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        from targetbot.core.errors import TargetbotError

        raise TargetbotError(f"{path}: prompt file missing") from None
