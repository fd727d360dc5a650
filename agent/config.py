"""Agent settings as data: `WS/agent.yaml` overrides the defaults (all keys optional)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from targetbot.errors import DataError

CONFIG_FILE = "agent.yaml"


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    find_weight: float = Field(16.0, ge=0, description="Weight of the FIND rank in the fused score (reciprocal "
                               "rank fusion, agent/fusion.py).")
    graph_weight: float = Field(1.0, ge=0, description="Weight of the EGL (entity preference r_u·h_e) rank in the fused score.")
    mentions_weight: float = Field(1.0, ge=0, description="Weight of the EGL evidence rank: how often (log-damped, "
                                   "weighted by expansion score) the user's history names the plan's entities.")
    rrf_k: float = Field(60.0, gt=0, description="Reciprocal rank fusion constant: larger flattens the reward for "
                         "being at the very top of one source.")
    min_export_size: int = Field(50, ge=1, description="Audiences smaller than this are neither listed nor exported.")
    max_audience_share: float = Field(0.5, gt=0, le=1, description="A size or threshold coming from the plan "
                                      "(not from the caller) selects at most this share of all users.")
    max_request_chars: int = Field(2000, ge=20, description="Longer requests are refused (the rewriter reads at "
                                   "most 600 characters anyway).")
    examples: int = Field(3, ge=0, le=20, description="Example users in the explanation.")
    snippets: int = Field(3, ge=0, le=10, description="Behaviour snippets per example user.")
    tune_steps: int = Field(40, ge=1, le=300, description="tune_prompt: most optimisation steps (early stopping).")
    negatives_per_seed: int = Field(2, ge=1, description="tune_prompt: negative seed users drawn per positive "
                                    "(the lowest zero-shot scores, so no labels are needed).")

    @classmethod
    def for_workspace(cls, root: str | Path, **overrides) -> "AgentConfig":
        path = Path(root) / CONFIG_FILE
        raw: dict = {}
        if path.exists():
            try:
                raw = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as e:
                raise DataError(f"{path}: not valid YAML ({e.__class__.__name__})") from None
        raw.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(raw)
        except ValidationError as e:
            err = e.errors()[0]
            raise DataError(f"{path}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
