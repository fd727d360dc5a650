"""Stage I — relation candidates: nearest neighbours in co-occurrence space and in semantic space.

Each entity proposes its `k_cooc` nearest neighbours by skip-gram first-order score (how much
more often b follows a in a session than chance) and its `k_semantic` nearest neighbours by
cosine of the semantic embeddings. The union, undirected, is the candidate graph; each edge
keeps both scores, its session count and which generators proposed it (a bit mask), which is
what Stage II ranks. Known relations (a workspace that brings its own knowledge graph, such as
MovieLens) join as a third source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

COOC, SEMANTIC, KNOWN = 1, 2, 4
SOURCE_NAMES = {COOC: "co-occurrence", SEMANTIC: "semantic", KNOWN: "known"}


def pair_keys(pairs: np.ndarray, n: int) -> np.ndarray:
    """One int64 key per unordered pair, min · n + max (a candidate edge, stored a < b, has a · n + b)."""
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return np.minimum(pairs[:, 0], pairs[:, 1]) * n + np.maximum(pairs[:, 0], pairs[:, 1])


@dataclass
class CandidateGraph:
    n: int
    edges: np.ndarray  # (E, 2) int64, a < b
    sources: np.ndarray  # (E,) uint8 bit mask of COOC | SEMANTIC | KNOWN
    cooc: np.ndarray  # (E,) first-order skip-gram score
    semantic: np.ndarray  # (E,) cosine of semantic embeddings
    count: np.ndarray  # (E,) session context-pair count
    gloss: np.ndarray | None = None  # (E,) bool: one entity's description names the other

    def __len__(self) -> int:
        return len(self.edges)

    def keys(self) -> np.ndarray:
        """`pair_keys` of the edges (stored a < b, so simply a · n + b)."""
        return self.edges[:, 0] * self.n + self.edges[:, 1]

    def held_out(self, test_pairs: np.ndarray) -> np.ndarray:
        """Per edge: is it one of `test_pairs` (in either order)? Those edges are kept out of training."""
        return np.isin(self.keys(), pair_keys(test_pairs, self.n))

    def contains(self, pairs: np.ndarray) -> np.ndarray:
        """Per pair: is it a candidate edge? (The positives of the held-out link AUC.)"""
        return np.isin(pair_keys(pairs, self.n), self.keys())

    @property
    def score(self) -> np.ndarray:
        """Stage-I score of an edge: the mean of its two similarities mapped to [0, 1].
        (What 'candidates only' ranks by; the GNN replaces it.)"""
        return 0.5 * (_squash(self.cooc) + np.clip(self.semantic, 0, 1))

    def edge_features(self) -> np.ndarray:
        """Per-edge features for attention: [cooc score, semantic cosine, log1p count, one-hot sources]."""
        return np.stack([
            np.tanh(self.cooc / 4.0), self.semantic, np.log1p(self.count) / 5.0,
            (self.sources & COOC) > 0, (self.sources & SEMANTIC) > 0, (self.sources & KNOWN) > 0,
        ], axis=1).astype(np.float32)

    def subset(self, keep: np.ndarray) -> "CandidateGraph":
        return CandidateGraph(self.n, self.edges[keep], self.sources[keep], self.cooc[keep], self.semantic[keep],
                              self.count[keep], None if self.gloss is None else self.gloss[keep])


def _squash(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def topk_rows(score_fn, n: int, rows: np.ndarray, k: int, block: int | None = None, min_score: float | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of the top-k columns of each row of score_fn(rows_block) -> (len(block), n); no self pairs."""
    out_r, out_c = [], []
    if k <= 0 or len(rows) == 0 or n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    block = block or max(64, min(2048, int(4_000_000 // n)))  # keep a block's dense scores ~16 MB
    kk = min(k, n - 1)
    for s in range(0, len(rows), block):
        r = rows[s:s + block]
        sc = np.asarray(score_fn(r), dtype=np.float32)
        sc[np.arange(len(r)), r] = -np.inf
        idx = np.argpartition(-sc, kk - 1, axis=1)[:, :kk]
        val = np.take_along_axis(sc, idx, axis=1)
        ok = np.isfinite(val)
        if min_score is not None:
            ok &= val > min_score
        out_r.append(np.repeat(r, kk)[ok.ravel()])
        out_c.append(idx.ravel()[ok.ravel()])
    return np.concatenate(out_r), np.concatenate(out_c)


def candidate_graph(U: np.ndarray, V: np.ndarray, semantic: np.ndarray, counts: sparse.csr_matrix,
                    k_cooc: int, k_semantic: int, min_count: float = 1.0,
                    semantic_rows: np.ndarray | None = None,
                    known: np.ndarray | None = None, gloss: np.ndarray | None = None) -> CandidateGraph:
    """The Stage-I candidate graph.

    U, V: skip-gram input/output vectors; semantic: L2-normalised semantic embeddings;
    counts: session pair counts (a co-occurrence candidate needs at least `min_count`);
    semantic_rows: entities that propose semantic neighbours (default all);
    known: optional (K, 2) known relations (they become edges);
    gloss: optional (G, 2) description links (they only mark edges, see egl.gloss)."""
    n = len(U)
    freq = np.asarray(counts.sum(axis=1)).ravel()
    seen = np.flatnonzero(freq > 0)
    counts = counts.tocsr()

    def cooc_score(r):
        s = 0.5 * (U[r] @ V.T + V[r] @ U.T)
        c = counts[r].toarray()
        s[c < min_count] = -np.inf
        return s

    r1, c1 = topk_rows(cooc_score, n, seen, k_cooc, min_score=0.0)
    rows = np.arange(n) if semantic_rows is None else semantic_rows
    r2, c2 = topk_rows(lambda r: semantic[r] @ semantic.T, n, rows, k_semantic)
    parts = [(r1, c1, COOC), (r2, c2, SEMANTIC)]
    if known is not None and len(known):
        parts.append((known[:, 0].astype(np.int64), known[:, 1].astype(np.int64), KNOWN))
    a = np.concatenate([np.minimum(r, c) for r, c, _ in parts])
    b = np.concatenate([np.maximum(r, c) for r, c, _ in parts])
    src = np.concatenate([np.full(len(r), s, np.uint8) for r, _, s in parts])
    keep = a != b
    a, b, src = a[keep], b[keep], src[keep]
    key = a * n + b
    uniq, inv = np.unique(key, return_inverse=True)
    sources = np.zeros(len(uniq), np.uint8)
    np.bitwise_or.at(sources, inv, src)
    ea, eb = uniq // n, uniq % n
    gl = None
    if gloss is not None:
        gl = np.isin(uniq, pair_keys(gloss, n))
    return CandidateGraph(
        n=n, edges=np.stack([ea, eb], 1).astype(np.int64), sources=sources,
        cooc=pair_cooc(U, V, ea, eb), semantic=np.einsum("ij,ij->i", semantic[ea], semantic[eb]).astype(np.float32),
        count=np.asarray(counts[ea, eb]).ravel().astype(np.float32), gloss=gl,
    )


def pair_cooc(U: np.ndarray, V: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (0.5 * (np.einsum("ij,ij->i", U[a], V[b]) + np.einsum("ij,ij->i", V[a], U[b]))).astype(np.float32)
