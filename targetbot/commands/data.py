"""`targetbot data ...`: check a workspace's data and load real datasets onto the contract."""

from __future__ import annotations

from typing import Annotated

import typer

from targetbot.commands.common import JsonOpt, WorkspaceOpt, console, emit_json, guard, out
from targetbot.core.workspace import Workspace

app = typer.Typer(help="Bring your own data: validate tables, or load a real public dataset as a workspace.",
                  no_args_is_help=True)


@app.command("validate")
@guard
def validate(workspace: WorkspaceOpt = None, json_out: JsonOpt = False) -> None:
    """Check tables and scenarios against the data contract; every problem names file, row and column.

    Exit code 0 when the workspace is valid, 1 when problems were found.
    """
    from targetbot.core.validate import errors, validate_workspace

    ws = Workspace.open(workspace)
    problems = validate_workspace(ws)
    bad = errors(problems)
    if json_out:
        emit_json({"workspace": str(ws.root), "valid": not bad,
                   "problems": [{"file": p.file, "row": list(p.rows), "column": p.column, "message": p.message,
                                 "severity": "warning" if p.warning else "error", "line": str(p)} for p in problems]})
    else:
        for p in problems:
            out.print(("[yellow]![/] " if p.warning else "[red]✗[/] ") + str(p), highlight=False, soft_wrap=True)
        summary = "valid" if not bad else f"{len(bad)} problem(s)"
        if len(problems) > len(bad):
            summary += f", {len(problems) - len(bad)} warning(s)"
        out.print(f"{ws.root}: {summary}")
    if bad:
        raise typer.Exit(1)


OverwriteOpt = Annotated[bool, typer.Option("--overwrite",
                                            help="Replace an existing workspace here: data, scenarios and built "
                                                 "artifacts go; audit records under runs/ stay.")]


def _report(result: dict, json_out: bool, extra: str) -> None:
    if json_out:
        emit_json(result)
        return
    from rich.table import Table

    root = result["workspace"]
    windows = ", ".join(f"{w} {n:,}" for w, n in result["events_per_window"].items())
    out.print(f"[bold]{root}[/] ({result['origin']}): {result['users']:,} users, {result['events']:,} events "
              f"({windows}), {result['distinct_texts']:,} distinct texts, {extra} "
              f"in {result['timings_s']['total']:.1f} s", highlight=False)
    table = Table()
    table.add_column("scenario", no_wrap=True)
    for name in ("demand", "prevalence", "positives", "hard negatives"):
        table.add_column(name)
    for s in result["scenarios"]:
        table.add_row(s["name"], s["demand"], f"{s['prevalence']:.1%}", f"{s['positives']:,}", f"{s['hard_negatives']:,}")
    out.print(table)
    out.print(f"next: targetbot data validate -w {root}\n"
              f"      targetbot world stats -w {root}\n"
              f"      targetbot build -w {root}\n"
              f"      targetbot eval run -w {root}", highlight=False)


@app.command("movielens")
@guard
def movielens(workspace: WorkspaceOpt = None, overwrite: OverwriteOpt = False, json_out: JsonOpt = False) -> None:
    """Load MovieLens-100K and its knowledge graph as a workspace with genre-interest scenarios.

    Files ship inside recbole (`pip install --no-deps recbole==1.2.1`) and
    are read in place, never copied.

    \b
    events     one per rating, "Watched Toy Story (1995), an animation,
               children's and comedy movie, rated 4/5"; item = the movie,
               category = its genres, amount = the rating
    windows    per user in time order: first 50 % of ratings w0, next
               20 % w1 (history), last 30 % w2 (labels)
    profiles   age, age band, gender, occupation, zip code, region, country
    entities   movies, genres and the Freebase KG (actors, directors, ...)
    scenarios  "users likely to watch horror movies" and 8 more genres

    Example: targetbot data movielens -w ml100k
    """
    from targetbot.core.adapters.movielens import create_movielens_workspace
    from targetbot.core.workspace import resolve_path

    root = resolve_path(workspace)
    with console.status("loading MovieLens-100K"):
        result = create_movielens_workspace(root, overwrite=overwrite)
    _report(result, json_out, f"{result['entities']:,} entities of {result['entity_types']} types, "
                              f"{result['relations']:,} relations,")


@app.command("caravan")
@guard
def caravan(workspace: WorkspaceOpt = None, overwrite: OverwriteOpt = False, json_out: JsonOpt = False) -> None:
    """Load the Caravan insurance customers (CoIL 2000), a real marketing purchase label.

    The file ships inside ISLP (`pip install --no-deps ISLP==0.6.0`) and is
    read in place, never copied.

    \b
    profiles   the 85 columns (MOSTYPE, MOSHOOFD categorical; codes numeric)
    events     one per held product, "Holds 2 boat policies (contribution
               level 4: f 200–499)"; dates are SYNTHETIC and fixed: w0
               vehicle/liability, w1 other policies
    label      Purchase = Yes is the only event of the label window w2
    scenario   "customers likely to buy caravan insurance" (6.0 % positive)

    Example: targetbot data caravan -w caravan
    """
    from targetbot.core.adapters.caravan import create_caravan_workspace
    from targetbot.core.workspace import resolve_path

    root = resolve_path(workspace)
    with console.status("loading Caravan"):
        result = create_caravan_workspace(root, overwrite=overwrite)
    _report(result, json_out, f"{result['entities']:,} entities,")
