"""Sequences, snapshots, session pairs, skip-gram, Stage-I candidates and the random-walk baselines
on tiny hand-made inputs."""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from targetbot.egl.candidates import COOC, KNOWN, SEMANTIC, CandidateGraph, candidate_graph, pair_keys
from targetbot.egl.cooccurrence import first_order, skipgram
from targetbot.egl.randomwalk import random_walks, walk_counts
from targetbot.egl.sequences import context_pairs, in_snapshot, snapshots


def frame(rows):
    df = pd.DataFrame(rows, columns=["user", "ts", "entity", "event"])
    df["user"] = df["user"].astype("category")
    df["ts"] = pd.to_datetime(df["ts"])
    return df.sort_values(["user", "ts", "event"]).reset_index(drop=True)


def test_context_pairs_are_session_neighbours_across_events():
    f = frame([
        ("u1", "2026-06-01 10:00", 0, 0), ("u1", "2026-06-01 10:00", 1, 0),  # one event, two mentions: not paired
        ("u1", "2026-06-01 10:05", 2, 1),  # next event: pairs with both mentions of event 0
        ("u1", "2026-06-01 12:00", 3, 2),  # two hours later: another session
        ("u2", "2026-06-01 10:06", 3, 3),  # another user: never paired with u1
    ])
    c = context_pairs(f, 4, window=1, gap_minutes=30).toarray()
    assert c[0, 1] == 0 and c[0, 2] == 1 and c[1, 2] == 1 and c[2, 3] == 0
    assert (c == c.T).all() and c.sum() == 4
    c2 = context_pairs(f, 4, window=2, gap_minutes=180).toarray()
    assert c2[0, 3] == 1 and c2[2, 3] == 1  # two events apart, within three hours


def test_snapshots_roll_back_from_the_end_of_history():
    days = pd.date_range("2026-06-01", periods=60, freq="D")
    f = frame([("u", d, 0, i) for i, d in enumerate(days)])
    snaps = snapshots(f, days=30, count=3, stride_days=10)
    assert [s.end for s in snaps] == [pd.Timestamp("2026-07-11"), pd.Timestamp("2026-07-21"), pd.Timestamp("2026-07-31")]
    assert all((s.end - s.start).days == 30 for s in snaps)
    assert len(in_snapshot(f, snaps[-1])) == 30
    # the latest window must hold 80 % of mentions: it widens to ~48 days, strides in proportion
    wide = snapshots(f, days=30, count=2, stride_days=5, min_share=0.8)
    assert (wide[-1].end - wide[-1].start).days >= 47 and len(in_snapshot(f, wide[-1])) >= 47


def test_skipgram_first_order_ranks_the_true_partner_first():
    # 0-1 and 2-3 co-occur often, 0-2 rarely
    rows, cols, vals = [0, 2, 0], [1, 3, 2], [50.0, 50.0, 2.0]
    c = sparse.coo_matrix((vals, (rows, cols)), shape=(5, 5)).tocsr()
    c = (c + c.T).tocsr()
    U, V = skipgram(c, dim=8, full_batch_steps=150, lr=0.03, seed=0)
    s = first_order(U, V)
    assert s[0, 1] > s[0, 2] and s[2, 3] > s[2, 0]
    assert not U[4].any() and not V[4].any()  # never seen: zero vectors


def test_candidate_graph_unions_generators_and_marks_sources():
    U = np.eye(4, dtype=np.float32)
    V = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], np.float32)  # 0<->1, 2<->3 first order
    sem = np.array([[1, 0], [0, 1], [1, 0.1], [0, 1]], np.float32)
    sem /= np.linalg.norm(sem, axis=1, keepdims=True)
    counts = sparse.csr_matrix(np.array([[0, 5, 0, 0], [5, 0, 0, 0], [0, 0, 0, 5], [0, 0, 5, 0]], np.float32))
    g = candidate_graph(U, V, sem, counts, k_cooc=1, k_semantic=1, min_count=1, known=np.array([[1, 2]]),
                        gloss=np.array([[0, 1]]))
    edges = {tuple(e): int(s) for e, s in zip(g.edges.tolist(), g.sources)}
    assert edges[(0, 1)] == COOC and edges[(2, 3)] == COOC
    assert edges[(0, 2)] == SEMANTIC and edges[(1, 3)] == SEMANTIC and edges[(1, 2)] == KNOWN
    assert g.gloss[list(edges).index((0, 1))] and g.gloss.sum() == 1
    assert g.count[list(edges).index((0, 1))] == 5 and 0 <= g.score.min() and g.score.max() <= 1


@pytest.mark.parametrize("p,q", [(1.0, 1.0), (1.0, 0.5), (4.0, 0.25)])
def test_random_walks_follow_edges(p, q):
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [1, 3]])
    walks = random_walks(edges, 5, walks_per_node=3, length=8, p=p, q=q, seed=1)
    ok = {(a, b) for a, b in edges.tolist()} | {(b, a) for a, b in edges.tolist()}
    assert walks.shape == (12, 8) and 4 not in walks  # the isolated node never appears
    assert all((a, b) in ok for w in walks for a, b in zip(w[:-1], w[1:]))
    c = walk_counts(walks, 5, window=2)
    assert (c != c.T).nnz == 0 and c[4].sum() == 0


def test_pair_keys_ignore_order_and_match_stored_edges():
    assert pair_keys(np.array([[3, 1], [1, 3], [0, 2]]), 10).tolist() == [13, 13, 2]
    assert pair_keys(np.zeros((0, 2), np.int32), 10).tolist() == []


def test_candidate_graph_held_out_edges_and_contained_pairs():
    edges = np.array([[0, 2], [1, 3], [2, 5]], np.int64)
    z = np.zeros(3)
    g = CandidateGraph(n=10, edges=edges, sources=np.ones(3, np.uint8), cooc=z, semantic=z, count=z)
    assert g.keys().tolist() == [2, 13, 25]
    test_pairs = np.array([[3, 1], [4, 7], [5, 2]])  # two candidate edges (either order) and a non-edge
    assert g.held_out(test_pairs).tolist() == [False, True, True]
    assert g.contains(test_pairs).tolist() == [True, False, True]
