"""Evaluate scenario rules on a workspace: a boolean per user, vectorised with pandas."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from targetbot.core.contract import EventRow
from targetbot.core.errors import DataError
from targetbot.core.scenarios.rules import (
    AllRule,
    AnyRule,
    Condition,
    EventsRule,
    NotRule,
    ProfileRule,
    Rule,
    regex_matches,
)
from targetbot.core.scenarios.scenario import Scenario
from targetbot.core.workspace import Workspace

ROLES = ("label", "history", "train_input", "train_target")


def apply_condition(values: pd.Series, cond: Condition) -> np.ndarray:
    """Vectorised test of a Series against a condition; missing values never match.

    Categorical columns (event text, category, merchant) are tested once per category and
    mapped back through the codes, which is what keeps labelling millions of events fast.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        hit = _apply(pd.Series(values.cat.categories), cond)
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, hit[np.maximum(codes, 0)], False)
    return _apply(values, cond)


def _apply(values: pd.Series, cond: Condition) -> np.ndarray:
    ok = values.notna().to_numpy().copy()
    for op, arg in cond.ops().items():
        if op in ("contains", "contains_any", "matches"):
            text = values.astype("string").fillna("")
            if op == "matches":  # user-written: a linear-time engine, so no pattern can hang labelling
                ok &= regex_matches(text.to_numpy(dtype=object), str(arg))
            else:
                words = [arg] if op == "contains" else arg
                hit = text.str.contains("|".join(re.escape(str(w)) for w in words), case=False, regex=True)
                ok &= hit.fillna(False).to_numpy(dtype=bool)
            continue
        if op in ("gt", "gte", "lt", "lte", "between"):
            num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                if op == "gt":
                    ok &= num > arg
                elif op == "gte":
                    ok &= num >= arg
                elif op == "lt":
                    ok &= num < arg
                elif op == "lte":
                    ok &= num <= arg
                else:
                    ok &= (num >= arg[0]) & (num <= arg[1])
            continue
        # equality family: compare as strings so 1 == "1" in YAML and Parquet alike
        as_str = values.astype("string")
        if op == "eq":
            ok &= (as_str == str(arg)).fillna(False).to_numpy(dtype=bool)
        elif op == "ne":
            ok &= (as_str != str(arg)).fillna(False).to_numpy(dtype=bool)
        elif op == "in":
            ok &= as_str.isin([str(a) for a in arg]).to_numpy(dtype=bool)
        elif op == "not_in":
            ok &= ~as_str.isin([str(a) for a in arg]).to_numpy(dtype=bool)
    return ok


@dataclass
class LabelContext:
    """Everything rules read, loaded once per workspace and shared by all scenarios."""

    ws: Workspace
    users: pd.Index
    profiles: pd.DataFrame
    events: pd.DataFrame
    _window_cache: dict = field(default_factory=dict)

    @classmethod
    def load(cls, ws: Workspace, users: pd.Index | None = None) -> "LabelContext":
        """Every user, or only `users` (a sample of a large workspace: their events are read from
        the user batches, so memory follows the sample, not the workspace)."""
        profiles = ws.user_profiles().set_index("user_id")
        profiles.index = profiles.index.astype(str)
        if users is None:
            return cls(ws=ws, users=pd.Index(profiles.index, name="user_id"), profiles=profiles, events=ws.events())
        from targetbot.core.user_batches import UserBatches

        users = pd.Index(pd.Index(users).astype(str), name="user_id")
        batches = UserBatches.build(ws)
        pos = batches.users.get_indexer(users)
        if (pos < 0).any():
            raise DataError(f"user '{users[np.flatnonzero(pos < 0)[0]]}' has no profile in {ws.root}")
        return cls(ws=ws, users=users, profiles=profiles.reindex(users), events=batches.read_users(pos))

    def windows_for(self, name: str) -> list[str]:
        if name in ROLES:
            return list(getattr(self.ws.meta.roles, name))
        known = [w.name for w in self.ws.meta.windows]
        if name not in known:
            raise DataError(f"unknown window '{name}' (roles: {', '.join(ROLES)}; windows: {', '.join(known)})")
        return [name]

    def events_in(self, name: str) -> pd.DataFrame:
        if name not in self._window_cache:
            wins = self.windows_for(name)
            self._window_cache[name] = self.events[self.events["window"].isin(wins)]
        return self._window_cache[name]


def _user_mask(ctx: LabelContext, user_ids: pd.Series) -> np.ndarray:
    return ctx.users.isin(pd.Index(user_ids.astype(str).unique()))


