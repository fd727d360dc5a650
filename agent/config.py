"""Agent settings as data: `WS/agent.yaml` overrides the defaults (all keys optional)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from targetbot.core.yamlfile import load_workspace_config

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
    min_export_size: int = Field(50, ge=1, description="The audience floor: audiences smaller than this are neither "
                                 "listed nor exported by any route (a command may raise it, not lower it).")
    difference_window_days: float = Field(30.0, ge=0, description="An audience whose difference from any audience "
                                          "revealed in this many days is under the floor is refused (0 = off; "
                                          "agent/privacy.py).")
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
        return load_workspace_config(cls, root, CONFIG_FILE, overrides)
