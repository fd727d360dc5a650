"""Prototype: the forecaster as a teacher for a servable text-user space (not a product path yet).

    .venv/bin/python bench/distill_tower.py -w ws [--anchors 300,1000] [--temperature 0.05,0.08] [--sets dev,builtin]

The forecast scorer fits one regression per demand at query time, which no index can serve; the
dual towers can be served but rank below keyword on new demands. This measures a middle way:

* Teacher: the forecast scorer itself, run on K *anchor* demands - one future behaviour text per
  event category (the one most training users did), then random other texts - each giving every
  user a score (z-scored log-odds, the repeat prior included).
* User tower: a user's K anchor scores (a K-d embedding, computed once at build time).
* Text tower: a demand's weights over the anchors, a softmax over its MiniLM similarity to each
  anchor text (the request as written 0.6, its best template sentence 0.4, as the forecaster
  matches), at `--temperature`.
* Score = embedding . weights: an inner product, so a faiss index can serve it.

Mean AUC over each set's scenarios, beside find-tower (the dual towers) and keyword, in the same
run; anchors are cached under --cache keyed by the tower bundle, the find settings and K (the
first K of a longer list are the same anchors, so one run of the largest K serves every K).
Choose K and the temperature on the bank's dev half; report test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def anchor_texts(data, k: int, seed: int = 0, min_users: int = 10) -> list[int]:
    """Columns of `data.future`: per category its most common text, then random others."""
    done = np.asarray(data.future.sum(0)).ravel()
    first: dict[str, int] = {}
    for i in np.argsort(-done, kind="stable"):
        if done[i] >= min_users and data.future_categories[i] not in first:
            first[data.future_categories[i]] = int(i)
    chosen = list(first.values())
    taken = set(chosen)
    rest = [int(i) for i in np.random.default_rng(seed).permutation(len(done)) if done[i] >= min_users and i not in taken]
    return (chosen + rest)[:k]


def anchor_embeddings(scorer, columns: list[int], progress=None) -> tuple[np.ndarray, list[str]]:
    """(users x anchors z-scored forecast scores, the anchor texts that had a forecast)."""
    out, texts = [], []
    for n, c in enumerate(columns):
        text = scorer.data.future_texts[c]
        f = scorer.forecast([text])
        if f is not None:
            s = f.scores
            out.append(((s - s.mean()) / max(float(s.std()), 1e-9)).astype(np.float32))
            texts.append(text)
        if progress and (n + 1) % 50 == 0:
            progress(f"anchors: {n + 1}/{len(columns)}")
    return np.stack(out, 1), texts


def demand_weights(anchor_vecs: np.ndarray, sentence_vecs: np.ndarray, temperature: float, written: float = 0.6) -> np.ndarray:
    sim = anchor_vecs @ sentence_vecs.T
    sim = written * sim[:, 0] + (1 - written) * sim[:, 1:].max(1) if sim.shape[1] > 1 else sim[:, 0]
    a = np.exp((sim - sim.max()) / temperature)
    return a / a.sum()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-w", "--workspace", required=True)
    ap.add_argument("--anchors", default="300", help="anchor counts to compare, comma-separated")
    ap.add_argument("--temperature", default="0.05", help="softmax temperatures to compare, comma-separated")
    ap.add_argument("--sets", default="dev,builtin")
    ap.add_argument("--bank", default=str(ROOT / "eval" / "data" / "scenario_bank"))
    ap.add_argument("--cache", default=None, help="folder for the anchor embeddings (default: WS/cache/distill)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from targetbot.agent.models import Models
    from targetbot.commands.common import settings_from_env
    from targetbot.core.scenarios.scenario import load_scenarios
    from targetbot.core.workspace import Workspace
    from targetbot.eval.metrics import auc
    from targetbot.eval.registry import EvalContext
    from targetbot.eval.runner import scenario_paths, scenario_split
    from targetbot.eval.methods.keyword import KeywordMethod
    from targetbot.towers.bundle import Bundle
    from targetbot.towers.config import FindConfig
    from targetbot.towers.find import Query, ZeroShot
    from targetbot.towers.templates import template_sentences

    ws = Workspace.open(args.workspace)
    models = Models(settings_from_env())
    bank = [Path(args.bank)]
    sets: dict[str, list] = {"dev": [], "test": []}
    for s in load_scenarios(scenario_paths(bank)):
        sets[scenario_split(s.name, bank)].append(s)
    sets["builtin"] = load_scenarios(ws.scenario_files())
    ctx = EvalContext.load(ws, models)
    bundle = Bundle.load(ws, models.settings)
    rows = bundle.users.get_indexer(ctx.eval_users)
    cfg = FindConfig.for_workspace(ws.root)
    forecast = ZeroShot(bundle, models.encode, "forecast", cfg).forecaster()
    tower = ZeroShot(bundle, models.encode, "tower", cfg)

    cache = Path(args.cache or Path(args.workspace) / "cache" / "distill")
    counts = sorted(int(k) for k in args.anchors.split(","))
    temperatures = [float(x) for x in args.temperature.split(",")]
    path = cache / f"anchors-{bundle.root.name}-{cfg.key()}-{counts[-1]}.npz"
    t = time.perf_counter()
    if path.exists():
        z = np.load(path, allow_pickle=False)
        users_x_anchors, texts = z["embeddings"], [str(x) for x in z["texts"]]
    else:
        users_x_anchors, texts = anchor_embeddings(forecast, anchor_texts(forecast.data, counts[-1]),
                                                   progress=lambda m: print(m, file=sys.stderr, flush=True))
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(path, embeddings=users_x_anchors, texts=np.array(texts))
    build_s = time.perf_counter() - t

    def unit(x):
        x = np.asarray(x, dtype=np.float32)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    anchor_vecs = unit(models.encode(texts))
    keyword = KeywordMethod()
    keyword.prepare(ctx)
    report = {"workspace": args.workspace, "anchors": len(texts), "anchor_seconds": round(build_s, 1), "sets": {}}
    variants = [(k, tau) for k in counts for tau in temperatures]
    for name in args.sets.split(","):
        per = {}
        for s in sets[name]:
            y = ctx.eval_labels(s)
            vecs = unit(models.encode(template_sentences(s.demand)))
            row = {"keyword": auc(y, keyword.score(s, ctx).scores),
                   "find-tower": auc(y, tower.scores(Query.from_demand(s.demand))[rows])}
            for k, tau in variants:  # anchors that had no forecast drop out, so k counts texts kept
                w = demand_weights(anchor_vecs[:k], vecs, tau)
                row[f"distilled K={k} T={tau:g}"] = auc(y, (users_x_anchors[:, :k] @ w)[rows])
            per[s.name] = row
        means = {m: round(float(np.mean([v[m] for v in per.values()])), 4) for m in next(iter(per.values()))}
        report["sets"][name] = {"mean_auc": means, "scenarios": per}
        print(f"{name}: {json.dumps(means)}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
