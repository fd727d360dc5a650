"""Stage II — ALPC ranking: train the GeniePath link predictor on one snapshot's candidate graph.

Loss = BCE(candidate edges vs sampled non-edges) + α·adaptive threshold loss (Eq. 3)
       + β·InfoNCE with semantic positives (Eq. 4), α = β = 1 by default.

Supervision comes from Stage I itself — no relation labels are read. Edges that both
generators proposed (co-occurrence *and* semantics agree, or a known relation) are the
confident positives; edges only one generator proposed take part in message passing and are
what the model must rank. `positives="all"` trains on every candidate instead (the plain
link-prediction recipe), kept for comparison.

A share `holdout` of the candidate edges is held out of message passing and training and
scored against an equal number of sampled non-edges: the link AUC of the run.
After training, every candidate edge is scored; source a keeps b iff s_ab > t_a.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np
import torch
from scipy import sparse
from sklearn.metrics import roc_auc_score

from targetbot.egl.candidates import COOC, KNOWN, SEMANTIC, CandidateGraph, pair_cooc, pair_keys
from targetbot.egl.geniepath import ALPCModel
from targetbot.egl.losses import adaptive_threshold_loss, link_bce, semantic_infonce


@dataclass
class ALPCParams:
    """One training run's settings: `egl.config.ALPCConfig` (documented there, defaults there) plus
    the seed. Build with `egl.build.alpc_params(cfg, **overrides)`."""

    dim: int
    layers: int
    heads: int
    dropout: float
    epochs: int
    lr: float
    weight_decay: float
    alpha: float  # threshold loss weight (0 = ablation "without threshold task")
    beta: float  # contrastive loss weight (0 = ablation "without contrastive task")
    tau: float
    contrastive_batch: int
    holdout: float
    positives: Literal["gloss", "consensus", "all"]
    unlabeled_weight: float  # weight of candidate edges that are not confident positives, as negatives
    negatives_per_positive: int
    threshold_negatives: Literal["candidates", "all"]
    seed: int = 0


@dataclass
class NodeInputs:
    """What ALPC needs about the entities of one snapshot."""

    features: np.ndarray  # (n, d) node features [semantic || co-occurrence || seen]
    U: np.ndarray  # skip-gram vectors (pair features)
    V: np.ndarray
    semantic: np.ndarray  # (n, 384) normalised
    counts: sparse.csr_matrix

    @classmethod
    def build(cls, U: np.ndarray, V: np.ndarray, semantic: np.ndarray, counts: sparse.csr_matrix) -> "NodeInputs":
        """Node features [semantic || unit(U) || unit(V) || seen-in-snapshot]."""
        def unit(x):
            return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)

        seen = (np.asarray(counts.sum(axis=1)).ravel() > 0).astype(np.float32)
        feats = np.concatenate([semantic, unit(U), unit(V), seen[:, None]], 1).astype(np.float32)
        return cls(feats, U, V, semantic, counts.tocsr())


@dataclass
class ALPCResult:
    embeddings: np.ndarray  # (n, dim)
    thresholds: np.ndarray  # (n,) logit thresholds t_a
    edge_logits: np.ndarray  # (E,) for the candidate edges, in candidate order
    heldout: np.ndarray  # (E,) bool: edge was held out of training
    test_pairs: np.ndarray  # (2T, 2) held-out edges then sampled non-edges
    test_logits: np.ndarray
    link_auc: float
    seconds: float
    history: list[float] = field(default_factory=list)
    model: ALPCModel | None = None

    def keep(self, edges: np.ndarray, logits: np.ndarray, use_threshold: bool = True) -> np.ndarray:
        """(E, 2) bool: [a keeps b, b keeps a] for each undirected edge."""
        if use_threshold:
            return np.stack([logits > self.thresholds[edges[:, 0]], logits > self.thresholds[edges[:, 1]]], 1)
        k = logits > 0.0
        return np.stack([k, k], 1)


def pair_features(inputs: NodeInputs, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[tanh(first-order/4), semantic cosine, log1p(count)/5] for any pairs."""
    fo = pair_cooc(inputs.U, inputs.V, a, b)
    sem = np.einsum("ij,ij->i", inputs.semantic[a], inputs.semantic[b])
    cnt = np.asarray(inputs.counts[a, b]).ravel() if len(a) else np.zeros(0)
    return np.stack([np.tanh(fo / 4.0), sem, np.log1p(cnt) / 5.0], 1).astype(np.float32)


