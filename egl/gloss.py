"""Description links ("glosses"): entity a's dictionary description names entity b.

"Veron Lite: smartphone made by Veron." names Veron and smartphone. A definition usually names
what the entity *directly* relates to (its maker, its kind, its league), never its siblings, so
these pairs are the distant supervision that teaches Stage II what a relation looks like
(Mintz et al., 2009 — distant supervision for relation extraction). They never add edges: a
relation is mined only if behaviour or semantic similarity proposed it in Stage I.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from targetbot.egl.extraction import Dictionary


def gloss_links(dictionary: Dictionary, entities: pd.DataFrame) -> np.ndarray:
    """(G, 2) int64 unordered pairs (a < b) where one description names the other entity."""
    if "description" not in entities.columns:
        return np.zeros((0, 2), np.int64)
    pairs = set()
    for i, desc in enumerate(entities["description"].tolist()):
        if not isinstance(desc, str) or not desc:
            continue
        for j in dictionary.match_all(desc):
            if j != i:
                pairs.add((min(i, j), max(i, j)))
    if not pairs:
        return np.zeros((0, 2), np.int64)
    return np.array(sorted(pairs), dtype=np.int64)
