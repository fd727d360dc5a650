"""Filter grounding: a profile condition stays in a plan only when the request says something
about it, and a condition the request states plainly is not lost (`recall_filters`).

The rewriter is a 0.5B model; on marketer wordings it sometimes adds a filter nobody asked for
("folks who'd tap a Fitbeat ad" -> `app_os = android`, "commuters who would rent an e-bike" ->
`city = Beijing`). Filters are applied exactly, so an invented one silently removes most of the
audience (measured on the benchmark paraphrases: docs/RESULTS.md). A condition is kept
when the request mentions

* one of its values as a word ("Beijing", "male"), an everyday word for it (`VALUE_CUES`:
  "women" for female), a tier or rank by number or ordinal ("tier 1", "first-tier", "1st"),
  or, for a comparison, all of its numbers ("over 30", "aged 20-30"), or
* for a comparison or a numeric code only: its field, by the words of the column name ("income"
  for `income_monthly`, "car owners" for `car_owner = 1`; both "app" and "os" for `app_os`) or
  one of a few everyday words for the common fields (`CUES`: "young", "seniors" for age). Naming
  the field does not support a particular category ("cities" is not `city = Beijing`).

Dropped conditions are reported (plan info and the explanation), never applied, so the marketer
can restate them. Deterministic, no model; the grounded plan is what gets recorded and replayed.
"""

from __future__ import annotations

import re

from targetbot.rewrite.plan import Condition, Filters

# Everyday words that refer to a profile field without naming it. Keys are column names (or a
# word of them); a workspace with other columns still gets the column-name and value rules.
CUES: dict[str, tuple[str, ...]] = {
    "age": ("young", "younger", "youth", "old", "older", "elderly", "senior", "seniors", "adult", "adults", "teen",
            "teens", "teenager", "teenagers", "aged", "retiree", "retirees", "millennial", "millennials", "gen z"),
    "income": ("rich", "wealthy", "affluent", "salary", "earn", "earners", "earning", "high-income", "low-income",
               "well-off", "poor"),
    "city": ("city", "cities", "urban", "metropolitan"),
    "tier": ("tier", "tiers", "first-tier", "second-tier", "third-tier"),
    "children": ("kids", "kid", "child", "parents", "families", "family"),
    "marital": ("married", "single", "singles", "spouse"),
    "car": ("car", "cars", "driver", "drivers", "vehicle", "vehicles"),
    "home": ("homeowner", "homeowners", "renters", "tenant", "tenants"),
    "credit": ("credit",),
}
# Everyday words for a categorical value ("women" for gender = female).
VALUE_CUES: dict[str, tuple[str, ...]] = {
    "female": ("women", "woman", "ladies", "lady", "girls", "mothers", "moms", "mums", "wives"),
    "male": ("men", "man", "guys", "boys", "fathers", "dads", "husbands"),
}
# Words that say which way a comparison goes when the request writes no number.
MAGNITUDE = frozenset("""high higher highest low lower lowest big bigger small smaller large good bad excellent poor
rich wealthy affluent well-off premium top old older young younger senior seniors elderly teen teens adult adults kids
kid children retiree retirees millennial millennials""".split())

UPWARD = frozenset("high higher highest big bigger large good excellent rich wealthy affluent well-off premium top old "
                   "older senior seniors elderly retiree retirees adult adults high-income earners".split())
DOWNWARD = frozenset("low lower lowest small smaller bad poor young younger youth teen teens low-income millennial "
                     "millennials".split())


def _cue_words(field: str) -> set[str]:
    """The everyday words of a field that carry a direction by themselves ("young" for age)."""
    parts = [p for p in re.split(r"[_\W]+", field.lower()) if p]
    return {w for key, ws in CUES.items() if key in parts or key == field.lower() for w in ws
            if w in MAGNITUDE or w in ("youth", "aged", "earners", "high-income", "low-income", "gen z")}


_GENERIC = {"has", "num", "type", "level", "months", "month", "years", "year", "monthly", "count", "score", "history",
            "status", "is", "id"}
