"""EGL settings as data: one pydantic model per stage, hashed into the artifact key.

    >>> cfg = GraphConfig()
    >>> cfg.alpc.alpha, cfg.alpc.beta
    (1.0, 1.0)
    >>> GraphConfig.model_validate({"alpc": {"epochs": 50}}).key() != cfg.key()
    True

`targetbot build --stage graph` uses the defaults; a workspace may override any field in
`WS/egl.yaml` (same structure). Everything random is seeded from `seed`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from targetbot.core.yamlfile import load_workspace_config

CONFIG_FILE = "egl.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExtractionConfig(_Strict):
    column: str = Field("text", description="Event column the dictionary is matched in.")
    context_minutes: float = Field(60.0, gt=0, description="Ambiguous aliases are resolved by the user's "
                                   "unambiguous mentions within this many minutes.")


class SnapshotConfig(_Strict):
    days: float = Field(30.0, gt=0, description="Each snapshot is this many days of history.")
    count: int = Field(5, ge=1, description="Rolling snapshots for the Stage-III ensemble (the last ends with history).")
    stride_days: float = Field(7.0, gt=0, description="Days between the ends of consecutive snapshots.")
    min_share: float = Field(0.3, ge=0, le=1, description="Widen the windows until the latest holds this share "
                             "of history mentions (per-user history windows spread over months).")


class NodesConfig(_Strict):
    all_below: int = Field(5000, ge=1, description="Dictionaries up to this size take part whole (cold-start "
                           "entities link by semantics).")
    min_known_links: int = Field(3, ge=1, description="Larger dictionaries: entities mentioned in history plus "
                                 "those with at least this many known relations.")


class CooccurrenceConfig(_Strict):
    window: int = Field(1, ge=1, description="Context: events at most this many events apart in a user's stream...")
    gap_minutes: float = Field(30.0, gt=0, description="...and at most this many minutes apart (one session).")
    dim: int = Field(64, ge=4)
    steps: int = Field(100, ge=1, description="Optimiser steps (full-batch objective for small dictionaries).")
    lr: float = Field(0.03, gt=0)
    negatives: int = Field(5, ge=1)
    full_batch_max: int = Field(3000, ge=0, description="Up to this many entities, train on the exact "
                                "expected objective; above, sample pairs.")


class CandidateConfig(_Strict):
    k_cooc: int = Field(5, ge=0, description="Co-occurrence neighbours proposed per entity.")
    k_semantic: int = Field(5, ge=0, description="Semantic neighbours proposed per entity.")
    min_count: float = Field(2.0, ge=0, description="A co-occurrence candidate needs this many session pairs.")
    gloss: bool = Field(True, description="Use description links (an entity's description names another) "
                        "as Stage-II's confident positives. They never add edges.")


class ALPCConfig(_Strict):
    dim: int = 64
    layers: int = Field(2, ge=1)
    heads: int = Field(2, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    epochs: int = Field(200, ge=1)
    lr: float = Field(0.01, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    alpha: float = Field(1.0, ge=0, description="Weight of the adaptive threshold loss (EGL Eq. 3).")
    beta: float = Field(1.0, ge=0, description="Weight of InfoNCE with semantic positives (EGL Eq. 4).")
    tau: float = Field(1.0, gt=0, description="InfoNCE temperature. Chosen on a validation world (seed 11, not the "
                       "benchmark's seed 7), where relation ACC rose from 0.5 to 1.0 and levelled off beyond "
                       "(the sweep: docs/RESULTS.md).")
    contrastive_batch: int = Field(128, ge=2)
    holdout: float = Field(0.1, ge=0, lt=1, description="Share of candidate edges held out for the link AUC.")
    positives: Literal["gloss", "consensus", "all"] = "gloss"
    unlabeled_weight: float = Field(0.5, ge=0, description="Weight of non-confident candidates as negatives.")
    negatives_per_positive: int = Field(2, ge=1)
    threshold_negatives: Literal["candidates", "all"] = Field(
        "candidates", description="Negatives of the threshold loss: the source's non-confident candidates only "
        "(thresholds only ever decide among candidates), or those plus the sampled non-edges.")


class EnsembleConfig(_Strict):
    heads: int = Field(4, ge=1)
    dim: int = 64
    epochs: int = Field(600, ge=1)
    lr: float = Field(0.003, gt=0)
    window: int = Field(3, ge=1, description="Snapshots combined per ensemble (the latest and the ones before).")


class ExpansionConfig(_Strict):
    hops: int = Field(2, ge=1, le=4)
    min_score: list[float] = Field([0.5, 0.6], description="Per-hop cut-off on the score of the relation followed at that hop (the last value repeats).")
    max_per_node: int = Field(8, ge=1, description="Neighbours followed from each entity.")
    max_entities: int = Field(50, ge=1)
    semantic_match: float = Field(0.45, ge=-1, le=1, description="A seed phrase with no alias match takes "
                                  "entities above this cosine to the phrase.")
    hub_share: float = Field(0.05, gt=0, le=1, description="Entities related to more than this share of all "
                             "entities (a language, a country) are neither returned nor expanded through "
                             "unless they are seeds; 1 turns this off.")


Pooling = Literal["top_k", "mean"]


class PreferenceConfig(_Strict):
    embedding: Literal["joint", "ensemble", "semantic"] = Field(
        "joint", description="h_e in r_u . h_e: whitened ensemble embeddings joined with the semantic ones (joint), "
        "either alone (see egl.preference).")
    hop_decay: float = Field(0.5, gt=0, le=1, description="Targeting weight of an expanded entity: path score "
                             "times hop_decay ** hop.")
    pooling: Pooling = Field(
        "top_k", description="How a user's entities are pooled into a preference: mean of the k closest "
        "distinct entities (top_k), or EGL Eq. 7's mean embedding r_u (mean). See egl.preference.")
    top_k: int = Field(3, ge=1, description="k of top_k pooling.")
    mean_weight: float = Field(1.0, ge=0, description="top_k pooling adds this times the mean pooling's score "
                               "(ranks users within ties of the top-k term; 0 = top-k alone).")

    def entity_weight(self, score: float, hop: int) -> float:
        """Targeting weight of an expanded entity (its path score, floored so a seed never weighs 0)."""
        return max(score, 1e-6) * self.hop_decay ** hop


STORE_FORMAT = 2  # 2: user_entities.npz for top_k pooling


class GraphConfig(_Strict):
    seed: int = 0
    known_relations: Literal["auto", "use", "ignore"] = Field(
        "auto", description="Use the workspace's relations table as known edges: 'auto' uses it except in "
        "simulated worlds, where it is the hidden ground truth the graph suite scores against.")
    torch_threads: int | None = Field(1, description="Threads for torch during the build (None = torch's default). "
                                      "One is fastest on a busy two-core machine.")
    sample_users: int | None = Field(50_000, ge=1, description="Mine relations (extraction, snapshots, Stage "
                                     "I-III) from a seeded random sample of this many users, so mining costs the "
                                     "same at any size; None = every user. Preferences always cover every user.")
    extraction: ExtractionConfig = ExtractionConfig()
    nodes: NodesConfig = NodesConfig()
    snapshots: SnapshotConfig = SnapshotConfig()
    cooccurrence: CooccurrenceConfig = CooccurrenceConfig()
    candidates: CandidateConfig = CandidateConfig()
    alpc: ALPCConfig = ALPCConfig()
    ensemble: EnsembleConfig = EnsembleConfig()
    expansion: ExpansionConfig = ExpansionConfig()
    preference: PreferenceConfig = PreferenceConfig()

    def key(self) -> str:
        """Hash of everything that changes the built graph (expansion settings do not)."""
        # unset optional fields drop out, so adding one leaves the key of every stored graph as it was
        body = self.model_dump(mode="json", exclude={"expansion", "torch_threads"}, exclude_none=True)
        for query_time in ("hop_decay", "pooling", "top_k", "mean_weight"):
            body["preference"].pop(query_time, None)
        body["store_format"] = STORE_FORMAT
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]

    @classmethod
    def for_workspace(cls, root: str | Path) -> "GraphConfig":
        return load_workspace_config(cls, root, CONFIG_FILE)
