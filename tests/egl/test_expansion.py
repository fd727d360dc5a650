"""k-hop expansion over a hand-made graph: hops, per-hop cut-offs, best paths, seed matching, errors;
and user-entity preference (Eq. 7)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from egl.expansion import as_rows, expand, match_seeds
from egl.preference import preference_scores, top_users, user_vectors
from egl.storage import Graph
from targetbot.errors import TargetbotError

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
