"""EGL fixtures: a fake text encoder (hashing bag of words) for fast tests, models that hold it,
and a small world with a graph built once per session under a tiny config."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
import yaml

from targetbot.core.workspace import Workspace

TINY = {
    "snapshots": {"count": 3, "stride_days": 10},
    "cooccurrence": {"steps": 15},
    "alpc": {"epochs": 12, "contrastive_batch": 64},
    "ensemble": {"epochs": 8, "window": 2},
}


MECHANICS_POLICY = {"min_export_size": 5, "difference_window_days": 0}


class HashingEncoder:
    """Deterministic stand-in for MiniLM: L2-normalised hashed bag of words (shared words -> similar)."""

    spec = "hashing-test"
    dim = 384
    fingerprint = "hashing-test"

    def encode(self, texts, batch_size: int = 128, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for w in str(t).lower().replace(",", " ").replace(".", " ").split():
                h = int(hashlib.md5(w.encode()).hexdigest()[:8], 16)
                out[i, h % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def hashing_models():
    """Models whose text encoder is the hashing stand-in (no MiniLM is loaded)."""
    from targetbot.agent.models import Models
    from targetbot.core.config import Settings

    return Models(Settings(), text_encoder=HashingEncoder())


@pytest.fixture
def fake_models():
    return hashing_models()


@pytest.fixture(scope="session")
def graph_world_path(small_world_path, tmp_path_factory):
    """A copy of the small world with egl.yaml (tiny config) and its graph built with the fake encoder."""
    from targetbot.egl.build import build_graph

    dst = tmp_path_factory.mktemp("egl") / "ws"
    shutil.copytree(small_world_path, dst)
    (dst / "egl.yaml").write_text(yaml.safe_dump(TINY))
    # the CLI's mechanics, not its privacy policy (tests/agent/test_privacy.py): a small floor, no difference guard
    (dst / "agent.yaml").write_text(yaml.safe_dump(MECHANICS_POLICY))
    build_graph(Workspace.open(dst), hashing_models(), progress=None)
    return dst


@pytest.fixture
def graph_world(graph_world_path) -> Workspace:
    return Workspace.open(graph_world_path)
