"""The agent with the real bundled models: the Qwen rewriter (engine local, bundled adapter)
plans a request on the tiny workspace, whose FIND text tower is the real MiniLM."""

import pytest

from targetbot.agent.executor import AskOptions, Executor, allowed_tools
from targetbot.agent.planner import Planner
from targetbot.agent.resources import Resources
from tests.agent.conftest import agent_models

pytestmark = pytest.mark.real_models


def test_real_rewriter_plan_runs_through_the_agent(agent_ws):
    res = Resources(agent_ws, agent_models())
    planner = Planner(res)
    ids = list(res.users[:2])
    plan, info = planner.plan(f"users likely to rent phones, like {ids[0]}")
    assert info["plan_source"] == "rewriter" and plan.seed_users == ids[:1]
    assert plan.sentences() and "{" not in " ".join(plan.sentences())
    plan = plan.model_copy(update={"seed_users": []})  # keep the test fast: no prompt tuning
    r = Executor(res).execute(plan, "users likely to rent phones", AskOptions(size=60))
    assert {c["tool"] for c in r.tool_calls} <= allowed_tools(plan, AskOptions(size=60))
    assert len(r.audience) == 60 and r.run_id
