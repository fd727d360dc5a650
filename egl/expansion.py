"""k-hop expansion from seed phrases over the mined relations, with reasoning paths.

1. Seed phrases -> entities: an exact name/alias match first ("NBA", "the Lakers"), then
   entities named inside the phrase ("NBA games" -> NBA), then semantic similarity of the phrase
   to entity descriptions (needs the text encoder; cosine >= `semantic_match`). A phrase that
   matches nothing is an error that suggests close entity names.
2. Expansion: breadth-first over the kept relations, best-first within each hop. At hop h an
   edge is followed only if its score >= min_score[h-1]; an entity's score is the product of the
   edge scores on its best path (seeds start from 1, or from their match similarity), and its
   path is the chain of entities that explains it: "NBA -> Los Angeles Lakers -> LeBron Carter".
   Hub entities (related to more than `hub_share` of all entities) are skipped unless they are seeds.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from targetbot.egl.config import ExpansionConfig
from targetbot.egl.extraction import Dictionary, normalise, tokens
from targetbot.egl.storage import Graph
from targetbot.core.errors import TargetbotError


@dataclass
class SeedMatch:
    phrase: str
    entity: int
    how: str  # "name" | "alias" | "mention" | "semantic"
    similarity: float


@dataclass
class Expanded:
    entity: int
    hop: int
    score: float
    path: list[int]


def graph_dictionary(graph: Graph) -> Dictionary:
    if "dictionary" not in graph._cache:
        graph._cache["dictionary"] = Dictionary.from_frame(graph.entities)
    return graph._cache["dictionary"]


def match_seeds(graph: Graph, phrases: list[str], semantic_match: float,
                encode: Callable[[list[str]], np.ndarray] | None = None, max_semantic: int = 3) -> list[SeedMatch]:
    """Entities for each phrase; raises TargetbotError with suggestions for a phrase that matches nothing."""
    d = graph_dictionary(graph)
    out: list[SeedMatch] = []
    for phrase in phrases:
        phrase = phrase.strip()
        if not phrase:
            continue
        found = _lexical(graph, d, phrase)
        if not found and encode is not None:
            q = encode([phrase])[0]
            sims = graph.semantic @ q
            best = np.argsort(-sims)[:max_semantic]
            found = [SeedMatch(phrase, int(i), "semantic", float(sims[i])) for i in best if sims[i] >= semantic_match]
        if not found:
            raise TargetbotError(f"no entity matches '{phrase}'" + _suggest(graph, d, phrase, encode))
        out.extend(found)
    seen, unique = set(), []
    for m in out:
        if m.entity not in seen:
            seen.add(m.entity)
            unique.append(m)
    return unique


def _lexical(graph: Graph, d: Dictionary, phrase: str) -> list[SeedMatch]:
    key = tuple(tokens(phrase))
    exact = graph.index.get(phrase)
    if exact is not None:
        return [SeedMatch(phrase, exact, "name", 1.0)]
    ids = d.forms.get(key) or d.acronyms.get((phrase,))
    if ids:
        how = "name" if any(normalise(graph.names[i]) == " ".join(key) for i in ids) else "alias"
        return [SeedMatch(phrase, int(i), how, 1.0) for i in ids]
    found = []
    for cands in d.match(phrase):
        for i in cands:
            found.append(SeedMatch(phrase, int(i), "mention", 1.0 if len(cands) == 1 else 1.0 / len(cands)))
    return found


def _suggest(graph: Graph, d: Dictionary, phrase: str, encode) -> str:
    forms = {" ".join(k): v[0] for k, v in d.forms.items()}
    close = difflib.get_close_matches(normalise(phrase), list(forms), n=5, cutoff=0.75)  # typos first
    names = list(dict.fromkeys(graph.names[forms[c]] for c in close))
    if encode is not None:  # then what the phrase means
        sims = graph.semantic @ encode([phrase])[0]
        names += [graph.names[i] for i in np.argsort(-sims)[:3] if graph.names[i] not in names]
    if not names:
        return " (try a brand, product, service, team or place name; 'targetbot graph show' lists an entity's relations)"
    return f"; did you mean: {', '.join(names[:5])}?"


HUB_MIN_DEGREE = 50  # small graphs have no hubs: a category with 30 products is a fine neighbour


def hubs(graph: Graph, share: float) -> np.ndarray:
    """(n,) bool: entities with mined relations to more than `share` of the graph's entities (and more
    than HUB_MIN_DEGREE)."""
    deg = graph.entities["degree"].to_numpy() if "degree" in graph.entities.columns else np.zeros(graph.n)
    return deg > max(share * graph.n, HUB_MIN_DEGREE)


def expand(graph: Graph, seeds: list[SeedMatch], hops: int, min_score: list[float], max_per_node: int,
           max_entities: int, hub_share: float = 0.05) -> list[Expanded]:
    """Seeds (hop 0) and up to `max_entities` entities reached within `hops` hops, best first per hop.

    Hubs (see `hubs`; a language or country in a movie knowledge graph, related to a thousand films)
    are neither returned nor passed through unless they are seeds: "Star Wars -> English -> any
    English film" explains nothing."""
    adj = graph.adjacency
    hub = hubs(graph, hub_share) if hub_share < 1 else np.zeros(graph.n, bool)
    best: dict[int, Expanded] = {}
    frontier = []
    for s in seeds:
        e = Expanded(s.entity, 0, float(s.similarity), [s.entity])
        if s.entity not in best or best[s.entity].score < e.score:
            best[s.entity] = e
    frontier = sorted(best.values(), key=lambda x: -x.score)
    for hop in range(1, hops + 1):
        cut = min_score[min(hop - 1, len(min_score) - 1)] if min_score else 0.0
        nxt: dict[int, Expanded] = {}
        for node in frontier:
            nb, sc = adj[node.entity]
            taken = 0
            for b, s in zip(nb.tolist(), sc.tolist()):
                if taken >= max_per_node:
                    break
                if s < cut or b in node.path or hub[b]:
                    continue
                taken += 1
                score = node.score * s
                cur = best.get(b)
                if cur is not None and (cur.hop < hop or cur.score >= score):
                    continue
                cand = nxt.get(b)
                if cand is None or cand.score < score:
                    nxt[b] = Expanded(b, hop, score, node.path + [b])
        for b, e in nxt.items():
            best[b] = e
        frontier = sorted(nxt.values(), key=lambda x: -x.score)
        if not frontier:
            break
    ranked = sorted(best.values(), key=lambda x: (x.hop, -x.score, graph.names[x.entity]))
    n_seeds = sum(1 for x in ranked if x.hop == 0)
    return ranked[:max(max_entities, n_seeds)]


