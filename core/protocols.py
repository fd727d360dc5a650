"""The shapes the subsystems exchange models through, so that none has to import another's.

A CLI command (or a test) builds the models once (`targetbot.agent.models.Models`) and hands
them down; towers/, egl/ and rewrite/ only need these interfaces.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from targetbot.core.config import Settings


class Encoder(Protocol):
    """A sentence encoder: unit-norm float32 vectors, and a fingerprint for cache keys."""

    spec: str
    dim: int
    fingerprint: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


class ModelSource(Protocol):
    """Settings plus the text encoder, loaded on first call (build stages that find everything up
    to date never load it)."""

    settings: Settings

    def text_encoder(self) -> Encoder: ...
