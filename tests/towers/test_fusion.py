"""Attention fusion: the residual carries the query (learned query + mean modality token) through."""

import torch

from targetbot.towers.fusion import Fusion


def _silenced(residual: bool) -> Fusion:
    torch.manual_seed(0)
    f = Fusion([3, 5], dim=4, kind="attention", heads=2, residual=residual)
    for p in list(f.attn.out_proj.parameters()) + list(f.ffn[-1].parameters()):
        torch.nn.init.zeros_(p)  # attention and feed-forward contribute nothing
    return f.eval()


def test_residual_passes_the_query_through():
    parts = [torch.randn(2, 3), torch.randn(2, 5)]
    f = _silenced(residual=True)
    with torch.no_grad():
        toks = f.tokens(parts) + f.modality
        expected = f.query.squeeze(0) + toks.mean(1)
        assert torch.allclose(f(parts), expected, atol=1e-6)
        assert torch.allclose(_silenced(residual=False)(parts), torch.zeros(2, 4), atol=1e-6)


def test_missing_modality_is_masked_but_never_all():
    f = Fusion([3, 5], dim=4, kind="attention", heads=2).eval()
    parts = [torch.randn(2, 3), torch.randn(2, 5)]
    with torch.no_grad():
        out = f(parts, missing=torch.tensor([[False, True], [True, True]]))
    assert torch.isfinite(out).all()
