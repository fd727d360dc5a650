"""User–entity preference: how much user u prefers the chosen entities, from the entities u's
recent history names. An audience is the top-K users by preference for the target
t = the mean of the chosen entities' h_e (weighted by how confidently each entity was reached,
when weights are given).

Two poolings of the user's entities:

* `mean` — EGL Eq. 7: r_u = mean of h_e over the user's entity sequence, preference r_u · t.
* `top_k` (default) — the mean of the k largest h_m · t over the *distinct* entities m the user
  named, plus `mean_weight` (default 1) times Eq. 7's r_u · t. A user's history names dozens of
  entities, so the centroid r_u mostly measures how much unrelated activity dilutes the
  relevant part; a bike-sharing rider who also shops, streams and pays bills has an average
  centroid. The top-k term asks "did this user touch anything close to the target?", which is
  the question for a new service. The top-k term ties users who touched the same entities, and
  Eq. 7's term orders them.

  The poolings were compared with the zero-shot suite's `graph` method (the pooling set under
  `preference:` in the workspace's graph config) on the benchmark world and a validation world:
  on the benchmark world Eq. 7 alone loses to keyword targeting on both cold-start scenarios;
  top-k alone wins them but ranks the other scenarios worse; adding Eq. 7's term to top-3 keeps
  the cold-start wins and lifts the mean AUC on both worlds, and doubling its weight changes
  little (the table: docs/RESULTS.md, "User–entity preference pooling").

Which h_e: the ensemble's raw outputs are trained for an MLP link decoder and sit in a narrow
cone (unrelated entities have cosines close to 1), so dot products mostly measure the shared
offset. `preference_space` therefore centres them on the mention-weighted mean and whitens them
(ZCA, as in BERT-whitening) — `ensemble` — and, by default, joins the entity's centred semantic
embedding — `joint` — so a new service with no behaviour yet is still placed by what it is.
`semantic` uses the text view alone.
"""

from __future__ import annotations

from typing import get_args

import numpy as np
import pandas as pd
from scipy import sparse

from targetbot.egl.config import Pooling
from targetbot.core.errors import TargetbotError


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


POOLINGS = get_args(Pooling)


def user_entities(mentions: pd.DataFrame, n_entities: int) -> tuple[pd.Index, sparse.csr_matrix]:
    """(user ids, users × entities mention counts) for every user with at least one mention."""
    if mentions.empty:
        return pd.Index([], dtype=str), sparse.csr_matrix((0, n_entities), dtype=np.float32)
    codes, ids = pd.factorize(mentions["user"].astype(str))
    m = sparse.csr_matrix((np.ones(len(codes), np.float32), (codes, mentions["entity"].to_numpy())),
                          shape=(len(ids), n_entities))
    m.sum_duplicates()
    return pd.Index(ids.astype(str)), m


def mean_vectors(incidence: sparse.csr_matrix, embeddings: np.ndarray) -> np.ndarray:
    """r_u per row of a users × entities count matrix: the mean of h_e over the user's mentions."""
    counts = np.asarray(incidence.sum(axis=1)).ravel()
    r = (incidence @ embeddings) / np.maximum(counts, 1)[:, None]
    return np.asarray(r, dtype=np.float32).reshape(incidence.shape[0], embeddings.shape[1])


def user_vectors(mentions: pd.DataFrame, embeddings: np.ndarray) -> tuple[pd.Index, np.ndarray]:
    """(user ids, r_u) for every user with at least one mention: the mean of h_e over the mentions."""
    ids, m = user_entities(mentions, len(embeddings))
    return ids, mean_vectors(m, embeddings)


def target_vector(embeddings: np.ndarray, entity_ids: list[int], weights: list[float] | None = None) -> np.ndarray:
    """t = the (weighted) mean of the chosen entities' h_e."""
    if not entity_ids:
        raise TargetbotError("no entities chosen: give at least one entity")
    w = np.ones(len(entity_ids), np.float32) if weights is None else np.asarray(weights, np.float32)
    if len(w) != len(entity_ids):
        raise TargetbotError(f"{len(w)} weights for {len(entity_ids)} entities")
    return (embeddings[entity_ids] * w[:, None]).sum(0) / max(float(w.sum()), 1e-12)


def preference_scores(r: np.ndarray, embeddings: np.ndarray, entity_ids: list[int],
                      weights: list[float] | None = None) -> np.ndarray:
    """`mean` pooling (Eq. 7): r_u · t, one score per row of r."""
    return np.asarray(r @ target_vector(embeddings, entity_ids, weights), dtype=np.float64)


def top_k_scores(incidence: sparse.csr_matrix, embeddings: np.ndarray, entity_ids: list[int],
                 weights: list[float] | None = None, k: int = 3) -> np.ndarray:
    """`top_k` pooling: per user, the mean of the k largest h_m · t over the distinct entities m
    the user named (all of them when fewer than k); users who named none score -1."""
    if k < 1:
        raise TargetbotError(f"top_k must be at least 1 (got {k})")
    sim = embeddings @ target_vector(embeddings, entity_ids, weights)
    inc = incidence.tocsr()
    n_users = inc.shape[0]
    lengths = np.diff(inc.indptr)
    rows = np.repeat(np.arange(n_users), lengths)
    starts = inc.indptr[:-1][lengths > 0]
    work = sim[inc.indices].astype(np.float64)
    used = np.minimum(lengths, k)
    left, total = used.copy(), np.zeros(n_users)
    # k passes of "take each row's maximum" (ties taken together, up to what is left), O(k · nnz):
    # sorting every mention instead was several times slower (docs/RESULTS.md), and this runs per query
    for _ in range(k):
        if not left.any():
            break
        best = np.full(n_users, -np.inf)
        best[lengths > 0] = np.maximum.reduceat(work, starts)
        hit = (work == best[rows]) & np.isfinite(work)
        take = np.minimum(np.bincount(rows[hit], minlength=n_users), left)
        took = take > 0  # a row takes only finite maxima
        total[took] += take[took] * best[took]
        left -= take
        work[hit] = -np.inf
    return np.where(used > 0, total / np.maximum(used, 1), -1.0)


def top_users(user_ids: pd.Index, scores: np.ndarray, k: int) -> list[dict]:
    k = max(0, min(int(k), len(scores)))
    if k == 0:
        return []
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.lexsort((user_ids.to_numpy()[idx], -scores[idx]))]
    return [{"user_id": str(user_ids[i]), "score": round(float(scores[i]), 6)} for i in idx]
