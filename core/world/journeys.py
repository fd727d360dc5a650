"""Life events and habits that drive the 13 benchmark scenarios.

A `Journey` is a life event (a phone breaks, a trip is planned, a business expands) that
happens to some users at some time. Before it, the user leaves *indirect* lead signals (a
repair bill, a visa search); at it, some users convert (rent a phone, buy travel insurance)
depending on who they are, and the rest do something that looks alike (buy the phone
outright) — the hard negatives. Lookalike groups (repair technicians, car dealers) produce
similar behaviour all the time without converting, and false leads add noise.

A `Habit` is a recurring behaviour with a per-user rate over a per-user active interval
(metro rides, NBA streams, pet food), so past behaviour predicts future behaviour.

Scenario labels are not produced here: they are read from the generated events by the rules
in the scenario YAML files, exactly as a user's own labels would be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from targetbot.core.world.behaviour import hour_of_day
from targetbot.core.world.catalog import Catalog
from targetbot.core.world.events import EventBuffer
from targetbot.core.world.population import Population


# ---- selectors: which entities fill a step's {e} / {m} slots ------------------------------
Selector = Callable[[Catalog, EventBuffer], np.ndarray]


def names(*ns: str) -> Selector:
    return lambda c, b: np.array([c[n] for n in ns], dtype=np.int32)


def typed(type_: str, category: str | None = None) -> Selector:
    def sel(c: Catalog, b: EventBuffer) -> np.ndarray:
        m = c.type_arr == type_
        if category is not None:
            m &= c.category_arr == c[category]
        return np.flatnonzero(m).astype(np.int32)
    return sel


def related(relation: str, tail: str) -> Selector:
    """Heads of `relation` -> tail, e.g. related('member_of', 'NBA') gives NBA teams."""
    return lambda c, b: np.array(sorted({h for h, r, t in c.relations if r == relation and t == c[tail]}), dtype=np.int32)


def union(*sels: Selector) -> Selector:
    return lambda c, b: np.unique(np.concatenate([s(c, b) for s in sels])).astype(np.int32)


def phrases(*ps: str) -> Selector:
    return lambda c, b: np.array([b.surface.phrase(p) for p in ps], dtype=np.int32)


@dataclass
class Step:
    """One kind of generated event: source, paraphrased texts, slot fillers and columns."""

    source: str
    texts: list[str]
    e: Selector | None = None
    m: Selector | None = None
    category: str | None = None  # None: the category of {e}
    amount: tuple[float, float] | None = None
    status: str = "paid"
    merchant: str | None = None  # "e" or "m": which slot is the merchant column
    item: str = "e"  # which slot fills the item column; "" for none
    stable_e: bool = False  # a user always gets the same {e} (their car, their pet food brand)
    stable_m: bool = False
    weight: float = 1.0


@dataclass
class Journey:
    name: str
    target: float  # share of users converting per 30 days (calibrates the event rate)
    trigger: Callable[["Ctx"], np.ndarray]  # logit: who has the life event
    convert: Callable[["Ctx"], np.ndarray] | None = None  # logit: who converts given the event
    eligible: Callable[["Ctx"], np.ndarray] | None = None
    span: tuple[float, float] | None = None  # when the event can happen (default: whole timeline + lead room)
    leads: list[Step] = field(default_factory=list)
    lead_mean: float = 3.0
    lead_lag: tuple[float, float] = (2.0, 35.0)
    outcome: list[Step] = field(default_factory=list)
    outcome_events: tuple[int, int] = (1, 2)
    alternative: list[Step] = field(default_factory=list)
    alternative_prob: float = 0.0
    lookalike: Callable[["Ctx"], np.ndarray] | None = None
    lookalike_steps: list[Step] = field(default_factory=list)
    lookalike_rate: float = 2.0  # events per 30 days
    false_lead_share: float = 0.04  # users who show leads without any life event


@dataclass
class Habit:
    name: str
    rate: Callable[["Ctx"], np.ndarray]  # events per day per user
    steps: list[Step]
    weekdays_only: bool = False
    active: Callable[["Ctx"], tuple[np.ndarray, np.ndarray]] | None = None  # per-user [start, end) days


@dataclass
class Ctx:
    pop: Population
    cat: Catalog
    buf: EventBuffer
    rng: np.random.Generator
    days: int
    start_weekday: int
    signal: float
    noise: float
    hard_negative_rate: float
    outcome_times: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    # feature helpers for logits
    def interest(self, topic: str) -> np.ndarray:
        return z(self.pop.topic_interest(topic, self.cat.topics))

    def persona(self, *names_: str) -> np.ndarray:
        return self.pop.is_persona(*names_).astype(float)

    def latent(self, key: str) -> np.ndarray:
        return self.pop.latent[key]


def z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    sd = x.std()
    return (x - x.mean()) / (sd if sd > 0 else 1.0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# ---- generation ---------------------------------------------------------------------------
class StepEmitter:
    """Resolves selectors once and emits batches of a step's events."""

    def __init__(self, ctx: Ctx, key: str):
        self.ctx = ctx
        self.key = key
        self._cache: dict[int, tuple] = {}

    def _resolved(self, step: Step):
        # keyed by identity; the cached entry keeps the step alive so its id cannot be reused
        cached = self._cache.get(id(step))
        if cached is None or cached[0] is not step:
            c, b = self.ctx.cat, self.ctx.buf
            tm = np.array([b.template(step.source, t) for t in step.texts], dtype=np.int32)
            e = step.e(c, b) if step.e else None
            m = step.m(c, b) if step.m else None
            cached = self._cache[id(step)] = (step, tm, e, m)
        return cached[1:]

    def _pick(self, pool, users, stable, salt):
        """Indices into `pool`: random per event, or fixed per user when `stable`."""
        if pool is None:
            return None
        if stable:
            h = (users.astype(np.int64) * 2654435761 + salt) % 2**31
            return (h % len(pool)).astype(np.int64)
        return self.ctx.rng.integers(0, len(pool), len(users))

    def emit(self, steps: list[Step], users: np.ndarray, t: np.ndarray) -> None:
        if len(users) == 0 or not steps:
            return
        rng = self.ctx.rng
        w = np.array([s.weight for s in steps])
        which = rng.choice(len(steps), size=len(users), p=w / w.sum())
        salt = sum(map(ord, self.key)) * 131
        for si, step in enumerate(steps):
            idx = np.flatnonzero(which == si)
            if len(idx) == 0:
                continue
            u, tt = users[idx], t[idx]
            tm, epool, mpool = self._resolved(step)
            ei = self._pick(epool, u, step.stable_e, salt)
            mi = self._pick(mpool, u, step.stable_m, salt + 7)
            if step.m is step.e and ei is not None and len(mpool) > 1:
                mi = (ei + 1 + rng.integers(0, len(mpool) - 1, len(u))) % len(mpool)  # "A vs B", never A vs A
            e = None if ei is None else epool[ei]
            m = None if mi is None else mpool[mi]
            amount = None
            if step.amount is not None:
                lo, hi = step.amount
                amount = np.round(lo + rng.random(len(u)) * (hi - lo), 0)
            elif step.source == "bill" and e is not None:
                amount = np.round(self.ctx.cat.price_arr[np.minimum(e, len(self.ctx.cat.price_arr) - 1)] * rng.lognormal(0, 0.2, len(u)), 2)
            slots = {"e": e, "m": m}
            merchant = slots.get(step.merchant) if step.merchant else None
            item = slots.get(step.item) if step.item else np.full(len(u), -1, dtype=np.int32)  # "" = no item
            self.ctx.buf.add(u, tt, tm[rng.integers(0, len(tm), len(u))], e, m, amount=amount, status=step.status,
                             category=step.category, item=item, merchant=merchant)


