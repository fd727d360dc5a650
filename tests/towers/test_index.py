"""The user index (towers/index.py): exact by default, IVF past a configured size."""

import faiss
import numpy as np

from targetbot.towers.config import IndexConfig
from targetbot.towers.index import build_index, range_search, search


def _unit(n, d=16, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_until_the_size_then_ivf():
    x = _unit(12_000)
    assert isinstance(build_index(x, IndexConfig()), faiss.IndexFlatIP)
    assert isinstance(build_index(x, IndexConfig(ivf_above=20_000)), faiss.IndexFlatIP)
    ivf = build_index(x, IndexConfig(ivf_above=10_000, nlist=16))
    assert isinstance(ivf, faiss.IndexIVFFlat) and ivf.nlist == int(np.sqrt(len(x))) and ivf.ntotal == len(x)
    scores, ids = search(ivf, x[:5], 1)
    assert (ids[:, 0] == np.arange(5)).all()  # each vector finds itself
    got, s = range_search(ivf, x[7], 0.99)
    assert 7 in got and (np.diff(s) <= 0).all()
