"""A build killed with SIGKILL and started again finishes with what an uninterrupted build makes,
and nothing half-written is ever read: every artifact is written under a temporary name and
renamed when complete, and a stage that finished is skipped."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

BUILD = r'''
import sys
sys.path.insert(0, sys.argv[2])
from targetbot.core.workspace import Workspace
from targetbot.egl.build import build_graph
from targetbot.towers import content
from targetbot.towers.build import build_towers
from targetbot.towers.config import TowerConfig
from tests.egl.conftest import hashing_models
from tests.towers.test_pipeline import TINY, fake_models

ws = Workspace.open(sys.argv[1])
say = lambda m: print(m, flush=True)
content.build_stage(ws, models=fake_models(), progress=False)
say("content done")
build_towers(ws, fake_models(), config=TowerConfig.from_name("quick", **TINY), batch_users=100, progress=say)
say("towers done")
build_graph(ws, hashing_models(), batch_users=100, progress=say)
say("graph done")
'''


def _build(root: Path, kill_at: str | None = None) -> bool:
    """Run the build in a child process; SIGKILL it when a line starting with `kill_at` appears.
    True when it ran to the end."""
    proc = subprocess.Popen([sys.executable, "-c", BUILD, str(root), str(REPO)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    for line in proc.stdout:
        if kill_at and line.startswith(kill_at):
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return False
    return proc.wait() == 0


def _artifacts(root: Path) -> dict:
    from targetbot.core.config import Settings
    from targetbot.core.workspace import Workspace
    from targetbot.egl.storage import load_graph
    from targetbot.towers.bundle import Bundle
    from targetbot.towers.config import ForecastConfig

    ws = Workspace.open(root)
    b = Bundle.load(ws, Settings())
    f = b.forecast_data(ForecastConfig())
    ids, prefs = load_graph(ws).users()
    return {"fused": np.array(b.embeddings("fused")), "latest": f.history_latest.toarray(),
            "share": f.latest_share.toarray(), "users": list(ids), "prefs": np.array(prefs)}


@pytest.mark.parametrize("kill_at", ["embedded", "graph: stage II"])
def test_killed_build_resumes_to_the_same_result(small_world_path, tmp_path, kill_at):
    from tests.egl.conftest import TINY as GRAPH_TINY

    roots = {}
    for name in ("whole", "killed"):
        roots[name] = tmp_path / name
        shutil.copytree(small_world_path, roots[name])
        (roots[name] / "egl.yaml").write_text(yaml.safe_dump(GRAPH_TINY))
    assert _build(roots["whole"])
    t = time.perf_counter()
    assert not _build(roots["killed"], kill_at=kill_at), f"the build never reached '{kill_at}'"
    assert time.perf_counter() - t < 600
    assert _build(roots["killed"])  # the same command again
    a, b = _artifacts(roots["whole"]), _artifacts(roots["killed"])
    assert a["users"] == b["users"]
    for k in ("fused", "latest", "share", "prefs"):
        assert np.allclose(a[k], b[k], atol=1e-6), k
    leftovers = [p for p in roots["killed"].rglob(".*") if p.name.endswith((".tmp", ".old"))]
    assert not leftovers, leftovers
