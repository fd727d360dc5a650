"""Background behaviour: interest-driven sessions and weekly/monthly cycles, all vectorised.

A session picks a topic from the user's interests, an anchor entity by popularity, and walks
a few steps along true relations (product -> brand -> merchant ...), so entities that are
related in the catalog co-occur in behaviour, as they do in real logs.
"""

from __future__ import annotations

import numpy as np

from targetbot.core.world import catalog_data as D
from targetbot.core.world.catalog import Catalog
from targetbot.core.world.events import EventBuffer
from targetbot.core.world.phrasing import CYCLES, SOURCE_MIX, TEMPLATES
from targetbot.core.world.population import Population


def sample_rows(cdf: np.ndarray, rows: np.ndarray, rng: np.random.Generator, chunk: int = 1_000_000) -> np.ndarray:
    """Draw one category per entry of `rows` from per-row CDFs (cdf[row] is increasing to 1)."""
    out = np.empty(len(rows), dtype=np.int32)
    for s in range(0, len(rows), chunk):
        r = rows[s:s + chunk]
        u = rng.random(len(r))[:, None]
        out[s:s + chunk] = (cdf[r] < u).sum(axis=1)
    return np.minimum(out, cdf.shape[1] - 1)


def hour_of_day(n: int, rng: np.random.Generator) -> np.ndarray:
    """Morning, lunch and evening peaks."""
    peak = rng.choice(3, size=n, p=[0.3, 0.25, 0.45])
    centre = np.array([8.5, 12.5, 20.5])[peak]
    return np.clip(rng.normal(centre, 1.6), 0, 23.99) / 24.0


def day_weights(days: int, start_weekday: int, weekend_boost: float) -> np.ndarray:
    wd = (np.arange(days) + start_weekday) % 7
    w = np.where(wd >= 5, weekend_boost, 1.0)
    return w / w.sum()


