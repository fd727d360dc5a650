"""Synthesis stage 1: multi-round domain-knowledge dialogues from the workspace catalog.

What an entity is (type, description), its other names, which entities it relates to, which plan
family and slot it belongs in, which profile fields exist and what values they take. The number
of dialogues grows with the catalog (`SynthConfig.knowledge_per_entity`). Templates live in
prompts/rewrite_knowledge.yaml.
"""

from __future__ import annotations

import random
from collections import defaultdict

import yaml

from targetbot.rewrite.catalog import Catalog
from targetbot.rewrite.config import PROMPTS_DIR, TYPE_FAMILY, SynthConfig
from targetbot.rewrite.plan import FAMILY_SLOT

KNOWLEDGE_FILE = PROMPTS_DIR / "rewrite_knowledge.yaml"
KNOWLEDGE_SYSTEM = "You answer questions about the targeting catalog briefly and exactly."


def _templates() -> dict:
    return yaml.safe_load(KNOWLEDGE_FILE.read_text(encoding="utf-8"))


def _fmt(t: dict, **kw) -> tuple[str, str]:
    return t["user"].format(**kw), t["assistant"].format(**kw)


def knowledge_dialogues(catalog: Catalog, cfg: SynthConfig) -> list[dict]:
    """[{"messages": [...], "kind": ...}] - each a 2-4 round dialogue."""
    rng = random.Random(cfg.seed * 1009 + 1)
    tpl = _templates()
    related: dict[str, list[str]] = defaultdict(list)
    for h, r, t in catalog.relations:
        related[h].append(f"{h} {r.replace('_', ' ')} {t}")
        related[t].append(f"{h} {r.replace('_', ' ')} {t}")
    n = int(min(cfg.knowledge_max, max(cfg.knowledge_min, round(cfg.knowledge_per_entity * len(catalog.entities)))))
    ents = list(catalog.entities)
    rng.shuffle(ents)
    out = []
    for k in range(n):
        e = ents[k % len(ents)]
        family = TYPE_FAMILY.get(e.type, "click")
        kw = dict(name=e.name, type=e.type.replace("_", " "), desc=e.description or f"{e.name} is a {e.type}.",
                  aliases=", ".join(e.aliases) if e.aliases else "no other name",
                  related="; ".join(rng.sample(related[e.name], min(3, len(related[e.name])))) + "."
                  if related[e.name] else f"No relation of {e.name} is recorded.",
                  family=family, slot=FAMILY_SLOT[family])
        rounds = [_fmt(tpl["entity"][0], **kw)]
        extra = tpl["entity"][1:]
        rounds += [_fmt(t, **kw) for t in rng.sample(extra, 1)]
        if e.aliases and rng.random() < 0.5:
            alias = rng.choice(e.aliases)
            rounds.append(_fmt(tpl["alias"][0], alias=alias, **{k2: v for k2, v in kw.items()}))
        msgs = [{"role": "system", "content": KNOWLEDGE_SYSTEM}]
        for u, a in rounds:
            msgs += [{"role": "user", "content": u}, {"role": "assistant", "content": a}]
        out.append({"kind": "entity", "messages": msgs})
    # profile fields: one dialogue per field, plus the overview
    if catalog.fields:
        names = ", ".join(f.name for f in catalog.fields)
        for f in catalog.fields:
            if f.kind == "categorical":
                values = f"{f.name} is categorical: " + ", ".join(f.values[:12]) + "."
            else:
                values = f"{f.name} is numeric, from {f.low:g} to {f.high:g}."
            u1, a1 = _fmt(tpl["fields"][0], fields=names)
            u2, a2 = _fmt(tpl["field"][0], field=f.name, values=values)
            out.append({"kind": "field", "messages": [{"role": "system", "content": KNOWLEDGE_SYSTEM},
                                                      {"role": "user", "content": u1}, {"role": "assistant", "content": a1},
                                                      {"role": "user", "content": u2}, {"role": "assistant", "content": a2}]})
    rng.shuffle(out)
    return out
