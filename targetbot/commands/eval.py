"""`targetbot eval ...`: scenario labels and benchmark suites."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from targetbot.commands.common import JsonOpt, WorkspaceOpt, console, emit_json, guard, models_for, out
from targetbot.core.errors import TargetbotError
from targetbot.core.workspace import Workspace

app = typer.Typer(help="Evaluate: compute scenario labels, run benchmark suites of targeting methods.",
                  no_args_is_help=True)


@app.command("labels")
@guard
def labels(
    workspace: WorkspaceOpt = None,
    scenario_file: Annotated[Optional[list[Path]], typer.Option(
        "--scenario-file", "-s", help="Scenario YAML to label (repeatable); default: the workspace's scenarios/.")] = None,
    save: Annotated[bool, typer.Option(help="Also write labels to WS/artifacts/labels/<scenario>.parquet.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Label every user of the workspace with one or more scenarios.

    Example: targetbot eval labels -w ws --scenario-file my_scenario.yaml --json
    """
    from targetbot.core.scenarios import LabelContext, compute_labels, load_scenario, load_scenarios

    ws = Workspace.open(workspace)
    scenarios = [load_scenario(f) for f in scenario_file] if scenario_file else load_scenarios(ws.scenario_files())
    ctx = LabelContext.load(ws)
    rows = []
    for s in scenarios:
        lab = compute_labels(s, ctx)
        rows.append(lab.summary())
        if save:
            ws.write_artifact_table("labels", s.name, lab.labels)
    if json_out:
        emit_json({"workspace": str(ws.root), "scenarios": rows})
        return
    from rich.table import Table

    table = Table("scenario", "domain", "prevalence", "positives", "hard negatives", "users")
    for r in rows:
        table.add_row(r["name"], r["domain"], f"{r['prevalence']:.2%}", f"{r['positives']:,}", f"{r['hard_negatives']:,}",
                      f"{r['users']:,}")
    out.print(table)


@app.command("run")
@guard
def run(
    ctx: typer.Context,
    workspace: WorkspaceOpt = None,
    suite: Annotated[str, typer.Option(help="zero-shot | few-shot | probe | graph | rewrite")] = "zero-shot",
    methods: Annotated[Optional[str], typer.Option(help="Comma-separated methods; default: every method of the suite.")] = None,
    scenarios: Annotated[Optional[str], typer.Option(help="Comma-separated scenario names; default: all.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for methods that sample.")] = 0,
    report: Annotated[Optional[Path], typer.Option(help="Also write a Markdown report to this file.")] = None,
    requests: Annotated[Optional[Path], typer.Option(help="rewrite suite: JSONL of requests with expected families, entities, exclusions.")] = None,
    models: Annotated[Optional[str], typer.Option(help="rewrite suite: comma-separated models to compare, e.g. base,tuned "
                                                  "(with --url: served names, e.g. targetbot-rewriter,base).")] = None,
    repeats: Annotated[int, typer.Option(min=1, help="graph suite: train ALPC and its ablations with this many "
                                         "seeds and report mean and std.")] = 1,
    url: Annotated[Optional[str], typer.Option(help="A served rewriter (OpenAI-compatible: vLLM or `targetbot rewrite "
                                               "serve`), e.g. http://127.0.0.1:8011/v1: the rewrite suite and the ask "
                                               "method plan through it instead of loading the model.")] = None,
    model: Annotated[Optional[str], typer.Option(help="ask method with --url: the served model name "
                                                 "(default targetbot-rewriter).")] = None,
    protocol: Annotated[str, typer.Option(help="rewrite suite and ask method: how the rewriter answers, json or "
                                          "tools (calls to the agent's tools).")] = "json",
    scenario_dir: Annotated[Optional[list[Path]], typer.Option(
        "--scenario-dir", metavar="PATH", help="Scenario suites: the scenarios of this folder (or file) instead of "
        "the workspace's own, labelled on this workspace's data (repeatable).")] = None,
    sample_users: Annotated[Optional[int], typer.Option(min=100, help="Scenario suites: evaluate on a seeded sample "
                                                        "of this many evaluation users (and as many training users) "
                                                        "instead of everyone; for large workspaces.")] = None,
    split: Annotated[Optional[str], typer.Option(help="Scenario suites: only the dev or the test half of the "
                                                 "scenarios (a folder's splits.yaml, else a fixed hash of the name). "
                                                 "Choose settings on dev, report test.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run targeting methods on every scenario: AUC, KS, accuracy/precision/recall at each method's own rule.

    Metrics use held-out evaluation users only; labels come from the label window.
    The result is also saved under WS/runs/eval-<time>/result.json.

    Example: targetbot eval run -w ws --suite zero-shot --methods random,keyword,supervised
    """
    from targetbot.eval.report import markdown_report, summary_table
    from targetbot.eval.runner import run as run_any

    ws = Workspace.open(workspace)
    method_list = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    scenario_list = [s.strip() for s in scenarios.split(",") if s.strip()] if scenarios else None
    options = {"requests": requests, "models": [m.strip() for m in models.split(",")] if models else None,
               "repeats": repeats, "url": url, "model": model, "protocol": protocol, "sample_users": sample_users,
               "scenario_dirs": scenario_dir, "split": split}
    if split not in (None, "dev", "test"):
        raise TargetbotError(f"--split must be dev or test, not '{split}'")
    with console.status("evaluating") as status:
        typed = run_any(ws, suite, models_for(ctx), method_list, scenario_list, seed=seed,
                        progress=lambda m: status.update(f"evaluating {m}"), options=options)
    result = typed.to_json()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    run_dir = ws.runs_dir / f"eval-{suite}-{stamp}"
    from targetbot.core.atomic import write_json, write_text

    write_json(run_dir / "result.json", result)
    result["run_dir"] = str(run_dir)
    if report:
        write_text(report, markdown_report(result) if typed.per_scenario
                   else "```json\n" + __import__("json").dumps(result, indent=2, default=str) + "\n```\n")
    if json_out:
        emit_json(result)
        return
    if typed.per_scenario and result["results"]:
        out.print(summary_table(result))
    else:
        emit_json({k: v for k, v in result.items() if k != "run_dir"})
    out.print(f"saved {run_dir / 'result.json'}" + (f" and {report}" if report else ""))
