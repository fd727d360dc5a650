"""`targetbot world ...`: generate the simulated default workspace and describe it."""

from __future__ import annotations

from typing import Annotated

import typer

from targetbot.commands.common import JsonOpt, WorkspaceOpt, console, emit_json, guard, out
from targetbot.core.workspace import Workspace, resolve_path

app = typer.Typer(help="The world simulator: a deterministic workspace with the 13-scenario benchmark.",
                  no_args_is_help=True)


@app.command("generate")
@guard
def generate(
    workspace: WorkspaceOpt = None,
    users: Annotated[int, typer.Option(help="Number of users.", min=10)] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same world.")] = 7,
    signal: Annotated[float, typer.Option(help="Lead-signal strength (difficulty knob; lower is harder).", min=0)] = 1.0,
    noise: Annotated[float, typer.Option(help="False-lead rate (difficulty knob; higher is harder).", min=0)] = 1.0,
    hard_negative_rate: Annotated[float, typer.Option(help="Scale of lookalike hard-negative groups.", min=0)] = 1.0,
    alias_rate: Annotated[float, typer.Option(help="Share of entity mentions that use an alias.", min=0, max=1)] = 0.35,
    chunk_users: Annotated[int, typer.Option(help="Users simulated at a time: peak memory follows this, not "
                                             "--users (a world of one chunk is the same as before chunking).",
                                             min=10)] = 50_000,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing workspace at this path.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Simulate users, behaviour and the catalog, and write a complete workspace.

    Example: targetbot world generate -w ws --users 20000 --seed 7
             targetbot world generate -w big --users 1000000      (in chunks of 50,000 users)
    """
    from targetbot.core.world.generate import WorldConfig, generate_world

    root = resolve_path(workspace)
    cfg = WorldConfig(users=users, seed=seed, signal=signal, noise=noise, hard_negative_rate=hard_negative_rate,
                      alias_rate=alias_rate, chunk_users=chunk_users)
    with console.status(f"simulating {users:,} users") as status:
        result = generate_world(root, cfg, overwrite=overwrite, progress=lambda m: status.update(f"simulating: {m}"))
    if json_out:
        emit_json(result)
        return
    t = result["timings_s"]
    out.print(f"[bold]{root}[/]: {result['users']:,} users, {result['events']:,} events, "
              f"{result['distinct_texts']:,} distinct texts in {t['total']:.1f} s")
    out.print("  " + ", ".join(f"{k} {v:.1f}s" for k, v in t.items() if k != "total"))
    out.print(f"next: targetbot world stats -w {root}")


@app.command("stats")
@guard
def stats(workspace: WorkspaceOpt = None, json_out: JsonOpt = False) -> None:
    """Sizes of the workspace and every scenario's prevalence and hard negatives."""
    from targetbot.core.scenarios import LabelContext, compute_labels, load_scenarios

    ws = Workspace.open(workspace)
    ctx = LabelContext.load(ws)
    entities = ws.entities() if ws.has_table("entities") else None
    rows = [compute_labels(s, ctx).summary() for s in load_scenarios(ws.scenario_files())]
    result = {
        "workspace": str(ws.root),
        "users": int(len(ctx.users)),
        "events": int(len(ctx.events)),
        "entity_types": int(entities["type"].nunique()) if entities is not None else 0,
        "entities": int(len(entities)) if entities is not None else 0,
        "relations": int(len(ws.relations())) if ws.has_table("relations") else 0,
        "windows": {w.name: [w.start and w.start.isoformat(), w.end and w.end.isoformat()] for w in ws.meta.windows},
        "scenarios": rows,
    }
    if json_out:
        emit_json(result)
        return
    from rich.table import Table

    out.print(f"[bold]{ws.root}[/] ({ws.meta.origin}): {result['users']:,} users, {result['events']:,} events, "
              f"{result['entities']:,} entities of {result['entity_types']} types, {result['relations']:,} relations")
    table = Table("scenario", "domain", "prevalence", "positives", "hard negatives")
    for r in rows:
        table.add_row(r["name"], r["domain"], f"{r['prevalence']:.1%}", f"{r['positives']:,}", f"{r['hard_negatives']:,}")
    out.print(table)
