"""The user vector index: faiss inner product over L2-normalised user embeddings.

Exact (`flat`) by default; `ivf` and `hnsw` trade exactness for speed past ~1M users.
`search` gives the top-k; `range_search` gives every user above a threshold.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from targetbot.core.atomic import atomic_path
from targetbot.towers.config import IndexConfig


def build_index(vectors: np.ndarray, cfg: IndexConfig) -> faiss.Index:
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    d = x.shape[1]
    if cfg.kind == "flat" and cfg.ivf_above is not None and len(x) >= cfg.ivf_above:  # exact search costs O(users)
        cfg = cfg.model_copy(update={"kind": "ivf", "nlist": max(cfg.nlist, int(np.sqrt(len(x))))})
    if cfg.kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 128
    elif cfg.kind == "ivf" and len(x) >= cfg.nlist * 39:
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, cfg.nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(x)
        index.nprobe = max(1, cfg.nlist // 16)
    else:  # exact; also the fallback when there are too few vectors to train IVF centroids
        index = faiss.IndexFlatIP(d)
    index.add(x)
    return index


def save_index(index: faiss.Index, path: Path) -> None:
    with atomic_path(path) as tmp:
        faiss.write_index(index, str(tmp))


def load_index(path: Path) -> faiss.Index:
    return faiss.read_index(str(path))


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = min(k, index.ntotal)
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def range_search(index: faiss.Index, query: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Every vector with inner product >= threshold: (ids, scores), best first."""
    q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    if isinstance(index, faiss.IndexHNSW):  # HNSW has no range search: widen a k-NN search
        k = index.ntotal
        scores, ids = index.search(q, k)
        keep = scores[0] >= threshold
        return ids[0][keep], scores[0][keep]
    lims, scores, ids = index.range_search(q, threshold)
    order = np.argsort(-scores)
    return ids[order], scores[order]