def sample_non_edges(n: int, count: int, forbidden: set[int], rng: np.random.Generator,
                     pool: np.ndarray | None = None) -> np.ndarray:
    """`count` distinct unordered pairs (a<b) not in `forbidden` (keys a*n+b), from `pool` nodes."""
    pool = np.arange(n) if pool is None else pool
    out: dict[int, None] = {}
    while len(out) < count:
        m = (count - len(out)) * 2 + 16
        a = pool[rng.integers(0, len(pool), m)]
        b = pool[rng.integers(0, len(pool), m)]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        for key in (lo * n + hi)[lo != hi]:
            k = int(key)
            if k not in forbidden and k not in out:
                out[k] = None
                if len(out) == count:
                    break
    keys = np.fromiter(out, dtype=np.int64, count=len(out))
    return np.stack([keys // n, keys % n], 1)


def train_alpc(graph: CandidateGraph, inputs: NodeInputs, params: ALPCParams,
               progress: Callable[[int, int], None] | None = None,
               test_pairs: np.ndarray | None = None) -> ALPCResult:
    """Train on `graph`; `test_pairs` (optional, (T,2)) fixes the held-out evaluation pairs: candidate
    edges among them are held out, all of them are scored."""
    t0 = time.perf_counter()
    torch.manual_seed(params.seed)
    rng = np.random.default_rng(params.seed)
    n, E = graph.n, len(graph)

    # ---- held-out split -------------------------------------------------------------------
    if test_pairs is None:
        heldout = np.zeros(E, bool)
        n_test = int(round(params.holdout * E))
        if n_test > 0:
            heldout[rng.choice(E, n_test, replace=False)] = True
        non = sample_non_edges(n, int(heldout.sum()), set(graph.keys().tolist()), rng,
                               pool=np.unique(graph.edges.ravel()))
        test_pairs = np.concatenate([graph.edges[heldout], non]) if len(non) else graph.edges[heldout]
    else:
        heldout = graph.held_out(test_pairs)
    train = ~heldout

    # ---- tensors ---------------------------------------------------------------------------
    x = torch.from_numpy(inputs.features.astype(np.float32))
    ef = graph.edge_features()
    tr_edges = graph.edges[train]
    src = np.concatenate([tr_edges[:, 0], tr_edges[:, 1], np.arange(n)])
    dst = np.concatenate([tr_edges[:, 1], tr_edges[:, 0], np.arange(n)])
    self_attr = np.zeros((n, ef.shape[1]), np.float32)
    edge_attr = torch.from_numpy(np.concatenate([ef[train], ef[train], self_attr]))
    src_t, dst_t = torch.from_numpy(src), torch.from_numpy(dst)

    targets = RelationTargets.build(graph, inputs, train, test_pairs, params)
    model = ALPCModel(x.shape[1], params.dim, params.layers, params.heads, edge_dim=ef.shape[1], pair_dim=3,
                      dropout=params.dropout)
    history = fit_relations(model, lambda: model(x, src_t, dst_t, edge_attr), targets, inputs, params, rng,
                            params.epochs, params.lr, progress)

    model.eval()
    with torch.no_grad():
        h = model(x, src_t, dst_t, edge_attr)
        edge_logits = score_pairs(model, h, inputs, graph.edges)
        test_logits = score_pairs(model, h, inputs, test_pairs)
        th = model.threshold(h).squeeze(-1).numpy() if params.alpha > 0 else np.zeros(n, np.float32)
    y = graph.contains(test_pairs)  # held-out candidate edges are the positives of the link AUC
    auc = float(roc_auc_score(y, test_logits)) if 0 < y.sum() < len(y) else float("nan")
    return ALPCResult(embeddings=h.numpy(), thresholds=th, edge_logits=edge_logits, heldout=heldout,
                      test_pairs=test_pairs, test_logits=test_logits, link_auc=auc,
                      seconds=time.perf_counter() - t0, history=history, model=model)


@dataclass
class RelationTargets:
    """What the Stage II / III objective trains on, fixed for a run: the confident training edges
    (positives), the other training candidates (negatives at `unlabeled_weight`), each entity's
    semantic positive, and where fresh non-edges may be sampled from each epoch."""

    n: int
    pos: torch.Tensor  # (P, 2)
    pos_features: torch.Tensor  # (P, 3) pair features
    unlabeled: torch.Tensor  # (U, 2)
    unlabeled_features: torch.Tensor
    semantic_positive: torch.Tensor  # (n,) Eq. 4's positive of each entity
    anchors: np.ndarray  # entities that have one
    forbidden: set[int]  # keys a*n+b never sampled as non-edges: candidates and test pairs
    pool: np.ndarray  # entities non-edges are drawn from

    @classmethod
    def build(cls, graph: CandidateGraph, inputs: NodeInputs, train: np.ndarray, test_pairs: np.ndarray,
              params: ALPCParams) -> "RelationTargets":
        n = graph.n
        pos_mask = train & confident_edges(graph, params.positives)
        if pos_mask.sum() < 8:  # tiny graphs: fall back to every training edge
            pos_mask = train.copy()
        use_unl = params.positives != "all" and params.unlabeled_weight > 0
        unl_mask = train & ~pos_mask if use_unl else np.zeros(len(graph), bool)
        pos, unl = graph.edges[pos_mask], graph.edges[unl_mask]
        sem_pos, anchors = semantic_positives(graph, pos_mask, inputs.semantic)
        return cls(n=n, pos=torch.from_numpy(pos), pos_features=torch.from_numpy(pair_features(inputs, pos[:, 0], pos[:, 1])),
                   unlabeled=torch.from_numpy(unl),
                   unlabeled_features=torch.from_numpy(pair_features(inputs, unl[:, 0], unl[:, 1])),
                   semantic_positive=torch.from_numpy(sem_pos), anchors=anchors,
                   forbidden=set(pair_keys(graph.edges, n).tolist()) | set(pair_keys(test_pairs, n).tolist()),
                   pool=np.unique(graph.edges.ravel()))


def relation_loss(model, h: torch.Tensor, t: RelationTargets, inputs: NodeInputs, params: ALPCParams,
                  rng: np.random.Generator) -> torch.Tensor:
    """One epoch's objective for entity embeddings `h` from `model` (anything with `decoder`,
    `threshold` and `project`: ALPC and the ensemble): BCE of the positives against freshly
    sampled non-edges and the down-weighted unlabelled candidates, + α·Eq. 3 + β·Eq. 4."""
    neg = sample_non_edges(t.n, len(t.pos) * params.negatives_per_positive, t.forbidden, rng, pool=t.pool)
    neg_t = torch.from_numpy(neg)
    pl = model.decoder(h[t.pos[:, 0]], h[t.pos[:, 1]], t.pos_features)
    nl = model.decoder(h[neg_t[:, 0]], h[neg_t[:, 1]], torch.from_numpy(pair_features(inputs, neg[:, 0], neg[:, 1])))
    neg_w = None
    if len(t.unlabeled):
        u = t.unlabeled
        nl = torch.cat([nl, model.decoder(h[u[:, 0]], h[u[:, 1]], t.unlabeled_features)])
        neg_t = torch.cat([neg_t, u])
        neg_w = torch.cat([torch.ones(len(neg)), torch.full((len(u),), params.unlabeled_weight)])
    loss = link_bce(pl, nl, neg_weight=neg_w)
    if params.alpha > 0:
        th = model.threshold(h).squeeze(-1)
        loss = loss + params.alpha * threshold_loss(pl, t.pos, nl, neg_t, th, len(neg), params.threshold_negatives)
    if params.beta > 0 and len(t.anchors) > 1:
        anchors = torch.from_numpy(rng.choice(t.anchors, min(params.contrastive_batch, len(t.anchors)), replace=False))
        z = model.project(h)
        loss = loss + params.beta * semantic_infonce(z[anchors], z[t.semantic_positive[anchors]], params.tau)
    return loss


def fit_relations(model: torch.nn.Module, embed: Callable[[], torch.Tensor], targets: RelationTargets,
                  inputs: NodeInputs, params: ALPCParams, rng: np.random.Generator, epochs: int, lr: float,
                  progress: Callable[[int, int], None] | None = None) -> list[float]:
    """Full-batch Adam on `relation_loss` for `epochs`; `embed()` runs the model's forward pass.
    Returns the loss per epoch."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=params.weight_decay)
    history = []
    for epoch in range(epochs):
        model.train()
        loss = relation_loss(model, embed(), targets, inputs, params, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
        if progress is not None and (epoch + 1) % 10 == 0:
            progress(epoch + 1, epochs)
    return history


def threshold_loss(pl: torch.Tensor, pos_t: torch.Tensor, nl: torch.Tensor, neg_t: torch.Tensor, th: torch.Tensor,
                   n_sampled: int, negatives: str = "candidates") -> torch.Tensor:
    """EGL Eq. 3 over both directions of each pair (each endpoint is a source with its own threshold).

    `nl`/`neg_t` hold the `n_sampled` sampled non-edges first, then the non-confident candidates.
    Thresholds only ever decide among candidates, so by default (`"candidates"`) t_a is trained to
    separate a's confident relations from its other candidates; the sampled non-edges are easy and,
    when they count (`"all"`), pull every t_a down until most candidates pass."""
    if negatives == "candidates" and len(nl) > n_sampled:
        nl, neg_t = nl[n_sampled:], neg_t[n_sampled:]
    return adaptive_threshold_loss(
        torch.cat([pl, pl]), torch.cat([th[pos_t[:, 0]], th[pos_t[:, 1]]]),
        torch.cat([nl, nl]), torch.cat([th[neg_t[:, 0]], th[neg_t[:, 1]]]))


def semantic_positives(graph: CandidateGraph, confident: np.ndarray, semantic: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """For each entity, its semantically closest confident neighbour (Eq. 4's positive), and the
    entities that have one. Taking the positive among confident neighbours rather than over the
    whole dictionary keeps look-alike siblings (two phones of one brand) from being pulled together."""
    e = graph.edges[confident]
    sim = np.einsum("ij,ij->i", semantic[e[:, 0]], semantic[e[:, 1]])
    a = np.concatenate([e[:, 0], e[:, 1]])
    b = np.concatenate([e[:, 1], e[:, 0]])
    s = np.concatenate([sim, sim])
    order = np.lexsort((-s, a))
    a, b = a[order], b[order]
    first = np.r_[True, a[1:] != a[:-1]] if len(a) else np.zeros(0, bool)
    pos = np.arange(graph.n, dtype=np.int64)
    pos[a[first]] = b[first]
    return pos, np.unique(a)


def confident_edges(graph: CandidateGraph, rule: str) -> np.ndarray:
    """Stage-I edges trusted as positives: description links ("gloss"), generator agreement
    ("consensus"), or every candidate ("all"); known relations always count."""
    known = (graph.sources & KNOWN) > 0
    if rule == "all":
        return np.ones(len(graph), bool)
    if rule == "gloss" and graph.gloss is not None and graph.gloss.sum() >= 8:
        return graph.gloss | known
    return ((graph.sources & COOC) > 0) & ((graph.sources & SEMANTIC) > 0) | known


def score_pairs(model: ALPCModel, h: torch.Tensor, inputs: NodeInputs, pairs: np.ndarray,
                block: int = 65536) -> np.ndarray:
    out = []
    for s in range(0, len(pairs), block):
        p = pairs[s:s + block]
        pf = torch.from_numpy(pair_features(inputs, p[:, 0], p[:, 1]))
        pt = torch.from_numpy(p)
        out.append(model.decoder(h[pt[:, 0]], h[pt[:, 1]], pf).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)
