"""Anchor towers (towers/anchors.py) at several anchor counts and temperatures, to choose them.

    .venv/bin/python bench/distill_tower.py -w ws [--anchors 300,1000] [--temperature 0.05,0.08] [--sets dev,builtin]

The anchor towers distil the forecast scorer into an inner product: every user's z-scored
forecasts of K anchor behaviours, weighted by a softmax over the demand's match to each anchor
text. One tower of the largest K is built (the first K anchors of a longer list are the same
anchors, so it serves every K) and cached under --cache, keyed by the tower bundle, the find
settings and K. Prints mean AUC over each set's scenarios for every (K, temperature), beside
find-tower (the learned dual towers) and keyword, in the same run; no profile term. Choose K
and the temperature on the bank's dev half; report test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


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
    from targetbot.core.workspace import Workspace
    from targetbot.eval.metrics import auc
    from targetbot.eval.methods.keyword import KeywordMethod
    from targetbot.eval.registry import EvalContext
    from targetbot.eval.runner import bank_sets
    from targetbot.towers.anchors import AnchorTower
    from targetbot.towers.bundle import Bundle
    from targetbot.towers.config import FindConfig
    from targetbot.towers.find import Query, ZeroShot
    from targetbot.towers.templates import demand_groups, template_sentences

    ws = Workspace.open(args.workspace)
    models = Models(settings_from_env())
    sets = bank_sets(ws, Path(args.bank))
    ctx = EvalContext.load(ws, models)
    bundle = Bundle.load(ws, models.settings)
    rows = bundle.users.get_indexer(ctx.eval_users)
    cfg = FindConfig.for_workspace(ws.root)
    forecast = ZeroShot(bundle, models.encode, "forecast", cfg).forecaster()
    tower = ZeroShot(bundle, models.encode, "tower", cfg)

    counts = sorted(int(k) for k in args.anchors.split(","))
    temperatures = [float(x) for x in args.temperature.split(",")]
    anchors = cfg.anchors.model_copy(update={"count": counts[-1]})
    path = Path(args.cache or Path(args.workspace) / "cache" / "distill") / \
        f"anchors-{bundle.root.name}-{anchors.data_key(cfg.forecast)}"
    t = time.perf_counter()
    if (path / "anchors.json").exists():
        full = AnchorTower.load(path)
    else:
        full = AnchorTower.build(forecast, anchors, path, progress=lambda m: print(m, file=sys.stderr, flush=True))
    build_s = time.perf_counter() - t

    def unit(x):
        x = np.asarray(x, dtype=np.float32)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    # anchors that had no forecast drop out, so K counts the texts kept
    towers = {k: AnchorTower(full.by_anchor[:k], full.texts[:k], full.vectors[:k]) for k in counts}
    keyword = KeywordMethod()
    keyword.prepare(ctx)
    report = {"workspace": args.workspace, "anchors": len(full.texts), "anchor_seconds": round(build_s, 1), "sets": {}}
    for name in args.sets.split(","):
        per = {}
        for s in sets[name]:
            y = ctx.eval_labels(s)
            sentences = template_sentences(s.demand)
            vecs, groups = unit(models.encode(sentences)), demand_groups(sentences)
            row = {"keyword": auc(y, keyword.score(s, ctx).scores),
                   "find-tower": auc(y, tower.scores(Query.from_demand(s.demand))[rows])}
            for k, tau in ((k, tau) for k in counts for tau in temperatures):
                w = towers[k].weights(vecs, groups, cfg.forecast.written_weight, tau)
                row[f"distilled K={k} T={tau:g}"] = auc(y, towers[k].scores(w)[rows])
            per[s.name] = row
        means = {m: round(float(np.mean([v[m] for v in per.values()])), 4) for m in next(iter(per.values()))}
        report["sets"][name] = {"mean_auc": means, "scenarios": per}
        print(f"{name}: {json.dumps(means)}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
