"""Checks after decoding: a plan may only say what the request says.

`ground_entities` runs on the model's answer (entity slots written as free phrases) before the
catalog checks; `ground_plan` on the validated plan. Together:

* every entity is one of the request's retrieved candidates (`rewrite.retrieval`), chosen by
  meaning; a phrase that fits none is kept as the request's own words (the demand's `words`) when
  the request says something like it, and dropped otherwise;
* exclusions come from the request's negated clauses only ("but not the repair technicians"),
  grounded the same way; an entity the request excludes is never also targeted;
* every filter is backed by a span of the request (`filter_grounding.ground_filters`), and a
  condition built from a number whose unit says otherwise (dollars read as an age) is dropped;
* amounts, counts and horizons are read from the request by unit (`rewrite.quantities`), never
  guessed; what the request states and no slot can hold goes into the plan's `unknown`.

Everything dropped or changed is reported (`Grounding.to_dict`), so a caller can show it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from targetbot.rewrite.filter_grounding import ground_filters
from targetbot.rewrite.plan import ENTITY_SLOTS, FAMILY_SLOT, MAX_DEMANDS, MAX_EXCLUDE, MAX_SLOT, Filters, TargetingPlan
from targetbot.rewrite.quantities import parse_quantities
from targetbot.rewrite.retrieval import Retrieval

_INCOME_FIELD = re.compile(r"income|salary|wage|earn|spend|amount|balance|savings", re.I)
_COUNT_FIELD = re.compile(r"count|num_|children|devices|times|orders", re.I)


@dataclass
class Grounding:
    snapped: list[tuple[str, str]] = field(default_factory=list)  # (phrase written, entity)
    words: list[str] = field(default_factory=list)  # kept as the request's words
    dropped_entities: list[str] = field(default_factory=list)  # phrases the request does not back
    dropped_exclusions: list[str] = field(default_factory=list)
    added_exclusions: list[str] = field(default_factory=list)
    recalled: list[str] = field(default_factory=list)  # named in the request, left out by the model
    dropped_filters: list[str] = field(default_factory=list)
    dropped_sizing: list[str] = field(default_factory=list)
    quantities: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v}


def ground_entities(data: dict, retrieval: Retrieval, report: Grounding, catalog=None) -> dict:
    """The model's plan dict with each entity phrase replaced by a retrieved candidate or by words.
    With a catalog, a negated clause about a profile fact ("users who don't own a car") is left to
    the filters and excludes nothing by itself."""
    from targetbot.rewrite.filter_grounding import stated_fields

    positive = {c.name: c.score for c in retrieval.candidates}
    excluded: list[str] = []
    for v in data.get("exclude") or []:
        name, _ = retrieval.snap(v, negated=True) if isinstance(v, str) else (None, 0.0)
        if name is not None and positive.get(name, 0.0) > next(c.score for c in retrieval.excluded if c.name == name):
            name = None  # the request targets it more plainly than it excludes it
        if name is None:
            report.dropped_exclusions.append(str(v))
        elif name not in excluded:
            excluded.append(name)
            report.snapped.append((v, name))
    cfg = retrieval.index.config
    covered = {c.segment for c in retrieval.excluded if c.name in excluded}
    spans_used = {c.span for c in retrieval.excluded if c.name in excluded}
    for c in retrieval.excluded:
        # a negated clause the model missed excludes the entity it names best, and any other it names
        # outright ("exclude SafeGuard and TravelSafe"); a clause about the person ("who don't own
        # a car", "without a credit card") is left to the filters unless it names something
        if c.score < cfg.exclude_floor or len(excluded) >= MAX_EXCLUDE or c.name in excluded:
            continue
        words = set(c.span.lower().split())
        if c.segment in covered and (c.score < cfg.recall_floor or any(words & set(u.lower().split())
                                                                       for u in spans_used)):
            continue  # a second entity needs its own words: not "Harbor" out of "Harbor Inn"
        if catalog is not None and c.span == c.span.lower() and stated_fields(c.span, catalog):
            continue
        covered.add(c.segment)
        spans_used.add(c.span)
        excluded.append(c.name)
        report.added_exclusions.append(c.name)

    def fix(values, keep_words: bool) -> tuple[list[str], list[str]]:
        names, words = [], []
        for v in values if isinstance(values, list) else []:
            if not isinstance(v, str):
                continue
            name, score = retrieval.snap(v)
            neg, neg_score = retrieval.snap(v, negated=True)
            if neg is not None and (name is None or neg_score >= score):
                report.dropped_entities.append(v)  # the request excludes it: never a target
                continue
            if name is not None and name not in excluded:
                if name not in names:
                    names.append(name)
                    report.snapped.append((v, name))
                continue
            w = retrieval.words_for(v) if keep_words and name is None else None
            named = next((c.name for c in retrieval.candidates if c.span == w and c.score >= cfg.recall_floor), None)
            if named is not None and named not in excluded:  # the words name an entity outright
                if named not in names:
                    names.append(named)
                    report.snapped.append((v, named))
                continue
            if w is not None and w not in words:
                words.append(w[:60])
                report.words.append(w)
            elif name is None:
                report.dropped_entities.append(v)
        return names[:MAX_SLOT], words[:MAX_SLOT]

    out = dict(data)
    demands = []
    for d in data.get("demands") or []:
        if not isinstance(d, dict):
            demands.append(d)
            continue
        slot = FAMILY_SLOT.get(str(d.get("family")))
        if slot not in ENTITY_SLOTS:
            demands.append(d)
            continue
        names, words = fix(d.get(slot), keep_words=True)
        if names or words:
            nd = {**d, slot: names}
            if words:
                nd["words"] = words
            demands.append(nd)
    if not demands and data.get("demands"):  # nothing the request backs: keep its words in the first demand
        first = data["demands"][0]
        best = retrieval.candidates[0] if retrieval.candidates else None
        if isinstance(first, dict) and best is not None:
            demands.append({"family": first.get("family"), FAMILY_SLOT.get(str(first.get("family")), "items"): [],
                            "words": [best.span[:60]]})
            report.words.append(best.span)
    demands = _recall(demands, retrieval, excluded, report, catalog)
    targets = {n for d in demands if isinstance(d, dict) for s in ENTITY_SLOTS for n in d.get(s, []) or []}
    excluded = [e for e in excluded if e not in targets]  # never both
    out["demands"] = demands or data.get("demands")
    if "seed_entities" in data:
        out["seed_entities"] = fix(data["seed_entities"], keep_words=False)[0]
    out["exclude"] = excluded
    return out


# A number followed by one of these words belongs to a field matching one of the patterns.
_UNIT_FIELDS = {r"kids?|children|child": (r"child",), r"years?|yrs?|y/?o": (r"age", r"year"),
                r"months?": (r"month",), r"days?": (r"day",), r"devices?|phones?": (r"device",)}


def _units(text: str) -> dict[float, tuple[str, ...]]:
    """{number: field patterns} for numbers the request writes with a unit ("2 kids" -> child)."""
    out: dict[float, tuple[str, ...]] = {}
    for m in re.finditer(r"(\d+(?:\.\d+)?)\s*\+?\s*([a-z/]+)", text.lower()):
        for unit, fields in _UNIT_FIELDS.items():
            if re.fullmatch(unit, m.group(2)):
                out[float(m.group(1))] = out.get(float(m.group(1)), ()) + fields
    return out


def _recall(demands: list, retrieval: Retrieval, excluded: list[str], report: Grounding, catalog=None) -> list:
    """Demands plus the entities the request names outright (a name or alias, cosine >=
    `recall_floor`) that the model left out: a second intent a small model drops ("Lakers fans who
    watch Hoops Tonight"). Each goes to a demand of its type's family; never an excluded entity,
    nor one whose name contains or is contained in a planned one ("Veron" beside "Veron Lite")."""
    from targetbot.rewrite.config import TYPE_FAMILY

    catalog_entity = retrieval.index.entity_type
    floor = retrieval.index.config.recall_floor
    # a profile value ("iOS users in shanghai") is a filter, not an entity to target
    values = {str(v).lower() for f in getattr(catalog, "fields", []) or [] for v in f.values}
    have = [n.lower() for d in demands if isinstance(d, dict)
            for n in (d.get(FAMILY_SLOT.get(str(d.get("family")), ""), []) or [])]
    words = [w.lower() for d in demands if isinstance(d, dict) for w in d.get("words", []) or []]
    out = [dict(d) if isinstance(d, dict) else d for d in demands]
    used = [c.span.lower() for c in retrieval.candidates if c.name.lower() in have]  # words already planned
    for c in retrieval.candidates:
        low = c.name.lower()
        if c.score < floor or c.name in excluded or any(low in h or h in low for h in have + words):
            continue
        if any(c.span.lower() in u for u in used) or low in values:  # "transfer" inside "transfer news"
            continue
        if any(low in e.lower() or e.lower() in low for e in excluded):
            continue
        fam = TYPE_FAMILY.get(catalog_entity(c.name) or "", "click")
        slot = FAMILY_SLOT[fam]
        target = next((d for d in out if isinstance(d, dict) and d.get("family") == fam), None)
        if target is None:
            if len(out) >= MAX_DEMANDS:
                continue
            target = {"family": fam, slot: []}
            out.append(target)
        if len(target.get(slot, [])) >= MAX_SLOT:
            continue
        target[slot] = [*target.get(slot, []), c.name]
        have.append(low)
        used.append(c.span.lower())
        report.recalled.append(c.name)
    return out


def ground_plan(plan: TargetingPlan, request: str, catalog, report: Grounding) -> TargetingPlan:
    """Filters, quantities and `unknown` of a validated plan, from the request's own words."""
    q = parse_quantities(request)
    filters = plan.filters
    if filters is not None:
        filters, dropped = ground_filters(request, filters)
        report.dropped_filters += dropped
    if filters is not None:  # a number counts for a field only in that field's unit
        keep = []
        units = _units(request)
        for c in filters.conditions:
            nums = {float(x) for x in re.findall(r"\d+(?:\.\d+)?", c.value)}
            money = nums & (q.money - q.income) and not _INCOME_FIELD.search(c.field)
            counts = nums & q.counts and not _COUNT_FIELD.search(c.field)
            other = any(n in units and all(not re.search(u, c.field, re.I) for u in units[n]) for n in nums)
            (report.dropped_filters.append(c.render()) if money or counts or other else keep.append(c))
        if len(keep) != len(filters.conditions):
            filters = Filters(join=filters.join, conditions=keep) if keep and filters.join == "AND" else None
    demands = []
    slots = q.slots()
    for d in plan.demands:
        data = d.model_dump(mode="json", exclude_defaults=True)
        if d.family == "purchase":
            if d.num is not None and float(d.num) not in q.money - q.income:
                data.pop("num")  # a dollar figure the request never wrote
            data.update({k: v for k, v in slots.items() if k in ("num", "total")})
        data.update({k: v for k, v in slots.items() if k in ("min_count", "per_days", "within_days")})
        demands.append(data)
    sizing = {}
    stated = {float(x) for x in re.findall(r"\d+(?:\.\d+)?", request.replace(",", ""))}
    taken = q.money | q.counts | set(_units(request))
    if plan.size is not None and (float(plan.size) not in stated or float(plan.size) in taken):
        report.dropped_sizing.append(f"size {plan.size}")
        sizing["size"] = None
    if plan.threshold is not None and (round(float(plan.threshold), 6) not in {round(x, 6) for x in stated}
                                       or not re.search(r"\b(score|threshold|above|at least|top)\b|%", request, re.I)):
        report.dropped_sizing.append(f"threshold {plan.threshold}")
        sizing["threshold"] = None
    unknown = list(plan.unknown)
    if q.money - q.income and not (q.num or q.total):
        unknown.append("an amount limit the plan cannot hold (e.g. 'under $20')")
    if q.num is not None or q.total is not None:
        if not any(d.family == "purchase" for d in plan.demands):
            unknown.append(f"an amount of {q.num or q.total} dollars, with no purchase to attach it to")
    report.quantities = slots
    upd = plan.model_dump(mode="json")
    upd.update({"demands": demands, "filters": filters.model_dump(mode="json") if filters else None,
                "unknown": list(dict.fromkeys(unknown))[:8], **sizing})
    return TargetingPlan.model_validate(upd)  # slots() keeps every value inside its field's range
