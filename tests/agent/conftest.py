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
from tests.towers.test_pipeline import FakeEncoder384


@pytest.fixture(scope="session")
def agent_world_path(small_world_path, tmp_path_factory):
    import targetbot.models
    import towers.content as content
    from egl.build import build_graph
    from targetbot.config import Settings
    from targetbot.workspace import Workspace
    from towers.build import build_towers
    from towers.config import TowerConfig

    dst = tmp_path_factory.mktemp("agent") / "ws"
    shutil.copytree(small_world_path, dst)
    (dst / "egl.yaml").write_text(yaml.safe_dump(GRAPH_TINY))
    ws = Workspace.open(dst)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(content, "load_text_encoder", lambda settings=None: FakeEncoder384())
        mp.setattr(targetbot.models, "load_text_encoder", lambda settings=None: HashingEncoder())
        content.build_stage(ws, settings=Settings(), progress=False)
        build_towers(ws, Settings(), config=TowerConfig.from_name("quick", **TOWERS_TINY))
        build_graph(ws, progress=None)
    return dst


@pytest.fixture
def agent_ws(agent_world_path, tmp_path, monkeypatch):
    """A private copy (runs are written into it), with the hashing encoder for phrase matching."""
    import targetbot.models
    from targetbot.workspace import Workspace

    monkeypatch.setattr(targetbot.models, "load_text_encoder", lambda settings=None: HashingEncoder())
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
        from rewrite.client import RewriteResult
        from rewrite.messages import build_messages
        from rewrite.plan import parse_plan

        self.seen.extend(m["content"] for m in build_messages(request))
        plan = self.plan(request) if callable(self.plan) else self.plan
        text = plan if isinstance(plan, str) else json.dumps(plan)
        return RewriteResult(parse_plan(text, self.catalog), 0.01, 1, [text])


@pytest.fixture
def make_agent(agent_ws):
    from agent.executor import Executor
    from agent.planner import Planner
    from agent.resources import Resources

    def make(plan, **config):
        from agent.config import AgentConfig

        res = Resources(agent_ws, config=AgentConfig.for_workspace(agent_ws.root, **config))
        rw = FakeRewriter(res.catalog, plan)
        return Planner(res, rewriter=rw), Executor(res), rw

    return make
