"""`find`: zero-shot targeting from the scenario's demand sentence with the default scorer
(per-demand forecast of matching future behaviour, towers/forecast.py); `find-tower`: FIND's
dual towers alone (demand through the text tower, cosine to every user embedding); `find-anchors`:
the anchor towers (towers/anchors.py). Each selects
users by its scorer's label-free rule (`ZeroShot.threshold`, documented in towers/find.py)."""

from __future__ import annotations

from targetbot.eval.registry import EvalContext, MethodOutput, TargetingMethod, register_method


def _bundle_and_rows(ctx: EvalContext, scorer: str = "forecast"):
    key = f"_find_{scorer}"
    if key not in ctx.cache:
        from targetbot.towers.bundle import Bundle
        from targetbot.towers.find import ZeroShot

        from targetbot.towers.config import FindConfig

        models = ctx.need_models()
        bundle = Bundle.load(ctx.ws, models.settings)
        rows = bundle.users.get_indexer(ctx.eval_users)
        if (rows < 0).any():
            from targetbot.core.errors import TargetbotError
            raise TargetbotError("the tower bundle does not cover every evaluation user: rebuild with 'targetbot build'")
        ctx.cache[key] = (ZeroShot(bundle, models.encode, scorer, FindConfig.for_workspace(ctx.ws.root)), rows)
    return ctx.cache[key]


@register_method("find")
class FindZeroShot(TargetingMethod):
    suites = ("zero-shot",)
    description = "zero-shot: forecast of the demand's future behaviour (falls back to the towers)"
    scorer = "forecast"

    def score(self, scenario, ctx: EvalContext) -> MethodOutput:
        from targetbot.towers.find import Query

        zs, rows = _bundle_and_rows(ctx, self.scorer)
        scored = zs.score(Query.from_demand(scenario.demand))
        scores = scored.scores[rows]
        tau = scored.threshold(seed=ctx.seed)
        return MethodOutput(scores=scores, selected=scores >= tau, rule=f"{scored.rule} (score >= {tau:.3f})")


@register_method("find-tower")
class FindTower(FindZeroShot):
    description = "FIND zero-shot with the dual towers only: demand templates vs aligned user embeddings"
    scorer = "tower"


@register_method("find-anchors")
class FindAnchors(FindZeroShot):
    description = "zero-shot with the anchor towers: the forecaster distilled into an inner product (towers/anchors.py)"
    scorer = "anchors"
