"""The agent's tools: langchain `StructuredTool`s with pydantic argument schemas, bound to one
`ToolSession` (the resources, the plan's allowed tools, the state tools share, the call log).

Tools exchange scores through the session (`scores` by source name: "find", "graph",
"mentions", "fused"; the typed `state`, agent/state.py), never through arguments, so a tool call
stays small enough to audit: every call is logged as {"tool", "args"} with the validated arguments.

The gate sits inside each tool: a tool the session does not allow raises `OutOfPlanTool`
whichever way it is invoked (the executor, a langchain agent loop, a test). The executor
allows only what the validated plan and the caller's options need; a request's text has no
way to add a tool.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import pandas as pd
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from targetbot.agent.resources import Resources
from targetbot.agent.state import Selection, SessionState, SourceRule
from targetbot.rewrite.plan import Filters
from targetbot.core.errors import TargetbotError

TOOL_NAMES = ("find_users", "expand_entities", "users_for_entities", "tune_prompt", "estimate_size", "overlap",
              "explain_audience", "export_audience")
Source = Literal["find", "graph", "mentions", "fused", "audience", "previous"]


class OutOfPlanTool(TargetbotError):
    """A tool the plan does not allow was called."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindUsersArgs(_Args):
    sentences: list[str] = Field(min_length=1, max_length=12, description="Template demand sentences (FIND families).")
    exclude: list[str] = Field(default_factory=list, max_length=4, description="Sentences to push away (soft).")
    use_prompt: bool = Field(False, description="Score with what tune_prompt learnt in this session (seeds or prompt).")


class ExpandEntitiesArgs(_Args):
    phrases: list[str] = Field(min_length=1, max_length=12, description="Entity names, aliases or short phrases.")
    hops: int = Field(1, ge=0, le=3, description="k-hop depth.")


class UsersForEntitiesArgs(_Args):
    entities: list[str] = Field(min_length=1, max_length=80, description="Graph entity names.")
    weights: list[float] | None = Field(None, description="One weight per entity (default: equal).")


class TunePromptArgs(_Args):
    demand: str = Field(min_length=1, max_length=300)
    positives: list[str] = Field(min_length=1, max_length=10, description="Positive seed user ids.")
    negatives: list[str] = Field(min_length=1, max_length=40, description="Negative seed user ids.")
    steps: int = Field(60, ge=1, le=300)


class EstimateSizeArgs(_Args):
    filters: Filters | None = None
    exclude: list[str] = Field(default_factory=list, max_length=8, description="Entities whose users are left out.")
    size: int | None = Field(None, ge=1)
    threshold: float | None = Field(None, ge=0, le=1, description="On the fused score (share of users outranked).")
    cap: int | None = Field(None, ge=1, description="At most this many users.")


class OverlapArgs(_Args):
    a: Source
    b: Source
    k: int | None = Field(None, ge=1, description="Compare the top k of score sources (default: the audience size).")


class ExplainArgs(_Args):
    examples: int = Field(3, ge=0, le=20)
    snippets: int = Field(3, ge=0, le=10)


class ExportArgs(_Args):
    path: str = Field(min_length=1, description="Where to write the audience (.csv or .parquet).")
    overwrite: bool = Field(False, description="Replace an existing file (the caller's --force).")


def _loggable(args: dict) -> dict:
    """Tool arguments as the call log keeps them: seed user ids as counts. The log reaches `ask
    --json`, run records and `runs show`, and the negatives are users the tool picked itself, so
    their ids would leave it whatever the privacy guard decided about the audience."""
    return {k: (f"{len(v)} user ids" if k in ("positives", "negatives") and isinstance(v, list) else v)
            for k, v in args.items()}


