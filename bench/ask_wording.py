"""How much does the wording of a request move `ask`? Every scenario's `paraphrases` (in the
scenario files; the `ask` evaluation method uses other, hand-written wordings) go through the
agent, and the audience is compared with the `keyword` baseline on the scenario's own demand.

    .venv/bin/python bench/ask_wording.py -w ws [--json] [--no-cache]

For each wording: precision at the scenario's positive count and AUC (held-out evaluation users;
users the plan's filters or exclusions leave out rank last), for the agent (`ask`: rewriter plan,
FIND over the words + EGL, fused) and for FIND alone on the same words. Plans are cached in the
workspace as in `targetbot eval run --methods ask`, so a second run replays them without the LLM.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-w", "--workspace", required=True)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-cache", action="store_true", help="plan every wording with the rewriter again")
    args = ap.parse_args()

    from targetbot.agent.executor import AskOptions, Executor
    from targetbot.agent.models import Models
    from targetbot.commands.common import settings_from_env
    from targetbot.agent.planner import Planner
    from targetbot.agent.resources import Resources
    from targetbot.eval.metrics import auc, precision_at_k
    from targetbot.eval.registry import EvalContext, get_method
    from targetbot.core.errors import TargetbotError
    from targetbot.core.scenarios import load_scenarios
    from targetbot.core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    models = Models(settings_from_env())
    ctx = EvalContext.load(ws, models)
    res = Resources(ws, models)
    planner, executor = Planner(res, cache=not args.no_cache), Executor(res)
    rows = res.users.get_indexer(ctx.eval_users.astype(str))
    keyword = get_method("keyword")
    keyword.prepare(ctx)
    out = []
    for s in load_scenarios(ws.scenario_files()):
        y = ctx.eval_labels(s)
        k = int(y.sum())
        kw = keyword.score(s, ctx).scores
        for words in s.paraphrases:
            row = {"scenario": s.name, "request": words, "keyword_p": round(precision_at_k(y, kw, k), 4),
                   "keyword_auc": round(auc(y, kw), 4)}
            try:
                plan, info = planner.plan(words)
                r = executor.execute(plan, words, AskOptions(record=False, reveal=False), info)
            except TargetbotError as e:  # a plan the rewriter could not make counts as a loss
                row.update(error=str(e), ask_p=0.0, ask_auc=0.5, find_p=None)
                out.append(row)
                print(f"{s.name:18s} {words[:58]:58s} error: {e}", file=sys.stderr)
                continue
            fused = r.session.scores["fused"] - 2.0 * ~r.session.state.eligible
            find = np.nan_to_num(r.session.scores["find"], nan=-1e9)
            row.update(ask_p=round(precision_at_k(y, fused[rows], k), 4), ask_auc=round(auc(y, fused[rows]), 4),
                       find_p=round(precision_at_k(y, find[rows], k), 4),
                       dropped_filters=info.get("dropped_filters", []), plan=plan.to_json(),
                       plan_source=info.get("plan_source"))
            out.append(row)
            print(f"{s.name:18s} {words[:58]:58s} keyword {row['keyword_p']:.3f}  ask {row['ask_p']:.3f}  "
                  f"find {row['find_p']:.3f}", file=sys.stderr)
    n = len(out)
    summary = {"wordings": n,
               "ask_beats_keyword": sum(r["ask_p"] > r["keyword_p"] for r in out),
               "find_beats_keyword": sum((r["find_p"] or 0) > r["keyword_p"] for r in out),
               "mean_p": {m: round(float(np.mean([r[f"{m}_p"] or 0 for r in out])), 4) for m in ("keyword", "ask", "find")},
               "mean_auc": {m: round(float(np.mean([r[f"{m}_auc"] for r in out])), 4) for m in ("keyword", "ask")},
               "plan_errors": sum("error" in r for r in out),
               "words_only_plans": sum(r.get("plan_source") == "words only" for r in out),
               "dropped_filters": sum(bool(r.get("dropped_filters")) for r in out)}
    if args.json:
        print(json.dumps({"rows": out, "summary": summary}, indent=1))
    else:
        print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
