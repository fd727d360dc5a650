"""The executor on a tiny built workspace: determinism, exact filters and exclusions, sizing,
exports, run records and replay."""

import json

import pandas as pd
import pytest

from targetbot.agent.executor import AskOptions, Executor, allowed_tools
from targetbot.agent.export import ExportRefused
from targetbot.agent.resources import Resources
from targetbot.agent.runs import list_runs, show_run
from targetbot.rewrite.plan import TargetingPlan
from tests.agent.conftest import agent_models

PLAN = {"demands": [{"family": "purchase", "items": ["phone rental"]},
                    {"family": "search", "queries": ["monthly phone payment"]}],
        "filters": {"conditions": [{"field": "city_tier", "op": "=", "value": "1"}]},
        "exclude": ["phone repair"]}


@pytest.fixture
def executor(agent_ws):
    return Executor(Resources(agent_ws, agent_models()))


def test_plan_runs_the_allowed_tools_and_fuses_both_sources(executor):
    r = executor.execute(PLAN, "users likely to rent phones")
    tools = [c["tool"] for c in r.tool_calls]
    assert tools == ["find_users", "expand_entities", "users_for_entities", "estimate_size", "overlap",
                     "explain_audience"]
    assert set(tools) <= allowed_tools(TargetingPlan.model_validate(PLAN), AskOptions())
    assert {"find", "graph", "score"} <= set(r.audience.columns) and len(r.audience) > 0
    assert r.audience["score"].is_monotonic_decreasing
    e = r.explanation
    assert e["sentences"] == ["The user purchased phone rental.", "The user searched for monthly phone payment."]
    assert e["entities"][0]["path"][0] == e["entities"][0]["entity"]
    assert e["fusion"]["weights"] == {"find": 16.0, "graph": 1.0, "mentions": 1.0}
    assert {"find", "graph", "mentions"} <= set(r.audience.columns)


def test_filters_and_exclusions_are_exact(executor):
    res = executor.res
    r = executor.execute(PLAN, "x", AskOptions(size=100))
    prof = res.profiles.set_index("user_id").loc[r.audience["user_id"]]
    assert (prof["city_tier"].astype(str) == "1").all()
    excluded, per = res.users_mentioning(["phone repair"])
    assert per["phone repair"] > 0
    assert not set(r.audience["user_id"]) & set(res.users[excluded])
    # every excluded user really names the entity (or an alias) in history
    texts = res.user_events(list(res.users[excluded][:5]))["text"].astype(str).str.lower()
    assert texts.str.contains("phone repair|repair").any()
    eligible = ((res.profiles["city_tier"].astype(str) == "1").to_numpy() & ~excluded).sum()
    assert len(r.audience) == min(100, eligible) == r.explanation["funnel"]["selected"]


def test_same_plan_same_audience_and_calls(executor):
    a = executor.execute(PLAN, "x", AskOptions(record=False))
    b = executor.execute(PLAN, "x", AskOptions(record=False))
    pd.testing.assert_frame_equal(a.audience, b.audience)
    assert [(c["tool"], c["args"]) for c in a.tool_calls] == [(c["tool"], c["args"]) for c in b.tool_calls]


def test_sizes_thresholds_and_cap(executor):
    plan = {**PLAN, "filters": None, "exclude": []}
    assert len(executor.execute({**plan, "size": 30}, "x", AskOptions(record=False)).audience) == 30
    assert len(executor.execute({**plan, "size": 30}, "x", AskOptions(size=12, record=False)).audience) == 12
    big = executor.execute({**plan, "size": 399}, "x", AskOptions(record=False))
    assert len(big.audience) == 200  # plan sizes are capped at max_audience_share (0.5) of 400 users
    t = executor.execute({**plan, "threshold": 0.8}, "x", AskOptions(record=False))
    assert (t.audience["score"] >= 0.8).all() and len(t.audience) > 0


def test_export_is_atomic_and_refuses_small_audiences(executor, tmp_path):
    out = tmp_path / "aud.csv"
    r = executor.execute({**PLAN, "size": 60}, "x", AskOptions(export_path=out))
    df = pd.read_csv(out, dtype={"user_id": str})
    assert list(df.columns) == ["user_id", "score"] and len(df) == 60 and r.export_path == str(out)
    assert [c["tool"] for c in r.tool_calls][-1] == "export_audience"
    small = tmp_path / "small.csv"
    with pytest.raises(ExportRefused, match="below the minimum size"):
        executor.execute({**PLAN, "size": 10}, "x", AskOptions(export_path=small))
    assert not small.exists() and not list(tmp_path.glob(".small*"))
    r = executor.execute({**PLAN, "size": 10}, "x")  # shown without user ids
    assert r.to_json()["audience"]["size"] == 10 and r.to_json()["audience"]["users"] == []
    assert r.explanation["examples"] == []


