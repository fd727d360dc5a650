"""The sentence encoder every subsystem embeds text with (MiniLM by default).

Built once at the top (`targetbot.agent.models.Models`) and passed down: the representation
center (towers/content.py) and the forecaster embed behaviour texts with it, EGL embeds entity
descriptions and seed phrases with it, the agent matches free-text phrases.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np

from targetbot.core.bundled import text_encoder_path
from targetbot.core.config import Settings
from targetbot.core.errors import TargetbotError


class TextEncoder:
    """Sentence embeddings, L2-normalised float32, with a fingerprint for cache keys."""

    def __init__(self, settings: Settings, device: str = "cpu"):
        from sentence_transformers import SentenceTransformer

        self.spec = settings.text_encoder
        path = text_encoder_path(settings)
        t = time.perf_counter()
        try:
            self.model = SentenceTransformer(path, device=device)
        except OSError as e:
            raise TargetbotError(f"cannot load text encoder '{self.spec}': {str(e).splitlines()[0]}") from None
        self.load_seconds = time.perf_counter() - t
        self.dim = int(self.model.get_embedding_dimension())
        self.max_seq_length = int(self.model.max_seq_length)
        self.fingerprint = hashlib.sha256(f"{self.spec}|{self.dim}|{self.max_seq_length}".encode()).hexdigest()[:12]

    def encode(self, texts: list[str], batch_size: int = 128, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        emb = self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=show_progress,
                                convert_to_numpy=True, normalize_embeddings=True)
        return emb.astype(np.float32, copy=False)


def load_text_encoder(settings: Settings) -> TextEncoder:
    return TextEncoder(settings)