class Walker:
    """Random steps along the true relation graph, restricted to background-eligible entities."""

    def __init__(self, catalog: Catalog, allowed: np.ndarray):
        indptr, indices = [0], []
        for i, nb in enumerate(catalog.neighbours):
            nb = nb[allowed[nb]] if len(nb) else nb
            indices.extend(nb.tolist())
            indptr.append(len(indices))
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int32)

    def step(self, ent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        lo, hi = self.indptr[ent], self.indptr[ent + 1]
        deg = hi - lo
        pick = lo + (rng.random(len(ent)) * np.maximum(deg, 1)).astype(np.int64)
        return np.where(deg > 0, self.indices[np.minimum(pick, len(self.indices) - 1)], ent)


def background_sessions(pop: Population, cat: Catalog, buf: EventBuffer, rng: np.random.Generator,
                        days: int, start_weekday: int, sessions_per_day: float, reserved: np.ndarray) -> None:
    n_topics = len(cat.topics)
    n_sessions = rng.poisson(pop.activity * sessions_per_day * days)
    user = np.repeat(np.arange(pop.n, dtype=np.int32), n_sessions)
    topic = sample_rows(np.cumsum(pop.interests, axis=1), user, rng)

    day = np.empty(len(user), dtype=np.float32)
    weekend = np.array([D.TOPICS[t].get("weekend", False) for t in cat.topics])
    for flag, boost in ((True, 1.8), (False, 0.9)):
        m = weekend[topic] == flag
        day[m] = rng.choice(days, size=m.sum(), p=day_weights(days, start_weekday, boost))
    t0 = day + hour_of_day(len(user), rng)

    allowed = ~reserved & (cat.launch_arr == 0)
    anchor = np.empty(len(user), dtype=np.int32)
    for ti in range(n_topics):
        m = topic == ti
        pool, w = cat.topic_pools[ti]
        keep = allowed[pool]
        pool, w = pool[keep], w[keep] / w[keep].sum()
        anchor[m] = pool[rng.choice(len(pool), size=m.sum(), p=w)]

    k = 1 + rng.poisson(1.0, len(user))
    ev_user = np.repeat(user, k)
    ev_topic = np.repeat(topic, k)
    pos = np.arange(len(ev_user)) - np.repeat(np.cumsum(k) - k, k)
    ev_t = np.repeat(t0, k) + pos * (rng.random(len(ev_user)) * 0.01)
    ent = np.repeat(anchor, k)
    walker = Walker(cat, allowed)
    for j in range(1, int(k.max())):
        move = (pos >= j) & (rng.random(len(ent)) < 0.75)
        ent = np.where(move, walker.step(ent, rng), ent)

    _emit_entity_events(pop, cat, buf, rng, ev_user, ev_t, ent, ev_topic)


def _emit_entity_events(pop, cat: Catalog, buf: EventBuffer, rng, user, t, ent, topic) -> None:
    group = cat.group_arr[ent]
    apps = {t: next(a for a, ts in D.APPS.items() if t in ts) for t in cat.topics}
    app_of_topic = np.array([cat[apps[t]] for t in cat.topics], dtype=np.int32)
    ent_topic = np.where(cat.topic_arr[ent] >= 0, cat.topic_arr[ent], topic)
    channel_ids = np.flatnonzero(cat.type_arr == "payment_channel")
    pref = np.array([cat[c] for c in pop.profiles["preferred_channel"]], dtype=np.int32)

    # topic-level free search phrases replace some entity searches
    phrase_ids = [np.array([buf.surface.phrase(p) for p in D.TOPICS[t]["searches"]], dtype=np.int32) for t in cat.topics]
    free_tmpl = buf.template("search", "{e}")

    for g, mix in SOURCE_MIX.items():
        gm = group == g
        if not gm.any():
            continue
        srcs = list(mix)
        src = rng.choice(len(srcs), size=gm.sum(), p=np.array(list(mix.values())))
        idx_g = np.flatnonzero(gm)
        for si, s in enumerate(srcs):
            idx = idx_g[src == si]
            if len(idx) == 0:
                continue
            tmpls = np.array([buf.template(s, x) for x in TEMPLATES[(s, g)]], dtype=np.int32)
            tmpl = tmpls[rng.integers(0, len(tmpls), len(idx))]
            e1 = ent[idx]
            tp = ent_topic[idx]
            # second slot: a merchant that sells the category for bills, the topic's app otherwise
            e2 = app_of_topic[tp]
            merchant = np.full(len(idx), -1, dtype=np.int32)
            if s in ("bill", "miniprogram") and g in ("shop", "entertainment", "game", "learning", "travel", "sports"):
                e2 = _merchants_for(cat, e1, tp, rng)
                merchant = e2
            if g == "place":
                merchant = e1
            amount = None
            channel = None
            status = "paid"
            if s == "bill":
                price = cat.price_arr[e1]
                price = np.where(price > 0, price, 60.0)
                amount = np.round(price * rng.lognormal(0, 0.3, len(idx)), 2)
                channel = np.where(rng.random(len(idx)) < 0.75, pref[user[idx]],
                                   channel_ids[rng.integers(0, len(channel_ids), len(idx))])
            if s == "search":
                free = rng.random(len(idx)) < 0.25
                ph = np.array([phrase_ids[x][rng.integers(len(phrase_ids[x]))] for x in tp[free]], dtype=np.int32)
                tmpl = np.where(free, free_tmpl, tmpl)
                e1 = e1.copy()
                e1[free] = ph
            if s == "miniprogram" and g == "service":
                merchant = np.where(cat.type_arr[e1] == "mini_program", e1, -1)
            # merchants and apps keep their canonical name in background text: aliases of the item
            # already give paraphrase variety, and distinct texts must stay bounded
            buf.add(user[idx], t[idx], tmpl, e1, e2, amount=amount, status=status, channel=channel, merchant=merchant,
                    alias_m=False)


def _merchants_for(cat: Catalog, ent: np.ndarray, topic: np.ndarray, rng) -> np.ndarray:
    """A merchant selling each entity's category; a merchant of its topic where none sells it."""
    out = np.zeros(len(ent), dtype=np.int32)
    r = rng.random(len(ent))
    c = cat.category_arr[ent]
    for cval in np.unique(c):
        m = c == cval
        pool = cat.merchants_for.get(int(cval))
        if pool is not None:
            out[m] = pool[(r[m] * len(pool)).astype(int)]
    unsold = ~np.isin(c, np.fromiter(cat.merchants_for, dtype=np.int64))
    for tv in np.unique(topic[unsold]):
        m = unsold & (topic == tv)
        pool = cat.topic_merchants[int(tv)]
        out[m] = pool[(r[m] * len(pool)).astype(int)] if len(pool) else 0
    return out


def monthly_days(n: int, days: int, rng: np.random.Generator, day_of_month: np.ndarray | None = None):
    """(user, day) pairs for one event per user per ~30 days on a fixed day of the month."""
    dom = rng.integers(0, 28, n) if day_of_month is None else day_of_month
    months = int(np.ceil(days / 30)) + 1
    user = np.repeat(np.arange(n, dtype=np.int32), months)
    day = np.tile(np.arange(months) * 30.4, n) + np.repeat(dom, months)
    keep = day < days
    return user[keep], day[keep]


def cycles(pop: Population, cat: Catalog, buf: EventBuffer, rng: np.random.Generator, days: int,
           start_weekday: int) -> None:
    L = pop.latent
    n = pop.n

    def emit(name: str, mask: np.ndarray, entity_pool: list[str] | None, amount: np.ndarray | float,
             dom: np.ndarray | None = None):
        spec = CYCLES[name]
        users_idx = np.flatnonzero(mask)
        u, d = monthly_days(len(users_idx), days, rng, None if dom is None else dom[users_idx])
        u = users_idx[u]
        tmpls = np.array([buf.template(spec["source"], x) for x in spec["texts"]], dtype=np.int32)
        per_user_tmpl = tmpls[rng.integers(0, len(tmpls), n)]  # users keep their phrasing habit
        e1 = None
        if entity_pool:
            ids = np.array([cat[x] for x in entity_pool], dtype=np.int32)
            e1 = ids[rng.integers(0, len(ids), n)][u]
        amt = amount[u] if isinstance(amount, np.ndarray) else np.full(len(u), amount)
        buf.add(u, d + hour_of_day(len(u), rng), per_user_tmpl[u], e1, amount=amt * rng.lognormal(0, 0.05, len(u)),
                status=spec["status"], category=spec["category"], merchant=e1)

    employed = ~pop.is_persona("student", "retiree")
    payday = rng.choice([0, 9, 14, 24], size=n)
    emit("salary", employed, None, L["income"], payday)
    emit("phone_bill", np.ones(n, bool), D.TELECOMS, rng.choice([39.0, 59.0, 99.0, 129.0], n))
    emit("utilities", rng.random(n) < 0.75, D.UTILITIES, rng.lognormal(5, 0.4, n))
    emit("rent", L["home"] == "rent", None, np.round(L["income"] * 0.3, -2))
    emit("card_repay", L["has_card"] == 1, D.BANKS, L["income"] * rng.uniform(0.1, 0.5, n))
    # logins: a few a month, more for active users
    k = rng.poisson(pop.activity * 4)
    u = np.repeat(np.arange(n, dtype=np.int32), k)
    tm = np.array([buf.template("account", x) for x in CYCLES["login"]["texts"]], dtype=np.int32)
    buf.add(u, rng.random(len(u)) * days, tm[rng.integers(0, len(tm), len(u))], status="ok", category="login")
    # bus commute on weekdays for commuters who do not take the metro
    bus = np.flatnonzero(L["commuter"] & ~L["metro_user"])
    _weekday_events(bus, 0.35, days, start_weekday, rng, lambda uu, dd: buf.add(
        uu, dd + 8 / 24 + rng.random(len(uu)) * 0.05, buf.template("bill", "Bus fare paid with transit code"),
        amount=2.0, category="bus ride", status="paid"))


def _weekday_events(users: np.ndarray, per_day: float, days: int, start_weekday: int, rng, emit) -> None:
    wd = (np.arange(days) + start_weekday) % 7 < 5
    weekdays = np.flatnonzero(wd)
    k = rng.poisson(per_day * len(weekdays), len(users))
    u = np.repeat(users, k).astype(np.int32)
    d = weekdays[rng.integers(0, len(weekdays), len(u))].astype(np.float32)
    emit(u, d)
