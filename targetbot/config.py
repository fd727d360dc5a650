"""Typed settings: where caches live and which models to load. No hidden globals.

`Settings.from_env()` reads TARGETBOT_* environment variables; everything else passes a
`Settings` explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

BUNDLED_TEXT_ENCODER = "bundled:all-MiniLM-L6-v2"
BUNDLED_LLM = "bundled:qwen2.5-coder-0.5b-instruct"


def _default_cache() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "targetbot"


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

    @classmethod
    def from_env(cls) -> "Settings":
        values: dict = {}
        if v := os.environ.get("TARGETBOT_CACHE_DIR"):
            values["cache_dir"] = Path(v)
        if v := os.environ.get("TARGETBOT_TEXT_ENCODER"):
            values["text_encoder"] = v
        if v := os.environ.get("TARGETBOT_LLM"):
            values["llm"] = v
        if v := os.environ.get("TARGETBOT_SEED"):
            values["seed"] = int(v)
        return cls(**values)
