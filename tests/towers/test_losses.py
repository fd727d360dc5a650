"""Each loss on tiny tensors with values worked out by hand."""

import math

import pytest
import torch

from targetbot.towers.losses import (CPCLoss, ForecastLoss, InfoNCELoss, MaskedFeatureLoss, ModalityReconstructionLoss, NegativeQueue,
                           ReplacedTokenLoss, cyclic_kl, prompt_triplet_loss)


def test_infonce_known_value_and_symmetry():
    loss_fn = InfoNCELoss(dim=2, init_temperature=1.0)
    u = torch.eye(2)
    # logits = I: each row is softmax over (e^1, e^0) -> -log(e / (e + 1)) in both directions
    expected = math.log(1 + math.exp(-1))
    assert loss_fn(u, u, enqueue=False).item() == pytest.approx(expected, rel=1e-5)
    a, b = torch.randn(4, 3), torch.randn(4, 3)
    f = InfoNCELoss(dim=3)
    assert f(a, b, enqueue=False).item() == pytest.approx(f(b, a, enqueue=False).item(), rel=1e-5)


def test_infonce_queue_adds_negatives():
    loss_fn = InfoNCELoss(dim=2, queue_size=8, init_temperature=1.0).train()
    u = torch.eye(2)
    before = loss_fn(u, u).item()  # enqueues the batch
    after = loss_fn(u, u, enqueue=False).item()
    # queued copies of the same vectors now compete: each row has 4 candidates, two of them e^1
    assert after == pytest.approx(-math.log(math.e / (2 * math.e + 2)), rel=1e-5)
    assert after > before


def test_negative_queue_wraps():
    q = NegativeQueue(3, 1)
    q.push(torch.tensor([[1.0], [2.0]]))
    q.push(torch.tensor([[3.0], [4.0]]))
    assert sorted(q.get().flatten().tolist()) == [2.0, 3.0, 4.0]


def test_learnable_temperature_gets_gradient():
    f = InfoNCELoss(dim=4)
    f(torch.randn(6, 4), torch.randn(6, 4)).backward()
    assert f.logit_scale.grad is not None


def test_cpc_single_pair_is_zero_and_predictable_sequence_scores_lower():
    cpc = CPCLoss(context_dim=2, step_dim=2, horizon=1)
    z = torch.randn(1, 2, 2)
    assert cpc(z, torch.randn(1, 2, 2)).item() == pytest.approx(0.0, abs=1e-6)
    cpc = CPCLoss(context_dim=4, step_dim=4, horizon=1)
    with torch.no_grad():
        cpc.predictors[0].weight.copy_(torch.eye(4) * 10)
    z = torch.eye(4).repeat(2, 1, 1)  # each user: steps e1, e2, e3, e4
    c_good = torch.roll(z, shifts=-1, dims=1)  # context at t already "knows" z_{t+1}
    assert cpc(z, c_good).item() < cpc(z, torch.randn(2, 4, 4)).item()


def test_cpc_respects_mask():
    cpc = CPCLoss(context_dim=3, step_dim=3, horizon=2)
    z, c = torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    mask = torch.zeros(2, 5, dtype=torch.bool)
    assert cpc(z, c, mask).item() == 0.0


def test_cyclic_kl_known_values():
    periodic = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]])
    assert cyclic_kl(periodic, period=2).item() == pytest.approx(0.0, abs=1e-7)
    c = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]]])  # p = (1/2, 1/2), q = (3/4, 1/4)
    expected = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert cyclic_kl(c, period=1).item() == pytest.approx(expected, rel=1e-5)


def test_masked_feature_loss_only_on_masked_cells():
    mfp = MaskedFeatureLoss()
    logits = [torch.tensor([[10.0, -10.0], [-10.0, 10.0]])]
    targets = torch.tensor([[0], [0]])
    only_first = torch.tensor([[True], [False]])
    assert mfp(logits, targets, only_first).item() == pytest.approx(0.0, abs=1e-6)
    both = torch.tensor([[True], [True]])
    assert mfp(logits, targets, both).item() == pytest.approx(10.0, abs=1e-3)  # mean of ~0 and ~20
    num = mfp([], targets, both[:, :0], torch.tensor([[1.0], [3.0]]), torch.tensor([[1.0], [1.0]]), both)
    assert num.item() == pytest.approx(2.0)


def test_replaced_token_loss_balanced():
    rtd = ReplacedTokenLoss()
    replaced = torch.tensor([[True, False, False, False]])
    perfect = torch.tensor([[20.0, -20.0, -20.0, -20.0]])
    assert rtd(perfect, replaced).item() < 1e-6
    assert rtd(-perfect, replaced).item() > 5.0


def test_triplet_known_values():
    t = torch.tensor([1.0, 0.0])
    pos, neg = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    assert prompt_triplet_loss(t, pos, neg, margin=0.2).item() == 0.0
    assert prompt_triplet_loss(t, neg, pos, margin=0.2).item() == pytest.approx(1.2)


def test_forecast_loss_known_value_and_learns_the_right_statements():
    loss_fn = ForecastLoss(vocab_size=2, init_scale=1.0, init_bias=0.0)
    users = torch.tensor([[1.0, 0.0]])
    statements = torch.tensor([[2.0, 0.0], [0.0, 3.0]])  # cosines 1 and 0
    targets = torch.tensor([[1.0, 0.0]])
    expected = -math.log(torch.sigmoid(torch.tensor(1.0))) - math.log(1 - 0.5)
    assert abs(float(loss_fn(users, statements, targets)) - expected) < 1e-5
    # a user pushed toward their future statement lowers the loss; toward the other one raises it
    toward_wrong = float(loss_fn(torch.tensor([[0.0, 1.0]]), statements, targets))
    assert toward_wrong > expected
    users = torch.tensor([[0.3, 0.7]], requires_grad=True)
    loss_fn(users, statements, targets).backward()
    assert users.grad[0, 0] < 0 < users.grad[0, 1]  # descent moves toward statement 0


def test_reconstruction_known_value_keeps_magnitude_and_detaches_target():
    loss_fn = ModalityReconstructionLoss(dim=2, target_dim=1)
    torch.nn.init.zeros_(loss_fn.decoder.weight)
    torch.nn.init.zeros_(loss_fn.decoder.bias)
    target = torch.tensor([[0.0], [2.0], [4.0], [6.0]], requires_grad=True)
    # a zero prediction against a target standardised with the unbiased std: mean square (B-1)/B
    loss = loss_fn(torch.randn(4, 2, requires_grad=True), target)
    assert loss.item() == pytest.approx(0.75, rel=1e-5)
    loss.backward()
    assert target.grad is None and loss_fn.decoder.weight.grad is not None
    # per dimension, not per user: a user twice as intense as another keeps a different target
    z = ModalityReconstructionLoss.standardise(torch.tensor([[1.0, 1.0], [2.0, 2.0], [4.0, 4.0]]))
    assert z[0, 0].item() < z[1, 0].item() < z[2, 0].item()
    assert z.mean(0).abs().max().item() < 1e-6
