"""Entity snapping: map the phrase a model wrote for an entity slot onto one catalog name.

Greedy enum-constrained decoding commits to a catalog name token by token: a model that wants to
write "pet food" (not in the catalog) starts with "pet" and is then forced down whatever name
begins with it ("pet care tips"). Engine `local` avoids that by letting the model write the slot
value freely, then snapping it here, and continuing from the snapped name (see
`constrained.Decoder.run`).

Order of preference: exact name, alias (case-insensitive), then the closest name or alias by
character similarity (typos, plurals, word order) above a floor; below the floor no snap is
made and the caller falls back to plain constrained decoding.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

_WS = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s&+.-]")


def _norm(s: str) -> str:
    return _WS.sub(" ", _PUNCT.sub(" ", str(s).lower())).strip()


def _tokens(s: str) -> set[str]:
    return {t.rstrip("s") for t in s.split() if t}


class Snapper:
    """Snap phrases onto `names` (the enum of one schema slot), using `aliases` {alias: name}."""

    def __init__(self, names: list[str], aliases: dict[str, str] | None = None, floor: float = 0.55):
        self.names = list(names)
        nameset = set(self.names)
        self.floor = floor
        self.exact: dict[str, str] = {}
        for a, n in (aliases or {}).items():
            if n in nameset:
                self.exact.setdefault(_norm(a), n)
        for n in self.names:
            self.exact[_norm(n)] = n  # canonical names win over aliases
        self.keys = sorted(self.exact)  # every surface form, normalised
        self._toks = [_tokens(k) for k in self.keys]

    def snap(self, phrase: str) -> tuple[str | None, float]:
        """(catalog name, score in [0, 1]) or (None, best score) when nothing is close enough."""
        p = _norm(phrase)
        if not p:
            return None, 0.0
        hit = self.exact.get(p)
        if hit is not None:
            return hit, 1.0
        return self._fuzzy(p)

    @lru_cache(maxsize=4096)
    def _fuzzy(self, p: str) -> tuple[str | None, float]:
        """Score = mean of character similarity and word overlap (F1 of word sets, plural 's'
        ignored); a near-identical spelling (ratio >= 0.8: typos, missing spaces) counts on its own."""
        sm = difflib.SequenceMatcher(autojunk=False)
        sm.set_seq2(p)
        ptoks = _tokens(p)
        best, best_score = None, 0.0
        for k, ktoks in zip(self.keys, self._toks):
            tok = 2 * len(ptoks & ktoks) / (len(ptoks) + len(ktoks))
            sm.set_seq1(k)
            ub = sm.real_quick_ratio()
            if max(ub if ub >= 0.8 else 0.0, 0.5 * ub + 0.5 * tok) <= best_score:
                continue
            ub = sm.quick_ratio()
            if max(ub if ub >= 0.8 else 0.0, 0.5 * ub + 0.5 * tok) <= best_score:
                continue
            r = sm.ratio()
            score = max(r if r >= 0.8 else 0.0, 0.5 * r + 0.5 * tok)
            if score > best_score:
                best, best_score = k, score
        if best is None or best_score < self.floor:
            return None, round(best_score, 3)
        return self.exact[best], round(best_score, 3)


def catalog_snapper(catalog) -> Snapper:
    """The snapper engine `local` uses for every entity slot: all catalog names, with aliases."""
    return Snapper(sorted(catalog.names), catalog.aliases())


def snap_entities(data: dict, snapper: Snapper) -> tuple[dict, list[tuple[str, str | None, float]]]:
    """A plan dict (model output parsed as JSON) with every entity slot value snapped onto the
    catalog; returns (data, snaps as (phrase, name or None, score)). A value that does not snap is
    left as written, so the catalog check names it and the caller can repair."""
    from targetbot.rewrite.plan import ENTITY_SLOTS

    snaps: list[tuple[str, str | None, float]] = []

    def fix(values):
        if not isinstance(values, list):
            return values
        out = []
        for v in values:
            if isinstance(v, str):
                name, score = snapper.snap(v)
                snaps.append((v, name, score))
                out.append(name if name is not None else v)
            else:
                out.append(v)
        return out

    data = dict(data)
    demands = data.get("demands")
    if isinstance(demands, list):
        data["demands"] = [{k: (fix(v) if k in ENTITY_SLOTS else v) for k, v in d.items()} if isinstance(d, dict)
                           else d for d in demands]
    for key in ("seed_entities", "exclude"):
        if key in data:
            data[key] = fix(data[key])
    return data, snaps
