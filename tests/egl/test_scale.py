"""The graph build at scale: relations mined from a sample of users, preferences for every user
computed batch by batch, and the config key of existing graphs left as it was."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import sparse

from targetbot.core.workspace import Workspace
from targetbot.egl.build import build_graph, sample_user_index
from targetbot.egl.config import GraphConfig
from targetbot.egl.extraction import Dictionary, TextMatches, extract_events
from targetbot.egl.preference import mean_vectors
from targetbot.egl.sequences import Snapshot, in_snapshot

from tests.egl.conftest import TINY, hashing_models
from tests.egl.test_extraction import ENTITIES


def stored(root):
    g = root / "artifacts" / "graph"
    users = pd.read_parquet(g / "users.parquet")["user_id"].astype(str).tolist()
    return users, np.load(g / "preferences.npy"), sparse.load_npz(g / "user_entities.npz").tocsr(), g


def copy_world(src, dst, **config):
    shutil.copytree(src, dst)
    (dst / "egl.yaml").write_text(yaml.safe_dump({**TINY, **config}))
    return Workspace.open(dst)


def test_config_key_follows_the_mining_sample():
    # without a sample the key is the one every graph built before sampling carries
    assert GraphConfig(sample_users=None).key() == "cddc11f2f213"
    assert GraphConfig(sample_users=1000).key() != GraphConfig().key() != GraphConfig(sample_users=None).key()


def test_user_sample_is_seeded_sorted_and_only_when_smaller():
    assert sample_user_index(100, None, 0) is None and sample_user_index(100, 100, 0) is None
    s = sample_user_index(100, 30, 5)
    assert len(s) == 30 and len(np.unique(s)) == 30 and (np.diff(s) > 0).all() and s.max() < 100
    assert np.array_equal(s, sample_user_index(100, 30, 5)) and not np.array_equal(s, sample_user_index(100, 30, 6))


def test_text_matches_match_each_text_once_and_agree_with_the_dictionary():
    d = Dictionary.from_frame(ENTITIES)
    calls = []
    match = d.match
    d.match = lambda t: calls.append(t) or match(t)
    tm = TextMatches(d)
    ev = pd.DataFrame({
        "user_id": pd.Categorical(["u1", "u1", "u2"]),
        "ts": pd.to_datetime(["2026-06-01 10:00", "2026-06-01 10:05", "2026-06-01 11:00"]),
        # an unused category: a batch read from Parquet carries the whole file's texts
        "text": pd.Categorical(["Bought Nextala protein powder", "Browsed reviews of NEX", "Watched Man City"],
                               categories=["Bought Nextala protein powder", "Browsed reviews of NEX",
                                           "Watched Man City", "never used LFC"]),
    })
    a = extract_events(tm, ev)
    b = extract_events(tm, ev)
    assert sorted(calls) == sorted(ev["text"].astype(str))  # the second pass and the unused text: no matching
    assert len(tm) == 3 and tm.texts_with_mentions == 3 and a.stats["distinct_texts"] == 3
    assert a.frame.equals(b.frame) and a.frame.equals(extract_events(Dictionary.from_frame(ENTITIES), ev).frame)


def test_batched_build_equals_one_batch(graph_world_path, tmp_path):
    ws = copy_world(graph_world_path, tmp_path / "ws")
    build_graph(ws, hashing_models(), force=True, batch_users=50)
    one_users, one_r, one_inc, one = stored(graph_world_path)
    users, r, inc, g = stored(ws.root)
    assert json.loads((g / "manifest.json").read_text())["key"] == json.loads((one / "manifest.json").read_text())["key"]
    assert users == one_users and len(users) > 0
    assert np.allclose(r, one_r, atol=1e-6, rtol=0)
    assert inc.shape == one_inc.shape and (inc != one_inc).nnz == 0
    # the mined graph does not depend on the batches either
    assert np.array_equal(np.load(g / "embeddings.npy"), np.load(one / "embeddings.npy"))
    assert pd.read_parquet(g / "edges.parquet").equals(pd.read_parquet(one / "edges.parquet"))


@pytest.mark.parametrize("all_below", [5000, 100])
def test_sampled_build_has_preferences_for_every_user(graph_world_path, tmp_path, all_below):
    # all_below 100: a large dictionary, where the graph holds only the sample's entities, so
    # other users' mentions of the rest have nothing to prefer
    ws = copy_world(graph_world_path, tmp_path / "ws", sample_users=150, nodes={"all_below": all_below})
    n_users = len(ws.read_table("profiles", ["user_id"]))
    assert n_users > 150
    res = build_graph(ws, hashing_models(), force=True, batch_users=100)
    assert res["stats"]["mined_users"] == 150
    users, r, inc, g = stored(ws.root)
    man = json.loads((g / "manifest.json").read_text())
    assert man["key"] == GraphConfig.for_workspace(ws.root).key() != GraphConfig.model_validate(TINY).key()
    # only the sample's events were mined
    ev = ws.events(role="history", columns=["user_id", "ts", "text"])
    assert 0 < man["stats"]["extraction"]["events"] < len(ev)

    # every user who names a graph entity in the latest snapshot has a preference, in profile order
    ents = ws.entities()
    frame = extract_events(Dictionary.from_frame(ents), ev).frame
    s = man["snapshots"][-1]
    latest = in_snapshot(frame, Snapshot(s["name"], pd.Timestamp(s["start"]), pd.Timestamp(s["end"])))
    graph_ents = pd.read_parquet(g / "entities.parquet")
    in_graph = ents["entity"].astype(str).isin(graph_ents["entity"]).to_numpy()
    assert in_graph.all() == (all_below == 5000)
    latest = latest[in_graph[latest["entity"].to_numpy()]]
    profile = ws.read_table("profiles", ["user_id"])["user_id"].astype(str)
    expect = [u for u in profile if u in set(latest["user"].astype(str))]
    assert users == expect and len(users) > 150
    assert inc.shape == (len(users), len(graph_ents)) and r.shape[0] == len(users)
    assert inc.sum() == len(latest)
    assert np.array_equal(r, mean_vectors(inc, np.load(g / "preference_embeddings.npy")))
    # entity mention counts are every user's, not only the sample's
    assert np.array_equal(graph_ents["mentions"].to_numpy(), np.asarray(inc.sum(axis=0)).ravel().astype(np.int64))
