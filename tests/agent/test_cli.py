"""The commands the way users drive them: ask (request and --plan replay), runs, batch, chat."""

import json

import pytest
from typer.testing import CliRunner

from targetbot.cli import app
from tests.agent.conftest import FakeRewriter, agent_models

runner = CliRunner()
PLAN = {"demands": [{"family": "purchase", "items": ["phone rental"]}]}


class FakeLLM:
    """Drives the CLI with models whose rewriter factory makes fake rewriters (kept in `made`)."""

    def __init__(self, factory, made):
        self.factory, self.made = factory, made

    def invoke(self, args, **kw):
        return runner.invoke(app, args, obj=agent_models(rewriter=self.factory), **kw)


@pytest.fixture
def fake_llm():
    """Every planner in these commands gets a fake rewriter: plans by keyword, no model load."""

    def plan_for(request: str):
        p = {"demands": [{"family": "purchase", "items": ["pet food" if "pet" in request else "phone rental"]}]}
        if "first-tier" in request:
            p["filters"] = {"conditions": [{"field": "city_tier", "op": "=", "value": "1"}]}
        if "already rent" in request:
            p["exclude"] = ["RentMyPhone"]
        if "boom" in request:
            p = {"demands": [{"family": "purchase", "items": ["Zorblax"]}]}
        return p

    made = []

    def factory(res, url=None, model=None, protocol="json"):
        made.append(FakeRewriter(res.catalog, plan_for))
        return made[-1]

    return FakeLLM(factory, made)


def test_ask_json_contract_and_replay(agent_ws, fake_llm, tmp_path):
    r = fake_llm.invoke(["ask", "-w", str(agent_ws.root), "users likely to rent phones", "--json", "--size", "60",
                            "--export", str(tmp_path / "a.csv")])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) == {"run_id", "request", "plan", "tool_calls", "audience", "explanation"}
    assert set(out["audience"]) == {"size", "export_path", "users"} and out["audience"]["size"] == 60
    assert set(out["audience"]["users"][0]) == {"user_id", "score"}
    assert all(set(c) == {"tool", "args"} for c in out["tool_calls"])
    assert out["plan"] == {**PLAN, "phrasing": ["users likely to rent phones"]}
    run = agent_ws.runs_dir / out["run_id"]
    r2 = fake_llm.invoke(["ask", "-w", str(agent_ws.root), "--plan", str(run / "plan.json"), "--json", "--size", "60"])
    assert r2.exit_code == 0, r2.output
    assert json.loads(r2.stdout)["audience"]["users"] == out["audience"]["users"]
    assert len(fake_llm.made) == 1  # the replay never built a rewriter


def test_ask_human_output_explains(agent_ws, fake_llm):
    r = fake_llm.invoke(["ask", "-w", str(agent_ws.root), "users likely to rent phones", "--size", "80"])
    assert r.exit_code == 0, r.output
    for part in ("template sentences", "The user will rent phones.", "future behaviour FIND forecasts",
                 "reasoning path", "filters", "tool calls", "audience", "histogram", "example users"):
        assert part in r.stdout


@pytest.mark.parametrize("args, message", [
    (["   "], "empty request"),
    (["x" * 10_000], "request too long"),
    ([], "give a request"),
])
def test_ask_errors_are_one_line(agent_ws, fake_llm, args, message):
    r = fake_llm.invoke(["ask", "-w", str(agent_ws.root), *args])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output


