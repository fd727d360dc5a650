"""Zero-shot targeting: demand sentences -> text tower -> similarity to every user -> audience.

A demand is one or more sentences; several template sentences (FIND's families written from
the demand's parts, towers/templates.py) are embedded and averaged, so a plain request and a rewritten plan
both work. Exclusions (hard negatives) are sentences too: score = sim(demand) - λ·sim(exclusion).

Three scorers (`ZeroShot(bundle, encode, scorer=...)`; settings in WS/find.yaml, `FindConfig`):
* `forecast` (default): the demand is matched to training users' future behaviour texts and a
  per-demand forecaster of that behaviour is fitted on their preceding history (towers/forecast.py);
  falls back to `tower` when no training user ever did anything that matches.
* `tower`: cosine between the aligned user embedding and the text tower's demand vector (FIND
  proper); the only scorer the faiss index serves, so `--top-k` / `--threshold` use the index
  with it.
* `anchors`: the forecaster distilled into an inner product (towers/anchors.py): every user's
  forecasts of the anchor behaviours (`AnchorConfig.count`), weighted by the demand's match to
  each; no fit per query; falls back to `tower` when the workspace has no anchor.

Who the request describes ("high earners who ...": `Query.subject`) is read against the profile
table and added to any scorer's scores (towers/profile_prior.py); `Scored.profile` says what it
took.

Decision rule (no labels needed). Forecast scores: the top N users, N = the number of users the
forecaster expects to do the matched behaviour (sum of its probabilities). Tower and anchor scores: a
two-component Gaussian mixture is fitted to the score distribution; users whose posterior of
belonging to the upper component is at least 1/2 are selected. When the mixture finds no
separated upper group (its weight > 1/2), the rule falls back to mean + 2 standard deviations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from sklearn.mixture import GaussianMixture

from targetbot.core.errors import TargetbotError
from targetbot.towers.bundle import Bundle
from targetbot.towers.config import FindConfig
from targetbot.towers.templates import demand_groups, template_sentences, who_described
from targetbot.towers.text_tower import PromptLearner

if TYPE_CHECKING:
    from targetbot.towers.forecast import Forecast
    from targetbot.towers.profile_prior import ProfileMatch, ProfilePrior

SCORERS = ("forecast", "tower", "anchors")
_LEAD = re.compile(r"^(find |target |select |show me |get me |give me )?(all )?(the )?(users?|people|customers?|persons?|"
                   r"individuals?|parents?|owners?|fans?)( whose| who(?:'ll|'d|'re)?| that)?"
                   r"( are| is| will| would| might| may| could| can)?"
                   r"( (very |most |more )?likely to| (probably|potentially) (going to )?| (interested in|keen on|about to))?\s*",
                   re.IGNORECASE)


def core_phrase(demand: str) -> str:
    """'users likely to rent phones' -> 'rent phones'."""
    core = _LEAD.sub("", demand.strip()).strip(" .")
    return core or demand.strip()


def decision_threshold(scores: np.ndarray, seed: int = 0) -> float:
    s = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    if len(s) < 10 or float(s.std()) == 0.0:
        return float(s.max()) if len(s) else 0.0
    gm = GaussianMixture(2, random_state=seed).fit(s)
    hi = int(np.argmax(gm.means_.ravel()))
    if gm.weights_[hi] <= 0.5:
        post = gm.predict_proba(s)[:, hi]
        chosen = s.ravel()[post >= 0.5]
        if len(chosen):
            return float(chosen.min())
    return float(s.mean() + 2 * s.std())


@dataclass
class Query:
    sentences: list[str]
    exclude: list[str]
    subject: str | None = None  # who the request describes ("high earners"): read against the profiles

    @classmethod
    def from_demand(cls, demand: str | list[str], exclude: list[str] | None = None, templates: bool = True) -> "Query":
        items = [demand] if isinstance(demand, str) else list(demand)
        items = [d for d in (x.strip() for x in items) if d]
        if not items:
            raise TargetbotError("empty demand: say who to target, e.g. 'users likely to rent phones'")
        for d in items + list(exclude or []):
            if len(d) > 2000:
                raise TargetbotError(f"demand sentence too long ({len(d)} characters; at most 2000)")
        sentences = [s for d in items for s in (template_sentences(d) if templates else [d])]
        subject = who_described(items[0]) if templates else None
        return cls(sentences, [e.strip() for e in (exclude or []) if e.strip()], subject)


@dataclass
class Scored:
    """One query's answer: every user's score, the scorer that produced it (`forecast` falls back to
    `tower` when nothing matches the demand) and, for a forecast, what it matched."""

    scores: np.ndarray
    forecast: "Forecast | None" = None  # the demand's own forecast (exclusions not subtracted)
    profile: "list[ProfileMatch]" = field(default_factory=list)  # profile descriptions the subject took

    @property
    def scorer(self) -> str:
        return "forecast" if self.forecast is not None else "tower"

    def threshold(self, seed: int = 0) -> float:
        """The label-free decision rule (module doc): forecast scores keep the top N users, N = the
        forecaster's expected audience; tower scores use the score mixture."""
        if self.forecast is not None:
            from targetbot.towers.forecast import expected_audience

            n = min(len(self.scores), expected_audience(self.forecast.scores))
            return float(np.sort(np.asarray(self.scores))[::-1][n - 1])
        return decision_threshold(self.scores, seed=seed)

    @property
    def rule(self) -> str:
        return "expected audience of the forecaster" if self.forecast is not None else "GMM upper component"

    @property
    def evidence(self) -> list[tuple[str, float, str]]:
        """The future behaviour texts the forecast matched (text, similarity, the event category
        that raised the match or ""), best first; empty when the towers answered."""
        if self.forecast is None:
            return []
        return [(t, sim, cat) for (t, sim), cat in zip(self.forecast.evidence, self.forecast.lifted_by)]