class ToolSession:
    """One plan's execution context: which tools may run, what they share, what they did."""

    def __init__(self, res: Resources, allowed: set[str] | list[str]):
        unknown = set(allowed) - set(TOOL_NAMES)
        if unknown:
            raise TargetbotError(f"unknown tool(s): {', '.join(sorted(unknown))}")
        self.res = res
        self.allowed = frozenset(allowed)
        self.calls: list[dict] = []
        self.scores: dict[str, np.ndarray] = {}  # per source, aligned with res.users (NaN = not scored)
        self.state = SessionState()
        self.tools: dict[str, StructuredTool] = {t.name: t for t in build_tools(self)}

    def call(self, name: str, args: dict | None = None):
        if name not in self.tools:
            raise OutOfPlanTool(f"no tool named '{name}'")
        return self.tools[name].invoke(args or {})

    def _run(self, name: str, args: _Args, fn: Callable[[_Args], dict]) -> dict:
        if name not in self.allowed:
            raise OutOfPlanTool(f"tool '{name}' is not allowed by this plan (allowed: {', '.join(sorted(self.allowed))})")
        call = {"tool": name, "args": _loggable(args.model_dump(mode="json", exclude_none=True))}
        self.calls.append(call)
        t = time.perf_counter()
        try:
            return fn(args)
        except TargetbotError as e:
            call["error"] = str(e)[:300]
            raise
        finally:
            call["seconds"] = round(time.perf_counter() - t, 3)

    # ---- helpers -----------------------------------------------------------------------------
    def _align(self, ids: pd.Index, values: np.ndarray) -> np.ndarray:
        rows = ids.get_indexer(self.res.users)
        out = np.full(len(self.res.users), np.nan)
        ok = rows >= 0
        out[ok] = np.asarray(values, dtype=np.float64)[rows[ok]]
        return out

    def ranked(self, source: str, k: int | None = None) -> np.ndarray:
        """Rows of `res.users` of a source's best users (k of them) or of an audience."""
        if source in ("audience", "previous"):
            chosen = self.state.selection(source)
            if chosen is None:
                raise TargetbotError(f"no {source} audience in this session yet")
            return chosen.rows if k is None else chosen.rows[:k]
        if source not in self.scores:
            raise TargetbotError(f"no '{source}' scores in this session yet")
        s = np.nan_to_num(self.scores[source], nan=-np.inf)
        order = np.argsort(-s, kind="stable")
        k = k or (len(self.state.audience.rows) if self.state.audience is not None else 0) or 100
        return order[:k]

    # ---- tools -------------------------------------------------------------------------------
    def find_users(self, a: FindUsersArgs) -> dict:
        from targetbot.towers.find import Query

        zs = self.res.zero_shot()
        if zs is None:
            raise TargetbotError(f"FIND is not available: {self.res.missing('zs')}")
        prompt = self.state.prompt if a.use_prompt else None
        seeds = self.state.seeds if a.use_prompt else None
        if a.use_prompt and prompt is None and seeds is None:
            raise TargetbotError("use_prompt: no prompt was tuned in this session")
        query = Query.from_demand(a.sentences, a.exclude, templates=False)
        scored = zs.score(query, prompt=prompt, seeds=seeds)
        raw, tau = scored.scores, scored.threshold()
        self.scores["find"] = self._align(zs.bundle.users, raw)
        self.state.find_rule = SourceRule(round(float(tau), 6), int((raw >= tau).sum()))
        self.state.find_evidence = [{"text": t, "similarity": sim, "category": cat}
                                    for t, sim, cat in scored.evidence[:5]]
        return {"users_scored": int(len(raw)), "rule_selected": self.state.find_rule.selected,
                "rule_threshold": round(float(tau), 4), "sentences": query.sentences,
                "matched_behaviour": [e["text"] for e in self.state.find_evidence]}

    def expand_entities(self, a: ExpandEntitiesArgs) -> dict:
        from targetbot.egl.expansion import as_rows, expand_with, match_seeds

        g = self.res.graph()
        if g is None:
            raise TargetbotError(f"EGL is not available: {self.res.missing('graph')}")
        ex = self.res.graph_config.expansion
        seeds, unmatched = [], []
        for phrase in a.phrases:
            try:
                seeds.extend(match_seeds(g, [phrase], ex.semantic_match, self.res.encode))
            except TargetbotError as e:
                unmatched.append({"phrase": phrase, "reason": str(e)})
        uniq = {}
        for s in seeds:
            if s.entity not in uniq or uniq[s.entity].similarity < s.similarity:
                uniq[s.entity] = s
        expanded = expand_with(g, list(uniq.values()), ex, hops=a.hops) if uniq else []
        rows = as_rows(g, expanded)
        self.state.expanded = expanded
        self.state.entity_rows = rows
        self.state.unmatched = unmatched
        return {"seeds": [g.names[s.entity] for s in uniq.values()], "entities": len(rows),
                "top": [r["entity"] for r in rows[:10]], "unmatched": [u["phrase"] for u in unmatched]}

    def users_for_entities(self, a: UsersForEntitiesArgs) -> dict:
        g = self.res.graph()
        if g is None:
            raise TargetbotError(f"EGL is not available: {self.res.missing('graph')}")
        ids, unknown = [], []
        for name in a.entities:
            (ids if name in g.index else unknown).append(g.index.get(name, name))
        if unknown:
            raise TargetbotError(f"unknown graph entit{'y' if len(unknown) == 1 else 'ies'}: {', '.join(map(str, unknown[:5]))}")
        pref = self.res.graph_config.preference
        # raises "N weights for M entities" (egl.preference.target_vector) before anything is stored
        user_ids, s = g.preference(ids, a.weights, pref)
        self.scores["graph"] = self._align(user_ids, s)
        w = np.ones(len(ids)) if a.weights is None else np.asarray(a.weights, dtype=np.float64)
        counts = self.res.history_mentions[:, ids]
        self.scores["mentions"] = np.asarray(counts.log1p() @ w).ravel()
        self.state.mention_users = int((counts.sum(axis=1) > 0).sum())
        mu, sd = float(s.mean()), float(s.std()) or 1.0
        self.state.graph_rule = SourceRule(round(mu + 2 * sd, 6), int((s >= mu + 2 * sd).sum()))
        return {"users_scored": int(len(s)), "rule_selected": self.state.graph_rule.selected,
                "users_naming_an_entity": self.state.mention_users}

    def tune_prompt(self, a: TunePromptArgs) -> dict:
        from targetbot.towers.fewshot import TuneConfig, seed_rows, tune_forecast, tune_prompt

        zs = self.res.zero_shot()
        if zs is None:
            raise TargetbotError(f"FIND is not available: {self.res.missing('zs')}")
        if zs.scorer == "forecast":  # the seeds join the demand's forecaster (towers/fewshot.py)
            info = tune_forecast(zs, a.demand, a.positives, a.negatives)
            if info is not None:
                self.state.seeds = seed_rows(zs.bundle, a.positives, a.negatives)
                return {"scorer": "forecast", "pseudo_positives": info["pseudo_positives"], "seconds": info["seconds"]}
        prompt, info = tune_prompt(zs.bundle, a.demand, a.positives, a.negatives, TuneConfig(steps=a.steps))
        self.state.prompt = prompt
        return {"scorer": "tower", **{k: info[k] for k in ("steps_run", "best_val_loss", "seconds")}}

    def estimate_size(self, a: EstimateSizeArgs) -> dict:
        from targetbot.agent.filters import filter_mask

        if "fused" not in self.scores:
            raise TargetbotError("estimate_size needs fused scores: run find_users or users_for_entities first")
        fused = self.scores["fused"]
        n = len(fused)
        fmask, per_condition = filter_mask(self.res.profiles, a.filters)
        xmask, per_entity = self.res.users_mentioning(a.exclude) if a.exclude else (np.zeros(n, bool), {})
        eligible = fmask & ~xmask
        order = np.argsort(-fused, kind="stable")
        order = order[eligible[order]]
        if a.size is not None:
            rule = f"the {a.size:,} best eligible users"
            rows = order[:a.size]
        elif a.threshold is not None:
            rule = f"fused score >= {a.threshold:g}"
            rows = order[fused[order] >= a.threshold]
        else:
            counts = [max(r.selected, 1) for r in self.state.source_rules()]
            k = int(round(float(np.exp(np.mean(np.log(counts)))) * eligible.mean())) if counts else 0
            rule = (f"label-free: the geometric mean of the sizes the sources' own rules select "
                    f"({', '.join(map(str, counts))}), scaled to the {eligible.mean():.0%} of users eligible")
            rows = order[:max(k, 1)]
        capped = a.cap is not None and len(rows) > a.cap
        if capped:
            rows = rows[:a.cap]
            rule += f", capped at {a.cap:,}"
        self.state.audience = Selection(rows, rule)
        self.state.eligible = eligible
        reach = {f"{q:g}": int((fused[eligible] >= q).sum()) for q in (0.99, 0.95, 0.9, 0.8, 0.5)}
        return {"users": n, "after_filters": int(fmask.sum()), "after_exclusions": int(eligible.sum()),
                "selected": int(len(rows)), "rule": rule, "capped": bool(capped), "conditions": per_condition,
                "excluded_by_entity": per_entity, "excluded": int((fmask & xmask).sum()), "reach": reach}

    def overlap(self, a: OverlapArgs) -> dict:
        ra, rb = set(self.ranked(a.a, a.k).tolist()), set(self.ranked(a.b, a.k).tolist())
        inter = len(ra & rb)
        union = len(ra | rb) or 1
        return {"a": a.a, "b": a.b, "a_size": len(ra), "b_size": len(rb), "overlap": inter,
                "jaccard": round(inter / union, 4)}

    def explain_audience(self, a: ExplainArgs) -> dict:
        from targetbot.agent.explain import explanation

        return explanation(self, a.examples, a.snippets)

    def export_audience(self, a: ExportArgs) -> dict:
        from targetbot.agent.export import export_audience

        return export_audience(self, Path(a.path), a.overwrite)


