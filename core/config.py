"""Typed settings: where caches live and which models to load. No hidden globals.

The command line builds one `Settings` from TARGETBOT_* environment variables
(`targetbot.commands.common.settings_from_env`) and passes it down; nothing below the CLI reads
the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

BUNDLED_TEXT_ENCODER = "bundled:all-MiniLM-L6-v2"
BUNDLED_LLM = "bundled:qwen2.5-coder-0.5b-instruct"


def _default_cache() -> Path:
    return Path.home() / ".cache" / "targetbot"


class Settings(BaseModel):
    cache_dir: Path = Field(default_factory=_default_cache, description="Converted models and other caches.")
    text_encoder: str = Field(
        BUNDLED_TEXT_ENCODER,
        description="'bundled:all-MiniLM-L6-v2', a local folder, or a hub id such as "
        "'sentence-transformers/all-MiniLM-L6-v2' where a hub is reachable.",
    )
    llm: str = Field(
        BUNDLED_LLM,
        description="'bundled:qwen2.5-coder-0.5b-instruct', a local folder, or a hub id such as "
        "'Qwen/Qwen2.5-0.5B-Instruct' where a hub is reachable.",
    )
    seed: int = 0
    vllm_python: Path | None = Field(None, description="The python of the vLLM environment (`make vllm-env` "
                                     "builds .venv-vllm); None: vLLM is not installed.")
