"""Choose the forecast scorer's settings on the scenario bank's dev half, then report them on the
test half and the workspace's own scenarios (never chosen on either).

    .venv/bin/python bench/choose_find.py -w ws [--grid "margin=0.08,0.12,0.16;C=0.01,0.03,0.1"]
        [--rounds 2] [--json]

Coordinate ascent on mean `find` AUC over the dev scenarios: starting from the defaults
(`ForecastConfig`), each knob in turn takes the grid value with the best dev mean, the others
held; a change must gain more than `--min-gain` to be kept. Prints the path, the chosen settings
as WS/find.yaml would hold them, and mean AUC of the defaults and the chosen settings on dev,
test and built-in. The bundle, text encoder and labels are loaded once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GRID = ("margin=0.08,0.12,0.16,0.2;C=0.01,0.03,0.1,0.3;category_lift=0,0.1,0.2,0.3;repeat_weight=0,0.25,0.5,1;"
        "edge_weight=0.3,0.6,1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-w", "--workspace", required=True)
    ap.add_argument("--bank", default=str(ROOT / "eval" / "data" / "scenario_bank"))
    ap.add_argument("--grid", default=GRID)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--min-gain", type=float, default=0.001)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from targetbot.agent.models import Models
    from targetbot.commands.common import settings_from_env
    from targetbot.core.workspace import Workspace
    from targetbot.eval.metrics import auc
    from targetbot.eval.registry import EvalContext
    from targetbot.eval.runner import bank_sets
    from targetbot.towers.bundle import Bundle
    from targetbot.towers.config import FindConfig, ForecastConfig
    from targetbot.towers.find import Query, ZeroShot

    ws = Workspace.open(args.workspace)
    models = Models(settings_from_env())
    sets = bank_sets(ws, Path(args.bank))
    ctx = EvalContext.load(ws, models)
    bundle = Bundle.load(ws, models.settings)
    rows = bundle.users.get_indexer(ctx.eval_users)
    labels = {s.name: ctx.eval_labels(s) for ss in sets.values() for s in ss}
    base = FindConfig.for_workspace(ws.root)

    def mean_auc(forecast: ForecastConfig, which: str) -> float:
        zs = ZeroShot(bundle, models.encode, "forecast", base.model_copy(update={"forecast": forecast}))
        return float(np.mean([auc(labels[s.name], zs.score(Query.from_demand(s.demand)).scores[rows])
                              for s in sets[which]]))

    grid = {k: [float(x) for x in v.split(",")] for k, v in (kv.split("=") for kv in args.grid.split(";") if kv)}
    current = base.forecast
    t = time.perf_counter()
    best = mean_auc(current, "dev")
    path = [{"settings": "defaults", "dev": round(best, 4)}]
    print(f"defaults: dev {best:.4f}", file=sys.stderr)
    for _ in range(args.rounds):
        moved = False
        for knob, values in grid.items():
            for v in values:
                if getattr(current, knob) == v:
                    continue
                cand = current.model_copy(update={knob: v})
                score = mean_auc(cand, "dev")
                print(f"  {knob}={v}: dev {score:.4f}", file=sys.stderr)
                if score > best + args.min_gain:
                    best, current, moved = score, cand, True
                    path.append({"settings": f"{knob}={v}", "dev": round(score, 4)})
        if not moved:
            break
    chosen = {k: getattr(current, k) for k in grid if getattr(current, k) != getattr(base.forecast, k)}
    report = {"chosen": chosen, "path": path, "search_seconds": round(time.perf_counter() - t, 1),
              "mean_auc": {w: {"defaults": round(mean_auc(base.forecast, w), 4), "chosen": round(mean_auc(current, w), 4)}
                           for w in ("dev", "test", "builtin")}}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("path:", " -> ".join(f"{p['settings']} ({p['dev']})" for p in path))
    print("chosen (WS/find.yaml):", json.dumps({"forecast": chosen}) if chosen else "the defaults")
    for w, v in report["mean_auc"].items():
        print(f"{w:<8} defaults {v['defaults']:.4f}  chosen {v['chosen']:.4f}  ({v['chosen'] - v['defaults']:+.4f})")


if __name__ == "__main__":
    main()