def test_ask_without_a_valid_plan_targets_the_words_and_says_so(agent_ws, fake_llm):
    r = fake_llm.invoke(["ask", "-w", str(agent_ws.root), "users who like boom", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["plan"]["demands"] == [{"family": "search", "queries": ["like boom"]}]
    assert any("no valid plan" in n and "unknown entity" in n for n in out["explanation"]["notes"])


def test_runs_list_and_show(agent_ws, fake_llm):
    fake_llm.invoke(["ask", "-w", str(agent_ws.root), "users likely to rent phones"])
    r = fake_llm.invoke(["runs", "list", "-w", str(agent_ws.root), "--json"])
    runs = json.loads(r.stdout)
    assert len(runs) == 1 and runs[0]["kind"] == "ask"
    r = fake_llm.invoke(["runs", "show", "-w", str(agent_ws.root), runs[0]["run_id"], "--json"])
    assert json.loads(r.stdout)["plan"] == {**PLAN, "phrasing": ["users likely to rent phones"]}
    r = fake_llm.invoke(["runs", "show", "-w", str(agent_ws.root), "nope"])
    assert r.exit_code == 2 and "no run" in r.output


def test_batch_reports_row_errors_and_goes_on(agent_ws, fake_llm, tmp_path):
    f = tmp_path / "demands.csv"
    f.write_text("id,request,size\nphones,users likely to rent phones,60\nbad,users who like boom,\n"
                 "empty,,\npets,pet owners,abc\nsmall,users likely to rent phones,5\n")
    r = fake_llm.invoke(["batch", "-w", str(agent_ws.root), str(f), "--out", str(tmp_path / "out"), "--json"])
    assert r.exit_code == 0, r.output
    rows = {x["id"]: x for x in json.loads(r.stdout)["rows"]}
    assert rows["phones"]["status"] == "ok" and rows["phones"]["size"] == 60
    assert (tmp_path / "out" / "phones.csv").exists() and (tmp_path / "out" / "summary.csv").exists()
    assert rows["bad"]["status"] != "error", rows["bad"]  # no valid plan: targeted by the words (may be small)
    assert rows["empty"]["status"] == "error" and "empty request" in rows["empty"]["error"]
    assert rows["pets"]["status"] == "error" and "not a number" in rows["pets"]["error"]
    assert "below the minimum size" in rows["small"]["status"] and not (tmp_path / "out" / "small.csv").exists()


def test_chat_refines_the_plan(agent_ws, fake_llm):
    turns = "users likely to rent phones\nnarrow it to first-tier cities\nexclude people who already rent\n/plan\n/quit\n"
    r = fake_llm.invoke(["chat", "-w", str(agent_ws.root), "--json"], input=turns)
    assert r.exit_code == 0, r.output
    dec = json.JSONDecoder()
    objs, text = [], r.stdout.strip()
    while text:
        o, i = dec.raw_decode(text)
        objs.append(o)
        text = text[i:].strip()
    first, narrowed, excluded = objs[0], objs[1], objs[2]
    assert first["plan"]["demands"] == PLAN["demands"] and first["plan"]["phrasing"] == ["users likely to rent phones"]
    assert narrowed["plan"]["filters"]["conditions"] == [{"field": "city_tier", "op": "=", "value": "1"}]
    assert excluded["plan"]["exclude"] == ["RentMyPhone"] and "filters" in excluded["plan"]
    assert excluded["audience"]["size"] <= narrowed["audience"]["size"]
    assert "overlap" in [c["tool"] for c in narrowed["tool_calls"]]
    assert '"exclude"' in objs[3]["message"] and objs[4]["message"] == "bye"


def test_eval_ask_method_plans_through_a_given_url(agent_ws):
    """`eval run --methods ask --url U --model M` hands U and M to the rewriter (vLLM or a local server)."""
    seen = []

    def factory(res, url=None, model=None, protocol="json"):
        seen.append((url, model))
        return FakeRewriter(res.catalog, {"demands": [{"family": "purchase", "items": ["phone rental"]}]})

    r = runner.invoke(app, ["eval", "run", "-w", str(agent_ws.root), "--methods", "ask", "--scenarios", "phone_renting",
                            "--url", "http://127.0.0.1:9/v1", "--model", "served-rewriter", "--json"],
                      obj=agent_models(rewriter=factory))
    assert r.exit_code == 0, r.output
    assert seen == [("http://127.0.0.1:9/v1", "served-rewriter")]
    assert json.loads(r.stdout)["results"][0]["method"] == "ask"
