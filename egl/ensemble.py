"""Stage III — ensemble of snapshot models: multi-head attention over each entity's snapshot
embeddings, then an MLP; its output h_e is the stored entity embedding.

Relations mined from one month of behaviour wobble from month to month (a promotion, a holiday).
Each rolling history snapshot gets its own ALPC model; for every entity the ensemble sees the
sequence [h_e^(1), ..., h_e^(S)] (each snapshot projected by its own linear map, plus a learned
snapshot-position embedding), lets the snapshots attend to each other, concatenates the
attended tokens and maps them through an MLP. It is trained on the latest snapshot's candidate
graph with the same objective as ALPC (BCE + α·threshold + β·InfoNCE), so it learns which
snapshots to trust for which entities.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

from targetbot.egl.alpc import ALPCParams, NodeInputs, RelationTargets, fit_relations, score_pairs
from targetbot.egl.candidates import CandidateGraph
from targetbot.egl.geniepath import LinkDecoder


class SnapshotAttention(nn.Module):
    def __init__(self, in_dim: int, snapshots: int, dim: int = 64, heads: int = 4, dropout: float = 0.1):
        super().__init__()
        self.proj = nn.ModuleList([nn.Linear(in_dim, dim) for _ in range(snapshots)])
        self.position = nn.Parameter(torch.zeros(snapshots, dim))
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(snapshots * dim, 2 * dim), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(2 * dim, dim))
        self.decoder = LinkDecoder(dim, pair_dim=3)
        self.threshold = nn.Linear(dim, 1)
        self.project = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.last_attention: torch.Tensor | None = None

    def forward(self, snaps: torch.Tensor) -> torch.Tensor:
        """snaps: (n, S, in_dim) -> (n, dim)."""
        tok = torch.stack([p(snaps[:, s]) for s, p in enumerate(self.proj)], 1) + self.position
        att, weights = self.attn(tok, tok, tok, need_weights=True)
        self.last_attention = weights.detach()
        tok = self.norm(tok + att)
        return self.mlp(tok.flatten(1))


@dataclass
class EnsembleResult:
    embeddings: np.ndarray
    thresholds: np.ndarray
    edge_logits: np.ndarray
    test_logits: np.ndarray
    link_auc: float
    snapshot_weight: np.ndarray  # mean attention each snapshot receives
    seconds: float
    history: list[float] = field(default_factory=list)
    model: SnapshotAttention | None = None

    def keep(self, edges: np.ndarray, logits: np.ndarray) -> np.ndarray:
        return np.stack([logits > self.thresholds[edges[:, 0]], logits > self.thresholds[edges[:, 1]]], 1)


def train_ensemble(snapshot_embeddings: list[np.ndarray], graph: CandidateGraph, inputs: NodeInputs,
                   test_pairs: np.ndarray, params: ALPCParams, dim: int = 64, heads: int = 4, epochs: int = 150,
                   lr: float = 0.01, progress: Callable[[int, int], None] | None = None) -> EnsembleResult:
    """Train the ensemble on `graph` (the latest snapshot's candidates), holding out `test_pairs`."""
    t0 = time.perf_counter()
    torch.manual_seed(params.seed + 7)
    rng = np.random.default_rng(params.seed + 7)
    n = graph.n
    snaps = torch.from_numpy(np.stack(snapshot_embeddings, 1).astype(np.float32))
    snaps = F.layer_norm(snaps, snaps.shape[-1:])
    targets = RelationTargets.build(graph, inputs, ~graph.held_out(test_pairs), test_pairs, params)

    model = SnapshotAttention(snaps.shape[-1], snaps.shape[1], dim, heads)
    history = fit_relations(model, lambda: model(snaps), targets, inputs, params, rng, epochs, lr, progress)

    model.eval()
    with torch.no_grad():
        h = model(snaps)
        weights = model.last_attention.mean(dim=(0, 1)).numpy()
        edge_logits = score_pairs(model, h, inputs, graph.edges)
        test_logits = score_pairs(model, h, inputs, test_pairs)
        th = model.threshold(h).squeeze(-1).numpy() if params.alpha > 0 else np.zeros(n, np.float32)
    y = graph.contains(test_pairs)
    auc = float(roc_auc_score(y, test_logits)) if 0 < y.sum() < len(y) else float("nan")
    return EnsembleResult(embeddings=h.numpy(), thresholds=th, edge_logits=edge_logits, test_logits=test_logits,
                          link_auc=auc, snapshot_weight=weights, seconds=time.perf_counter() - t0,
                          history=history, model=model)
