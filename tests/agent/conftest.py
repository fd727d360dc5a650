"""Agent fixtures: one small world with a tiny FIND bundle (fake content vectors, the real MiniLM
text tower) and a tiny EGL graph (hashing encoder), built once per session; a fake rewriter
that returns scripted plans and records every message it was sent."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from tests.egl.conftest import TINY as GRAPH_TINY
from tests.egl.conftest import HashingEncoder
from tests.towers.test_pipeline import TINY as TOWERS_TINY


@pytest.fixture(scope="session")
def agent_world_path(small_world_path, tmp_path_factory):
    import targetbot.towers.content as content
    from targetbot.core.workspace import Workspace
    from targetbot.egl.build import build_graph
    from targetbot.towers.build import build_towers
    from targetbot.towers.config import TowerConfig
    from tests.towers.test_pipeline import fake_models as content_models

    dst = tmp_path_factory.mktemp("agent") / "ws"
    shutil.copytree(small_world_path, dst)
    (dst / "egl.yaml").write_text(yaml.safe_dump(GRAPH_TINY))
    ws = Workspace.open(dst)
    content.build_stage(ws, models=content_models(), progress=False)  # fake content vectors
    build_towers(ws, content_models(), config=TowerConfig.from_name("quick", **TOWERS_TINY))
    build_graph(ws, agent_models(), progress=None)
    return dst


def agent_models(rewriter=None):
    """Models for the agent tests: the hashing encoder for phrases and forecasts, and optionally a
    rewriter factory (res, url=None, model=None, protocol="json") -> rewriter."""
    from targetbot.agent.models import Models
    from targetbot.core.config import Settings

    return Models(Settings(), text_encoder=HashingEncoder(), rewriter=rewriter)


@pytest.fixture
def agent_ws(agent_world_path, tmp_path):
    """A private copy (runs are written into it)."""
    from targetbot.core.workspace import Workspace

    dst = tmp_path / "ws"
    shutil.copytree(agent_world_path, dst, ignore=shutil.ignore_patterns("runs"))
    (dst / "runs").mkdir()
    return Workspace.open(dst)


class FakeRewriter:
    """Stands in for rewrite.client.Rewriter: returns `plan` (a dict or a function of the request)
    through the real parse/validate path, and keeps every message text it was given."""

    model = "fake-rewriter"
    prompt = "tuned"

    def __init__(self, catalog, plan):
        self.catalog, self.plan, self.seen = catalog, plan, []

    def rewrite(self, request: str):
        from targetbot.rewrite.client import RewriteResult
        from targetbot.rewrite.messages import build_messages
        from targetbot.rewrite.plan import parse_plan

        self.seen.extend(m["content"] for m in build_messages(request))
        plan = self.plan(request) if callable(self.plan) else self.plan
        text = plan if isinstance(plan, str) else json.dumps(plan)
        return RewriteResult(parse_plan(text, self.catalog), 0.01, 1, [text])


@pytest.fixture
def make_agent(agent_ws):
    from targetbot.agent.executor import Executor
    from targetbot.agent.planner import Planner
    from targetbot.agent.resources import Resources

    def make(plan, **config):
        from targetbot.agent.config import AgentConfig

        res = Resources(agent_ws, agent_models(), AgentConfig.for_workspace(agent_ws.root, **config))
        rw = FakeRewriter(res.catalog, plan)
        return Planner(res, rewriter=rw), Executor(res), rw

    return make
