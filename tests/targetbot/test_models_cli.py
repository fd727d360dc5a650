"""`targetbot models`: the configured models, the checksum gate as a user meets it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from targetbot.cli import app
from targetbot.core import bundled as m
from targetbot.core.config import BUNDLED_LLM


def test_cli_models_json_refuses_bad_checksum(fake_parts, tmp_path, monkeypatch):
    monkeypatch.setenv("TARGETBOT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TARGETBOT_LLM", raising=False)
    monkeypatch.delenv("TARGETBOT_TEXT_ENCODER", raising=False)
    result = CliRunner().invoke(app, ["models", "--json", "--no-load"])
    assert result.exit_code == 2, result.output
    doc = json.loads(result.stdout)
    rows = {r["name"]: r for r in doc["models"]}
    assert set(rows) == {"text-encoder", "llm"}
    for r in rows.values():
        assert {"name", "kind", "spec", "path", "available", "verified", "size_bytes", "load_seconds"} <= set(r)
    assert rows["text-encoder"]["available"] is True and rows["text-encoder"]["size_bytes"] > 10_000_000
    llm = rows["llm"]
    assert llm["spec"] == BUNDLED_LLM and llm["available"] is False and llm["verified"] is False
    assert "refusing to load" in llm["error"]
    err_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(err_lines) == 1 and "refusing to load" in err_lines[0]
    assert not (tmp_path / "cache" / "qwen" / m.QWEN_GGUF_NAME).exists()


@pytest.mark.real_models
def test_real_cli_models_json(monkeypatch):
    for var in ("TARGETBOT_CACHE_DIR", "TARGETBOT_LLM", "TARGETBOT_TEXT_ENCODER"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["models"]}
    enc, llm = rows["text-encoder"], rows["llm"]
    assert enc["available"] and enc["dim"] == 384 and enc["load_seconds"] > 0
    assert llm["available"] and llm["verified"] is True and llm["sha256"] == m.QWEN_SHA256
    assert llm["converted"] is True and llm["size_bytes"] == 491_400_064 and llm["load_seconds"] > 0
    assert llm["error"] is None and enc["error"] is None
