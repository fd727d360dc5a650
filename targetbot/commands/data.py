"""`targetbot data ...`: check a workspace's data and load real datasets onto the contract."""

from __future__ import annotations

import typer

from targetbot.commands.common import JsonOpt, WorkspaceOpt, emit_json, guard, out
from targetbot.workspace import Workspace

app = typer.Typer(help="Bring your own data: validate tables, or load a real public dataset as a workspace.",
                  no_args_is_help=True)


@app.command("validate")
@guard
def validate(workspace: WorkspaceOpt = None, json_out: JsonOpt = False) -> None:
    """Check tables and scenarios against the data contract; every problem names file, row and column.

    Exit code 0 when the workspace is valid, 1 when problems were found.
    """
    from targetbot.validate import validate_workspace

    ws = Workspace.open(workspace)
    problems = validate_workspace(ws)
    if json_out:
        emit_json({"workspace": str(ws.root), "valid": not problems,
                   "problems": [{"file": p.file, "row": list(p.rows), "column": p.column, "message": p.message,
                                 "line": str(p)} for p in problems]})
    else:
        for p in problems:
            out.print(f"[red]✗[/] {p}", highlight=False)
        out.print(f"{ws.root}: " + ("valid" if not problems else f"{len(problems)} problem(s)"))
    if problems:
        raise typer.Exit(1)
