"""Synthesis stage 2: free-form marketer requests paired with the TargetingPlan they mean.

Paraphrase families (prompts/rewrite_requests.yaml) carry slang and typos; requests combine
demands in the five families with negations (exclusions), budgets, failed payments, profile
filters, audience size or threshold, seed users, hop depth, multi-intent requests and hostile
text that must be treated as data. Families and extra wordings marked `heldout` never reach
training: they form the default evaluation set.
"""

from __future__ import annotations

import random
from collections import defaultdict

import yaml

from targetbot.rewrite.catalog import Catalog
from targetbot.rewrite.config import PROMPTS_DIR, TYPE_FAMILY, SynthConfig
from targetbot.rewrite.plan import FAMILY_SLOT, TargetingPlan

REQUESTS_FILE = PROMPTS_DIR / "rewrite_requests.yaml"
UNLISTED_RATE = 0.08  # (variety) share of demands about something the catalog lacks
SOURCE_FAMILY = {"bill": "purchase", "miniprogram": "browsing", "page": "click", "search": "search"}


def request_templates() -> dict:
    return yaml.safe_load(REQUESTS_FILE.read_text(encoding="utf-8"))


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


class RequestSynth:
    def __init__(self, catalog: Catalog, cfg: SynthConfig):
        self.c = catalog
        self.cfg = cfg
        self.t = request_templates()
        self.by_family: dict[str, list] = defaultdict(list)
        for e in catalog.entities:
            self.by_family[TYPE_FAMILY.get(e.type, "click")].append(e)
        self.neighbours: dict[str, list[str]] = defaultdict(list)
        for h, _, t in catalog.relations:
            self.neighbours[h].append(t)
            self.neighbours[t].append(h)
        self.by_type: dict[str, list] = defaultdict(list)
        for e in catalog.entities:
            self.by_type[e.type].append(e)
        self.unlisted = unlisted_phrases(self.t.get("unlisted", []), catalog)

    # -- pieces
    def _phrase(self, e, rng: random.Random) -> str:
        p = e.name
        if e.aliases and rng.random() < self.cfg.alias_rate:
            p = rng.choice(e.aliases)
        if rng.random() < self.cfg.typo_rate:
            words = p.split(" ")
            j = rng.randrange(len(words))
            words[j] = _typo(words[j], rng)
            p = " ".join(words)
        return p

    def _entities(self, family: str, rng: random.Random, used: set) -> list:
        pool = self.by_family.get(family) or []
        if not pool:
            return []
        k = 2 if rng.random() < 0.2 else 1
        out = []
        for _ in range(20):
            e = rng.choice(pool)
            if e.name not in used and e not in out:
                out.append(e)
            if len(out) == k:
                break
        return out

    def _related_other(self, target, rng: random.Random, used: set):
        cands = [self.c.entity(n) for n in self.neighbours.get(target.name, [])]
        cands += rng.sample(self.by_type[target.type], min(5, len(self.by_type[target.type])))
        cands = [e for e in cands if e is not None and e.name not in used]
        return rng.choice(cands) if cands else None

    def _pick(self, extras: dict, split: str, rng: random.Random):
        return rng.choice(extras[split])

    # -- one request
    def one(self, split: str, rng: random.Random) -> dict:
        fams = [f for f in self.t["families"] if f["split"] == split]
        pf = rng.choice(fams)
        ex = self.t["extras"]
        n_dem = rng.choices([1, 2, 3], weights=[0.62, 0.33, 0.05])[0]
        used: set = set()
        demands, clauses, entities, unlisted = [], [], [], []
        for _ in range(n_dem):
            fam = rng.choices(["purchase", "browsing", "click", "payment", "search"],
                              weights=[0.42, 0.16, 0.16, 0.08, 0.18])[0]
            if fam == "search":
                e = rng.choice(self.c.entities)
                q = rng.choice(self.t["queries"]).format(e=e.name.lower() if e.type == "category" else e.name)
                demands.append({"family": "search", "queries": [q]})
                clauses.append(rng.choice(pf["search"]).format(q=q))
                continue
            if self.cfg.variety and fam != "payment" and self.unlisted and rng.random() < UNLISTED_RATE:
                phrase = rng.choice(self.unlisted)  # the catalog lacks it: the plan keeps the words
                demands.append({"family": fam, FAMILY_SLOT[fam]: [phrase]})
                clauses.append(rng.choice(pf[fam]).format(x=phrase))
                unlisted.append(phrase)
                continue
            ents = self._entities(fam, rng, used)
            if not ents:
                continue
            used |= {e.name for e in ents}
            entities += ents
            phrase = " and ".join(self._phrase(e, rng) for e in ents)
            demands.append({"family": fam, FAMILY_SLOT[fam]: [e.name for e in ents]})
            clauses.append(rng.choice(pf[fam]).format(x=phrase))
        if not demands:
            return self.one(split, rng)
        intro = rng.choice(pf["intro"])
        text = (intro + " " if intro else "") + clauses[0]
        for cl in clauses[1:]:
            text += rng.choice(pf["join"]) + cl
        plan: dict = {"demands": demands}
        purchase = next((d for d in demands if d["family"] == "purchase"), None)
        if purchase is not None and rng.random() < 0.16:
            n = rng.choice([50, 100, 200, 300, 500, 800, 1000, 2000])
            purchase["num"] = n
            text += self._pick(ex["budget"], split, rng).format(n=n)
        elif purchase is not None and rng.random() < 0.05:
            purchase["status"] = "failed"
            text += self._pick(ex["failed"], split, rng)
        if self.cfg.variety:  # quantities read by rule from the words, never written by the model
            if purchase is not None and "num" not in purchase and rng.random() < 0.06:
                text += self._pick(ex["total"], split, rng).format(n=rng.choice([200, 500, 1000, 3000]))
            if rng.random() < 0.08:
                text += self._pick(ex["frequency"], split, rng).format(k=rng.choice([2, 3, 4, 5]))
            if rng.random() < 0.08:
                text += self._pick(ex["recency"], split, rng).format(d=rng.choice([7, 10, 14, 30]))
        if self.c.fields and rng.random() < 0.3:
            conds = []
            for _ in range(rng.choices([1, 2], weights=[0.75, 0.25])[0]):
                c = self._filter(split, rng, {x["field"] for x in conds})
                if c:
                    conds.append(c[0])
                    text += c[1]
            if conds:
                plan["filters"] = {"join": "AND", "conditions": conds}
        if entities and rng.random() < (0.35 if self.cfg.variety else 0.3):
            if self.cfg.variety:
                self._exclusions(plan, entities, used, text, split, rng)
                text = plan.pop("_text")
            else:
                other = self._related_other(entities[0], rng, used)
                if other is not None:
                    plan["exclude"] = [other.name]
                    text += self._pick(ex["exclude"], split, rng).format(x=self._phrase(other, rng))
        r = rng.random()
        if r < 0.12:
            n = rng.choice([500, 1000, 2000, 5000, 10000, 20000, 50000])
            plan["size"] = n
            text += self._pick(ex["size"], split, rng).format(n=f"{n:,}" if rng.random() < 0.5 else n)
        elif r < 0.18:
            v = rng.choice([0.5, 0.6, 0.7, 0.75, 0.8, 0.9])
            plan["threshold"] = v
            text += self._pick(ex["threshold"], split, rng).format(v=v)
        if rng.random() < 0.07:
            users = [f"u{rng.randrange(0, 20000):05d}" for _ in range(rng.choice([1, 2, 3]))]
            plan["seed_users"] = users
            text += self._pick(ex["seed_users"], split, rng).format(u=" and ".join(users))
        if rng.random() < 0.08:
            h = rng.choice(["0", "2", "3"])
            plan["hops"] = int(h)
            text += rng.choice(ex["hops"][split][h])
        if rng.random() < 0.08:
            text += self._pick(ex["hostile"], split, rng)
        p = TargetingPlan.model_validate(plan)
        return {"request": text.strip(), "plan": p.to_json(), "paraphrase_family": pf["id"],
                "families": p.families(), "entities": [e for e in p.entities() if e not in unlisted],
                "exclude": list(p.exclude), "unlisted": unlisted}

    def _exclusions(self, plan: dict, entities: list, used: set, text: str, split: str, rng: random.Random) -> None:
        """(variety) One or two related entities left out, said after the demand or before it."""
        ex, others = self.t["extras"], []
        for _ in range(2 if rng.random() < 0.2 else 1):
            other = self._related_other(entities[0], rng, used)
            if other is not None:
                used.add(other.name)
                others.append(other)
        if others:
            plan["exclude"] = [o.name for o in others]
            phrase = " and ".join(self._phrase(o, rng) for o in others)
            if rng.random() < 0.3:  # "excluding X, users likely to ..."
                text = self._pick(ex["exclude_first"], split, rng).format(x=phrase) + text
            else:
                wordings = {s: ex["exclude"][s] + ex["exclude_more"][s] for s in ("train", "heldout")}
                text += self._pick(wordings, split, rng).format(x=phrase)
        plan["_text"] = text

    def _filter(self, split: str, rng: random.Random, taken: set) -> tuple[dict, str] | None:
        specs = [s for s in self.t["filters"] if self.c.field(s["field"]) is not None and s["field"] not in taken]
        if not specs:
            return None
        s = rng.choice(specs)
        f = self.c.field(s["field"])
        phrase = rng.choice(s[split])
        if s["op"] == "between":
            lo = int(f.low or 18)
            a = rng.choice([x for x in range(lo, lo + 30, 5)])
            b = a + rng.choice([5, 10, 15])
            return {"field": f.name, "op": "between", "value": f"{a},{b}"}, phrase.format(a=a, b=b)
        if f.kind == "numeric":
            lo, hi = float(f.low or 0), float(f.high or 100)
            a = _round_nice(lo + (hi - lo) * rng.uniform(0.3, 0.7))
            return {"field": f.name, "op": s["op"], "value": str(a)}, phrase.format(a=a)
        if not f.values:
            return None
        if s["op"] == "in":
            vs = rng.sample(f.values, min(len(f.values), rng.choice([1, 2])))
            return {"field": f.name, "op": "in", "value": ",".join(vs)}, phrase.format(v=" or ".join(vs))
        v = rng.choice(f.values)
        return {"field": f.name, "op": s["op"], "value": v}, phrase.format(v=v)

    def generate(self, n: int, split: str, seed: int) -> list[dict]:
        rng = random.Random(seed)
        out, seen = [], set()
        tries = 0
        while len(out) < n and tries < n * 20:
            tries += 1
            ex = self.one(split, rng)
            if ex["request"] in seen:
                continue
            seen.add(ex["request"])
            out.append(ex)
        return out


def unlisted_phrases(phrases: list[str], catalog: Catalog) -> list[str]:
    """The phrases no catalog name or alias spells (nearly) alike: what the catalog really lacks."""
    import difflib

    forms = {f.lower() for e in catalog.entities for f in (e.name, *e.aliases)}
    out = []
    for p in phrases:
        q = p.lower()
        if q in forms or q.rstrip("s") in forms or difflib.get_close_matches(q, forms, n=1, cutoff=0.85):
            continue
        out.append(p)
    return out


def _round_nice(x: float) -> int:
    if x >= 1000:
        return int(round(x / 1000) * 1000)
    if x >= 100:
        return int(round(x / 50) * 50)
    return int(round(x))


def request_pairs(catalog: Catalog, cfg: SynthConfig) -> tuple[list[dict], list[dict]]:
    """(training pairs, held-out evaluation requests)."""
    synth = RequestSynth(catalog, cfg)
    train = synth.generate(cfg.requests, "train", cfg.seed * 7919 + 2)
    heldout = synth.generate(cfg.heldout_requests, "heldout", cfg.seed * 7919 + 3)
    train_requests = {e["request"] for e in train}
    heldout = [e for e in heldout if e["request"] not in train_requests]
    return train, heldout
