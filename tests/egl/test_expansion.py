"""k-hop expansion over a hand-made graph: hops, per-hop cut-offs, best paths, seed matching, errors;
and user-entity preference (Eq. 7 mean pooling and top-k pooling)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from targetbot.egl.config import PreferenceConfig
from targetbot.egl.expansion import as_rows, expand, match_seeds
from targetbot.egl.preference import preference_scores, top_k_scores, top_users, user_entities, user_vectors
from targetbot.egl.storage import Graph
from targetbot.core.errors import TargetbotError

NAMES = ["NBA", "Los Angeles Lakers", "LeBron Carter", "Golden State Warriors", "Steph Rivera", "CBA", "bike sharing"]
TYPES = ["sports_league", "sports_team", "athlete", "sports_team", "athlete", "sports_league", "service"]
ALIASES = [["National Basketball Association"], ["Lakers", "LA Lakers"], [], ["Warriors", "Dubs"], [], [], ["shared bikes"]]
# (head, tail, score, kept by head, kept by tail)
EDGES = [
    (0, 1, 0.95, True, True),
    (1, 2, 0.90, True, True),
    (0, 3, 0.80, True, True),
    (3, 4, 0.55, True, True),   # too weak for hop 2's cut-off of 0.6
    (0, 5, 0.40, False, False),  # a candidate, not a mined relation
    (2, 4, 0.99, True, True),   # gives Steph Rivera a 3-hop path only
]


@pytest.fixture
def graph():
    ents = pd.DataFrame({"entity": NAMES, "type": TYPES, "aliases": ALIASES, "description": [""] * len(NAMES)})
    e = pd.DataFrame(EDGES, columns=["head_id", "tail_id", "score", "kept_head", "kept_tail"])
    sem = np.eye(len(NAMES), dtype=np.float32)
    emb = np.eye(len(NAMES), dtype=np.float32)
    return Graph(root=Path("."), manifest={}, entities=ents, edges=e, embeddings=emb,
                 thresholds=np.zeros(len(NAMES), np.float32), semantic=sem)


def test_two_hops_with_cutoffs_and_paths(graph):
    seeds = match_seeds(graph, ["NBA"], 0.5)
    rows = as_rows(graph, expand(graph, seeds, hops=2, min_score=[0.5, 0.6], max_per_node=8, max_entities=50))
    got = {r["entity"]: (r["hop"], r["path"]) for r in rows}
    assert got["NBA"] == (0, ["NBA"])
    assert got["Los Angeles Lakers"] == (1, ["NBA", "Los Angeles Lakers"])
    assert got["Golden State Warriors"] == (1, ["NBA", "Golden State Warriors"])
    assert got["LeBron Carter"] == (2, ["NBA", "Los Angeles Lakers", "LeBron Carter"])
    assert "Steph Rivera" not in got  # 0.55 < hop-2 cut-off; the strong path needs 3 hops
    assert "CBA" not in got  # not a mined relation
    lakers = next(r for r in rows if r["entity"] == "Los Angeles Lakers")
    assert lakers["score"] == pytest.approx(0.95) and set(lakers) == {"entity", "type", "hop", "score", "path"}
    lebron = next(r for r in rows if r["entity"] == "LeBron Carter")
    assert lebron["score"] == pytest.approx(0.95 * 0.90, abs=1e-4)


def test_three_hops_follow_the_best_path(graph):
    seeds = match_seeds(graph, ["NBA"], 0.5)
    rows = as_rows(graph, expand(graph, seeds, hops=3, min_score=[0.5], max_per_node=8, max_entities=50))
    steph = next(r for r in rows if r["entity"] == "Steph Rivera")
    # via Warriors at hop 2 (0.8 * 0.55 = 0.44); it is never re-added at hop 3 with a longer path
    assert steph["hop"] == 2 and steph["path"] == ["NBA", "Golden State Warriors", "Steph Rivera"]


def test_seed_matching_by_alias_mention_and_semantics(graph):
    assert [graph.names[s.entity] for s in match_seeds(graph, ["dubs"], 0.5)] == ["Golden State Warriors"]
    assert [s.how for s in match_seeds(graph, ["LA Lakers"], 0.5)] == ["alias"]
    m = match_seeds(graph, ["Lakers games tonight"], 0.5)
    assert [graph.names[s.entity] for s in m] == ["Los Angeles Lakers"] and m[0].how == "mention"
    enc = lambda texts: np.array([np.eye(len(NAMES))[6]], np.float32)  # noqa: E731 - phrase ~ bike sharing
    m = match_seeds(graph, ["e-scooter rental"], 0.5, encode=enc)
    assert m[0].how == "semantic" and graph.names[m[0].entity] == "bike sharing"


def test_unknown_seed_is_one_line_error_with_suggestions(graph):
    with pytest.raises(TargetbotError, match=r"no entity matches 'Lakerz'; did you mean: Los Angeles Lakers"):
        match_seeds(graph, ["Lakerz"], 0.5)


def test_preference_is_mean_embedding_dot_entity():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
    m = pd.DataFrame({"user": ["a", "a", "b"], "entity": [0, 2, 1]})
    ids, r = user_vectors(m, emb)
    assert list(ids) == ["a", "b"]
    np.testing.assert_allclose(r, [[1.0, 0.5], [0.0, 1.0]])
    s = preference_scores(r, emb, [0, 1])  # mean of r.h0 and r.h1
    np.testing.assert_allclose(s, [0.75, 0.5])
    assert top_users(ids, s, 1) == [{"user_id": "a", "score": 0.75}]


def test_top_k_pooling_known_values():
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [-1.0, 0.0]], np.float32)
    m = pd.DataFrame({"user": ["a", "a", "a", "a", "b", "c"], "entity": [0, 0, 1, 3, 2, 3]})
    ids, inc = user_entities(m, len(emb))
    assert list(ids) == ["a", "b", "c"] and inc[0, 0] == 2  # counts, one row per user
    # target = h_0: a's distinct entities score 1, 0, -1; b's 0.6; c's -1
    np.testing.assert_allclose(top_k_scores(inc, emb, [0], k=1), [1.0, 0.6, -1.0])
    np.testing.assert_allclose(top_k_scores(inc, emb, [0], k=2), [0.5, 0.6, -1.0])  # fewer than k: all of them
    np.testing.assert_allclose(top_k_scores(inc, emb, [0], k=3), [0.0, 0.6, -1.0])
    # weighted target (3 h_0 + h_1) / 4 = (0.75, 0.25): a's best two are 0.75 and 0.25
    np.testing.assert_allclose(top_k_scores(inc, emb, [0, 1], [3.0, 1.0], k=2), [0.5, 0.65, -0.75])
    with pytest.raises(TargetbotError, match="top_k must be at least 1"):
        top_k_scores(inc, emb, [0], k=0)


def test_top_k_pooling_matches_a_per_user_sort_with_ties():
    from scipy import sparse

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(50, 4)).astype(np.float32)
    emb[7] = emb[3]  # two entities equally close to any target
    inc = sparse.random(300, 50, density=0.1, random_state=1, format="csr")
    sim = emb @ emb[[3, 9]].mean(0)
    for k in (1, 2, 3, 5):
        ref = [np.sort(sim[inc[i].indices])[::-1][:k].mean() if inc[i].nnz else -1.0 for i in range(300)]
        np.testing.assert_allclose(top_k_scores(inc, emb, [3, 9], k=k), ref, atol=1e-6)


def test_top_k_finds_the_user_who_touched_the_target_among_many_other_things():
    """Why top_k is the default: a rider of bike sharing (entity 0) who also does many unrelated
    things has a lower mean preference than a user who only does something half-related."""
    emb = np.array([[1.0, 0.0], [0.5, 0.866], [0.0, 1.0]], np.float32)
    m = pd.DataFrame({"user": ["rider"] + ["rider"] * 6 + ["other"] * 3, "entity": [0] + [2] * 6 + [1] * 3})
    ids, inc = user_entities(m, len(emb))
    _, r = user_vectors(m, emb)
    mean = preference_scores(r, emb, [0])
    top = top_k_scores(inc, emb, [0], k=1)
    assert mean[0] < mean[1]  # the centroid hides the rider
    assert top[0] > top[1]


def test_graph_preference_pooling_switch_and_stale_store(graph, tmp_path):
    emb = graph.h
    m = pd.DataFrame({"user": ["u1", "u1", "u2"], "entity": [1, 6, 6]})
    ids, r = user_vectors(m, emb)
    _, inc = user_entities(m, graph.n)
    root = tmp_path / "g"
    root.mkdir()
    pd.DataFrame({"user_id": list(ids)}).to_parquet(root / "users.parquet")
    np.save(root / "preferences.npy", r)
    g = Graph(root=root, manifest={"workspace": "ws"}, entities=graph.entities, edges=graph.edges,
              embeddings=graph.embeddings, thresholds=graph.thresholds, semantic=graph.semantic)
    _, s = g.preference([1], pooling="mean")
    np.testing.assert_allclose(s, preference_scores(r, emb, [1]))
    with pytest.raises(TargetbotError, match="user_entities.npz missing .* --stage graph --force"):
        g.preference([1])
    from scipy import sparse

    sparse.save_npz(root / "user_entities.npz", inc)
    _, s = g.preference([1], config=PreferenceConfig(top_k=1, mean_weight=0.0))
    np.testing.assert_allclose(s, top_k_scores(inc, emb, [1], k=1))
    _, s = g.preference([1], config=PreferenceConfig(top_k=1))  # default: plus Eq. 7's term
    np.testing.assert_allclose(s, top_k_scores(inc, emb, [1], k=1) + preference_scores(r, emb, [1]))
    with pytest.raises(TargetbotError, match="unknown preference pooling 'max'"):
        g.preference([1], pooling="max")


def test_hubs_are_neither_returned_nor_passed_through_unless_seeds(graph):
    g = Graph(root=graph.root, manifest={}, entities=graph.entities.assign(degree=[3, 500, 1, 2, 2, 0, 0]),
              edges=graph.edges, embeddings=graph.embeddings, thresholds=graph.thresholds, semantic=graph.semantic)
    rows = as_rows(g, expand(g, match_seeds(g, ["NBA"], 0.5), hops=2, min_score=[0.5], max_per_node=8,
                             max_entities=50, hub_share=0.05))
    got = {r["entity"] for r in rows}
    assert "Los Angeles Lakers" not in got and "LeBron Carter" not in got  # only reachable through the hub
    assert "Golden State Warriors" in got
    rows = as_rows(g, expand(g, match_seeds(g, ["Lakers"], 0.5), hops=1, min_score=[0.5], max_per_node=8,
                             max_entities=50, hub_share=0.05))
    assert {r["entity"] for r in rows} >= {"Los Angeles Lakers", "LeBron Carter"}  # a hub seed still expands
    rows = as_rows(g, expand(g, match_seeds(g, ["NBA"], 0.5), hops=2, min_score=[0.5], max_per_node=8,
                             max_entities=50, hub_share=1.0))
    assert "Los Angeles Lakers" in {r["entity"] for r in rows}  # 1 turns it off
