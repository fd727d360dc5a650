"""Plan -> audience. Deterministic given a plan: the same plan on the same artifacts gives the
same tool calls, scores and audience (`targetbot ask --plan plan.json` replays one without the LLM).

Steps:

1. Validate: the plan model again (a replayed file may be anything), the catalog (entity names,
   profile fields and values), then the filters against the profiles (a contradiction is
   reported before any tool runs).
2. Allowed tools follow from the plan and the caller's options only (`allowed_tools`):
   find_users for the template demands; expand_entities + users_for_entities when the plan
   names entities or search queries; tune_prompt only with seed users; overlap when both
   sources run; export_audience only when the caller asked for an export. Nothing in the
   request's text can add one.
3. Score: FIND over the request's words in template sentences (`find_sentences`; with seed
   users, the few-shot forecaster), EGL over the plan's entities expanded `hops` hops (weight =
   path score · hop_decay^hop, as in eval's `graph`): preference (egl.preference), and evidence — the
   weighted log count of history events naming them.
4. Fuse (agent/fusion.py: weighted reciprocal rank fusion, rank-normalised).
5. Size (estimate_size): profile filters exactly, exclusions exactly (users whose history
   names an excluded entity), then the caller's --size, else the plan's size or threshold
   (capped at `max_audience_share` of users), else a label-free rule (the geometric mean of
   the sizes the sources' own rules select: FIND's mixture rule, EGL's mean + 2 sd; geometric
   so one source's degenerate rule does not dominate), scaled by the share of users still
   eligible.
6. Explain, export (atomic, minimum size), record the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from targetbot.agent.fusion import fuse, rank_normalise
from targetbot.agent.resources import Resources
from targetbot.agent.state import Selection
from targetbot.agent.tools import ToolSession
from targetbot.rewrite.plan import PlanError, TargetingPlan, check_plan
from targetbot.core.errors import TargetbotError


@dataclass
class AskOptions:
    size: int | None = None  # the caller's size: overrides the plan's size and threshold, never capped
    export_path: Path | None = None
    overwrite: bool = False  # the export may replace an existing file
    record: bool = True  # write WS/runs/ask-*/
    reveal: bool = True  # ids may leave the tool (listing, export, run record); False for evaluation


@dataclass
class AskResult:
    run_id: str | None
    request: str
    plan: TargetingPlan
    tool_calls: list[dict]
    audience: pd.DataFrame  # user_id, score (fused), find, graph (rank-normalised sources)
    listed: bool  # ids revealed: the privacy guard let the audience out (agent/privacy.py)
    export_path: str | None
    explanation: dict
    info: dict = field(default_factory=dict)  # plan source, timings, versions
    session: ToolSession | None = field(default=None, repr=False)  # scores and state, for chat and tests

    def to_json(self) -> dict:
        """The `ask --json` contract."""
        users = self.audience[["user_id", "score"]].to_dict("records") if self.listed else []
        return {"run_id": self.run_id, "request": self.request,
                "plan": self.plan.model_dump(mode="json", exclude_defaults=True),
                "tool_calls": [{"tool": c["tool"], "args": c["args"]} for c in self.tool_calls],
                "audience": {"size": int(len(self.audience)), "export_path": self.export_path, "users": users},
                "explanation": self.explanation}


def search_queries(plan: TargetingPlan) -> list[str]:
    return [q for d in plan.demands if d.family == "search" for q in d.queries]


def find_sentences(plan: TargetingPlan) -> list[str]:
    """What FIND scores users against: the request in the marketer's words (the plan's `phrasing`)
    in FIND's template families; a plan without phrasing (hand-written, or older) renders its
    demands instead. The words are preferred because the slots keep only what the catalog can
    name, and mixing both in one query lets an exact slot match crowd out the rest (the
    forecaster keeps the texts closest to any sentence); docs/RESULTS.md has the comparison."""
    from targetbot.towers.templates import template_sentences

    if plan.phrasing:
        return [t for p in plan.phrasing for t in template_sentences(p)][:12]
    return plan.sentences()


def planning_notes(info: dict) -> list[str]:
    """What the planner changed or could not do, in words for the explanation."""
    notes = []
    if info.get("plan_error"):
        notes.append(f"the rewriter gave no valid plan ({info['plan_error']}): targeted by the request's words only")
    notes += [f"filter {d} dropped: the request does not mention it (say it to keep it)" for d in info.get("dropped_filters", [])]
    notes += [f"filter {a} added: the request states it, the rewriter's plan missed it" for a in info.get("added_filters", [])]
    if info.get("replaced_filters"):
        notes.append(f"age filter set from the request's words (the rewriter had {', '.join(info['replaced_filters'])})")
    if info.get("dropped_exclusions"):
        notes.append(f"exclusion of {', '.join(info['dropped_exclusions'])} dropped: the request excludes nobody")
    for key, what in (("dropped_size", "size"), ("dropped_threshold", "threshold")):
        if info.get(key) is not None:
            notes.append(f"{what} {info[key]} dropped: the request does not state it")
    if info.get("ignored_json"):
        notes.append("JSON inside the request was ignored: a request is read as words, never as a plan")
    return notes


def allowed_tools(plan: TargetingPlan, options: AskOptions) -> set[str]:
    tools = {"find_users", "estimate_size", "explain_audience"}
    if plan.entities() or search_queries(plan):
        tools |= {"expand_entities", "users_for_entities", "overlap"}
    if plan.seed_users:
        tools.add("tune_prompt")
    if options.export_path is not None:
        tools.add("export_audience")
    return tools


def validate_plan(plan: TargetingPlan | dict, res: Resources) -> TargetingPlan:
    """A plan that passed the model, the catalog and the filters; PlanError / FilterError otherwise."""
    from targetbot.agent.filters import filter_mask
    from pydantic import ValidationError

    if not isinstance(plan, TargetingPlan):
        try:
            plan = TargetingPlan.model_validate(plan)
        except ValidationError as e:
            err = e.errors()[0]
            raise PlanError(f"plan field {'.'.join(map(str, err['loc'])) or '(root)'}: {err['msg']}") from None
    plan = check_plan(TargetingPlan.model_validate(plan.model_dump()), res.catalog)
    filter_mask(res.profiles, plan.filters)
    unknown = [u for u in plan.seed_users if u not in set(res.users)]
    if unknown:
        raise PlanError(f"seed user '{unknown[0]}' is not in this workspace")
    return plan


class Executor:
    def __init__(self, res: Resources):
        self.res = res

    def execute(self, plan: TargetingPlan | dict, request: str = "", options: AskOptions | None = None,
                info: dict | None = None, previous: np.ndarray | None = None) -> AskResult:
        options = options or AskOptions()
        t0 = time.perf_counter()
        res, cfg = self.res, self.res.config
        if options.export_path is not None:  # a bad path costs nothing
            from targetbot.agent.export import check_export_path

            check_export_path(options.export_path, options.overwrite)
        plan = validate_plan(plan, res)
        allowed = allowed_tools(plan, options)
        if previous is not None:
            allowed |= {"overlap"}
        s = ToolSession(res, allowed)
        s.state.plan, s.state.notes = plan, planning_notes(info or {})
        if previous is not None:
            s.state.previous = Selection(previous)
        sentences = find_sentences(plan)
        s.state.find_sentences = sentences

        if res.zero_shot() is not None:
            if plan.seed_users:
                self._tune(s, plan, sentences)
            else:
                s.call("find_users", {"sentences": sentences})
        else:
            s.state.notes.append(f"FIND skipped: {res.missing('zs')}")
        if "expand_entities" in allowed:
            if res.graph() is not None:
                self._graph(s, plan)
            else:
                s.state.notes.append(f"EGL skipped: {res.missing('graph')}")
        if not s.scores:
            raise TargetbotError("neither FIND nor EGL could score users: build the workspace first "
                                 f"('targetbot build -w {res.ws.root}')")
        weights = {"find": cfg.find_weight, "graph": cfg.graph_weight, "mentions": cfg.mentions_weight}
        s.scores["fused"] = fuse({k: v for k, v in s.scores.items() if k in weights}, weights, cfg.rrf_k)
        s.state.fusion = {"method": f"weighted reciprocal rank fusion (k={cfg.rrf_k:g}), as a share of users outranked",
                             "weights": {k: weights[k] for k in s.scores if k in weights}}

        cap = max(1, int(cfg.max_audience_share * len(res.users)))
        if options.size is not None:
            size_args = {"size": options.size}
        elif plan.size is not None:
            size_args = {"size": plan.size, "cap": cap}
        elif plan.threshold is not None:
            size_args = {"threshold": plan.threshold, "cap": cap}
        else:
            size_args = {"cap": cap}
        if plan.filters is not None:
            size_args["filters"] = plan.filters.model_dump(mode="json")
        if plan.exclude:
            size_args["exclude"] = list(plan.exclude)
        s.state.size = s.call("estimate_size", size_args)
        if "find" in s.scores and "graph" in s.scores:
            s.state.agreement = s.call("overlap", {"a": "find", "b": "graph"})
        if previous is not None:
            s.state.vs_previous = s.call("overlap", {"a": "audience", "b": "previous"})
        if s.state.size["selected"] == 0:
            s.state.notes.append("no user passes the filters and exclusions with this sizing")

        from targetbot.agent.privacy import guard_for

        ids = res.users.to_numpy()[s.state.audience.rows]
        guard = guard_for(res.ws, cfg)
        s.state.refusal = guard.refusal(ids) if options.reveal else "an internal run (evaluation) reveals no ids"
        explanation = s.call("explain_audience", {"examples": cfg.examples, "snippets": cfg.snippets})
        if s.state.vs_previous is not None:
            explanation["vs_previous"] = s.state.vs_previous
        export_path = None
        if options.export_path is not None:
            export_path = s.call("export_audience", {"path": str(options.export_path),
                                                     "overwrite": options.overwrite})["path"]

        rows = s.state.audience.rows
        audience = pd.DataFrame({"user_id": res.users.to_numpy()[rows], "score": s.scores["fused"][rows].round(6)})
        for k in weights:
            if k in s.scores:
                audience[k] = rank_normalise(s.scores[k])[rows].round(6)
        from targetbot.agent.runs import new_run_id

        listed = s.state.refusal is None
        run_id = new_run_id() if options.record else None
        if listed:
            guard.record(ids, "ask", run_id)
        result = AskResult(run_id, request, plan, s.calls, audience, listed, export_path, explanation,
                           dict(info or {}), s)
        result.info["execute_seconds"] = round(time.perf_counter() - t0, 3)
        result.info["allowed_tools"] = sorted(allowed)
        if options.record:
            from targetbot.agent.runs import write_run

            write_run(res, result)
        return result

    def _tune(self, s: ToolSession, plan: TargetingPlan, sentences: list[str]) -> None:
        """Few-shot: the plan's seed users are positives; negatives are the users the zero-shot
        scores rank lowest (no labels needed), `negatives_per_seed` per positive."""
        s.call("find_users", {"sentences": sentences})
        order = np.argsort(s.scores["find"], kind="stable")
        seeds = set(plan.seed_users)
        k = min(40, self.res.config.negatives_per_seed * len(seeds))
        neg = [u for u in self.res.users.to_numpy()[order] if u not in seeds][:k]
        s.call("tune_prompt", {"demand": sentences[0][:300], "positives": list(plan.seed_users), "negatives": neg,
                                  "steps": self.res.config.tune_steps})
        s.call("find_users", {"sentences": sentences, "use_prompt": True})

    def _graph(self, s: ToolSession, plan: TargetingPlan) -> None:
        phrases = plan.entities() + search_queries(plan)
        s.call("expand_entities", {"phrases": phrases[:12], "hops": plan.hops})
        expanded = s.state.expanded
        if not expanded:
            s.state.notes.append("EGL skipped: no phrase of the plan matches a graph entity")
            return
        g = self.res.graph()
        pref = self.res.graph_config.preference
        s.call("users_for_entities", {"entities": [g.names[x.entity] for x in expanded],
                                      "weights": [round(pref.entity_weight(x.score, x.hop), 6) for x in expanded]})
