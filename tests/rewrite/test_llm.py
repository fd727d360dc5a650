"""The chat LLM: model-spec errors, and the real bundled Qwen assembled, converted and generating."""

from __future__ import annotations

import pytest

from targetbot.core import bundled as m
from targetbot.core.config import Settings
from targetbot.core.errors import TargetbotError
from targetbot.rewrite.llm import chat, load_llm


def test_llm_spec_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TargetbotError, match="unknown bundled LLM"):
        load_llm(Settings(cache_dir=tmp_path, llm="bundled:nope"))
    with pytest.raises(TargetbotError, match="no config.json"):
        load_llm(Settings(cache_dir=tmp_path, llm=str(tmp_path)))
    with pytest.raises(TargetbotError, match="hub is not reachable.*TARGETBOT_LLM"):
        load_llm(Settings(cache_dir=tmp_path, llm="nobody-here/no-such-model-xyz"))


@pytest.mark.real_models
def test_real_qwen_assembles_converts_and_generates():
    settings = Settings()  # the user cache (~/.cache/targetbot): converted once, fast afterwards
    gguf = m.assemble_qwen_gguf(settings)
    assert gguf.stat().st_size == 491_400_064 and m.qwen_gguf_verified(settings)
    folder = m.convert_qwen(settings)
    assert m.qwen_converted(settings) and (folder / "model.safetensors").is_file()
    assert m.llm_path(settings) == str(folder)
    model, tok = load_llm(settings)
    assert str(model.dtype) == "torch.bfloat16" and model.targetbot_load_seconds > 0
    stats: dict = {}
    reply = chat(model, tok, [{"role": "user", "content": "Reply with the single word: yes"}],
                   max_new_tokens=4, stats=stats)
    assert "yes" in reply.lower()
    assert 1 <= stats["new_tokens"] <= 4 and stats["tokens_per_second"] > 0