def as_rows(graph: Graph, expanded: list[Expanded]) -> list[dict]:
    """The JSON contract rows: entity, type, hop, score, path (names, seed first)."""
    return [{"entity": graph.names[x.entity], "type": graph.types[x.entity], "hop": x.hop,
             "score": round(x.score, 4), "path": [graph.names[i] for i in x.path]} for x in expanded]


def expand_with(graph: Graph, seeds: list[SeedMatch], config: ExpansionConfig, hops: int | None = None,
                min_score: list[float] | None = None, max_entities: int | None = None) -> list[Expanded]:
    """`expand` under a graph config's expansion settings, every one of them (hub_share included);
    the arguments given override the config. The one place the CLI, the agent and the benchmarks
    expand through, so a setting in WS/egl.yaml reaches all of them."""
    return expand(graph, seeds, config.hops if hops is None else hops,
                  config.min_score if min_score is None else min_score, config.max_per_node,
                  config.max_entities if max_entities is None else max_entities, config.hub_share)


def expand_phrases(graph: Graph, config: ExpansionConfig, phrases: list[str],
                   encode: Callable[[list[str]], np.ndarray] | None, hops: int | None = None,
                   min_score: list[float] | None = None, max_entities: int | None = None) -> dict:
    """The `graph expand --json` object for `phrases`: {"seeds": [names], "entities": rows}. A phrase
    that matches no entity is an error (with suggestions)."""
    if not phrases:
        raise TargetbotError("give at least one seed phrase, e.g. targetbot graph expand -w WS \"NBA\"")
    hops = config.hops if hops is None else hops
    if hops < 0 or hops > 4:
        raise TargetbotError(f"--hops must be between 0 and 4 (got {hops})")
    seeds = match_seeds(graph, phrases, config.semantic_match, encode)
    rows = as_rows(graph, expand_with(graph, seeds, config, hops, min_score, max_entities))
    return {"seeds": [graph.names[s.entity] for s in seeds], "entities": rows}


def single_threaded(encode: Callable[[list[str]], np.ndarray]) -> Callable[[list[str]], np.ndarray]:
    """`encode` run on one torch thread: a few short seed phrases gain nothing from more, and on a
    busy two-core machine two threads wait on each other (bench/graph_expand_latency.py)."""
    def run(texts: list[str]) -> np.ndarray:
        import torch

        old = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return encode(texts)
        finally:
            torch.set_num_threads(old)
    return run
