"""The Stage II / III objective (egl.alpc.relation_loss) on a tiny candidate graph, with a stub model
whose logits are plain dot products, so each term can be recomputed by hand."""

import numpy as np
import pytest
import torch
from scipy import sparse
from torch import nn

from targetbot.egl.alpc import NodeInputs, RelationTargets, relation_loss, sample_non_edges, threshold_loss
from targetbot.egl.build import alpc_params
from targetbot.egl.candidates import COOC, SEMANTIC, CandidateGraph
from targetbot.egl.config import GraphConfig
from targetbot.egl.losses import link_bce, semantic_infonce

N = 20


class DotModel(nn.Module):
    """Logit = a · b; threshold = half the first coordinate; InfoNCE on h itself."""

    def decoder(self, a, b, pair_features):
        return (a * b).sum(-1)

    def threshold(self, h):
        return h[:, :1] * 0.5

    def project(self, h):
        return h


@pytest.fixture
def tiny():
    rng = np.random.default_rng(0)
    chain = [[i, i + 1] for i in range(10)]  # both generators proposed these: confident
    edges = np.array(chain + [[12, 13], [14, 15], [16, 17]])
    sources = np.array([COOC | SEMANTIC] * 10 + [COOC, SEMANTIC, COOC | SEMANTIC], np.uint8)
    graph = CandidateGraph(n=N, edges=edges, sources=sources, cooc=np.ones(13), semantic=np.ones(13), count=np.ones(13))
    sem = rng.normal(size=(N, 8))
    inputs = NodeInputs.build(rng.normal(size=(N, 4)), rng.normal(size=(N, 4)),
                              sem / np.linalg.norm(sem, axis=1, keepdims=True), sparse.csr_matrix((N, N)))
    test_pairs = np.array([[16, 17], [2, 9]])  # one held-out candidate, one non-edge
    train = np.r_[np.ones(12, bool), False]
    return graph, inputs, test_pairs, train, torch.randn(N, 5)


def _params(**over):
    p = alpc_params(GraphConfig(), negatives_per_positive=2, **over)
    p.positives = "consensus"
    return p


def test_targets_split_confident_and_unlabelled_and_forbid_candidates_and_test_pairs(tiny):
    graph, inputs, test_pairs, train, _ = tiny
    t = RelationTargets.build(graph, inputs, train, test_pairs, _params())
    assert len(t.pos) == 10 and t.unlabeled.tolist() == [[12, 13], [14, 15]]  # the held-out edge is in neither
    assert {0 * N + 1, 16 * N + 17, 2 * N + 9} <= t.forbidden
    neg = sample_non_edges(N, 60, t.forbidden, np.random.default_rng(1), t.pool)
    assert not ({int(a) * N + int(b) for a, b in neg} & t.forbidden)


def test_relation_loss_is_bce_plus_threshold_plus_infonce(tiny):
    graph, inputs, test_pairs, train, h = tiny
    model = DotModel()
    base = _params(alpha=0.0, beta=0.0)
    t = RelationTargets.build(graph, inputs, train, test_pairs, base)
    loss = relation_loss(model, h, t, inputs, base, np.random.default_rng(3))

    rng = np.random.default_rng(3)  # the same non-edges, drawn from the same generator state
    sampled = torch.from_numpy(sample_non_edges(N, len(t.pos) * 2, t.forbidden, rng, pool=t.pool))
    neg = torch.cat([sampled, t.unlabeled])
    pl = (h[t.pos[:, 0]] * h[t.pos[:, 1]]).sum(-1)
    nl = (h[neg[:, 0]] * h[neg[:, 1]]).sum(-1)
    weights = torch.cat([torch.ones(len(sampled)), torch.full((2,), base.unlabeled_weight)])
    assert torch.allclose(loss, link_bce(pl, nl, neg_weight=weights))

    full = _params(alpha=1.0, beta=1.0, contrastive_batch=4)
    loss_full = relation_loss(model, h, t, inputs, full, np.random.default_rng(3))
    anchors = torch.from_numpy(rng.choice(t.anchors, 4, replace=False))
    th = model.threshold(h).squeeze(-1)
    expected = (link_bce(pl, nl, neg_weight=weights)
                + threshold_loss(pl, t.pos, nl, neg, th, len(sampled), full.threshold_negatives)
                + semantic_infonce(h[anchors], h[t.semantic_positive[anchors]], full.tau))
    assert torch.allclose(loss_full, expected)
