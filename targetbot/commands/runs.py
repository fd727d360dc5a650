"""`targetbot runs list|show`: the audit records of asks (WS/runs/ask-*/)."""

from __future__ import annotations

from typing import Annotated

import typer

from targetbot.commands.common import JsonOpt, WorkspaceOpt, emit_json, guard, out, safe

app = typer.Typer(help="Audit records of asks: request, plan, tool calls, versions, audience.", no_args_is_help=True)


@app.command("list")
@guard
def list_cmd(
    workspace: WorkspaceOpt = None,
    all_runs: Annotated[bool, typer.Option("--all", help="Include evaluation runs (eval-*).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Runs, newest first."""
    from targetbot.agent.runs import list_runs
    from targetbot.core.workspace import Workspace

    ws = Workspace.open(workspace)
    runs = list_runs(ws, include_eval=all_runs)
    if json_out:
        emit_json(runs)
        return
    if not runs:
        out.print(f"no runs yet in {ws.runs_dir} (try: targetbot ask -w {ws.root} \"users likely to rent phones\")")
        return
    from rich.table import Table

    table = Table("run", "kind", "created", "size", "request")
    for r in runs:
        table.add_row(r["run_id"], r["kind"], r["created"] or "", "" if r["size"] is None else f"{r['size']:,}",
                      safe(r["request"][:70]))
    out.print(table)


@app.command("show")
@guard
def show_cmd(
    run_id: Annotated[str, typer.Argument(help="A run id (or a unique prefix) from 'targetbot runs list'.")],
    workspace: WorkspaceOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """One run: request, plan, tool calls, versions, audience summary."""
    from targetbot.agent.runs import show_run
    from targetbot.core.workspace import Workspace

    info = show_run(Workspace.open(workspace), run_id)
    if json_out or "plan" not in info:
        emit_json(info)
        return
    out.print(f"[bold]{info['run_id']}[/] ({info['created']})  {safe(info['request'])}")
    out.print(f"plan: {safe(info['plan'])}")
    out.print("tools: " + " → ".join(c["tool"] for c in info["tool_calls"]))
    out.print(f"audience: {info['size']:,} users" + (f", exported to {info['export_path']}" if info.get("export_path") else ""))
    v = info["versions"]
    out.print(f"versions: towers {v.get('towers', {}).get('bundle', '-')}, graph {v.get('graph', {}).get('key', '-')}, "
              f"rewriter {info.get('rewriter_model') or info.get('plan_source')}")
    for n in info.get("notes", []):
        out.print(f"note: {n}")
    out.print(f"files: {info['path']}")
