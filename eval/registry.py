"""The method registry and the context every method sees.

A method turns a scenario's demand (and, for few-shot methods, seed users) into a score per
evaluation user plus a selection made by its own decision rule:

    @register_method("keyword")
    class Keyword(TargetingMethod):
        suites = ("zero-shot",)
        def score(self, scenario, ctx):
            ...
            return MethodOutput(scores=..., selected=..., rule="...")

Methods may read history events and profiles for all users and labels of *training* users
only (`ctx.train_labels`); evaluation labels are never handed out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from targetbot.core.errors import TargetbotError
from targetbot.core.scenarios import LabelContext, Scenario, ScenarioLabels, compute_labels
from targetbot.core.workspace import Workspace


@dataclass
class MethodOutput:
    scores: np.ndarray  # one per evaluation user, higher = more likely
    selected: np.ndarray  # bool per evaluation user: the method's own decision
    rule: str = ""  # the decision rule in words, for reports
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalContext:
    """Shared, lazily computed inputs for all methods on one workspace."""

    ws: Workspace
    labels_ctx: LabelContext
    models: Any = None  # the process's models (targetbot.agent.models.Models), for methods that need one
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # the run's options (e.g. url: a served rewriter)
    cache: dict[str, Any] = field(default_factory=dict)  # methods share expensive features here
    _labels: dict[str, ScenarioLabels] = field(default_factory=dict)

    @classmethod
    def load(cls, ws: Workspace, models=None, seed: int = 0, options: dict | None = None) -> "EvalContext":
        """`options["sample_users"]`: evaluate on a seeded sample of that many evaluation users (and as
        many training users, for the methods that learn from labels) instead of everyone."""
        options = dict(options or {})
        users = sample_users(ws, options["sample_users"], seed) if options.get("sample_users") else None
        return cls(ws=ws, labels_ctx=LabelContext.load(ws, users), models=models, seed=seed, options=options)

    def need_models(self):
        if self.models is None:
            raise TargetbotError("this method needs models: pass models to the evaluation (EvalContext.load(ws, models))")
        return self.models

    @property
    def users(self) -> pd.Index:
        return self.labels_ctx.users

    @property
    def split(self) -> np.ndarray:
        if "_split" not in self.cache:
            self.cache["_split"] = self.ws.user_split(pd.Series(self.users)).to_numpy()
        return self.cache["_split"]

    @property
    def eval_mask(self) -> np.ndarray:
        return self.split == "eval"

    @property
    def train_mask(self) -> np.ndarray:
        return self.split == "train"

    @property
    def eval_users(self) -> np.ndarray:
        return self.users.to_numpy()[self.eval_mask]

    def history(self) -> pd.DataFrame:
        """Events of the history windows: the only events a method may use as input."""
        if "_history" not in self.cache:
            self.cache["_history"] = self.labels_ctx.events_in("history")
        return self.cache["_history"]

    def labels(self, scenario: Scenario) -> ScenarioLabels:
        if scenario.name not in self._labels:
            self._labels[scenario.name] = compute_labels(scenario, self.labels_ctx)
        return self._labels[scenario.name]

    def train_labels(self, scenario: Scenario) -> np.ndarray:
        """Labels of training users (aligned with `users[train_mask]`): for supervised references."""
        return self.labels(scenario).labels["label"].to_numpy()[self.train_mask]

    def eval_labels(self, scenario: Scenario) -> np.ndarray:
        """For the runner's metrics only; methods must not call this."""
        return self.labels(scenario).labels["label"].to_numpy()[self.eval_mask]


def sample_users(ws: Workspace, n: int, seed: int = 0) -> pd.Index | None:
    """Up to `n` evaluation and `n` training users, drawn with `seed`, in profile order (None: the
    workspace has no more than that: everyone is evaluated)."""
    from targetbot.core.user_batches import profile_users

    ids = profile_users(ws)
    split = ws.user_split(pd.Series(ids)).to_numpy()
    if (split == "eval").sum() <= n and (split == "train").sum() <= n:
        return None
    rng = np.random.default_rng(seed)
    pick = np.concatenate([rng.choice(np.flatnonzero(split == half), min(n, int((split == half).sum())), replace=False)
                           for half in ("eval", "train")])
    return ids[np.sort(pick)]


class TargetingMethod:
    name: ClassVar[str] = ""
    suites: ClassVar[tuple[str, ...]] = ("zero-shot",)
    description: ClassVar[str] = ""

    def prepare(self, ctx: EvalContext) -> None:
        """Once per workspace, before any scenario (fit shared models, build features)."""

    def score(self, scenario: Scenario, ctx: EvalContext) -> MethodOutput:
        raise NotImplementedError


_REGISTRY: dict[str, type[TargetingMethod]] = {}


def register_method(name: str):
    def deco(cls: type[TargetingMethod]) -> type[TargetingMethod]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return deco


def _load_builtins() -> None:
    import targetbot.eval.methods  # noqa: F401  (registers the built-in methods)


def list_methods(suite: str | None = None) -> list[str]:
    _load_builtins()
    return sorted(n for n, c in _REGISTRY.items() if suite is None or suite in c.suites)


def get_method(name: str) -> TargetingMethod:
    _load_builtins()
    if name not in _REGISTRY:
        raise TargetbotError(f"unknown method '{name}' (methods: {', '.join(sorted(_REGISTRY))})")
    return _REGISTRY[name]()
