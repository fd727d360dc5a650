"""Semantic embeddings of entities: the text encoder over "name: description" (and aliases).

Embeddings are cached in the workspace keyed by the encoder fingerprint and a hash of the
texts, so rebuilding a graph (or building one with other settings) embeds each dictionary once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from targetbot.core.atomic import atomic_path


def entity_texts(entities: pd.DataFrame, with_aliases: bool = True) -> list[str]:
    """One sentence per entity: its name, its description and (optionally) up to three aliases."""
    out = []
    aliases = entities["aliases"] if "aliases" in entities.columns else [[]] * len(entities)
    desc = entities["description"] if "description" in entities.columns else [""] * len(entities)
    for name, d, al in zip(entities["entity"].astype(str), desc, aliases):
        d = "" if d is None or (isinstance(d, float) and np.isnan(d)) else str(d).strip()
        text = d if d.lower().startswith(name.lower()) else (f"{name}: {d}" if d else name)
        if with_aliases and al is not None and len(al):
            extra = [a for a in list(al)[:3] if a.lower() not in text.lower()]
            if extra:
                text += f" Also called {', '.join(extra)}."
        out.append(text)
    return out


def _key(texts: list[str], fingerprint: str) -> str:
    h = hashlib.sha256(fingerprint.encode())
    for t in texts:
        h.update(t.encode())
        h.update(b"\x00")
    return h.hexdigest()[:16]


def embed_entities(texts: list[str], cache_dir: Path, encoder_factory: Callable[[], object],
                   fingerprint: str, progress: Callable[[str], None] | None = None) -> np.ndarray:
    """L2-normalised float32 embeddings of `texts`, read from or written to `cache_dir`."""
    path = Path(cache_dir) / f"semantic-{_key(texts, fingerprint)}.npy"
    if path.exists():
        return np.load(path)
    if progress:
        progress(f"embedding {len(texts):,} entity descriptions")
    enc = encoder_factory()
    X = enc.encode(texts, batch_size=128).astype(np.float32)
    with atomic_path(path, suffix=".npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, X)
    return X
