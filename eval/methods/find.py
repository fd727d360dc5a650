"""`find`: FIND zero-shot — the scenario's demand sentence through the trained text tower,
scored against every evaluation user's embedding; selection by the label-free mixture rule
documented in towers/find.py."""

from __future__ import annotations

import numpy as np

from eval.registry import EvalContext, MethodOutput, TargetingMethod, register_method


def _bundle_and_rows(ctx: EvalContext):
    if "_find" not in ctx.cache:
        from towers.bundle import Bundle
        from towers.find import ZeroShot

        bundle = Bundle.load(ctx.ws)
        rows = bundle.users.get_indexer(ctx.eval_users)
        if (rows < 0).any():
            from targetbot.errors import TargetbotError
            raise TargetbotError("the tower bundle does not cover every evaluation user: rebuild with 'targetbot build'")
        ctx.cache["_find"] = (ZeroShot(bundle), rows)
    return ctx.cache["_find"]


@register_method("find")
class FindZeroShot(TargetingMethod):
    suites = ("zero-shot",)
    description = "FIND zero-shot: demand templates vs aligned user embeddings"

    def score(self, scenario, ctx: EvalContext) -> MethodOutput:
        from towers.find import Query, decision_threshold

        zs, rows = _bundle_and_rows(ctx)
        scores = zs.scores(Query.from_demand(scenario.demand), users=rows)
        all_scores = zs.scores(Query.from_demand(scenario.demand))
        tau = decision_threshold(all_scores, seed=ctx.seed)
        return MethodOutput(scores=scores, selected=scores >= tau, rule=f"GMM upper component (score >= {tau:.3f})")
