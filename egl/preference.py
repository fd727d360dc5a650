"""User–entity preference (EGL Eq. 7): r_u = mean of h_e over the user's entity sequence,
preference of u for e = r_u · h_e; an audience is the top-K users by mean preference over the
chosen entities (weighted by how confidently each entity was reached, when weights are given).

Which h_e: the ensemble's raw outputs are trained for an MLP link decoder and sit in a narrow
cone (cosines of unrelated entities near 0.99), so dot products mostly measure the shared
offset. `preference_space` therefore centres them on the mention-weighted mean and whitens them
(ZCA, as in BERT-whitening) — `ensemble` — and, by default, joins the entity's centred semantic
embedding — `joint` — so a new service with no behaviour yet is still placed by what it is.
`semantic` uses the text view alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from targetbot.errors import TargetbotError


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)).astype(np.float32)


def _center(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return x - (x * w[:, None]).sum(0) / w.sum()


def whiten(x: np.ndarray, weights: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """Weighted ZCA whitening: centred, unit covariance (eigenvalues floored at eps * largest)."""
    xc = _center(x.astype(np.float64), weights)
    cov = (xc * weights[:, None]).T @ xc / weights.sum()
    val, vec = np.linalg.eigh(cov)
    val = np.maximum(val, eps * max(val.max(), 1e-12))
    return xc @ vec @ np.diag(1.0 / np.sqrt(val)) @ vec.T


def preference_space(ensemble: np.ndarray, semantic: np.ndarray, mentions: np.ndarray, mode: str = "joint"
                     ) -> np.ndarray:
    """The h_e used for preferences: `ensemble`, `semantic` or `joint` (both, concatenated), unit length."""
    w = mentions.astype(np.float64) + 1e-3  # mention-weighted statistics; never all zero
    ens = _unit(whiten(ensemble, w))
    if mode == "ensemble":
        return ens
    sem = _unit(_center(semantic.astype(np.float64), w))
    if mode == "semantic":
        return sem
    if mode != "joint":
        raise TargetbotError(f"unknown preference embedding '{mode}' (use joint, ensemble or semantic)")
    return _unit(np.concatenate([ens, sem], 1))


def user_vectors(mentions: pd.DataFrame, embeddings: np.ndarray) -> tuple[pd.Index, np.ndarray]:
    """(user ids, r_u) for every user with at least one mention: the mean of h_e over the mentions."""
    if mentions.empty:
        return pd.Index([], dtype=str), np.zeros((0, embeddings.shape[1]), np.float32)
    users = mentions["user"].astype(str)
    codes, ids = pd.factorize(users)
    m = sparse.csr_matrix((np.ones(len(codes), np.float32), (codes, mentions["entity"].to_numpy())),
                          shape=(len(ids), len(embeddings)))
    counts = np.asarray(m.sum(axis=1)).ravel()
    r = (m @ embeddings) / np.maximum(counts, 1)[:, None]
    return pd.Index(ids.astype(str)), r.astype(np.float32)


def preference_scores(r: np.ndarray, embeddings: np.ndarray, entity_ids: list[int],
                      weights: list[float] | None = None) -> np.ndarray:
    """Mean over the chosen entities of r_u · h_e (weighted if `weights`), one score per user."""
    if not entity_ids:
        raise TargetbotError("no entities chosen: give at least one entity")
    w = np.ones(len(entity_ids), np.float32) if weights is None else np.asarray(weights, np.float32)
    target = (embeddings[entity_ids] * w[:, None]).sum(0) / max(float(w.sum()), 1e-12)
    return np.asarray(r @ target, dtype=np.float64)


def top_users(user_ids: pd.Index, scores: np.ndarray, k: int) -> list[dict]:
    k = max(0, min(int(k), len(scores)))
    if k == 0:
        return []
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.lexsort((user_ids.to_numpy()[idx], -scores[idx]))]
    return [{"user_id": str(user_ids[i]), "score": round(float(scores[i]), 6)} for i in idx]
