"""Each ALPC loss on tiny tensors with values worked out by hand."""

import math

import pytest
import torch

from targetbot.egl.losses import adaptive_threshold_loss, link_bce, semantic_infonce


def sp(x):  # softplus
    return math.log1p(math.exp(x))


def test_link_bce_known_values():
    # logit 0 on both sides: -log(1/2) twice
    assert link_bce(torch.tensor([0.0]), torch.tensor([0.0])).item() == pytest.approx(2 * math.log(2), abs=1e-6)
    pos, neg = torch.tensor([2.0, -1.0]), torch.tensor([1.0])
    want = (sp(-2.0) + sp(1.0)) / 2 + sp(1.0)
    assert link_bce(pos, neg).item() == pytest.approx(want, abs=1e-6)


def test_link_bce_weights_are_a_weighted_mean():
    pos, neg = torch.tensor([3.0]), torch.tensor([0.0, 4.0])
    w = torch.tensor([1.0, 0.25])
    want = sp(-3.0) + (sp(0.0) * 1.0 + sp(4.0) * 0.25) / 1.25
    assert link_bce(pos, neg, neg_weight=w).item() == pytest.approx(want, abs=1e-6)


def test_adaptive_threshold_loss_known_values():
    # positive 2 above its source's threshold 0.5; negative -1 below its source's threshold 0
    got = adaptive_threshold_loss(torch.tensor([2.0]), torch.tensor([0.5]), torch.tensor([-1.0]), torch.tensor([0.0]))
    assert got.item() == pytest.approx(sp(0.5 - 2.0) + sp(-1.0 - 0.0), abs=1e-6)


def test_adaptive_threshold_is_per_source():
    # the same logit is a good positive for a low-threshold source and a bad one for a high-threshold source
    low = adaptive_threshold_loss(torch.tensor([1.0]), torch.tensor([-2.0]), torch.tensor([-5.0]), torch.tensor([0.0]))
    high = adaptive_threshold_loss(torch.tensor([1.0]), torch.tensor([3.0]), torch.tensor([-5.0]), torch.tensor([0.0]))
    assert low.item() < high.item()


def test_adaptive_threshold_gradient_moves_threshold_between_classes():
    t = torch.tensor([5.0], requires_grad=True)  # threshold far above the positive
    adaptive_threshold_loss(torch.tensor([1.0]), t, torch.tensor([-1.0]), t).backward()
    assert t.grad.item() > 0  # gradient descent lowers it


def test_infonce_known_values():
    # orthonormal anchors equal to their positives, tau = 1: logits = I, loss = -log(e / (e + 1))
    eye = torch.eye(2)
    assert semantic_infonce(eye, eye, tau=1.0).item() == pytest.approx(-math.log(math.e / (math.e + 1)), abs=1e-6)


def test_infonce_prefers_aligned_pairs_and_normalises():
    a = torch.tensor([[3.0, 0.0], [0.0, 0.5]])  # scale must not matter
    aligned = semantic_infonce(a, torch.tensor([[1.0, 0.0], [0.0, 1.0]]), tau=0.1)
    swapped = semantic_infonce(a, torch.tensor([[0.0, 1.0], [1.0, 0.0]]), tau=0.1)
    assert aligned.item() < 1e-3 < swapped.item()


def test_threshold_loss_uses_candidate_negatives_only_by_default():
    """Thresholds decide among candidates: sampled non-edges (listed first) leave t_a alone by default."""
    import torch

    from targetbot.egl.alpc import threshold_loss

    th = torch.zeros(4)
    pl, pos_t = torch.tensor([2.0]), torch.tensor([[0, 1]])
    sampled = torch.tensor([-50.0, -50.0])  # easy non-edges
    cand = torch.tensor([1.0])  # a hard non-confident candidate
    nl = torch.cat([sampled, cand])
    neg_t = torch.tensor([[0, 2], [1, 3], [0, 3]])
    only = threshold_loss(pl, pos_t, nl, neg_t, th, n_sampled=2)
    ref = threshold_loss(pl, pos_t, cand, neg_t[2:], th, n_sampled=0, negatives="all")
    assert torch.allclose(only, ref)
    assert threshold_loss(pl, pos_t, nl, neg_t, th, n_sampled=2, negatives="all") < only  # easy ones dilute
