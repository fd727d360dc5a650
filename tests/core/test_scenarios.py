"""The label-rule language: parsing, errors, and evaluation on tiny hand-made tables."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from targetbot.core.contract import ProfileSchema
from targetbot.core.errors import DataError
from targetbot.core.scenarios import LabelContext, compute_labels, load_scenario, parse_scenario
from targetbot.core.workspace import Roles, Window, Workspace, WorkspaceMeta


def tiny_workspace(root) -> Workspace:
    meta = WorkspaceMeta(
        name="tiny", windows=[Window(name="w0", start=datetime(2026, 1, 1), end=datetime(2026, 2, 1)),
                              Window(name="w1", start=datetime(2026, 2, 1), end=datetime(2026, 3, 1))],
        roles=Roles(train_input=["w0"], train_target=["w0"], history=["w0"], label=["w1"]))
    ws = Workspace.create(root, meta)
    ws.write_table("events", pd.DataFrame({
        "user_id": ["a", "a", "b", "b", "b", "c", "d"],
        "ts": pd.to_datetime(["2026-01-05", "2026-02-03", "2026-02-04", "2026-02-05", "2026-02-05 10:00",
                              "2026-01-20", "2026-02-10"], format="ISO8601"),
        "source": ["bill", "bill", "bill", "bill", "search", "page", "bill"],
        "text": ["Paid rent", "Started a phone rental", "Rented a phone", "Bought a phone case", "phone rental price",
                 "Viewed phone reviews", "Paid 500 for a laptop"],
        "category": ["monthly rent", "phone rental", "phone rental", "phone case", None, None, "laptop"],
        "amount": [3000.0, 99.0, 120.0, 30.0, None, None, 500.0],
    }))
    ws.write_table("profiles", pd.DataFrame({"user_id": ["a", "b", "c", "d"], "age": [25, 41, 33, 19],
                                             "city_tier": ["1", "2", "1", "3"]}))
    ws.write_profile_schema(ProfileSchema(columns={"age": "numeric", "city_tier": "categorical"}))
    return ws


def label_users(ws: Workspace, rule: dict, hard: dict | None = None) -> tuple[list[str], list[str]]:
    raw = {"name": "t", "domain": "test", "demand": "users who test", "label": rule}
    if hard:
        raw["hard_negative"] = hard
    lab = compute_labels(parse_scenario(raw), LabelContext.load(ws)).labels
    return sorted(lab.loc[lab.label == 1, "user_id"]), sorted(lab.loc[lab.hard_negative == 1, "user_id"])


@pytest.fixture
def ws(tmp_path):
    return tiny_workspace(tmp_path / "ws")


def test_events_in_label_window_only(ws):
    pos, _ = label_users(ws, {"events": {"where": {"category": "phone rental"}}})
    assert pos == ["a", "b"]  # both rentals fall in w1 (the label window)


def test_history_window_and_not(ws):
    rule = {"all": [{"events": {"where": {"category": "phone rental"}}},
                    {"not": {"events": {"window": "history", "where": {"category": "monthly rent"}}}}]}
    pos, _ = label_users(ws, rule)
    assert pos == ["b"]


def test_count_sum_days_and_distinct(ws):
    assert label_users(ws, {"events": {"where": {"source": "bill"}, "count": {"gte": 2}}})[0] == ["b"]
    assert label_users(ws, {"events": {"where": {"source": "bill"}, "sum": {"amount": {"gt": 400}}}})[0] == ["d"]
    assert label_users(ws, {"events": {"where": {"text": {"contains": "PHONE"}}, "days": {"gte": 2}}})[0] == ["b"]
    assert label_users(ws, {"events": {"distinct": {"category": {"gte": 2}}}})[0] == ["b"]
    # b: 2 of its 3 label-window events are rentals; a: 1 of 1
    assert label_users(ws, {"events": {"where": {"category": "phone rental"}, "share": {"gte": 0.9}}})[0] == ["a"]


def test_profile_conditions_and_operators(ws):
    assert label_users(ws, {"profile": {"age": {"between": [20, 35]}}})[0] == ["a", "c"]
    assert label_users(ws, {"profile": {"city_tier": [1, 3]}})[0] == ["a", "c", "d"]  # YAML ints match strings
    assert label_users(ws, {"any": [{"profile": {"age": {"lt": 20}}},
                                    {"events": {"where": {"text": {"matches": r"^rented"}}}}]})[0] == ["b", "d"]


def test_hard_negatives_exclude_positives(ws):
    pos, hard = label_users(ws, {"events": {"where": {"category": "phone rental"}}},
                            {"events": {"where": {"text": {"contains_any": ["phone", "laptop"]}}}})
    assert pos == ["a", "b"] and hard == ["d"]


@pytest.mark.parametrize("rule, message", [
    ({"evnts": {}}, "unknown rule 'evnts'"),
    ({"events": {"where": {"source": {"gtt": 1}}}}, "unknown operator 'gtt'"),
    ({"all": []}, "non-empty list"),
    ({"events": {"windw": "label"}}, "windw"),
    ({"profile": {"age": {"between": [1]}}}, "between"),
])
def test_malformed_rules_give_one_line_errors(rule, message):
    with pytest.raises(DataError) as err:
        parse_scenario({"name": "bad", "domain": "x", "demand": "users who", "label": rule}, "bad.yaml")
    assert message in str(err.value) and "\n" not in str(err.value) and str(err.value).startswith("bad.yaml")


def test_unknown_fields_are_named_at_label_time(ws):
    with pytest.raises(DataError, match="unknown event field 'categry'"):
        label_users(ws, {"events": {"where": {"categry": "x"}}})
    with pytest.raises(DataError, match="unknown profile column 'income'"):
        label_users(ws, {"profile": {"income": {"gt": 1}}})
    with pytest.raises(DataError, match="unknown window 'w9'"):
        label_users(ws, {"events": {"window": "w9"}})


def test_yaml_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndomain: [unclosed\n")
    with pytest.raises(DataError, match="bad.yaml line"):
        load_scenario(bad)
    missing = tmp_path / "missing.yaml"
    with pytest.raises(DataError, match="not found"):
        load_scenario(missing)


def test_scenario_written_from_scratch_labels_the_world(small_world, tmp_path):
    """A new scenario needs no code: write YAML, label the simulated workspace."""
    f = tmp_path / "gamers.yaml"
    f.write_text(
        "name: heavy_gamers\ndomain: recommendation\ndemand: users likely to top up game credits\n"
        "label:\n  events:\n    where: {source: bill, text: {contains: game credits}}\n"
        "hard_negative:\n  events:\n    window: label\n    where: {text: {contains: gameplay}}\n")
    lab = compute_labels(load_scenario(f), LabelContext.load(small_world))
    assert 0 < lab.positives < len(lab.labels)
    assert set(np.unique(lab.labels["split"])) == {"train", "eval"}
