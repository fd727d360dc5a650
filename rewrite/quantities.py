"""Amounts, counts and time windows as a request states them, each attached by its unit.

A number in a request means what its unit says: dollars are an amount ("big spenders over 500
bucks"), not an age; "at least 3 times" or "twice a week" is a frequency; "in the next two weeks"
a horizon. The rewriter is a small model and reads "over 500" as `age > 500` now and then, so
the plan's quantity slots are filled from the request here (deterministic, no model) and a
profile condition built from a number whose unit says otherwise is dropped (`ground.ground_plan`).

    >>> q = parse_quantities("big spenders over $1.5k in total, at least twice a week")
    >>> (q.total, q.num, q.min_count, q.per_days)
    (1500, None, 2, 7)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NUMWORDS = {"once": 1, "one": 1, "twice": 2, "two": 2, "three": 3, "thrice": 3, "four": 4, "five": 5, "six": 6,
             "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a couple": 2, "a few": 3}
_NUM = r"(\d[\d,]*(?:\.\d+)?)\s*([km])?"
_MONEY = [re.compile(r"(?:\$|usd\s?|€|£)\s*" + _NUM + r"(?![\w])", re.I),
          re.compile(_NUM + r"\s*(?:\+\s*)?(?:dollars?|bucks|usd|\$)(?![\w])", re.I)]
_INCOME = re.compile(r"\b(?:earn\w*|income|salary|salaries|paid|wages?|make|making|makes|earners?)\b[\w\s$,.]{0,16}$",
                     re.I)
_TOTAL = re.compile(r"\b(?:in total|total|altogether|combined|overall|cumulative\w*|all together|lifetime)\b", re.I)
_UPPER = re.compile(r"\b(?:under|less than|below|at most|up to|no more than|cheaper than)\s*$", re.I)
_COUNT_WORD = "|".join(sorted(map(re.escape, _NUMWORDS), key=len, reverse=True))
_COUNT = [
    (re.compile(rf"\bat least\s+(\d+|{_COUNT_WORD})(?:\s+times)?\b", re.I), 0),
    (re.compile(rf"\b(\d+|{_COUNT_WORD})\s*(?:\+|or more)\s*times\b", re.I), 0),
    (re.compile(r"\b(\d+)\s*\+\s*(?:orders|purchases|visits|times|buys)\b", re.I), 0),
    (re.compile(rf"\bmore than\s+(\d+|{_COUNT_WORD})(?:\s+times)?\b(?!\s*(?:dollars|bucks|usd|%|years|yrs|kids))",
                re.I), 1),
    (re.compile(rf"\b(twice|thrice|\d+\s+times|(?:{_COUNT_WORD})\s+times)\b", re.I), 0),
]
_PER = re.compile(r"\b(?:a|per|each|every)\s+(day|week|month|year)\b|\b(daily|weekly|monthly|yearly|annually)\b", re.I)
_PER_DAYS = {"day": 1, "daily": 1, "week": 7, "weekly": 7, "month": 30, "monthly": 30, "year": 365, "yearly": 365,
             "annually": 365}
_WITHIN = re.compile(r"\b(?:in|within|over)\s+the\s+(?:next|coming|last|past)\s+(\d+|\w+)?\s*(days?|weeks?|months?)\b"
                     r"|\b(?:in|within)\s+(\d+|\w+)\s+(days?|weeks?|months?)\b"
                     r"|\b(?:this|next)\s+(week|month)\b", re.I)
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30}


def _to_number(digits: str, suffix: str | None) -> float:
    v = float(digits.replace(",", ""))
    return v * {"k": 1_000, "m": 1_000_000}.get((suffix or "").lower(), 1)


def _count(word: str) -> int | None:
    w = word.lower().strip()
    if w.endswith(" times"):
        w = w[: -len(" times")].strip()
    if w.isdigit():
        return int(w)
    return _NUMWORDS.get(w)


@dataclass
class Quantities:
    num: int | None = None  # per purchase, dollars ("orders over $50")
    total: int | None = None  # in total over the window ("spent over $500 in total")
    min_count: int | None = None
    per_days: int | None = None  # the period a frequency counts in ("twice a week" -> 7)
    within_days: int | None = None  # horizon ("in the next two weeks" -> 14)
    money: set[float] = field(default_factory=set)  # every number written as money, incomes included
    income: set[float] = field(default_factory=set)  # money numbers that describe earnings
    counts: set[float] = field(default_factory=set)  # numbers that are counts of actions

    def slots(self) -> dict:
        """The plan slots (rewrite.plan demands), values outside a slot's range left out."""
        ranges = {"num": (0, 10_000_000), "total": (0, 100_000_000), "min_count": (1, 1000), "per_days": (1, 365),
                  "within_days": (1, 365)}
        return {k: v for k, v in (("num", self.num), ("total", self.total), ("min_count", self.min_count),
                                  ("per_days", self.per_days), ("within_days", self.within_days))
                if v is not None and ranges[k][0] <= v <= ranges[k][1]}


def parse_quantities(text: str) -> Quantities:
    q = Quantities()
    low = text.lower()
    for pat in _MONEY:
        for m in pat.finditer(low):
            v = _to_number(m.group(1), m.group(2))
            q.money.add(v)
            before = low[max(0, m.start() - 40):m.start()]
            if _INCOME.search(before):
                q.income.add(v)
                continue
            if _UPPER.search(before):
                continue  # "under $20": an upper bound, which FIND's templates cannot say
            clause = re.split(r"[,;.]", low[m.end():], maxsplit=1)[0]
            amount = int(round(v))
            if _TOTAL.search(clause) or _TOTAL.search(before[-20:]):
                q.total = q.total if q.total is not None else amount
            elif q.num is None:
                q.num = amount
    for pat, plus in _COUNT:
        m = pat.search(low)
        if m is None:
            continue
        n = _count(m.group(1))
        if n is None:
            continue
        if m.end() < len(low) and re.match(r"\s*(?:dollars|bucks|usd|\$|years|yrs|kids|children|%)", low[m.end():]):
            continue
        q.min_count = n + plus
        q.counts.add(float(n))
        tail = low[m.end():m.end() + 16]
        p = _PER.search(tail)
        if p:
            q.per_days = _PER_DAYS[(p.group(1) or p.group(2)).lower()]
        break
    if q.per_days is None:
        p = re.search(r"\b(daily|weekly|monthly|every (?:day|week|month))\b", low)
        if p:
            q.per_days = _PER_DAYS[p.group(1).split()[-1]]
            q.min_count = q.min_count or 1
    m = _WITHIN.search(low)
    if m:
        if m.group(5):
            q.within_days = _UNIT_DAYS[m.group(5).lower()]
        else:
            n_s, unit = (m.group(1), m.group(2)) if m.group(2) else (m.group(3), m.group(4))
            n = _count(n_s) if n_s else 1
            if n is not None:
                q.within_days = n * _UNIT_DAYS[unit.lower().rstrip("s")]
    return q