class ZeroShot:
    """Scores users of a bundle against a query; keeps the text tower loaded (warm).

    `encode` is the representation center's sentence encoder (texts -> unit vectors), which the
    forecast scorer matches demands with; it is called only when a forecast is asked for."""

    def __init__(self, bundle: Bundle, encode: Callable[[list[str]], np.ndarray], scorer: str = "forecast",
                 config: FindConfig | None = None):
        if scorer not in SCORERS:
            raise TargetbotError(f"unknown scorer '{scorer}' (choose from {', '.join(SCORERS)})")
        self.bundle = bundle
        self.encode = encode
        self.scorer = scorer
        self.config = config or FindConfig()
        self.text = bundle.text_tower()
        self._forecaster = None
        self._profile_prior = None

    def forecaster(self):
        if self._forecaster is None:
            from targetbot.towers.forecast import ForecastScorer

            f = self.config.forecast
            self._forecaster = ForecastScorer(self.bundle.forecast_data(f), self.encode, f)
        return self._forecaster

    def profile_prior(self) -> "ProfilePrior":
        if self._profile_prior is None:
            from targetbot.towers.profile_prior import ProfilePrior

            profiles = self.bundle.ws.user_profiles().set_index("user_id")
            profiles.index = profiles.index.astype(str)
            self._profile_prior = ProfilePrior(profiles.reindex(self.bundle.users.astype(str)), self.encode,
                                               self.config.profile)
        return self._profile_prior

    def profile_matches(self, query: Query) -> "list[ProfileMatch]":
        """The profile descriptions the query's subject takes (none: the profile table is not read)."""
        if not query.subject or not self.config.profile.weight:
            return []
        return self.profile_prior().matches(query.subject)

    def anchor_tower(self):
        return self.bundle.anchor_tower(self.config, self.encode)

    def anchor_scores(self, sentences: list[str]) -> np.ndarray:
        tower = self.anchor_tower()
        e = np.asarray(self.encode(sentences), dtype=np.float32)
        e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        a = self.config.anchors
        return tower.scores(tower.weights(e, demand_groups(sentences), self.config.forecast.written_weight, a.temperature))

    def query_vector(self, sentences: list[str], prompt: PromptLearner | None = None) -> np.ndarray:
        v = self.text.embed(sentences, prompt=prompt).mean(0)
        v = torch.nn.functional.normalize(v, dim=0)
        return v.numpy().astype(np.float32)

    def score(self, query: Query, prompt: PromptLearner | None = None,
              seeds: tuple[np.ndarray, np.ndarray] | None = None) -> Scored:
        """Every user's score with what produced it. `seeds`: (positive rows, negative rows) of
        labelled seed users, which the forecast scorer adds as weighted examples (few-shot)."""
        matches = self.profile_matches(query)
        if self.scorer == "forecast" and prompt is None:  # a tuned prompt lives in the text tower
            answer = self.forecaster().answer(query.sentences, query.exclude, seeds)
            if answer is not None:
                return Scored(self.profile_prior().apply(answer[0], matches) if matches else answer[0], answer[1], matches)
        if self.scorer == "anchors" and prompt is None and len(self.anchor_tower().texts):  # none: the towers answer
            s = self.anchor_scores(query.sentences)
            if query.exclude:
                s = s - self.config.tower_exclusion_weight * self.anchor_scores(query.exclude)
            return Scored(self.profile_prior().apply(s, matches) if matches else s, profile=matches)
        emb = self.bundle.embeddings("fused")
        s = np.asarray(emb @ self.query_vector(query.sentences, prompt))
        if query.exclude:
            s = s - self.config.tower_exclusion_weight * np.asarray(emb @ self.query_vector(query.exclude))
        if matches:
            s = self.profile_prior().apply(s, matches)
        return Scored(s, profile=matches)

    def scores(self, query: Query, prompt: PromptLearner | None = None,
               seeds: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Every user's score (`score(...).scores`)."""
        return self.score(query, prompt, seeds).scores

    def audience(self, query: Query, top_k: int | None = None, threshold: float | None = None,
                 prompt: PromptLearner | None = None, seeds: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
        """The selected users, best first. Explicit `top_k` / `threshold` go through the faiss
        index (k-NN / range search); otherwise every score is computed for the decision rule."""
        ids = self.bundle.users.to_numpy()
        profile: list[str] = []
        indexed = (top_k is not None or threshold is not None) and not query.exclude and self.scorer == "tower"
        if indexed and seeds is None and not self.profile_matches(query):  # a profile term needs every score
            from targetbot.towers.index import range_search, search

            q = self.query_vector(query.sentences, prompt)
            if top_k is not None:
                scores, rows = search(self.bundle.index(), q[None], top_k)
                scores, rows = scores[0], rows[0]
                tau = float(scores[-1]) if len(scores) else 0.0
            else:
                rows, scores = range_search(self.bundle.index(), q, threshold)
                tau = float(threshold)
        else:
            scored = self.score(query, prompt, seeds=seeds)
            profile = [m.description for m in scored.profile]
            s = scored.scores
            tau = scored.threshold() if threshold is None else float(threshold)
            order = np.argsort(-s, kind="stable")
            rows = order[:top_k] if top_k is not None else order[s[order] >= tau]
            scores = s[rows]
            if top_k is not None and len(scores):
                tau = float(scores[-1])
        out = {"audience_size": int(len(rows)), "threshold": round(tau, 6),
               "users": [{"user_id": str(ids[i]), "score": round(float(v), 6)} for i, v in zip(rows, scores)]}
        if profile:
            out["profile"] = profile
        return out