def run_journey(j: Journey, ctx: Ctx) -> None:
    rng, n, days = ctx.rng, ctx.pop.n, ctx.days
    em = StepEmitter(ctx, j.name)
    eligible = j.eligible(ctx) if j.eligible else np.ones(n, dtype=bool)
    lo, hi = j.span if j.span else (-j.lead_lag[1], float(days))
    w = np.exp(np.clip(j.trigger(ctx), -6, 6)) * eligible
    conv = sigmoid(j.convert(ctx)) if j.convert else np.ones(n)
    base = j.target / (30.0 * max(float(np.mean(w * conv)), 1e-9))
    k = rng.poisson(np.minimum(base * w, 0.5) * (hi - lo))
    users = np.repeat(np.arange(n, dtype=np.int32), k)
    t_event = lo + rng.random(len(users)) * (hi - lo)
    converted = rng.random(len(users)) < conv[users]
    ctx.outcome_times[j.name] = (users[converted], t_event[converted])

    # leads precede the life event whether or not the user converts: they are indirect signals
    if j.leads and j.lead_mean > 0:
        nl = rng.poisson(j.lead_mean * ctx.signal, len(users))
        lu = np.repeat(users, nl)
        lt = np.repeat(t_event, nl) - (j.lead_lag[0] + rng.random(len(lu)) * (j.lead_lag[1] - j.lead_lag[0]))
        em.emit(j.leads, lu, lt + hour_of_day(len(lu), rng) * 0.1)
        # false leads: users with no life event who still look like it
        share = j.false_lead_share * ctx.noise
        fu = np.flatnonzero(rng.random(n) < share).astype(np.int32)
        fk = 1 + rng.poisson(j.lead_mean * 0.6, len(fu))
        fu = np.repeat(fu, fk)
        em.emit(j.leads, fu, rng.random(len(fu)) * days)

    cu, ct = users[converted], t_event[converted]
    nk = rng.integers(j.outcome_events[0], j.outcome_events[1] + 1, len(cu))
    ou = np.repeat(cu, nk)
    ot = np.repeat(ct, nk) + rng.random(len(ou)) * 2.0
    em.emit(j.outcome, ou, ot)

    if j.alternative and j.alternative_prob > 0:
        nu, nt = users[~converted], t_event[~converted]
        pick = rng.random(len(nu)) < j.alternative_prob
        em.emit(j.alternative, nu[pick], nt[pick] + rng.random(pick.sum()) * 2.0)

    if j.lookalike is not None and j.lookalike_steps:
        look = np.flatnonzero(j.lookalike(ctx) & (rng.random(n) < min(1.0, ctx.hard_negative_rate)))
        lk = rng.poisson(j.lookalike_rate * days / 30.0 * max(ctx.hard_negative_rate, 1.0), len(look))
        lu = np.repeat(look, lk).astype(np.int32)
        em.emit(j.lookalike_steps, lu, rng.random(len(lu)) * days)


def run_habit(h: Habit, ctx: Ctx) -> None:
    rng, n, days = ctx.rng, ctx.pop.n, ctx.days
    rate = np.clip(h.rate(ctx), 0, None)
    start, end = h.active(ctx) if h.active else (np.zeros(n), np.full(n, float(days)))
    start = np.clip(start, 0, days)
    end = np.clip(end, 0, days)
    span = np.maximum(end - start, 0)
    if h.weekdays_only:
        span = span * 5 / 7
    k = rng.poisson(rate * span)
    users = np.repeat(np.arange(n, dtype=np.int32), k)
    t = start[users] + rng.random(len(users)) * (end - start)[users]
    if h.weekdays_only:
        day = np.floor(t)
        wd = (day + ctx.start_weekday) % 7
        t = np.where(wd >= 5, t - (wd - 4), t)  # move weekend rides to Friday
        t = np.maximum(t, start[users])
        t = np.floor(t) + 7.5 / 24 + rng.random(len(t)) * 0.08
    StepEmitter(ctx, h.name).emit(h.steps, users, t)
