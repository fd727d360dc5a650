import pytest

from targetbot.rewrite.config import ServeConfig, VllmConfig
from targetbot.rewrite.engine_vllm import run_vllm, vllm_command
from targetbot.core.errors import TargetbotError


def test_vllm_command_serves_base_plus_lora_with_tools():
    cfg = ServeConfig(engine="vllm", port=9000, host="0.0.0.0")
    cmd = vllm_command(cfg, "/models/qwen", "/adapters/rw")
    assert cmd[:3] == ["vllm", "serve", "/models/qwen"]
    s = " ".join(cmd)
    assert "--enable-lora --lora-modules targetbot-rewriter=/adapters/rw" in s
    assert "--enable-auto-tool-choice --tool-call-parser hermes" in s
    assert "--served-model-name base" in s and "--port 9000" in s and "--host 0.0.0.0" in s
    assert "--max-lora-rank 16" in s
    assert "guided" not in s


def test_vllm_command_merged_and_base_only():
    merged = vllm_command(ServeConfig(engine="vllm", merge=True), "/models/merged", "/adapters/rw")
    assert "--enable-lora" not in merged and merged[merged.index("--served-model-name") + 1] == "targetbot-rewriter"
    base = vllm_command(ServeConfig(engine="vllm", vllm=VllmConfig(extra_args=["--seed", "7"])), "Qwen/Qwen2.5-0.5B-Instruct", None)
    assert "--enable-lora" not in base and base[-2:] == ["--seed", "7"]


def test_run_vllm_says_what_is_missing():
    with pytest.raises(TargetbotError, match="needs a GPU"):
        run_vllm(["definitely-not-vllm-xyz", "serve", "m"])