_ORDINALS = {"1": ("first", "1st"), "2": ("second", "2nd"), "3": ("third", "3rd"), "4": ("fourth", "4th"),
             "5": ("fifth", "5th")}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9][a-z0-9'\-]*", text.lower())) | set(re.findall(r"[a-z0-9]+", text.lower()))


def _numbers(text: str) -> set[float]:
    return {float(x) for x in re.findall(r"\d+(?:\.\d+)?", text.replace(",", ""))}


def field_mentioned(field: str, low: str, words: set[str]) -> bool:
    """Every word of the column name (plural allowed: "app_os" needs both "app" and "os"), or one
    of the field's everyday cue words."""
    parts = [p for p in re.split(r"[_\W]+", field.lower()) if p and p not in _GENERIC]
    if parts and all(p in words or p + "s" in words for p in parts):
        return True
    cues = {w for key, ws in CUES.items() if key in parts or key == field.lower() for w in ws}
    return any((" " in w and w in low) or w in words for w in cues)


def mentions_condition(text: str, c: Condition) -> bool:
    """Whether the request says anything that supports this condition (see the module doc)."""
    low, words = text.lower(), _words(text)
    values = [v.strip() for v in c.value.split(",")] if c.op in ("between", "in") else [c.value.strip()]
    for v in values:
        lv = v.lower()
        if not lv:
            continue
        if re.search(rf"(?<![a-z0-9]){re.escape(lv)}s?(?![a-z0-9])", low) and not lv.replace(".", "").isdigit():
            return True
        if lv in _ORDINALS and (words & set(_ORDINALS[lv]) or re.search(rf"\b(tier|level|rank)[\s\-]*{lv}\b", low)):
            return True
        if words & set(VALUE_CUES.get(lv, ())):
            return True
    nums = [float(v) for v in values if re.fullmatch(r"-?\d+(?:\.\d+)?", v)]
    comparison = c.op in (">", ">=", "<", "<=", "between")
    if comparison and nums and set(nums) <= _numbers(text):
        return True
    # naming the field supports a numeric code ("car owners" -> car_owner = 1), not a particular
    # category: "first-tier cities" says nothing about city = Beijing; a comparison whose number the
    # request never wrote also needs a word that says which way ("high income", "young")
    if comparison:
        said = (words & MAGNITUDE) | (_cue_words(c.field) & words)
        if not (field_mentioned(c.field, low, words) and said):
            return False
        up, down = said & UPWARD, said & DOWNWARD  # "young" cannot mean age > 20
        if c.op in (">", ">=") and down and not up:
            return False
        if c.op in ("<", "<=") and up and not down:
            return False
        return True
    if nums and len(nums) == len(values):
        return field_mentioned(c.field, low, words)
    return False


def ground_filters(text: str, filters: Filters | None) -> tuple[Filters | None, list[str]]:
    """(the conditions the request supports, the dropped ones rendered) - OR-joined filters are
    kept or dropped as a whole, since dropping one alternative would narrow the audience."""
    if filters is None:
        return None, []
    supported = [c for c in filters.conditions if mentions_condition(text, c)]
    if filters.join == "OR":
        return (filters, []) if supported else (None, [filters.render()])
    dropped = [c.render() for c in filters.conditions if c not in supported]
    if not supported:
        return None, dropped
    return Filters(join=filters.join, conditions=supported), dropped


# ---- recall: conditions the request states plainly but the plan lacks ------------------------
_ORDINAL_TIER = re.compile(r"\b(first|second|third|1st|2nd|3rd)[\s\-]+tier\b|\btier[\s\-]*([123])\b", re.IGNORECASE)
_ORDINAL_VALUE = {"first": "1", "1st": "1", "second": "2", "2nd": "2", "third": "3", "3rd": "3"}


def stated_conditions(text: str, catalog) -> list[Condition]:
    """Categorical conditions a request states in a fixed form: a tier ("first-tier cities",
    "tier 2") for a field named like *tier*, or a place value after "in" / "from" ("in Beijing or
    Shanghai", "from the east"; not after "not" or "outside"). Only exact, unambiguous forms:
    anything subtler is the rewriter's job."""
    out: list[Condition] = []
    for f in getattr(catalog, "fields", []) or []:
        if f.kind != "categorical" or not f.values:
            continue
        if "tier" in f.name.lower():
            found = []
            for m in _ORDINAL_TIER.finditer(text):
                v = _ORDINAL_VALUE.get((m.group(1) or "").lower()) or m.group(2)
                if v in f.values and v not in found:
                    found.append(v)
            if found:
                out.append(Condition(field=f.name, op="=" if len(found) == 1 else "in", value=",".join(found)))
            continue
        found = []
        for v in f.values:
            m = re.search(rf"(?<!not )(?<!outside )\b(?:in|from)\s+(?:the\s+)?{re.escape(v)}(?![\w\-])", text, re.IGNORECASE) \
                if len(v) >= 3 else None
            if m is None:
                continue
            # "in Beijing or Shanghai": the other values listed right after the first
            listed = re.match(r"(?:\s*(?:,|or|and)\s*(?:the\s+)?[\w'\-]+)*", text[m.end():])
            tail = listed.group(0) if listed else ""
            for w in [v] + [u for u in f.values if re.search(rf"\b{re.escape(u)}(?![\w\-])", tail, re.IGNORECASE)]:
                if w not in found:
                    found.append(w)
        if found:
            out.append(Condition(field=f.name, op="=" if len(found) == 1 else "in", value=",".join(found)))
    return out


def recall_filters(text: str, filters: Filters | None, catalog) -> tuple[Filters | None, list[str]]:
    """The plan's filters plus the stated conditions on fields it does not constrain (AND-joined
    plans only: adding to an OR would widen the audience). Returns (filters, the added rendered)."""
    if filters is not None and filters.join != "AND":
        return filters, []
    have = {c.field for c in filters.conditions} if filters is not None else set()
    room = 4 - len(have)  # MAX_CONDITIONS
    added = [c for c in stated_conditions(text, catalog) if c.field not in have][:max(room, 0)]
    if not added:
        return filters, []
    conditions = (list(filters.conditions) if filters is not None else []) + added
    return Filters(join="AND", conditions=conditions), [c.render() for c in added]


# ---- exclusions and stated age bounds ------------------------------------------------------------
# An exclusion stays only when the request says to leave someone out: the rewriter sometimes adds
# one nobody asked for, and an exclusion silently removes users.
NEGATION = re.compile(r"(?<![\w\-])(?:not|no|never|non|except|exclud\w*|without|unless|omit\w*|minus|besides|"
                      r"avoid\w*|skip\w*)(?![\w\-])|\bother than\b|\bapart from\b|\bleav(?:e|ing) out\b|"
                      r"\brather than\b|\binstead of\b|n['’]t\b|\b(?:remove|drop|filter out|take out)\b.+\bfrom\b|"
                      r"\bbut\s+(?:drop|remove|skip|leave out)\b",
                      re.IGNORECASE)

_OLD = r" ?(?:years? old|yrs? old|y/?o)\b"
# (pattern, how the number bounds age: "gt" strict lower, "ge", "lt" strict upper, "le", "range")
_STRICT = {"gt": ("lower", 0), "ge": ("lower", -1), "lt": ("upper", 0), "le": ("upper", 1)}
_AGE_FORMS = [
    (r"(?<!no )(?<!not )\bolder than (\d+)", "gt"), (r"(?<!not )\bover (\d+)" + _OLD, "gt"),
    (r"\baged? (?:over|above) (\d+)\b", "gt"), (r"\bat least (\d+)" + _OLD, "ge"),
    (r"\b(\d+)(?: years? old)? or older\b", "ge"), (r"\b(\d+) ?\+ ?years? old\b", "ge"),
    (r"(?<!no )(?<!not )\byounger than (\d+)", "lt"), (r"(?<!not )\bunder (\d+)" + _OLD, "lt"),
    (r"\baged? (?:under|below) (\d+)\b", "lt"), (r"\b(?:no|not) older than (\d+)", "le"),
    (r"\bnot over (\d+)" + _OLD, "le"), (r"\b(\d+)(?: years? old)? or younger\b", "le"),
    (r"\baged (?:between )?(\d+) ?(?:-|–|to|and) ?(\d+)\b", "range"),
    (r"\b(\d+) ?(?:-|–|to) ?(\d+)[- ]years?[- ]olds?\b", "range"), (r"\bbetween (\d+) and (\d+)" + _OLD, "range"),
]


def _age_field(catalog) -> str | None:
    for f in getattr(catalog, "fields", []) or []:
        if f.kind == "numeric" and "age" in re.split(r"[_\W]+", f.name.lower()):
            return f.name
    return None


def stated_bounds(text: str, filters: Filters | None, catalog) -> tuple[Filters | None, list[str]]:
    """Age bounds a request states in a fixed form ("older than 60", "under 25 years", "aged 20-30")
    replace whatever the plan put on the age field, so the plan says what the request says. Bounds
    that exclude each other ("older than 60 and younger than 20") are an error that says so: no
    user can satisfy them, and the complement must never be returned instead. Returns (filters,
    the replaced conditions rendered)."""
    from targetbot.core.errors import TargetbotError

    field = _age_field(catalog)
    if field is None:
        return filters, []
    low = text.lower()
    lowers, uppers, spans = [], [], []
    for pattern, kind in _AGE_FORMS:
        for m in re.finditer(pattern, low):
            spans.append(m.span())
            if kind == "range":
                a, b = sorted((float(m.group(1)), float(m.group(2))))
                lowers.append(a - 1)  # "aged 20-30" includes 20 and 30
                uppers.append(b + 1)
            else:  # as strict bounds: "at least 18" is "older than 17"
                side, shift = _STRICT[kind]
                (lowers if side == "lower" else uppers).append(float(m.group(1)) + shift)
    spans.sort()
    if len(spans) > 1 and re.search(r"\bor\b", low[spans[0][1]:spans[-1][0]]):
        return filters, []  # "18-24 or over 65": alternatives, not bounds; the rewriter's plan stands
    if not lowers and not uppers:
        return filters, []
    lo, hi = (max(lowers) if lowers else None), (min(uppers) if uppers else None)
    if lo is not None and hi is not None and lo + 1 >= hi:
        raise TargetbotError(f"no user can be both older than {lo:g} and younger than {hi:g}: say which "
                             "(or ask twice, once for each group)")
    stated = [Condition(field=field, op=">", value=f"{lo:g}")] if lo is not None else []
    stated += [Condition(field=field, op="<", value=f"{hi:g}")] if hi is not None else []
    if filters is not None and filters.join == "OR":
        return filters, []
    others = [c for c in (filters.conditions if filters is not None else []) if c.field != field]
    replaced = [c.render() for c in (filters.conditions if filters is not None else []) if c.field == field]
    if [c.render() for c in stated] == replaced:
        return filters, []
    return Filters(join="AND", conditions=(others + stated)[:4]), replaced or ["(none)"]


def stated_fields(text: str, catalog) -> list[str]:
    """Profile fields the request says anything about: named (`field_mentioned`), one of their
    values written as a word or an everyday word for it, or an age in a fixed form ("over 30").
    A request naming none gets a decoding schema without filters (rewrite.client)."""
    low, words = text.lower(), _words(text)
    out = []
    age = _age_field(catalog)
    for f in getattr(catalog, "fields", []) or []:
        hit = field_mentioned(f.name, low, words)
        if not hit and f.kind == "categorical":
            for v in f.values:
                lv = str(v).lower()
                if (len(lv) >= 2 and not lv.isdigit() and re.search(rf"(?<![a-z0-9]){re.escape(lv)}s?(?![a-z0-9])", low)) \
                        or words & set(VALUE_CUES.get(lv, ())):
                    hit = True
                    break
        if not hit and f.name == age and any(re.search(p, low) for p, _ in _AGE_FORMS):
            hit = True
        if not hit and "tier" in f.name.lower() and _ORDINAL_TIER.search(text):
            hit = True
        if hit:
            out.append(f.name)
    return out
