"""The world simulator: determinism, contract, windows, scenarios and catalog size."""

from __future__ import annotations

import pandas as pd

from targetbot.core.scenarios import LabelContext, compute_labels, load_scenarios
from targetbot.core.validate import validate_workspace
from targetbot.core.world.catalog import build_catalog
from targetbot.core.world.generate import WorldConfig, simulate


def test_catalog_is_large_typed_and_related():
    cat = build_catalog(7)
    ents = cat.entities_frame()
    assert len(ents) >= 1500 and ents["type"].nunique() >= 26
    assert ents["entity"].is_unique
    rels = cat.relations_frame()
    assert set(rels["head"]) | set(rels["tail"]) <= set(ents["entity"])
    assert (ents["aliases"].map(len) > 0).mean() > 0.9


def test_same_seed_same_world():
    a = simulate(WorldConfig(users=120, seed=5))[2]
    b = simulate(WorldConfig(users=120, seed=5))[2]
    c = simulate(WorldConfig(users=120, seed=6))[2]
    pd.testing.assert_frame_equal(a, b)
    assert not a["text"].astype(str).equals(c["text"].astype(str))


def test_small_world_is_valid(small_world):
    assert [p for p in validate_workspace(small_world) if not p.warning] == []
    profiles = small_world.profiles()
    assert len(profiles.columns) - 1 >= 20
    events = small_world.events()
    assert set(events["window"].unique()) == {"w0", "w1", "w2"}
    assert set(events["source"].unique()) >= {"bill", "miniprogram", "page", "search"}


def test_windows_keep_training_and_labels_apart(small_world):
    roles = small_world.meta.roles
    assert not set(roles.label) & set(roles.history)
    assert roles.train_input != roles.train_target


def test_cold_start_services_only_in_label_window(small_world):
    ev = small_world.events()
    volt = ev[ev["merchant"].astype(str) == "VoltRide"]
    assert len(volt) > 0 and set(volt["window"]) == {"w2"}
    assert not ev.loc[ev["window"] != "w2", "text"].astype(str).str.contains("VoltRide").any()


def test_thirteen_scenarios_over_three_domains(small_world):
    scenarios = load_scenarios(small_world.scenario_files())
    assert len(scenarios) == 13
    assert {s.domain for s in scenarios} == {"security", "marketing", "recommendation"}
    ctx = LabelContext.load(small_world)
    for s in scenarios:
        lab = compute_labels(s, ctx)
        assert s.hard_negative is not None
        assert 0 < lab.prevalence < 0.5, s.name


def test_difficulty_knobs_change_lead_volume():
    def leads(signal):
        ev = simulate(WorldConfig(users=400, seed=2, signal=signal))[2]
        return int(ev["text"].astype(str).str.contains("monthly phone payment plan|phone won't turn on").sum())
    assert leads(0.0) < leads(2.0)


def test_a_world_in_chunks_is_one_world(tmp_path):
    """Chunks append to the same files: ids run on, every user once, events in (user, time) order,
    the same world for the same seed, and a one-chunk world is the simulator's own."""
    from targetbot.core.workspace import Workspace
    from targetbot.core.world.generate import generate_world

    cfg = WorldConfig(users=250, seed=4, chunk_users=100)
    r = generate_world(tmp_path / "a", cfg)
    assert r["chunks"] == 3 and r["users"] == 250
    ws = Workspace.open(tmp_path / "a")
    ids = ws.profiles()["user_id"].astype(str)
    assert ids.tolist() == [f"u{i:03d}" for i in range(250)]
    ev = ws.events()
    assert len(ev) == r["events"] and set(ev["user_id"].astype(str)) <= set(ids)
    assert ev["user_id"].astype(str).is_monotonic_increasing
    assert [p for p in validate_workspace(ws) if not p.warning] == []
    generate_world(tmp_path / "b", cfg)
    pd.testing.assert_frame_equal(ev, Workspace.open(tmp_path / "b").events())
    one = WorldConfig(users=120, seed=5, chunk_users=500)
    generate_world(tmp_path / "c", one)
    single = simulate(WorldConfig(users=120, seed=5))[2]
    assert Workspace.open(tmp_path / "c").events().drop(columns="window").astype(str).equals(single.astype(str))
    assert not list((tmp_path / "a" / "data").glob(".*.tmp"))  # the chunk files were moved into place
