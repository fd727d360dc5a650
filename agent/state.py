"""What one plan's tools share while it runs: typed, so a reader sees every field a tool may
write and a tool cannot read one that nobody wrote (the label-free sizing asks for the rules the
sources actually produced, not for keys that happen to be present)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class SourceRule:
    """A score source's own label-free decision: users at or above `threshold`, `selected` of them."""

    threshold: float
    selected: int


@dataclass
class Selection:
    """Rows of `Resources.users`, best first, and the rule that chose them (in words)."""

    rows: np.ndarray
    rule: str = ""


@dataclass
class SessionState:
    plan: Any = None  # the validated TargetingPlan
    notes: list[str] = field(default_factory=list)  # what was skipped or changed, for the explanation
    # FIND
    find_sentences: list[str] = field(default_factory=list)
    find_rule: SourceRule | None = None
    find_evidence: list[dict] = field(default_factory=list)  # future texts the forecast matched
    prompt: Any = None  # a tuned PromptLearner (tower scorer)
    seeds: tuple[np.ndarray, np.ndarray] | None = None  # seed rows (forecast scorer)
    # EGL
    expanded: list = field(default_factory=list)  # egl.expansion.Expanded, seeds first
    entity_rows: list[dict] = field(default_factory=list)  # the same as JSON rows
    unmatched: list[dict] = field(default_factory=list)  # phrases that matched no entity
    graph_rule: SourceRule | None = None
    mention_users: int = 0
    # sizing and comparison
    fusion: dict = field(default_factory=dict)
    size: dict = field(default_factory=dict)  # estimate_size's answer
    audience: Selection | None = None
    eligible: np.ndarray | None = None  # users passing the filters and exclusions
    previous: Selection | None = None  # the audience of the turn before (chat)
    agreement: dict | None = None
    vs_previous: dict | None = None
    refusal: str | None = None  # why the audience's ids may not be revealed (agent/privacy.py); None: they may

    def source_rules(self) -> list[SourceRule]:
        """The decisions of the sources that ran (FIND, EGL)."""
        return [r for r in (self.find_rule, self.graph_rule) if r is not None]

    def selection(self, name: str) -> Selection | None:
        if name not in ("audience", "previous"):
            raise KeyError(name)
        return getattr(self, name)