_SPECS = [
    ("find_users", FindUsersArgs, "FIND zero-shot: score every user against template demand sentences."),
    ("expand_entities", ExpandEntitiesArgs, "EGL: match phrases to entities and expand k hops with reasoning paths."),
    ("users_for_entities", UsersForEntitiesArgs, "EGL: score users by preference for the chosen entities (egl.preference), "
     "and by the weighted (log) count of history events naming them."),
    ("tune_prompt", TunePromptArgs, "FIND few-shot: tune a prompt on positive and negative seed users."),
    ("estimate_size", EstimateSizeArgs, "Apply profile filters and exclusions exactly and size the audience."),
    ("overlap", OverlapArgs, "Overlap between two audiences or score sources."),
    ("explain_audience", ExplainArgs, "Explain the audience: sentences, entities, filters, scores, examples."),
    ("export_audience", ExportArgs, "Write the audience to a file (atomic; refuses audiences below the minimum size)."),
]


def build_tools(session: ToolSession) -> list[StructuredTool]:
    def make(name: str, schema: type[_Args], description: str) -> StructuredTool:
        impl = getattr(session, name)

        def func(**kwargs):
            return session._run(name, schema(**kwargs), impl)

        return StructuredTool.from_function(func=func, name=name, description=description, args_schema=schema)

    return [make(*spec) for spec in _SPECS]
