"""Engine `vllm`: serve the base Qwen with the rewriter LoRA on a GPU via `vllm serve`.

The server speaks the same OpenAI-compatible protocol as engine `local`; requests name the LoRA
module (`"model": "targetbot-rewriter"`) and carry the plan schema as
`response_format={"type": "json_schema", ...}` (structured outputs). Tool calls for Qwen2.5 use
`--enable-auto-tool-choice --tool-call-parser hermes`. LoRA serving costs throughput; with
`merge=True` the adapter is merged into a plain model folder that is served without LoRA.
vLLM needs a GPU: on a CPU-only machine `vllm` is not installable and `run_vllm` says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from targetbot.rewrite.config import ServeConfig
from targetbot.core.errors import TargetbotError


def vllm_command(cfg: ServeConfig, base_model: str, adapter: str | Path | None) -> list[str]:
    """The exact `vllm serve` command line for a config (base model folder or hub id + optional LoRA)."""
    v = cfg.vllm
    cmd = [v.executable, "serve", str(base_model), "--host", cfg.host, "--port", str(cfg.port),
           "--dtype", v.dtype, "--max-model-len", str(v.max_model_len),
           "--gpu-memory-utilization", str(v.gpu_memory_utilization),
           "--enable-auto-tool-choice", "--tool-call-parser", v.tool_call_parser]
    if adapter is not None and not cfg.merge:
        cmd += ["--served-model-name", cfg.base_name,
                "--enable-lora", "--lora-modules", f"{cfg.served_name}={adapter}",
                "--max-lora-rank", str(v.max_lora_rank), "--max-loras", str(v.max_loras)]
    else:
        cmd += ["--served-model-name", cfg.served_name if adapter is not None else cfg.base_name]
    return cmd + list(v.extra_args)


def merged_model_dir(base_model: str, adapter: str | Path, out: str | Path, settings) -> Path:
    """Merge the LoRA into the base weights and save a plain model folder (what `merge=True` serves)."""
    from peft import PeftModel

    from targetbot.core.atomic import atomic_path
    from targetbot.rewrite.llm import load_llm

    model, tok = load_llm(settings, dtype="bfloat16")  # base_model documents the source folder
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    out = Path(out)
    with atomic_path(out) as tmp:
        merged.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return out


def run_vllm(cmd: list[str]) -> int:
    """Run `vllm serve` in the foreground; returns its exit code."""
    if shutil.which(cmd[0]) is None:
        raise TargetbotError(f"'{cmd[0]}' not found: vLLM needs a GPU machine (pip install vllm there); "
                             "use --engine local on a CPU, or --print-command to see the command line")
    env = dict(os.environ)
    env.setdefault("VLLM_ALLOW_RUNTIME_LORA_UPDATING", "True")
    return subprocess.call(cmd, env=env)
