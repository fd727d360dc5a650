"""`random`: the floor. Scores are noise; the rule selects each user with probability 1/2."""

from __future__ import annotations

import numpy as np

from targetbot.eval.registry import EvalContext, MethodOutput, TargetingMethod, register_method


@register_method("random")
class RandomMethod(TargetingMethod):
    suites = ("zero-shot", "few-shot")
    description = "uniform random scores"

    def score(self, scenario, ctx: EvalContext) -> MethodOutput:
        rng = np.random.default_rng([ctx.seed, sum(map(ord, scenario.name))])
        scores = rng.random(int(ctx.eval_mask.sum()))
        return MethodOutput(scores=scores, selected=scores >= 0.5, rule="score >= 0.5 (half of users at random)")
