"""The audience floor and the difference guard, attacked the way a careless or hostile user would:
every route that reveals ids, the flag that used to lower the floor, differencing two exports,
run records of refused audiences; then a property test over random plans and export pairs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from targetbot.agent.executor import AskOptions, Executor
from targetbot.agent.export import ExportRefused
from targetbot.agent.privacy import AudienceRefused, PrivacyGuard
from targetbot.agent.resources import Resources
from targetbot.cli import app
from tests.agent.conftest import agent_models

FLOOR = 50
PLAN = {"demands": [{"family": "purchase", "items": ["phone rental"]}]}


@pytest.fixture
def executor(agent_ws):
    return Executor(Resources(agent_ws, agent_models()))


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], obj=agent_models())


def test_differencing_two_exports_is_refused_and_names_the_earlier_one(executor, tmp_path):
    """Everyone in a city, then the same without a handful: the second would isolate the handful."""
    res = executor.res
    tier = res.profiles["city_tier"].astype(str).value_counts().index[0]
    in_tier = {"conditions": [{"field": "city_tier", "op": "=", "value": tier}]}
    first = executor.execute({**PLAN, "filters": in_tier, "size": 5000}, "x", AskOptions(export_path=tmp_path / "a.csv"))
    assert first.listed and len(first.audience) >= FLOOR
    mine = res.profiles[res.profiles["user_id"].isin(first.audience["user_id"])]
    value = str(mine["credit_score"].iloc[0])  # one user's exact score: dropping it isolates that user
    narrower = {"conditions": [*in_tier["conditions"], {"field": "credit_score", "op": "!=", "value": value}],
                "join": "AND"}
    with pytest.raises(ExportRefused, match=rf"differs from release {first.run_id} .* by \d+ users"):
        executor.execute({**PLAN, "filters": narrower, "size": 5000}, "x", AskOptions(export_path=tmp_path / "b.csv"))
    assert not (tmp_path / "b.csv").exists()
    listed = executor.execute({**PLAN, "filters": narrower, "size": 5000}, "x")
    assert not listed.listed and listed.to_json()["audience"]["users"] == []
    assert any("differs from release" in n for n in listed.explanation["notes"])


def test_the_flag_cannot_lower_the_floor(agent_ws, tmp_path):
    r = invoke("ask", "-w", agent_ws.root, "--plan", _plan_file(tmp_path, {**PLAN, "size": 3}), "--min-export", 1,
               "--export", tmp_path / "f.csv")
    assert r.exit_code == 2 and "below this workspace's audience floor (50" in r.output
    assert not (tmp_path / "f.csv").exists()
    r = invoke("ask", "-w", agent_ws.root, "--plan", _plan_file(tmp_path, {**PLAN, "size": 60}), "--min-export", 100,
               "--json")  # raising it is fine
    assert r.exit_code == 0 and json.loads(r.stdout)["audience"]["users"] == []


def test_find_tune_and_graph_users_obey_the_floor(agent_ws, tmp_path):
    r = invoke("find", "-w", agent_ws.root, "users likely to rent phones", "-k", 3, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["audience_size"] == 3 and out["users"] == [] and out["listed"] is False and "minimum size" in out["note"]
    r = invoke("find", "-w", agent_ws.root, "users likely to rent phones", "-k", 3)
    assert r.exit_code == 0 and "u0" not in r.stdout and "minimum size" in r.stdout
    r = invoke("graph", "users", "-w", agent_ws.root, "--entities", "RentMyPhone", "--top-k", 3, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["users"] == []
    users = pd.read_parquet(agent_ws.table_path("profiles"))["user_id"].astype(str).tolist()
    (tmp_path / "pos.txt").write_text("\n".join(users[:5]))
    (tmp_path / "neg.txt").write_text("\n".join(users[5:10]))
    r = invoke("tune", "-w", agent_ws.root, "users likely to rent phones", "--positives", tmp_path / "pos.txt",
               "--negatives", tmp_path / "neg.txt", "-k", 4, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["users"] == []


def test_a_refused_audience_leaves_no_ids_in_its_run_record(executor):
    r = executor.execute({**PLAN, "size": 3}, "three users please")
    d = executor.res.ws.runs_dir / r.run_id
    assert not r.listed and not (d / "audience.parquet").exists()
    assert json.loads((d / "result.json").read_text())["audience"] == {"size": 3, "export_path": None, "users": []}
    summary = json.loads((d / "summary.json").read_text())
    assert summary["size"] == 3 and summary["listed"] is False
    stored = "".join(p.read_text(errors="ignore") for p in d.iterdir())
    assert not any(u in stored for u in r.audience["user_id"])


def test_property_no_route_reveals_fewer_than_the_floor_and_every_isolating_pair_is_refused(executor, tmp_path):
    """Random plans (sizes, filters) through the executor, then random pairs of audiences through the
    guard alone: nothing below the floor is listed or exported, and a pair whose difference is
    non-empty and under the floor is always refused."""
    rng = np.random.default_rng(0)
    res = executor.res
    tiers = sorted(res.profiles["city_tier"].astype(str).unique())
    for i in range(12):
        plan = {**PLAN, "size": int(rng.choice([2, 10, 49, 50, 60, 120, 400]))}
        if rng.random() < 0.5:
            plan["filters"] = {"conditions": [{"field": "city_tier", "op": "=", "value": str(rng.choice(tiers))}]}
        path = tmp_path / f"e{i}.csv"
        try:
            r = executor.execute(plan, "x", AskOptions(export_path=path))
        except (ExportRefused, AudienceRefused):
            assert not path.exists()
            continue
        assert r.listed and len(r.audience) >= FLOOR and len(pd.read_csv(path)) >= FLOOR
    guard = PrivacyGuard(res.ws, FLOOR, window_days=30)
    everyone = res.users.to_numpy().astype(str)
    for _ in range(25):
        a = rng.choice(everyone, size=int(rng.integers(FLOOR, 250)), replace=False)
        kind = rng.random()
        if kind < 0.4:  # drop a few
            b = np.setdiff1d(a, a[:int(rng.integers(0, 2 * FLOOR))])
        elif kind < 0.7:  # drop a few and pad with many others, to hide the drop
            rest = np.setdiff1d(everyone, a)
            pad = rng.choice(rest, size=min(len(rest), int(rng.integers(FLOOR, 200))), replace=False)
            b = np.union1d(np.setdiff1d(a, a[:int(rng.integers(1, FLOOR))]), pad)
        else:
            b = rng.choice(everyone, size=int(rng.integers(FLOOR, 300)), replace=False)
        g = PrivacyGuard(res.ws.__class__(tmp_path / f"g{_}"), FLOOR)  # a fresh ledger per pair
        g.release(a, "test")
        only_a, only_b = len(np.setdiff1d(np.unique(a), b)), len(np.setdiff1d(np.unique(b), a))
        refused = g.refusal(b)
        if len(np.unique(b)) < FLOOR or 0 < only_a < FLOOR or 0 < only_b < FLOOR:
            assert refused
        else:
            assert refused is None
    assert guard.floor == FLOOR


def _plan_file(tmp_path, plan: dict):
    p = tmp_path / f"plan-{abs(hash(json.dumps(plan, sort_keys=True)))}.json"
    p.write_text(json.dumps(plan))
    return p


def test_padding_an_audience_does_not_hide_the_users_it_drops(agent_ws):
    users = pd.read_parquet(agent_ws.table_path("profiles"))["user_id"].astype(str).to_numpy()
    guard = PrivacyGuard(agent_ws, FLOOR)
    guard.release(users[:200], "test")
    padded = np.r_[users[1:200], users[200:260]]  # one user dropped, sixty others added
    assert "by 1 users it lacks" in guard.refusal(padded)


def test_the_tool_call_log_holds_no_user_ids(executor):
    seed = [str(executor.res.users[0])]
    r = executor.execute({**PLAN, "size": 3, "seed_users": seed}, "x")
    logged = json.dumps(r.to_json()["tool_calls"])
    assert not r.listed and "tune_prompt" in logged
    assert not any(u in logged for u in executor.res.users.astype(str))  # negatives were picked by the tool
