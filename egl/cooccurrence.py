"""Skip-gram co-occurrence embeddings of entities (SGNS over session context pairs).

Word2vec's skip-gram with negative sampling, trained on the aggregated context-pair counts
instead of re-reading the sequences each epoch: positive (entity, context) pairs are drawn
in proportion to their counts, negatives from the unigram distribution to the 3/4 power.
Each entity gets an input vector u and an output vector v; u_a·v_b estimates the shifted
PMI of the pair (Levy & Goldberg 2014), i.e. *first-order* proximity — how often b occurs next
to a — which is what a relation candidate needs. u_a·u_b (shared contexts) is second-order and
would pair up siblings such as two phones of one brand.

Small vocabularies (up to `full_batch_max` entities, the default world has ~1,700) train on the
exact expectation of the SGNS objective over all pairs each step, weighted by the counts and
the noise distribution — the same optimum as sampling, without sampling noise, and far
faster on a CPU than millions of sparse embedding updates. Larger vocabularies sample pairs.

Entities that never occur get zero vectors.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from scipy import sparse


def skipgram(counts: sparse.csr_matrix, dim: int = 64, steps: int = 3000, batch: int = 4096,
             negatives: int = 5, lr: float = 0.01, seed: int = 0, full_batch_max: int = 6000,
             full_batch_steps: int = 200, progress: Callable[[int, int], None] | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """(U, V): input and output vectors, float32, shape (n, dim)."""
    n = counts.shape[0]
    coo = counts.tocoo()
    U = np.zeros((n, dim), np.float32)
    V = np.zeros((n, dim), np.float32)
    if coo.nnz == 0:
        return U, V
    if n <= full_batch_max:
        return _skipgram_full(counts, dim, full_batch_steps, negatives, lr * 3, seed, progress)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    rows = torch.from_numpy(coo.row.astype(np.int64))
    cols = torch.from_numpy(coo.col.astype(np.int64))
    pair_p = torch.from_numpy((coo.data / coo.data.sum()).astype(np.float64))
    freq = np.asarray(counts.sum(axis=1)).ravel()
    noise = torch.from_numpy((freq ** 0.75 / (freq ** 0.75).sum()).astype(np.float64))
    seen = freq > 0

    emb_u = torch.nn.Embedding(n, dim)
    emb_v = torch.nn.Embedding(n, dim)
    with torch.no_grad():
        emb_u.weight.copy_(torch.from_numpy(rng.uniform(-0.5 / dim, 0.5 / dim, (n, dim)).astype(np.float32)))
        emb_v.weight.zero_()
    opt = torch.optim.Adam(list(emb_u.parameters()) + list(emb_v.parameters()), lr=lr)
    logsig = torch.nn.functional.logsigmoid
    for step in range(steps):
        idx = torch.multinomial(pair_p, batch, replacement=True, generator=gen)
        a, b = rows[idx], cols[idx]
        neg = torch.multinomial(noise, batch * negatives, replacement=True, generator=gen).view(batch, negatives)
        ua = emb_u(a)
        pos = (ua * emb_v(b)).sum(-1)
        negs = torch.bmm(emb_v(neg), ua.unsqueeze(-1)).squeeze(-1)
        loss = -(logsig(pos).mean() + logsig(-negs).sum(-1).mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if progress is not None and (step + 1) % 100 == 0:
            progress(step + 1, steps)
    U = emb_u.weight.detach().numpy().copy()
    V = emb_v.weight.detach().numpy().copy()
    U[~seen] = 0.0
    V[~seen] = 0.0
    return U, V


def _skipgram_full(counts: sparse.csr_matrix, dim: int, steps: int, negatives: int, lr: float, seed: int,
                   progress) -> tuple[np.ndarray, np.ndarray]:
    """Expected SGNS loss over all pairs: -sum_ab P(a,b) log s(u_a.v_b) - k sum_a P(a) sum_b Q(b) log s(-u_a.v_b)."""
    n = counts.shape[0]
    torch.manual_seed(seed)
    dense = torch.from_numpy(counts.toarray().astype(np.float32))
    freq = dense.sum(1)
    seen = (freq > 0).numpy()
    p_pair = dense / dense.sum()
    p_a = freq / freq.sum()
    q = freq ** 0.75
    q = q / q.sum()
    neg_w = negatives * p_a[:, None] * q[None, :]
    U = torch.nn.Parameter((torch.rand(n, dim) - 0.5) / dim)
    V = torch.nn.Parameter(torch.zeros(n, dim))
    opt = torch.optim.Adam([U, V], lr=lr)
    logsig = torch.nn.functional.logsigmoid
    for step in range(steps):
        s = U @ V.T
        loss = -(p_pair * logsig(s)).sum() - (neg_w * logsig(-s)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if progress is not None and (step + 1) % 50 == 0:
            progress(step + 1, steps)
    U_, V_ = U.detach().numpy().copy(), V.detach().numpy().copy()
    U_[~seen] = 0.0
    V_[~seen] = 0.0
    return U_, V_


def first_order(U: np.ndarray, V: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Symmetric first-order score (u_a·v_b + u_b·v_a) / 2 for `rows` against every entity."""
    if rows is None:
        rows = np.arange(len(U))
    return 0.5 * (U[rows] @ V.T + V[rows] @ U.T)
