"""EGL fixtures: a fake text encoder (hashing bag of words) for fast tests, and a small world
with a graph built once per session under a tiny config."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
import yaml

from targetbot.workspace import Workspace

TINY = {
    "snapshots": {"count": 3, "stride_days": 10},
    "cooccurrence": {"steps": 15},
    "alpc": {"epochs": 12, "contrastive_batch": 64},
    "ensemble": {"epochs": 8, "window": 2},
}


class HashingEncoder:
    """Deterministic stand-in for MiniLM: L2-normalised hashed bag of words (shared words -> similar)."""

    dim = 384
    fingerprint = "hashing-test"

    def encode(self, texts, batch_size: int = 128, show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for w in str(t).lower().replace(",", " ").replace(".", " ").split():
                h = int(hashlib.md5(w.encode()).hexdigest()[:8], 16)
                out[i, h % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture
def fake_encoder(monkeypatch):
    import targetbot.commands.graph
    import targetbot.models

    monkeypatch.setattr(targetbot.models, "load_text_encoder", lambda settings=None: HashingEncoder())
    monkeypatch.setattr(targetbot.commands.graph, "_ENCODERS", {})  # the CLI caches its encoder per process
    return HashingEncoder()


@pytest.fixture(scope="session")
def graph_world_path(small_world_path, tmp_path_factory):
    """A copy of the small world with egl.yaml (tiny config) and its graph built with the fake encoder."""
    import targetbot.models
    from egl.build import build_graph

    dst = tmp_path_factory.mktemp("egl") / "ws"
    shutil.copytree(small_world_path, dst)
    (dst / "egl.yaml").write_text(yaml.safe_dump(TINY))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(targetbot.models, "load_text_encoder", lambda settings=None: HashingEncoder())
        build_graph(Workspace.open(dst), progress=None)
    return dst


@pytest.fixture
def graph_world(graph_world_path, fake_encoder) -> Workspace:
    return Workspace.open(graph_world_path)