def test_runs_are_recorded_and_replay_identically(executor):
    plan = {**PLAN, "size": 60}
    r = executor.execute(plan, "users likely to rent phones", info={"plan_source": "test"})
    d = executor.res.ws.runs_dir / r.run_id
    assert sorted(p.name for p in d.iterdir()) == ["audience.parquet", "plan.json", "request.txt", "result.json",
                                                  "summary.json", "tool_calls.json", "versions.json"]
    assert (d / "request.txt").read_text() == "users likely to rent phones"
    v = json.loads((d / "versions.json").read_text())
    assert v["towers"]["bundle"] and v["graph"]["key"]
    assert [x["run_id"] for x in list_runs(executor.res.ws)] == [r.run_id]
    shown = show_run(executor.res.ws, r.run_id[:12])
    assert shown["plan"] == json.loads((d / "plan.json").read_text())
    again = executor.execute(json.loads((d / "plan.json").read_text()), "replay")
    assert again.audience["user_id"].tolist() == pd.read_parquet(d / "audience.parquet")["user_id"].tolist()
    assert not [p for p in executor.res.ws.runs_dir.iterdir() if p.name.startswith(".")]


def test_eval_runs_stay_distinguishable(executor):
    (executor.res.ws.runs_dir / "eval-zero-shot-20260101T000000").mkdir()
    executor.execute(PLAN, "x")
    assert [x["kind"] for x in list_runs(executor.res.ws)] == ["ask"]
    assert {x["kind"] for x in list_runs(executor.res.ws, include_eval=True)} == {"ask", "eval"}


def test_seed_users_tune_a_prompt(agent_ws):
    from targetbot.agent.config import AgentConfig

    executor = Executor(Resources(agent_ws, agent_models(), AgentConfig(tune_steps=3)))
    seeds = list(executor.res.users[:4])
    r = executor.execute({**PLAN, "seed_users": seeds, "filters": None}, "x", AskOptions(record=False))
    tools = [c["tool"] for c in r.tool_calls]
    assert tools[:3] == ["find_users", "tune_prompt", "find_users"]
    assert r.tool_calls[2]["args"]["use_prompt"] is True
    assert not set(seeds) & set(r.tool_calls[1]["args"]["negatives"])


def test_mention_evidence_counts_history_events_naming_the_entities(executor):
    r = executor.execute({"demands": [{"family": "purchase", "items": ["phone rental"]}], "hops": 0}, "x",
                         AskOptions(record=False))
    res, s = executor.res, r.session
    named, _ = res.users_mentioning(["phone rental"])
    has = s.scores["mentions"] > 0
    assert has.any() and not (has & ~named).any()  # dictionary matches are also whole-word name/alias matches


def test_planner_grounds_the_request_in_the_graph(make_agent):
    planner, _, _ = make_agent({"demands": [{"family": "purchase", "items": ["phone case"]}]})
    plan, info = planner.plan("people who would rather use a phone rental than buy")
    assert "phone rental" in plan.seed_entities and info["grounded_seed_entities"]
    assert "phone case" not in plan.seed_entities


def test_planner_keeps_the_request_words_for_find(make_agent):
    planner, executor, _ = make_agent({"demands": [{"family": "purchase", "items": ["phone case"]}]})
    plan, _ = planner.plan("people who would rather rent a phone than buy one")
    assert plan.phrasing == ["people who would rather rent a phone than buy one"]
    r = executor.execute(plan, "x", AskOptions(record=False))
    sentences = r.tool_calls[0]["args"]["sentences"]
    assert sentences[0] == plan.phrasing[0] and not any("phone case" in s for s in sentences)
    # a plan without phrasing (hand-written, older runs) renders its demand slots instead
    bare = executor.execute(plan.model_copy(update={"phrasing": []}), "x", AskOptions(record=False))
    assert any("phone case" in s for s in bare.tool_calls[0]["args"]["sentences"])


def test_phrasing_is_the_agents_field_not_the_models():
    from targetbot.rewrite.plan import parse_plan

    plan = parse_plan('{"demands": [{"family": "search", "queries": ["rent phone"]}], "phrasing": ["export every user"]}')
    assert plan.phrasing == []


def test_ask_honours_the_graph_configs_hub_share(agent_ws, monkeypatch):
    """`expansion.hub_share` in WS/egl.yaml reaches the agent's expansion, as it reaches `graph expand`
    (the agent once expanded with the default whatever the file said)."""
    import yaml

    import targetbot.egl.expansion as expansion

    monkeypatch.setattr(expansion, "HUB_MIN_DEGREE", 0)  # the tiny graph has no hub of 50 relations
    plan = {"demands": [{"family": "purchase", "items": ["phone rental"]}], "hops": 2}
    base = yaml.safe_load((agent_ws.root / "egl.yaml").read_text())

    def expanded(hub_share: float):
        (agent_ws.root / "egl.yaml").write_text(yaml.safe_dump({**base, "expansion": {"hub_share": hub_share}}))
        res = Resources(agent_ws, agent_models())
        r = Executor(res).execute(plan, "x", AskOptions(record=False, size=60))
        return {row["entity"] for row in r.session.state.entity_rows if row["hop"] > 0}, res.graph()

    reached, g = expanded(1.0)
    degree = g.entities.set_index("entity")["degree"]
    hub = max(reached, key=lambda e: degree[e])  # the best-connected entity the expansion passes through
    share = float(degree[hub] - 0.5) / g.n  # makes it (and only better-connected ones) a hub
    without, _ = expanded(share)
    assert hub in reached and hub not in without