def evaluate_rule(rule: Rule, ctx: LabelContext, where: str = "label") -> np.ndarray:
    """Boolean array aligned with ctx.users."""
    if isinstance(rule, AllRule):
        out = np.ones(len(ctx.users), dtype=bool)
        for i, r in enumerate(rule.all):
            out &= evaluate_rule(r, ctx, f"{where}.all[{i}]")
        return out
    if isinstance(rule, AnyRule):
        out = np.zeros(len(ctx.users), dtype=bool)
        for i, r in enumerate(rule.any):
            out |= evaluate_rule(r, ctx, f"{where}.any[{i}]")
        return out
    if isinstance(rule, NotRule):
        return ~evaluate_rule(rule.not_, ctx, f"{where}.not")
    if isinstance(rule, ProfileRule):
        out = np.ones(len(ctx.users), dtype=bool)
        for col, cond in rule.profile.items():
            if col not in ctx.profiles.columns:
                cols = ", ".join(map(str, ctx.profiles.columns))
                raise DataError(f"{where}.profile: unknown profile column '{col}' (columns: {cols})")
            out &= apply_condition(ctx.profiles[col].reset_index(drop=True), cond)
        return out
    if isinstance(rule, EventsRule):
        return _evaluate_events(rule, ctx, f"{where}.events")
    raise DataError(f"{where}: unsupported rule {type(rule).__name__}")


def _evaluate_events(rule: EventsRule, ctx: LabelContext, where: str) -> np.ndarray:
    clause = rule.events
    ev = ctx.events_in(clause.window)
    known = set(EventRow.model_fields) | set(ctx.events.columns)
    fields = [*clause.where, *(clause.sum or {}), *(clause.distinct or {})]
    for f in fields:
        if f not in known:
            raise DataError(f"{where}: unknown event field '{f}' (fields: {', '.join(sorted(known))})")
    mask = np.ones(len(ev), dtype=bool)
    for f, cond in clause.where.items():
        if f not in ev.columns:
            mask &= False
            continue
        mask &= apply_condition(ev[f], cond)
    hit = ev.loc[mask]
    if hit.empty:
        return np.zeros(len(ctx.users), dtype=bool)
    groups = hit.groupby(hit["user_id"].astype(str), observed=True)
    passed = pd.Series(True, index=groups.size().index)
    has_aggregate = False
    if clause.count is not None:
        has_aggregate = True
        passed &= apply_condition(groups.size(), clause.count)
    if clause.days is not None:
        has_aggregate = True
        days = groups["ts"].agg(lambda s: pd.to_datetime(s).dt.normalize().nunique())
        passed &= apply_condition(days, clause.days)
    for f, cond in (clause.sum or {}).items():
        has_aggregate = True
        if f not in hit.columns:
            raise DataError(f"{where}.sum: field '{f}' is not in this workspace's events")
        total = pd.to_numeric(hit[f], errors="coerce").groupby(hit["user_id"].astype(str), observed=True).sum()
        passed &= apply_condition(total.reindex(passed.index), cond)
    for f, cond in (clause.distinct or {}).items():
        has_aggregate = True
        n = hit.groupby(hit["user_id"].astype(str), observed=True)[f].nunique()
        passed &= apply_condition(n.reindex(passed.index), cond)
    if clause.share is not None:
        has_aggregate = True
        all_in_window = ev.groupby(ev["user_id"].astype(str), observed=True).size()
        share = groups.size() / all_in_window.reindex(groups.size().index)
        passed &= apply_condition(share, clause.share)
    if not has_aggregate:
        passed &= groups.size() >= 1
    return ctx.users.isin(passed.index[passed.to_numpy(dtype=bool)])


@dataclass
class ScenarioLabels:
    scenario: Scenario
    labels: pd.DataFrame  # user_id, label (0/1), hard_negative (0/1), split

    @property
    def prevalence(self) -> float:
        return float(self.labels["label"].mean()) if len(self.labels) else 0.0

    @property
    def positives(self) -> int:
        return int(self.labels["label"].sum())

    @property
    def hard_negatives(self) -> int:
        return int(self.labels["hard_negative"].sum())

    def summary(self) -> dict:
        return {
            "name": self.scenario.name,
            "domain": self.scenario.domain,
            "demand": self.scenario.demand,
            "prevalence": round(self.prevalence, 4),
            "positives": self.positives,
            "hard_negatives": self.hard_negatives,
            "users": int(len(self.labels)),
        }


def compute_labels(scenario: Scenario, ctx: LabelContext) -> ScenarioLabels:
    where = f"scenario '{scenario.name}'"
    pos = evaluate_rule(scenario.label, ctx, f"{where}: label")
    hard = np.zeros_like(pos)
    if scenario.hard_negative is not None:
        hard = evaluate_rule(scenario.hard_negative, ctx, f"{where}: hard_negative") & ~pos
    split = ctx.ws.user_split(pd.Series(ctx.users))
    df = pd.DataFrame(
        {
            "user_id": ctx.users.to_numpy(),
            "label": pos.astype(np.int8),
            "hard_negative": hard.astype(np.int8),
            "split": split.to_numpy(),
        }
    )
    return ScenarioLabels(scenario, df)
