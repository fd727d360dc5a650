"""The world's catalog: typed entities with aliases and descriptions, and the true relation graph.

Built deterministically from `catalog_data` and a seed. Besides the two tables that go into
the workspace (entities, relations) it keeps the array views the behaviour generator needs:
topic and category of each entity, surface forms, neighbours, merchants per category, prices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from targetbot.core.world import catalog_data as D

# Categories that are services or one-off payments get no synthetic brands/products.
_SERVICE_WORDS = ("ride", "visit", "membership", "rent", "ticket", "service", "session", "loan", "insurance",
                  "application", "trade", "fund", "deposit", "savings", "stay", "meal", "order", "replacement",
                  "listing", "gift", "subscription", "plan", "credits", "course", "package", "betting", "draw",
                  "fuel", "wash", "grooming", "maintenance", "care", "salon", "vegetables", "seafood", "coffee",
                  "tea", "tutoring", "book", "logistics", "lottery")

TYPE_GROUP = {
    "category": "shop", "brand": "shop", "product": "shop", "car_model": "shop",
    "merchant": "place", "restaurant_chain": "place",
    "mini_program": "service", "service": "service_kind", "app": "service",
    "spm_page": "content", "media_show": "content", "interest_topic": "content",
    "sports_league": "sports", "sports_team": "sports", "athlete": "sports",
    "game": "game", "game_studio": "game",
    "movie": "entertainment", "film_genre": "entertainment", "music_artist": "entertainment", "music_genre": "entertainment",
    "destination": "travel", "airline": "travel", "hotel_chain": "travel",
    "bank": "finance", "loan_product": "finance", "insurer": "finance", "insurance_product": "finance",
    "school": "learning", "course": "learning", "pet_breed": "pet",
    "city": "other", "payment_channel": "other", "telecom_operator": "other", "utility_company": "other",
}


@dataclass
class Catalog:
    names: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    aliases: list[list[str]] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)
    topic: list[int] = field(default_factory=list)  # topic index or -1
    category: list[int] = field(default_factory=list)  # category entity index or -1
    price: list[float] = field(default_factory=list)
    launch_day: list[int] = field(default_factory=list)  # first day the entity may appear (cold start)
    relations: list[tuple[int, str, int]] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)

    # ---- building ---------------------------------------------------------------------------
    def add(self, name: str, type_: str, aliases=(), description: str = "", topic: int = -1,
            category: int = -1, price: float = 0.0, launch_day: int = 0) -> int:
        if name in self.index:
            return self.index[name]
        i = len(self.names)
        self.index[name] = i
        self.names.append(name)
        self.types.append(type_)
        self.aliases.append([a for a in dict.fromkeys(aliases) if a and a != name])
        self.descriptions.append(description)
        self.topic.append(topic)
        self.category.append(category)
        self.price.append(price)
        self.launch_day.append(launch_day)
        return i

    def rel(self, head: int, relation: str, tail: int) -> None:
        self.relations.append((head, relation, tail))

    def __getitem__(self, name: str) -> int:
        return self.index[name]

    # ---- views ------------------------------------------------------------------------------
    def finalize(self, rng: np.random.Generator) -> "Catalog":
        n = len(self.names)
        self.type_arr = np.array(self.types)
        self.topic_arr = np.array(self.topic, dtype=np.int32)
        self.category_arr = np.array(self.category, dtype=np.int32)
        self.price_arr = np.array(self.price, dtype=np.float32)
        self.launch_arr = np.array(self.launch_day, dtype=np.int32)
        self.group_arr = np.array([TYPE_GROUP[t] for t in self.types])
        self.forms = [[self.names[i], *self.aliases[i]] for i in range(n)]
        self.n_forms = np.array([len(f) for f in self.forms], dtype=np.int32)
        nbrs: list[set[int]] = [set() for _ in range(n)]
        for h, _, t in self.relations:
            if self.types[h] == "interest_topic" or self.types[t] == "interest_topic":
                continue  # topics are hubs: walking through them would join unrelated entities
            nbrs[h].add(t)
            nbrs[t].add(h)
        self.neighbours = [np.array(sorted(s), dtype=np.int32) for s in nbrs]
        # popularity: heavy-tailed, so a few brands dominate as in real markets
        self.popularity = rng.lognormal(0.0, 0.9, size=n).astype(np.float32)
        self.topic_pools = []
        for t in range(len(self.topics)):
            pool = np.flatnonzero((self.topic_arr == t) & (self.type_arr != "interest_topic") & (self.launch_arr == 0))
            w = self.popularity[pool]
            self.topic_pools.append((pool, w / w.sum()))
        merchants: dict[int, list[int]] = {}
        for h, r, t in self.relations:
            if r == "sells":
                merchants.setdefault(t, []).append(h)
        self.merchants_for = {k: np.array(v, dtype=np.int32) for k, v in merchants.items()}
        self.topic_merchants = [
            np.flatnonzero((self.topic_arr == t) & (self.type_arr == "merchant")) for t in range(len(self.topics))
        ]
        return self

    def entities_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "entity": self.names,
            "type": self.types,
            "aliases": [list(a) for a in self.aliases],
            "description": self.descriptions,
        })

    def relations_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "head": [self.names[h] for h, _, _ in self.relations],
            "relation": [r for _, r, _ in self.relations],
            "tail": [self.names[t] for _, _, t in self.relations],
        }).drop_duplicates(ignore_index=True)


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "sh", "ch")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _is_product_category(name: str) -> bool:
    return not any(w in name for w in _SERVICE_WORDS)


def _brand_names(rng: np.random.Generator, count: int) -> list[str]:
    combos = [a + b for a in D.BRAND_SYLLABLES_A for b in D.BRAND_SYLLABLES_B]
    combos += [a + b.lower() + "a" for a in D.BRAND_SYLLABLES_A for b in D.BRAND_SYLLABLES_A]
    order = rng.permutation(len(combos))
    return [combos[i] for i in order[:count]]


def build_catalog(seed: int) -> Catalog:
    rng = np.random.default_rng(seed + 101)
    c = Catalog()
    c.topics = list(D.TOPICS)
    topic_entity: dict[str, int] = {}
    n_brand_slots = sum(sum(_is_product_category(x) for x in t["categories"]) for t in D.TOPICS.values()) * 5 + 40
    brand_pool = iter(_brand_names(rng, n_brand_slots))

    for ti, (tkey, spec) in enumerate(D.TOPICS.items()):
        title = tkey.replace("_", " ")
        te = c.add(title, "interest_topic", [spec["desc"]], f"Interest topic: {spec['desc']}.", ti)
        topic_entity[tkey] = te
        app_name = next(a for a, ts in D.APPS.items() if tkey in ts)
        app = c.add(app_name, "app", [f"{app_name} app"], f"{app_name} is a consumer app with pages about "
                    f"{', '.join(t.replace('_', ' ') for t in D.APPS[app_name])}.")
        cats = []
        for cat in spec["categories"]:
            price = float(np.round(rng.lognormal(4.0 if _is_product_category(cat) else 4.5, 1.0), 0) + 5)
            ci = c.add(cat, "category", [_plural(cat)], f"{cat.capitalize()}: a category in {spec['desc']}.",
                       ti, -1, price)
            c.category[ci] = ci
            c.rel(ci, "part_of", te)
            cats.append(ci)
            if not _is_product_category(cat):
                continue
            for _ in range(5):
                bname = next(brand_pool)
                bi = c.add(bname, "brand", [bname.upper()[:3] if len(bname) > 5 else "", f"{bname} {cat}"],
                           f"{bname} is a brand of {_plural(cat)}.", ti, ci, price)
                c.rel(bi, "makes", ci)
                codes = rng.choice(len(D.MODEL_CODES), size=3, replace=False)
                for k in codes:
                    code = D.MODEL_CODES[k]
                    ptype = "car_model" if cat == "car" else "product"
                    pname = f"{bname} {code}"
                    pi = c.add(pname, ptype, [f"{bname} {code} {cat}", f"{bname}{code.replace(' ', '')}"],
                               f"{pname}: {cat} made by {bname}.", ti, ci,
                               float(price * rng.uniform(0.6, 1.8)))
                    c.rel(pi, "made_by", bi)
                    c.rel(pi, "is_a", ci)
        for m in spec["merchants"]:
            mi = c.add(m, "merchant", [m.replace(" ", ""), f"{m} shop"], f"{m} is a merchant selling "
                       f"{spec['desc']}.", ti)
            sold = rng.choice(len(cats), size=min(len(cats), int(rng.integers(2, 4))), replace=False)
            for k in sold:
                c.rel(mi, "sells", cats[k])
        for mp, service in spec["miniprograms"].items():
            si = c.add(service, "service", [f"{service} service"], f"The service of {service}.", ti)
            c.rel(si, "part_of", te)
            mi = c.add(mp, "mini_program", [f"{mp} mini-program", mp.lower()], f"{mp} is a mini-program for {service}.", ti)
            c.rel(mi, "provides", si)
        for page in spec["pages"]:
            pi = c.add(page, "spm_page", [f"{page} page"], f"An app page with {page}, in the {app_name} app.", ti)
            c.rel(pi, "page_of", app)
            c.rel(pi, "about", te)
        for show in spec["media"]:
            mi = c.add(show, "media_show", [f"{show} show"], f"{show} is a show about {spec['desc']}.", ti)
            c.rel(mi, "about", te)

    _add_sports(c, rng, topic_entity)
    _add_typed_families(c, rng, topic_entity)
    _add_everyday(c, topic_entity)
    for name, (type_, tkey, desc, aliases, launch) in D.SCENARIO_SERVICES.items():
        ti = c.topics.index(tkey)
        ei = c.add(name, type_, aliases, desc, ti, launch_day=launch or 0)
        _link_scenario_service(c, ei, name, tkey, topic_entity)
    return c.finalize(rng)


def _add_sports(c: Catalog, rng: np.random.Generator, topic_entity: dict[str, int]) -> None:
    used = set()
    for tkey, sport in D.SPORTS.items():
        ti = c.topics.index(tkey)
        for league, aliases in sport["leagues"].items():
            li = c.add(league, "sports_league", aliases, f"{league} is a {tkey} league.", ti)
            c.rel(li, "part_of", topic_entity[tkey])
            for team, taliases in sport["teams"][league].items():
                tm = c.add(team, "sports_team", taliases, f"{team} is a {tkey} team in the {league}.", ti)
                c.rel(tm, "member_of", li)
                for _ in range(3):
                    while True:
                        first = D.FIRST_NAMES[rng.integers(len(D.FIRST_NAMES))]
                        last = D.LAST_NAMES[rng.integers(len(D.LAST_NAMES))]
                        if (first, last) not in used:
                            used.add((first, last))
                            break
                    ai = c.add(f"{first} {last}", "athlete", [f"{first[0]}. {last}", f"{last} #{rng.integers(1, 40)}"],
                               f"{first} {last} is a {tkey} player for the {team}.", ti)
                    c.rel(ai, "plays_for", tm)


def _add_typed_families(c: Catalog, rng: np.random.Generator, topic_entity: dict[str, int]) -> None:
    t = c.topics.index
    for game, studio in D.GAMES.items():
        si = c.add(studio, "game_studio", [f"{studio} games"], f"{studio} is a game developer.", t("gaming"))
        gi = c.add(game, "game", [f"{game} game", game.replace(" ", "")], f"{game} is a video game by {studio}.",
                   t("gaming"), c["game credits"], 30.0)
        c.rel(gi, "developed_by", si)
        c.rel(gi, "part_of", topic_entity["gaming"])
    for genre, movies in D.MOVIE_GENRES.items():
        gi = c.add(genre, "film_genre", [genre.replace(" film", " movies")], f"The {genre} genre.", t("movies_music"))
        for m in movies:
            mi = c.add(m, "movie", [f"{m} movie", f"{m} (film)"], f"{m} is a {genre}.", t("movies_music"),
                       c["movie ticket"], 60.0)
            c.rel(mi, "has_genre", gi)
    for genre, artists in D.MUSIC_ARTISTS.items():
        gi = c.add(genre, "music_genre", [genre.replace(" music", "")], f"The {genre} genre.", t("movies_music"))
        for a in artists:
            ai = c.add(a, "music_artist", [f"{a} band" if " " in a else f"{a} live"], f"{a} performs {genre}.",
                       t("movies_music"), c["concert ticket"], 380.0)
            c.rel(ai, "performs", gi)
    for dest, aliases in D.DESTINATIONS.items():
        c.add(dest, "destination", [f"{dest}, {aliases[0]}" if aliases else "", f"{dest} trip"],
              f"{dest} is a travel destination.", t("travel"), c["tour package"], 3000.0)
    for airline, dests in D.AIRLINES.items():
        ai = c.add(airline, "airline", [airline.split()[0]], f"{airline} flies to {', '.join(dests)}.",
                   t("travel"), c["flight ticket"], 1500.0)
        for d in dests:
            c.rel(ai, "flies_to", c[d])
    for hotel, dests in D.HOTEL_CHAINS.items():
        hi = c.add(hotel, "hotel_chain", [f"{hotel} hotel"], f"{hotel} has hotels in {', '.join(dests)}.",
                   t("travel"), c["hotel stay"], 600.0)
        for d in dests:
            c.rel(hi, "located_in", c[d])
    kind_to_cat = {"personal loan": "personal loan", "business loan": "business loan",
                   "credit card": "credit card application", "car loan": "personal loan",
                   "renovation loan": "personal loan"}
    for bank in D.BANKS:
        bi = c.add(bank, "bank", [bank.replace(" Bank", ""), f"{bank} app"], f"{bank} is a retail bank.", t("credit"))
        for kind in D.LOAN_KINDS:
            li = c.add(f"{bank} {kind}", "loan_product", [f"{bank.split()[0]} {kind}"],
                       f"A {kind} offered by {bank}.", t("credit"), c[kind_to_cat[kind]])
            c.rel(li, "offered_by", bi)
            c.rel(li, "is_a", c[kind_to_cat[kind]])
    for insurer, kinds in D.INSURERS.items():
        ii = c.add(insurer, "insurer", [insurer.split()[0]], f"{insurer} is an insurance company.", t("insurance"))
        for kind in kinds:
            tk = "travel" if kind == "travel insurance" else ("cars" if kind == "car insurance" else "insurance")
            pi = c.add(f"{insurer} {kind}", "insurance_product", [f"{insurer.split()[0]} {kind}"],
                       f"{kind.capitalize()} from {insurer}.", t(tk), c[kind], 200.0)
            c.rel(pi, "offered_by", ii)
            c.rel(pi, "is_a", c[kind])
    for rest, cat in D.RESTAURANTS.items():
        ri = c.add(rest, "restaurant_chain", [rest.replace(" ", "")], f"{rest} is a restaurant chain.",
                   t("food_delivery"), c[cat], 45.0)
        c.rel(ri, "serves", c[cat])
    for school, courses in D.SCHOOLS.items():
        si = c.add(school, "school", [school.split()[0]], f"{school} is an education provider.", t("education"))
        for course in courses:
            ci = c.add(course, "course", [f"{course} course"], f"{course} is a course by {school}.",
                       t("education"), c["online course"], 900.0)
            c.rel(ci, "offered_by", si)
    for food, breeds in D.PET_BREEDS.items():
        for breed in breeds:
            bi = c.add(breed, "pet_breed", [_plural(breed)], f"The {breed} is a popular pet.", t("pets"), c[food])
            c.rel(bi, "eats", c[food])


def _add_everyday(c: Catalog, topic_entity: dict[str, int]) -> None:
    for tier, cities in D.CITIES.items():
        for city in cities:
            c.add(city, "city", [f"{city} city"], f"{city} is a tier-{tier} city.")
    for ch, aliases in D.PAYMENT_CHANNELS.items():
        c.add(ch, "payment_channel", aliases, f"Paying with {ch}.")
    for t in D.TELECOMS:
        c.add(t, "telecom_operator", [t.split()[0]], f"{t} is a mobile phone operator.")
    for u in D.UTILITIES:
        c.add(u, "utility_company", [u.split()[0]], f"{u} is a utility company.")


def _link_scenario_service(c: Catalog, ei: int, name: str, tkey: str, topic_entity: dict[str, int]) -> None:
    if name == "VoltRide":
        c.rel(ei, "provides", c["bike sharing"])
        c.rel(ei, "competes_with", c["CityBike"])
        c.rel(ei, "competes_with", c["HelloRide"])
    elif name == "Brightpath Tutoring":
        c.rel(ei, "provides", c.add("online tutoring", "service", ["online tutors"], "Tutoring over video calls.",
                                    c.topics.index("education")))
        c.rel(ei, "is_a", c["tutoring session"])
    elif name in ("RentMyPhone", "FlexiPhone Lease"):
        svc = c.add("phone rental", "service", ["phone renting", "rent a phone", "phone leasing"],
                    "Renting or leasing a smartphone for a monthly fee instead of buying it.", c.topics.index(tkey))
        c.rel(svc, "part_of", topic_entity[tkey])
        c.rel(ei, "provides", svc)
        c.rel(ei, "rents_out", c["smartphone"])
    elif name == "Fitbeat":
        c.rel(ei, "about", topic_entity["running_fitness"])
        c.rel(c.add("Fitbeat promotion", "spm_page", ["Fitbeat ad", "Fitbeat banner"],
                    "A promotion banner for the Fitbeat fitness app.", c.topics.index(tkey)), "page_of", ei)
