"""Score fusion of FIND and EGL into one audience score: weighted reciprocal rank fusion.

Three sources live on different scales: FIND (forecast log-odds, or cosine with the tower
scorer), EGL preference (r_u · h_e, unbounded, no score for users without entity mentions) and
EGL evidence (Σ_e w_e · log(1 + events naming e), mostly zeros). Only ranks are comparable, so
each source contributes through its rank (0 = best; ties share the average rank; users a source
cannot score rank at its bottom):

    rrf(u)   = Σ_s w_s / (k + rank_s(u))          (w_find, w_graph, w_mentions, k: AgentConfig)
    fused(u) = share of users whose rrf is below u's, in [0, 1]

Reciprocal rank fusion (Cormack et al., 2009; k = 60 as there) rewards a user at the top of any
source and barely moves users in the middle, where a weak source is mostly noise. A plain
weighted mean of ranks (a Borda count, the first version) let EGL's many mid-ranked users
dilute FIND's top, and scored below FIND alone on held-out scenario-file paraphrases (the `ask`
benchmark uses other wordings). Once FIND's matching learned event categories
(towers/forecast.py, category_lift), the held-out wordings (bench/ask_wording.py) favoured a
larger FIND weight; 16/1/1 is the default: EGL mostly breaks FIND's ties and reorders its tail
without diluting its top (the weights compared, with their figures: docs/RESULTS.md). The
final rank-normalisation keeps a plan's `threshold` meaning "above this share of users".
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

RRF_K = 60


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


def rank_position(scores: np.ndarray) -> np.ndarray:
    """0 for the best user, n-1 for the worst (ties share the average; NaN at the bottom)."""
    return (1.0 - rank_normalise(scores)) * max(len(scores) - 1, 0)


def fuse(sources: dict[str, np.ndarray], weights: dict[str, float], k: float = RRF_K) -> np.ndarray:
    """Weighted reciprocal rank fusion, rank-normalised (sources with weight 0 are left out)."""
    used = {name: v for name, v in sources.items() if weights.get(name, 0.0) > 0}
    if not used:
        used, weights = sources, {name: 1.0 for name in sources}
    rrf = sum(weights[name] / (k + rank_position(v)) for name, v in used.items())
    return rank_normalise(rrf)
