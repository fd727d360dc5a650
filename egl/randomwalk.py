"""Random-walk embedding baselines for relation mining: DeepWalk and node2vec.

Walks run over the (training part of the) candidate graph; walk co-occurrences within a window
feed the same skip-gram trainer as Stage I (egl.cooccurrence). DeepWalk walks uniformly;
node2vec biases each step by the return parameter p and the in-out parameter q (second-order
walks, sampled by rejection as in node2vec's reference implementation and PyG's torch-cluster).
A logistic regression on the Hadamard product of the two embeddings (node2vec's link-prediction
protocol) scores pairs; it is trained with the same positives and negatives as ALPC, so the
comparison isolates the representation.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from targetbot.egl.cooccurrence import skipgram


def _csr(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.concatenate([edges[:, 0], edges[:, 1]])
    b = np.concatenate([edges[:, 1], edges[:, 0]])
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    indptr = np.searchsorted(a, np.arange(n + 1))
    return indptr, b


def random_walks(edges: np.ndarray, n: int, walks_per_node: int = 10, length: int = 20, p: float = 1.0,
                 q: float = 1.0, seed: int = 0) -> np.ndarray:
    """(W, length) walks starting `walks_per_node` times from every node with a neighbour; -1 pads dead ends."""
    rng = np.random.default_rng(seed)
    indptr, nbr = _csr(edges, n)
    deg = np.diff(indptr)
    starts = np.repeat(np.flatnonzero(deg > 0), walks_per_node)
    walks = np.full((len(starts), length), -1, np.int64)
    walks[:, 0] = starts
    if len(starts) == 0:
        return walks
    keys = np.sort(np.concatenate([edges[:, 0] * n + edges[:, 1], edges[:, 1] * n + edges[:, 0]]))
    biased = not (p == 1.0 and q == 1.0)
    wmax = max(1.0 / p, 1.0, 1.0 / q)

    def step(cur: np.ndarray) -> np.ndarray:
        return nbr[indptr[cur] + (rng.random(len(cur)) * deg[cur]).astype(np.int64)]

    walks[:, 1] = step(starts)
    for t in range(2, length):
        cur, prev = walks[:, t - 1], walks[:, t - 2]
        nxt = np.empty(len(cur), np.int64)
        pending = np.arange(len(cur))
        while len(pending):
            c = step(cur[pending])
            if not biased:
                nxt[pending] = c
                break
            pv = prev[pending]
            k = pv * n + c
            pos = np.minimum(np.searchsorted(keys, k), len(keys) - 1)
            adjacent = keys[pos] == k
            w = np.where(c == pv, 1.0 / p, np.where(adjacent, 1.0, 1.0 / q))
            ok = rng.random(len(pending)) * wmax < w
            nxt[pending[ok]] = c[ok]
            pending = pending[~ok]
        walks[:, t] = nxt
    return walks


def walk_counts(walks: np.ndarray, n: int, window: int = 5) -> sparse.csr_matrix:
    rows, cols = [], []
    for k in range(1, window + 1):
        a, b = walks[:, :-k].ravel(), walks[:, k:].ravel()
        ok = (a >= 0) & (b >= 0) & (a != b)
        rows.append(a[ok])
        cols.append(b[ok])
    r, c = np.concatenate(rows), np.concatenate(cols)
    m = sparse.coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n)).tocsr()
    return (m + m.T).tocsr()


def walk_embeddings(edges: np.ndarray, n: int, p: float = 1.0, q: float = 1.0, dim: int = 64, window: int = 5,
                    walks_per_node: int = 10, length: int = 20, steps: int = 100, seed: int = 0) -> np.ndarray:
    walks = random_walks(edges, n, walks_per_node, length, p, q, seed)
    U, _ = skipgram(walk_counts(walks, n, window), dim=dim, full_batch_steps=steps, lr=0.03, seed=seed,
                    steps=steps * 10)
    return U


class HadamardLinkScorer:
    """Logistic regression on [e_a * e_b] (node2vec's link-prediction operator)."""

    def __init__(self, embeddings: np.ndarray, seed: int = 0):
        self.E = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-9)
        self.clf = LogisticRegression(max_iter=2000, C=1.0, random_state=seed)

    def features(self, pairs: np.ndarray) -> np.ndarray:
        return self.E[pairs[:, 0]] * self.E[pairs[:, 1]]

    def fit(self, pos: np.ndarray, neg: np.ndarray, neg_weight: np.ndarray | None = None) -> "HadamardLinkScorer":
        X = np.concatenate([self.features(pos), self.features(neg)])
        y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        w = np.r_[np.ones(len(pos)) * (len(neg) / max(len(pos), 1)),
                  np.ones(len(neg)) if neg_weight is None else neg_weight]
        self.clf.fit(X, y, sample_weight=w)
        return self

    def logits(self, pairs: np.ndarray) -> np.ndarray:
        if len(pairs) == 0:
            return np.zeros(0)
        return self.clf.decision_function(self.features(pairs))
