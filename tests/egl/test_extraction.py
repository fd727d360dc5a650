"""Dictionary extraction: names, aliases, case rules, ambiguity resolved by context, event mapping."""

import numpy as np
import pandas as pd
import pytest

from targetbot.egl.extraction import Dictionary, extract_events
from targetbot.egl.gloss import gloss_links
from targetbot.core.errors import DataError

ENTITIES = pd.DataFrame({
    "entity": ["Manchester City", "Liverpool", "Nextala", "Nexium", "Nextala Max", "top up", "smartphone", "Veron",
               "Veron Lite"],
    "type": ["sports_team", "sports_team", "brand", "brand", "product", "service", "category", "brand", "product"],
    "aliases": [["Man City"], ["the Reds", "LFC"], ["NEX", "Nextala protein powder"], ["NEX"], ["NextalaMax"], [],
                ["smartphones"], [], ["Veron Lite smartphone", "VeronLite"]],
    "description": ["", "", "", "", "Nextala Max: protein powder made by Nextala.", "", "", "Veron is a brand of smartphones.",
                    "Veron Lite: smartphone made by Veron."],
})


@pytest.fixture(scope="module")
def d():
    return Dictionary.from_frame(ENTITIES)


def names(d, text):
    return [[d.names[i] for i in ids] for ids in d.match(text)]


def test_names_and_aliases_longest_first(d):
    assert names(d, "Watched the Reds vs Man City's highlights") == [["Liverpool"], ["Manchester City"]]
    assert names(d, "is NextalaMax worth it") == [["Nextala Max"]]
    assert names(d, "Browsed reviews of Nextala Max") == [["Nextala Max"]]  # not Nextala + nothing
    assert names(d, "best SMARTPHONES deals") == [["smartphone"]]


def test_short_capital_aliases_are_case_sensitive(d):
    assert names(d, "Liverpool (LFC) news") == [["Liverpool"], ["Liverpool"]]
    assert names(d, "lfc fans") == []  # the acronym only matches in capitals
    assert names(d, "Topped up phone credit") == []  # 'top up' needs both words; no false hit on 'Top'


def test_ambiguous_alias_lists_every_candidate(d):
    (cands,) = d.match("Browsed reviews of NEX")
    assert sorted(d.names[i] for i in cands) == ["Nexium", "Nextala"]
    assert d.ambiguous_forms == 1


def test_extract_events_maps_codes_and_resolves_ambiguity_by_context(d):
    ts = pd.to_datetime(["2026-06-01 10:00", "2026-06-01 10:05", "2026-06-01 12:00", "2026-06-02 09:00"])
    ev = pd.DataFrame({
        "user_id": pd.Categorical(["u1", "u1", "u2", "u2"]),
        "ts": ts,
        "text": pd.Categorical(["Bought Nextala protein powder", "Browsed reviews of NEX", "Browsed reviews of NEX",
                                "Watched Man City vs the Reds"]),
    })
    m = extract_events(d, ev)
    f = m.frame
    got = [(u, d.names[e], int(k)) for u, e, k in zip(f["user"], f["entity"], f["event"])]
    # u1's NEX follows an unambiguous Nextala mention 5 minutes earlier; u2's has no context and is dropped
    assert got == [("u1", "Nextala", 0), ("u1", "Nextala", 1), ("u2", "Manchester City", 3), ("u2", "Liverpool", 3)]
    assert m.stats["ambiguous_mentions"] == 2 and m.stats["ambiguous_resolved"] == 1
    assert m.stats["events_with_mentions"] == 3


def test_duplicate_entity_is_a_one_line_error():
    bad = pd.concat([ENTITIES, ENTITIES.head(1)], ignore_index=True)
    with pytest.raises(DataError, match="row 9: entity 'Manchester City' appears more than once"):
        Dictionary.from_frame(bad)


def test_gloss_links_name_direct_relations(d):
    links = {tuple(sorted((d.names[a], d.names[b]))) for a, b in gloss_links(d, ENTITIES)}
    # overlapping forms: "Veron Lite: smartphone made by Veron." names smartphone and Veron
    assert ("Veron", "Veron Lite") in links and ("Veron Lite", "smartphone") in links
    assert ("Nextala", "Nextala Max") in links and ("Veron", "smartphone") in links
    assert all(a != b for a, b in links)


def test_extraction_on_the_small_world_is_fast_and_covers_events(small_world):
    import time

    d = Dictionary.from_frame(small_world.entities())
    ev = small_world.events(role="history")
    t = time.perf_counter()
    m = extract_events(d, ev)
    assert time.perf_counter() - t < 20
    assert m.stats["events_with_mentions"] / m.stats["events"] > 0.7
    assert set(ev["window"].unique()) <= set(small_world.meta.roles.history)
    assert np.all(np.diff(m.frame["user"].cat.codes.to_numpy()) >= 0)  # sorted by user
