"""The real bundled sentence encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from targetbot.core.config import Settings
from targetbot.towers.text_encoder import load_text_encoder


@pytest.mark.real_models
def test_real_minilm_similarity():
    enc = load_text_encoder(Settings(cache_dir=Path("/nonexistent-unused")))
    emb = enc.encode(["Users who bought running shoes last month.",
                      "Customers that purchased jogging sneakers recently.",
                      "The quarterly tax filing deadline is in April."])
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    close, far = float(emb[0] @ emb[1]), float(emb[0] @ emb[2])
    assert close > 0.5 and far < 0.3 and close > far + 0.3
