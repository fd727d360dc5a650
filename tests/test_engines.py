"""The Ray engine (core/engine.py) gives what the local engine gives: the same user embeddings,
forecast features, user–entity preferences, and the same audience for a replayed plan. Both
build a tiny world in three user batches; Ray runs locally (two CPUs)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml

pytest.importorskip("ray")

from typer.testing import CliRunner  # noqa: E402

from targetbot.cli import app  # noqa: E402
from tests.egl.conftest import MECHANICS_POLICY, hashing_models  # noqa: E402
from tests.egl.conftest import TINY as GRAPH_TINY  # noqa: E402
from tests.towers.test_pipeline import TINY as TOWERS_TINY  # noqa: E402
from tests.towers.test_pipeline import fake_models  # noqa: E402

PLAN = {"demands": [{"family": "purchase", "items": ["phone rental"]}], "seed_entities": ["RentMyPhone"]}


@pytest.fixture(scope="module")
def builds(small_world_path, tmp_path_factory):
    import targetbot.towers.content as content
    from targetbot.core.engine import make_engine
    from targetbot.core.workspace import Workspace
    from targetbot.egl.build import build_graph
    from targetbot.towers.build import build_towers
    from targetbot.towers.config import TowerConfig

    out = {}
    for name in ("local", "ray"):
        root = tmp_path_factory.mktemp(name) / "ws"
        shutil.copytree(small_world_path, root)
        (root / "egl.yaml").write_text(yaml.safe_dump(GRAPH_TINY))
        (root / "agent.yaml").write_text(yaml.safe_dump(MECHANICS_POLICY))
        ws = Workspace.open(root)
        engine = make_engine(name)
        content.build_stage(ws, models=fake_models(), progress=False)
        build_towers(ws, fake_models(), config=TowerConfig.from_name("quick", **TOWERS_TINY), engine=engine,
                     batch_users=150)
        build_graph(ws, hashing_models(), engine=engine, batch_users=150)
        out[name] = ws
    yield out
    import ray

    ray.shutdown()


def test_ray_builds_what_the_local_engine_builds(builds):
    from targetbot.core.config import Settings
    from targetbot.egl.storage import load_graph
    from targetbot.towers.bundle import Bundle
    from targetbot.towers.config import ForecastConfig

    local, ray_ = (Bundle.load(builds[k], Settings()) for k in ("local", "ray"))
    for kind in ("fused", "behaviour", "tabular", "search"):
        assert np.allclose(local.embeddings(kind), ray_.embeddings(kind), atol=1e-5), kind
    a, b = local.forecast_data(ForecastConfig()), ray_.forecast_data(ForecastConfig())
    for name in ("history_latest", "latest_share", "history_input"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and (x.nnz == 0 or abs(x - y).max() < 1e-5), name
    (ia, ra), (ib, rb) = load_graph(builds["local"]).users(), load_graph(builds["ray"]).users()
    assert list(ia) == list(ib) and len(ia) > 0
    assert np.allclose(ra, rb, atol=1e-5)


def test_a_replayed_plan_gives_the_same_audience(builds, tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    audiences = []
    for name in ("local", "ray"):
        r = CliRunner().invoke(app, ["ask", "-w", str(builds[name].root), "--plan", str(plan), "--json"],
                               obj=hashing_models())
        assert r.exit_code == 0, r.output
        out = json.loads(r.stdout)
        audiences.append([(u["user_id"], round(u["score"], 5)) for u in out["audience"]["users"]])
    assert audiences[0] == audiences[1] and len(audiences[0]) > 0
