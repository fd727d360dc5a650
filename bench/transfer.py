"""Transfer: how targeting methods hold up on demands the benchmark never named.

    .venv/bin/python bench/transfer.py -w ws [--methods keyword,supervised,find,ask,graph,find-tower,find-anchors]
        [--sets builtin,dev,test] [--bank eval/data/scenario_bank] [--json] [--out result.json]

Runs the zero-shot suite on the workspace's own scenarios (`builtin`) and on the scenario bank's
dev and test halves (`dev`, `test`: `eval run --scenario-dir BANK --split ...`), and for each
set and method prints mean AUC, the share of the keyword -> supervised gap it closes
((m - keyword) / (supervised - keyword) in mean AUC), the scenarios where it beats keyword, and
its worst shortfall against keyword. Add `forecast-fewshot` to `--fewshot` for the few-shot
suite's 5 + 5 seed draws on the same sets. Choose settings on `dev`; report `test`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def summarise(rows: list[dict], methods: list[str]) -> dict:
    """Per method: mean AUC, gap closed, wins over keyword, worst shortfall against keyword."""
    auc = {(r["scenario"], r["method"]): r["auc"] for r in rows}
    scenarios = sorted({r["scenario"] for r in rows})
    mean = {m: sum(auc[(s, m)] for s in scenarios) / len(scenarios) for m in methods if (scenarios[0], m) in auc}
    out = {}
    for m, v in mean.items():
        row = {"mean_auc": round(v, 4), "scenarios": len(scenarios)}
        if "keyword" in mean and m != "keyword":
            diffs = [auc[(s, m)] - auc[(s, "keyword")] for s in scenarios]
            row["wins"] = sum(d > 0 for d in diffs)
            row["worst_vs_keyword"] = round(min(diffs), 4)
            row["below_keyword_by_0.03"] = sum(d < -0.03 for d in diffs)
            if "supervised" in mean and m != "supervised" and mean["supervised"] > mean["keyword"]:
                row["gap_closed"] = round((v - mean["keyword"]) / (mean["supervised"] - mean["keyword"]), 3)
        out[m] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-w", "--workspace", required=True)
    ap.add_argument("--methods", default="keyword,supervised,find,ask,graph,find-tower,find-anchors")
    ap.add_argument("--fewshot", default="", help="few-shot methods to add, e.g. forecast-fewshot")
    ap.add_argument("--sets", default="builtin,dev,test")
    ap.add_argument("--bank", default=str(ROOT / "eval" / "data" / "scenario_bank"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", default=None, help="also write the full result (every scenario's AUC) here")
    args = ap.parse_args()

    from targetbot.commands.common import settings_from_env
    from targetbot.agent.models import Models
    from targetbot.core.workspace import Workspace
    from targetbot.eval.runner import run_suite

    ws = Workspace.open(args.workspace)
    models = Models(settings_from_env())
    methods = [m for m in args.methods.split(",") if m]
    fewshot = [m for m in args.fewshot.split(",") if m]
    report = {"workspace": str(args.workspace), "sets": {}}
    for name in args.sets.split(","):
        options = {} if name == "builtin" else {"scenario_dirs": [Path(args.bank)], "split": name}
        t = time.perf_counter()
        rows = run_suite(ws, "zero-shot", methods, models=models, seed=args.seed, options=options)["results"]
        if fewshot:
            few = run_suite(ws, "few-shot", fewshot, models=models, seed=args.seed, options=options)["results"]
            rows += few
        report["sets"][name] = {"summary": summarise(rows, methods + fewshot), "results": rows,
                                "seconds": round(time.perf_counter() - t, 1)}
        print(f"{name}: {json.dumps(report['sets'][name]['summary'])}", file=sys.stderr)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1))
    if args.json:
        print(json.dumps({k: {s: v["summary"] for s, v in report["sets"].items()} if k == "sets" else v
                          for k, v in report.items()}, indent=2))
        return
    print(f"{'set':<8} {'method':<17} {'mean AUC':>8} {'gap':>6} {'wins':>7} {'worst':>7}")
    for s, v in report["sets"].items():
        for m, r in v["summary"].items():
            gap = f"{100 * r['gap_closed']:.0f}%" if "gap_closed" in r else ""
            wins = f"{r['wins']}/{r['scenarios']}" if "wins" in r else ""
            worst = f"{r['worst_vs_keyword']:+.3f}" if "worst_vs_keyword" in r else ""
            print(f"{s:<8} {m:<17} {r['mean_auc']:>8.4f} {gap:>6} {wins:>7} {worst:>7}")


if __name__ == "__main__":
    main()
