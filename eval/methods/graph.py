"""`graph`: EGL zero-shot targeting — the demand's key phrases -> seed entities -> k-hop expansion
over the mined relations -> users by preference r_u · h_e (EGL Eq. 7). Needs no seed users.

Key phrases: dictionary entities named in the demand ("the new VoltRide e-bike sharing service"
-> VoltRide) plus the entities whose descriptions are closest to the whole demand (text
encoder, cosine >= the expansion config's `semantic_match`; at most three). Each seed is
expanded `hops` hops; an entity's weight is its path score times `hop_decay ** hop`. A user's
score is their preference for the weighted mean of the chosen entities' h_e, pooled over the
user's entities as the graph config says (default `top_k`; `mean` is EGL Eq. 7's r_u · h_e —
see egl.preference for why, docs/RESULTS.md for the figures).

Decision rule (no labels): select users whose score is at least 2 standard deviations above
the mean score of all users with history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from targetbot.egl.build import ensure_graph
from targetbot.egl.expansion import SeedMatch, expand_with, graph_dictionary
from targetbot.egl.storage import load_graph
from targetbot.eval.registry import EvalContext, MethodOutput, TargetingMethod, register_method

Z_RULE = 2.0


@register_method("graph")
class GraphMethod(TargetingMethod):
    suites = ("zero-shot",)
    description = "EGL: seed entities from the demand, k-hop expansion, user-entity preference"

    def prepare(self, ctx: EvalContext) -> None:
        self.models = ctx.need_models()
        self.cfg = ensure_graph(ctx.ws, self.models)
        self.graph = load_graph(ctx.ws)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.models.encode(texts)

    def seeds(self, demand: str) -> list[SeedMatch]:
        g, ex = self.graph, self.cfg.expansion
        d = graph_dictionary(g)
        seeds = [SeedMatch(demand, ids[0], "mention", 1.0) for ids in d.match(demand) if len(ids) == 1]
        sims = g.semantic @ self.encode([demand])[0]
        for i in np.argsort(-sims)[:3]:
            if sims[i] >= ex.semantic_match:
                seeds.append(SeedMatch(demand, int(i), "semantic", float(sims[i])))
        if not seeds:  # nothing clears the bar: the single closest entity, at its similarity
            i = int(np.argmax(sims))
            seeds.append(SeedMatch(demand, i, "semantic", float(max(sims[i], 0.0))))
        uniq: dict[int, SeedMatch] = {}
        for s in seeds:
            if s.entity not in uniq or uniq[s.entity].similarity < s.similarity:
                uniq[s.entity] = s
        return list(uniq.values())

    def score(self, scenario, ctx: EvalContext) -> MethodOutput:
        g, ex = self.graph, self.cfg.expansion
        seeds = self.seeds(scenario.demand)
        chosen = expand_with(g, seeds, ex)
        ids = [c.entity for c in chosen]
        pref = self.cfg.preference
        user_ids, s = g.preference(ids, [pref.entity_weight(c.score, c.hop) for c in chosen], pref)
        mu, sd = float(s.mean()), float(s.std()) or 1.0
        per_user = pd.Series(s, index=user_ids)
        eval_users = pd.Index(ctx.eval_users.astype(str))
        floor = float(s.min()) - 1.0 if len(s) else 0.0  # users with no history rank last
        scores = per_user.reindex(eval_users).fillna(floor).to_numpy()
        selected = scores >= mu + Z_RULE * sd
        names = [g.names[i] for i in ids]
        return MethodOutput(scores=scores, selected=selected,
                            rule=f"{pref.pooling} preference >= mean + {Z_RULE:g} sd over {len(ids)} entities",
                            extra={"seeds": ", ".join(g.names[x.entity] for x in seeds),
                                   "entities": ", ".join(names[:12])})
