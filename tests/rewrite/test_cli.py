import copy
import json

import pytest
from typer.testing import CliRunner

from targetbot.cli import app
from targetbot.core.config import Settings

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_adapter(tmp_path_factory, catalog, tiny_model):
    from targetbot.rewrite.config import LoraSpec, StageRecipe, SynthConfig, TrainConfig
    from targetbot.rewrite.train import train_rewriter

    model, tok = tiny_model
    cfg = TrainConfig(lora=LoraSpec(r=4, alpha=8, top_layers=1), stage1=StageRecipe(steps=1, batch_size=1),
                      stage2=StageRecipe(steps=1, batch_size=1),
                      synth=SynthConfig(requests=4, heldout_requests=2, knowledge_min=2, knowledge_max=2))
    out = tmp_path_factory.mktemp("cli") / "adapter"
    train_rewriter(catalog, out, Settings(), cfg, model_and_tokenizer=(copy.deepcopy(model), tok))
    return out


def test_serve_vllm_prints_the_exact_command(small_world_path, tiny_adapter):
    r = runner.invoke(app, ["rewrite", "serve", "--engine", "vllm", "--port", "8123", "-w", str(small_world_path),
                            "--adapter", str(tiny_adapter), "--no-merge", "--device", "cpu", "--print-command", "--json"])
    assert r.exit_code == 0, r.output
    cmd = json.loads(r.stdout)["command"]
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"] and f"targetbot-rewriter={tiny_adapter}" in cmd
    assert "--enable-auto-tool-choice" in cmd and cmd[cmd.index("--port") + 1] == "8123"
    merged = runner.invoke(app, ["rewrite", "serve", "--engine", "vllm", "-w", str(small_world_path), "--adapter",
                                 str(tiny_adapter), "--device", "cpu", "--print-command", "--json"])
    cmd = json.loads(merged.stdout)["command"]  # on a CPU the adapter is served merged by default
    assert "--enable-lora" not in cmd and "rewriter-merged" in cmd[cmd.index("--model") + 1]


def test_serve_vllm_without_its_environment_names_the_make_target(small_world_path, tiny_adapter, tmp_path):
    from targetbot.agent.models import Models
    from targetbot.core.config import Settings

    models = Models(Settings(vllm_python=tmp_path / "missing" / "python"))
    r = runner.invoke(app, ["rewrite", "serve", "--engine", "vllm", "-w", str(small_world_path), "--adapter",
                            str(tiny_adapter), "--device", "cpu", "--no-merge"], obj=models)
    assert r.exit_code == 2 and "make vllm-env" in r.output


def test_serve_rejects_unknown_engine(small_world_path, tiny_adapter):
    r = runner.invoke(app, ["rewrite", "serve", "--engine", "tgi", "-w", str(small_world_path), "--adapter", str(tiny_adapter)])
    assert r.exit_code == 2 and "unknown engine 'tgi'" in r.output


def test_rewrite_request_json_through_a_server(small_world_path, tiny_model, tiny_adapter):
    from targetbot.rewrite.engine_local import LocalEngine
    from targetbot.rewrite.server import serve_in_thread

    model, tok = tiny_model
    engine = LocalEngine(model_and_tokenizer=(copy.deepcopy(model), tok), adapter=tiny_adapter)
    srv, url = serve_in_thread(engine)
    try:
        r = runner.invoke(app, ["rewrite", "users likely to buy phones", "--json", "-w", str(small_world_path),
                                "--url", url])
    finally:
        srv.shutdown()
        srv.server_close()
    if r.exit_code == 0:  # a random tiny model either yields a valid plan ...
        out = json.loads(r.stdout)
        assert out["plan"]["demands"] and out["attempts"] in (1, 2) and out["model"] == "targetbot-rewriter"
    else:  # ... or a clear one-line error, never a half-valid plan
        assert r.exit_code == 2 and r.output.startswith("error: the rewriter's output is invalid after one repair")
        assert r.output.count("\n") == 1


def test_eval_rewrite_suite_json_contract(small_world_path, tmp_path, tiny_model, tiny_adapter, monkeypatch, catalog):
    import shutil

    import targetbot.eval.rewrite_suite as suite
    from targetbot.rewrite.engine_local import LocalEngine

    model, tok = tiny_model

    def tiny_engine(spec, ws, settings):
        adapter = None if spec.startswith("base") else tiny_adapter
        eng = LocalEngine(model_and_tokenizer=(copy.deepcopy(model), tok), adapter=adapter, merge=True)
        return eng, eng.models()[0], "full" if adapter is None else "tuned", not spec.endswith(":free")

    monkeypatch.setattr(suite, "_engine_for", tiny_engine)
    ws = tmp_path / "ws"
    shutil.copytree(small_world_path, ws)
    reqs = tmp_path / "requests.jsonl"
    reqs.write_text("\n".join(json.dumps(x) for x in [
        {"request": f"users likely to buy {catalog.names[0]}", "families": ["purchase"], "entities": [catalog.names[0]], "exclude": []},
        {"request": "who will search for cheap phones", "families": ["search"], "entities": [], "exclude": []},
    ]) + "\n")
    r = runner.invoke(app, ["eval", "run", "-w", str(ws), "--suite", "rewrite", "--requests", str(reqs),
                            "--models", "base,tuned", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["suite"] == "rewrite" and [x["model"] for x in out["results"]] == ["base", "tuned"]
    for row in out["results"]:
        assert set(row) == set(suite.ROW_KEYS)
        assert 0 <= row["family_f1"] <= 1 and 0 <= row["entity_f1"] <= 1 and row["latency_s"] > 0
        assert row["json_valid"] >= 0


def test_eval_rewrite_bad_requests_file(small_world_path, tmp_path):
    reqs = tmp_path / "r.jsonl"
    reqs.write_text('{"request": "ok", "families": ["purchase"]}\n{"request": "x", "families": ["shopping"]}\n')
    r = runner.invoke(app, ["eval", "run", "-w", str(small_world_path), "--suite", "rewrite", "--requests", str(reqs)])
    assert r.exit_code == 2
    assert f"{reqs}: line 2: unknown family 'shopping'" in r.output and r.output.count("\n") == 1


def test_eval_rewrite_suite_through_a_served_model(small_world_path, tmp_path, tiny_model, tiny_adapter, catalog):
    """`eval run --suite rewrite --url`: the same harness, the plans coming from a server (here the
    local engine's; vLLM speaks the same protocol)."""
    import shutil

    from targetbot.rewrite.engine_local import LocalEngine
    from targetbot.rewrite.server import serve_in_thread

    model, tok = tiny_model
    engine = LocalEngine(model_and_tokenizer=(copy.deepcopy(model), tok), adapter=tiny_adapter)
    srv, url = serve_in_thread(engine)
    ws = tmp_path / "ws"
    shutil.copytree(small_world_path, ws)
    reqs = tmp_path / "requests.jsonl"
    reqs.write_text(json.dumps({"request": f"users likely to buy {catalog.names[0]}", "families": ["purchase"],
                                "entities": [catalog.names[0]], "exclude": []}) + "\n")
    try:
        r = runner.invoke(app, ["eval", "run", "-w", str(ws), "--suite", "rewrite", "--requests", str(reqs),
                                "--url", url, "--models", "targetbot-rewriter,base", "--json"])
    finally:
        srv.shutdown()
        srv.server_close()
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [x["model"] for x in out["results"]] == ["targetbot-rewriter", "base"]
    assert all(row["latency_s"] > 0 for row in out["results"])
