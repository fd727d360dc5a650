"""Score fusion of FIND and EGL into one audience score.

Three sources live on different scales: FIND (cosine between the demand and the user
embedding, roughly -0.3..0.6), EGL preference (r_u · h_e, unbounded, no score for users without
entity mentions) and EGL evidence (Σ_e w_e · log(1 + events naming e), mostly zeros). Each source is therefore rank-normalised over all users of the
workspace: a user's score becomes the share of users it outranks, in [0, 1] (ties share the
average rank; users a source cannot score rank at its bottom). The fused score is the weighted
mean of the sources that ran:

    fused(u) = Σ_s w_s · rank_s(u) / (n − 1)  /  Σ_s w_s   (w_find, w_graph, w_mentions: AgentConfig)

so 0.9 means "on average above 90 % of users". It is a weighted Borda count: robust to the
scale of each source, monotone in each, and deterministic. A plan threshold applies to it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def rank_normalise(scores: np.ndarray) -> np.ndarray:
    """Share of users each user outranks, in [0, 1]; NaN (not scored) ranks at the bottom."""
    s = np.asarray(scores, dtype=np.float64).copy()
    n = len(s)
    if n <= 1:
        return np.ones(n)
    missing = np.isnan(s)
    if missing.all():
        return np.zeros(n)
    s[missing] = np.nanmin(s) - 1.0
    return (rankdata(s, method="average") - 1.0) / (n - 1)


def fuse(sources: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted mean of the rank-normalised sources (sources with weight 0 are left out)."""
    used = {k: v for k, v in sources.items() if weights.get(k, 0.0) > 0}
    if not used:
        used = sources
        weights = {k: 1.0 for k in sources}
    total = sum(weights[k] for k in used)
    return sum(weights[k] * rank_normalise(v) for k, v in used.items()) / total
