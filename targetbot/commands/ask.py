"""`targetbot ask`, `targetbot chat` and `targetbot batch`: the targeting agent (agent/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from targetbot.commands.common import JsonOpt, WorkspaceOpt, console, emit_json, guard, models_for, out, safe
from targetbot.core.errors import TargetbotError

SizeOpt = Annotated[Optional[int], typer.Option("--size", "-n", min=1, help="Audience size (overrides the plan's).")]
MinExportOpt = Annotated[Optional[int], typer.Option("--min-export", min=1, help="Raise the audience floor for this "
                                                     "command (the workspace's, min_export_size in WS/agent.yaml, "
                                                     "default 50, cannot be lowered).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace export files that exist.")]
UrlOpt = Annotated[Optional[str], typer.Option(help="Rewriter server (OpenAI-compatible, e.g. vLLM) instead of the "
                                               "in-process engine, e.g. http://127.0.0.1:8011/v1.")]
ModelOpt = Annotated[Optional[str], typer.Option(help="Served model name with --url (default: targetbot-rewriter).")]
ProtocolOpt = Annotated[str, typer.Option(help="How the rewriter answers: json (one plan under its JSON schema) | "
                                          "tools (calls to the agent's tools, assembled into the plan).")]


def _agent(ctx: typer.Context, workspace: Optional[Path], min_export: Optional[int], url: Optional[str] = None,
           model: Optional[str] = None, cache: bool = False, protocol: str = "json"):
    from targetbot.agent.executor import Executor
    from targetbot.agent.planner import Planner
    from targetbot.agent.privacy import command_config
    from targetbot.agent.resources import Resources
    from targetbot.core.workspace import Workspace

    ws = Workspace.open(workspace)
    res = Resources(ws, models_for(ctx), command_config(ws, min_export))
    if protocol not in ("json", "tools"):
        raise TargetbotError(f"unknown protocol '{protocol}' (use json or tools)")
    return Planner(res, cache=cache, url=url, model=model, protocol=protocol), Executor(res)


def read_plan_file(path: Path) -> dict:
    """A plan JSON file: a bare plan, or any object with a "plan" key (ask --json output, a run's result)."""
    if not path.exists():
        raise TargetbotError(f"{path}: plan file not found")
    if path.is_dir() and (path / "plan.json").exists():
        path = path / "plan.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise TargetbotError(f"{path}: not a JSON plan ({str(e).splitlines()[0][:100]})") from None
    if isinstance(data, dict) and isinstance(data.get("plan"), (dict, str)) and "demands" not in data:
        data = data["plan"]
        if isinstance(data, str):
            data = json.loads(data)
    if not isinstance(data, dict):
        raise TargetbotError(f"{path}: a plan is a JSON object with 'demands'")
    return data


def _show(result, json_out: bool, message: str = "") -> None:
    from targetbot.agent.explain import render

    if json_out:
        emit_json(result.to_json())
        return
    d = result.to_json()
    d["plan_json"] = result.plan.to_json()
    d["plan_source"] = result.info.get("plan_source", "rewriter")
    if message:
        out.print(f"[bold]{message}[/]")
    render(d, out)
    if result.run_id:
        timing = ", ".join(f"{k.split('_')[0]} {v:.1f}s" for k, v in result.info.items() if k.endswith("_seconds"))
        console.print(f"run {result.run_id} ({timing})  ·  replay: targetbot ask --plan "
                      f"{result.session.res.ws.runs_dir / result.run_id}", highlight=False)


@guard
def ask(
    ctx: typer.Context,
    request: Annotated[Optional[str], typer.Argument(help="Who to target, in one sentence.")] = None,
    workspace: WorkspaceOpt = None,
    plan: Annotated[Optional[Path], typer.Option("--plan", help="Replay a plan (JSON file, or a run directory) "
                                                 "without the LLM.")] = None,
    size: SizeOpt = None,
    export: Annotated[Optional[Path], typer.Option("--export", help="Write the audience here (.csv or .parquet; "
                                                   "atomic; refused below the minimum size).")] = None,
    force: ForceOpt = False,
    min_export: MinExportOpt = None,
    url: UrlOpt = None,
    model: ModelOpt = None,
    protocol: ProtocolOpt = "json",
    cache_plans: Annotated[bool, typer.Option("--cache-plans", help="Reuse the plan of an identical earlier request.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """One sentence in, an explained audience out.

    The rewriter turns the request into a plan; the tools the plan allows run (FIND, EGL); scores
    are fused, filtered, sized and explained; the run is recorded under WS/runs/.

    Examples: targetbot ask -w ws "users likely to rent phones"
              targetbot ask -w ws "pet owners in first-tier cities" --size 500 --export pets.csv
              targetbot ask -w ws --plan ws/runs/<run_id>/plan.json --json
    """
    from targetbot.agent.executor import AskOptions

    from targetbot.agent.export import check_export_path

    if plan is None and request is None:
        raise TargetbotError("give a request in quotes, or --plan FILE to replay a plan")
    if export is not None:
        check_export_path(export, force)  # before any model loads
    planner, executor = _agent(ctx, workspace, min_export, url, model, cache_plans, protocol)
    if plan is not None:
        p, info = read_plan_file(plan), {"plan_source": f"file {plan}"}
        request = request if request is not None else f"(replay of {plan})"
    else:
        with console.status("planning (rewriter)"):
            p, info = planner.plan(request)
    with console.status("running the plan"):
        result = executor.execute(p, request, AskOptions(size=size, export_path=export, overwrite=force), info)
    _show(result, json_out)


@guard
def chat(
    ctx: typer.Context,
    workspace: WorkspaceOpt = None,
    size: SizeOpt = None,
    min_export: MinExportOpt = None,
    url: UrlOpt = None,
    model: ModelOpt = None,
    protocol: ProtocolOpt = "json",
    json_out: JsonOpt = False,
) -> None:
    """Multi-turn targeting: ask, then refine the audience.

    Refinements such as "narrow it to first-tier cities" or "exclude people who already rent"
    add filters, exclusions or a size to the current plan; /help lists the commands. Every
    answer is recorded as a run.

    Example: targetbot chat -w ws
    """
    from targetbot.agent.chat import HELP, ChatSession
    from targetbot.agent.executor import AskOptions

    planner, executor = _agent(ctx, workspace, min_export, url, model, protocol=protocol)
    session = ChatSession(planner, executor, AskOptions(size=size))
    if not json_out:
        console.print(HELP)
    while True:
        try:
            text = input("you> " if not json_out else "")
        except EOFError:
            break
        try:
            with console.status("thinking"):
                reply = session.turn(text)
        except TargetbotError as e:
            if json_out:
                emit_json({"error": str(e)})
            else:
                out.print(f"[red]error[/]: {e}")
            continue
        if reply.result is not None:
            if json_out:
                emit_json({"message": reply.message, **reply.result.to_json()})
            else:
                _show(reply.result, False, reply.message)
        elif reply.message:
            emit_json({"message": reply.message}) if json_out else out.print(reply.message)
        if reply.quit:
            break


@guard
def batch(
    ctx: typer.Context,
    demands: Annotated[Path, typer.Argument(help="CSV with a 'request' column (optional 'id', 'size').")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Directory for the audiences and summary.csv.")],
    workspace: WorkspaceOpt = None,
    force: ForceOpt = False,
    min_export: MinExportOpt = None,
    url: UrlOpt = None,
    model: ModelOpt = None,
    protocol: ProtocolOpt = "json",
    cache_plans: Annotated[bool, typer.Option("--cache-plans", help="Reuse plans of identical earlier requests.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """One audience per row of a demands file.

    Each row is planned, run, recorded and exported to OUT/<id>.csv; a failing row is reported
    with its error and the batch goes on; OUT/summary.csv sums up.

    Example: targetbot batch -w ws demands.csv --out audiences/
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from targetbot.agent.batch import read_demands, run_batch

    rows = read_demands(demands)
    planner, executor = _agent(ctx, workspace, min_export, url, model, cache_plans, protocol)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("demands", total=len(rows))

        def on_row(i: int, r: dict) -> None:
            bar.update(task, advance=1, description=r["id"])
            if not console.is_terminal:  # no bar to draw (a log, a pipe): one line per row instead
                console.print(f"[{i + 1}/{len(rows)}] {safe(r['id'])}: {safe(r['status'])} "
                              f"({r['seconds']:.1f} s)", highlight=False)

        done = run_batch(planner, executor, rows, out_dir, on_row, overwrite=force)
    if json_out:
        emit_json({"out": str(out_dir), "rows": done})
        return
    from rich.table import Table

    table = Table("id", "status", "size", "seconds", "request / error")
    for r in done:
        table.add_row(r["id"], r["status"], "" if r["size"] is None else f"{r['size']:,}", f"{r['seconds']:.1f}",
                      r["error"] or r["request"][:60])
    out.print(table)
    failed = sum(r["status"] == "error" for r in done)
    out.print(f"{len(done) - failed} of {len(done)} demands answered; summary: {out_dir / 'summary.csv'}")
