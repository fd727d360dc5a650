"""Few-shot methods: `find-fewshot` (CoOp prompt tuning on 5 + 5 seed users) and `umlp`
(One4all-style: a generic user embedding + an MLP trained on the same 10 seeds).

Seeds are drawn from *training* users' labels, `DRAWS` times with different seeds; metrics are
computed on held-out evaluation users for each draw and reported as mean ± std.
"""

from __future__ import annotations

import numpy as np

from targetbot.eval.methods.find import _bundle_and_rows
from targetbot.eval.registry import EvalContext, MethodOutput, TargetingMethod, register_method

DRAWS = 5
N_POS = N_NEG = 5


def seed_draws(scenario, ctx: EvalContext, draws: int = DRAWS) -> list[tuple[np.ndarray, np.ndarray]]:
    """(positive user ids, negative user ids) per draw, from training users only."""
    y = ctx.train_labels(scenario)
    train_users = ctx.users.to_numpy()[ctx.train_mask]
    pos, neg = train_users[y == 1], train_users[y == 0]
    out = []
    for d in range(draws):
        rng = np.random.default_rng([ctx.seed, d, sum(map(ord, scenario.name))])
        out.append((rng.choice(pos, min(N_POS, len(pos)), replace=False), rng.choice(neg, N_NEG, replace=False)))
    return out


def _decide(scores: np.ndarray, pos_scores: np.ndarray, neg_scores: np.ndarray) -> float:
    """Label-light rule: midway between the mean seed-positive and seed-negative scores."""
    return float((pos_scores.mean() + neg_scores.mean()) / 2)


def _over_seed_draws(scenario, ctx: EvalContext, users, rows: np.ndarray, score_draw) -> MethodOutput:
    """Score every seed draw with `score_draw(draw, pos_rows, neg_rows, pos_ids, neg_ids)` (scores of
    every bundle user), select by the seed midpoint, and report the mean score over draws."""
    draws, selected = [], []
    for d, (pos, neg) in enumerate(seed_draws(scenario, ctx)):
        pos_rows, neg_rows = users.get_indexer(list(pos)), users.get_indexer(list(neg))
        all_scores = score_draw(d, pos_rows, neg_rows, list(pos), list(neg))
        tau = _decide(all_scores, all_scores[pos_rows], all_scores[neg_rows])
        draws.append(all_scores[rows])
        selected.append(all_scores[rows] >= tau)
    return MethodOutput(scores=np.mean(draws, axis=0), selected=selected[0],
                        rule="midpoint of seed positive/negative mean scores",
                        extra={"draw_scores": draws, "draw_selected": selected})


@register_method("find-fewshot")
class FindFewShot(TargetingMethod):
    suites = ("few-shot",)
    description = "FIND prompt tuning (CoOp context vectors, triplet loss) on 5 positive + 5 negative seeds"

    def score(self, scenario, ctx: EvalContext) -> MethodOutput:
        from targetbot.towers.fewshot import TuneConfig, tune_prompt, tuning_sentences
        from targetbot.towers.find import Query

        zs, rows = _bundle_and_rows(ctx)
        query = Query(tuning_sentences(scenario.demand), [])

        def draw(d, pos_rows, neg_rows, pos, neg):
            prompt, _ = tune_prompt(zs.bundle, scenario.demand, pos, neg, TuneConfig(seed=ctx.seed + d))
            return zs.scores(query, prompt)

        return _over_seed_draws(scenario, ctx, zs.bundle.users, rows, draw)


@register_method("forecast-fewshot")
class ForecastFewShot(TargetingMethod):
    suites = ("few-shot",)
    description = "the zero-shot forecaster (towers/forecast.py) with the 5 + 5 seed users added as weighted examples"

    def score(self, scenario, ctx: EvalContext) -> MethodOutput:
        from targetbot.towers.find import Query

        zs, rows = _bundle_and_rows(ctx)
        query = Query.from_demand(scenario.demand)

        def draw(d, pos_rows, neg_rows, pos, neg):
            # as `targetbot find --seeds` scores: the profile term added, the towers where nothing matches
            return zs.scores(query, seeds=(pos_rows, neg_rows))

        return _over_seed_draws(scenario, ctx, zs.bundle.users, rows, draw)


@register_method("umlp")
class UserMLP(TargetingMethod):
    suites = ("few-shot",)
    description = "One4all-style: generic (pre-alignment) user embedding + MLP trained on the 10 seeds"

    def score(self, scenario, ctx: EvalContext) -> MethodOutput:
        from sklearn.neural_network import MLPClassifier
        from sklearn.preprocessing import StandardScaler

        zs, rows = _bundle_and_rows(ctx)
        generic = np.asarray(zs.bundle.embeddings("concat"), dtype=np.float32)
        draws, selected = [], []
        for d, (pos, neg) in enumerate(seed_draws(scenario, ctx)):
            seed_rows = zs.bundle.users.get_indexer(list(pos) + list(neg))
            X, y = generic[seed_rows], np.r_[np.ones(len(pos)), np.zeros(len(neg))]
            scaler = StandardScaler().fit(X)
            mlp = MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-2, max_iter=500, random_state=ctx.seed + d)
            mlp.fit(scaler.transform(X), y)
            p = mlp.predict_proba(scaler.transform(generic[rows]))[:, 1]
            draws.append(p)
            selected.append(p >= 0.5)
        return MethodOutput(scores=np.mean(draws, axis=0), selected=selected[0], rule="MLP probability >= 0.5",
                            extra={"draw_scores": draws, "draw_selected": selected})
