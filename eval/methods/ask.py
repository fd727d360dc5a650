"""`ask`: the targeting agent end to end — each scenario's demand *as a marketer would say it*
(ask_paraphrases.yaml, written from the demand alone) goes through the rewriter into a plan, and
the agent's executor (FIND + EGL, fused) scores every user. Selection: the audience the agent
returns (its label-free sizing rule). Scores are the fused scores, with the users the plan's
filters and exclusions leave out ranked below everyone else.

The rewriter is the slow part on a CPU, so plans are cached per request text in the workspace
(WS/artifacts/agent/plan-cache/, keyed by the rewriter and catalog too); a second run replays
the cached plans without the LLM, which the executor makes deterministic.
"""

from __future__ import annotations


import numpy as np
import yaml

from targetbot.eval.registry import EvalContext, MethodOutput, TargetingMethod, register_method
from targetbot.core.resources import package_path

PARAPHRASES = package_path("targetbot.eval", "methods", "ask_paraphrases.yaml")


def marketer_request(scenario) -> str:
    """The request as a marketer says it: the built-ins' table, else the scenario's own first
    paraphrase (the bank's scenarios carry theirs), else its demand."""
    table = yaml.safe_load(PARAPHRASES.read_text(encoding="utf-8")) or {}
    said = table.get(scenario.name) or scenario.paraphrases
    return said[0] if said else scenario.demand


@register_method("ask")
class AskMethod(TargetingMethod):
    suites = ("zero-shot",)
    description = "the agent: marketer paraphrase -> rewriter plan -> FIND + EGL fused (plans cached)"

    def prepare(self, ctx: EvalContext) -> None:
        from targetbot.agent.executor import Executor
        from targetbot.agent.planner import Planner
        from targetbot.agent.resources import Resources

        res = Resources(ctx.ws, ctx.need_models())
        url, model = ctx.options.get("url"), ctx.options.get("model")  # a served rewriter, when given
        self.planner = Planner(res, cache=True, url=url, model=model, protocol=ctx.options.get("protocol") or "json")
        self.executor = Executor(res)
        self.rows = res.users.get_indexer(ctx.eval_users.astype(str))

    def score(self, scenario, ctx: EvalContext) -> MethodOutput:
        from targetbot.agent.executor import AskOptions

        request = marketer_request(scenario)
        plan, info = self.planner.plan(request)
        r = self.executor.execute(plan, request, AskOptions(record=False, reveal=False), info)
        fused = r.session.scores["fused"].copy()
        fused[~r.session.state.eligible] -= 2.0  # filtered-out and excluded users rank last
        chosen = np.zeros(len(fused), dtype=bool)
        chosen[r.session.state.audience.rows] = True
        ok = self.rows >= 0
        scores = np.where(ok, fused[np.maximum(self.rows, 0)], -1.0)
        selected = np.where(ok, chosen[np.maximum(self.rows, 0)], False)
        return MethodOutput(scores=scores, selected=selected, rule=r.explanation["rule"],
                            extra={"request": request, "plan": plan.to_json(), "plan_source": info.get("plan_source")})
