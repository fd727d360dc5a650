"""`targetbot graph ...`: explore the entity graph and target users through it.

    targetbot graph expand -w WS "NBA" --hops 2 [--json]
    targetbot graph users  -w WS --entities "NBA,Los Angeles Lakers" [--top-k 100] [--json]
    targetbot graph show   -w WS "Los Angeles Lakers"

Build the graph first with `targetbot build -w WS --stage graph`.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from targetbot.commands.common import JsonOpt, WorkspaceOpt, emit_json, guard, models_for, out, release_users, safe
from targetbot.core.errors import TargetbotError
from targetbot.core.workspace import Workspace

app = typer.Typer(help="Entity graph (EGL): expand seed phrases into related entities, target users who prefer them.",
                  no_args_is_help=True)

def _encode(ctx: typer.Context):
    """Seed phrases that match no name or alias are embedded (the encoder loads on first need only)."""
    from targetbot.egl.expansion import single_threaded

    return single_threaded(models_for(ctx).encode)


def _split(values: list[str]) -> list[str]:
    out = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


def _parse_scores(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise TargetbotError(f"--min-score takes numbers separated by commas, e.g. 0.5,0.6 (got '{text}')") from None
    if not vals or any(v < 0 or v > 1 for v in vals):
        raise TargetbotError(f"--min-score values must lie in [0, 1] (got '{text}')")
    return vals


@app.command("expand")
@guard
def expand_cmd(
    ctx: typer.Context,
    seeds: Annotated[list[str], typer.Argument(help="Seed phrases: entity names, aliases or free text (comma-separated or several).")],
    workspace: WorkspaceOpt = None,
    hops: Annotated[Optional[int], typer.Option(help="Hops to expand (default from the graph config: 2).")] = None,
    min_score: Annotated[Optional[str], typer.Option("--min-score", help="Per-hop cut-offs on the relation scores followed at each hop, e.g. 0.5,0.6.")] = None,
    limit: Annotated[Optional[int], typer.Option("--max", help="At most this many entities (seeds excluded).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Related entities of seed phrases, with the reasoning path to each.

    Example: targetbot graph expand -w ws "NBA" --hops 2
    """
    from targetbot.egl.config import GraphConfig
    from targetbot.egl.expansion import expand_phrases
    from targetbot.egl.storage import load_graph

    ws = Workspace.open(workspace)
    graph = load_graph(ws)
    result = expand_phrases(graph, GraphConfig.for_workspace(ws.root).expansion, _split(seeds), _encode(ctx), hops,
                            _parse_scores(min_score), limit)
    if json_out:
        emit_json(result)
        return
    from rich.table import Table

    table = Table("hop", "entity", "type", "score", "why (reasoning path)")
    for r in result["entities"]:
        table.add_row(str(r["hop"]), safe(r["entity"]), safe(r["type"]), f"{r['score']:.3f}", safe(" → ".join(r["path"])))
    out.print(f"seeds: {safe(', '.join(result['seeds']))}")
    out.print(table)
    if all(r["hop"] == 0 for r in result["entities"]):
        out.print("no mined relation of these seeds clears the score cut-offs; 'targetbot graph show' lists "
                  "their candidate relations, --min-score lowers the cut-offs")


@app.command("users")
@guard
def users_cmd(
    ctx: typer.Context,
    entities: Annotated[str, typer.Option("--entities", "-e", help="Comma-separated entities (names or aliases).")],
    workspace: WorkspaceOpt = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="How many users to return.")] = 100,
    pooling: Annotated[str | None, typer.Option(
        "--pooling", help="top_k: mean of each user's k entities closest to the chosen ones; mean: EGL Eq. 7's "
        "r_u · h_e. Default: the workspace's graph config (top_k).")] = None,
    min_export: Annotated[Optional[int], typer.Option("--min-export", min=1, help="Raise the audience floor for "
                                                      "this command (WS/agent.yaml's cannot be lowered).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Users who prefer the given entities most: top-K by preference for their mean h_e.

    Pooling over each user's entities: the mean of the k closest distinct entities (top_k,
    default), or EGL Eq. 7's mean embedding r_u · h_e (--pooling mean).

    Example: targetbot graph users -w ws --entities "NBA,Los Angeles Lakers" --top-k 50
    """
    from targetbot.egl.config import GraphConfig
    from targetbot.egl.expansion import match_seeds
    from targetbot.egl.preference import top_users
    from targetbot.egl.storage import load_graph

    if top_k < 1:
        raise TargetbotError(f"--top-k must be at least 1 (got {top_k})")
    ws = Workspace.open(workspace)
    graph = load_graph(ws)
    phrases = _split([entities])
    if not phrases:
        raise TargetbotError("--entities is empty: give entity names separated by commas")
    cfg = GraphConfig.for_workspace(ws.root)
    seeds = match_seeds(graph, phrases, cfg.expansion.semantic_match, _encode(ctx))
    ids = [s.entity for s in seeds]
    pref = cfg.preference
    user_ids, scores = graph.preference(ids, None, pref, pooling=pooling)
    result = {"entities": [graph.names[i] for i in ids], "pooling": pooling or pref.pooling,
              "users": top_users(user_ids, scores, top_k)}
    result = release_users(ws, result, "graph-users", min_export)
    if json_out:
        emit_json(result)
        return
    from rich.table import Table

    table = Table("rank", "user_id", "score")
    for k, u in enumerate(result["users"], 1):
        table.add_row(str(k), u["user_id"], f"{u['score']:.4f}")
    out.print(f"entities: {safe(', '.join(result['entities']))}  ({len(user_ids):,} users with history, "
              f"{result['pooling']} pooling)")
    if result.get("note"):
        out.print(f"[yellow]note[/]: {result['note']}")
    else:
        out.print(table)


@app.command("show")
@guard
def show_cmd(
    entity: Annotated[str, typer.Argument(help="An entity name or alias.")],
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option("--max", help="Relations to list.")] = 15,
    json_out: JsonOpt = False,
) -> None:
    """One entity for a person to read: what it is, its mined relations and why they were mined.

    Example: targetbot graph show -w ws "Los Angeles Lakers"
    """
    from targetbot.egl.config import GraphConfig
    from targetbot.egl.expansion import match_seeds
    from targetbot.egl.storage import load_graph

    ws = Workspace.open(workspace)
    graph = load_graph(ws)
    seeds = match_seeds(graph, [entity], GraphConfig.for_workspace(ws.root).expansion.semantic_match, None)
    i = seeds[0].entity
    row = graph.entities.iloc[i]
    e = graph.edges
    mine = e[(e["head_id"] == i) | (e["tail_id"] == i)].copy()
    mine["other"] = mine["tail"].where(mine["head_id"] == i, mine["head"])
    mine["kept"] = mine["kept_head"].where(mine["head_id"] == i, mine["kept_tail"])
    mine = mine.sort_values(["kept", "score"], ascending=[False, False])
    rels = [{"entity": r.other, "type": graph.types[graph.index[r.other]], "score": round(float(r.score), 4),
             "mined": bool(r.kept), "sources": r.sources, "sessions": int(r.count),
             "semantic": round(float(r.semantic), 3), "description_link": bool(r.gloss)}
            for r in mine.head(limit).itertuples()]
    info = {"entity": graph.names[i], "type": graph.types[i], "aliases": list(row["aliases"]),
            "description": row["description"], "mentions_last_snapshot": int(row["mentions"]),
            "mined_relations": int(mine["kept"].sum()), "candidates": int(len(mine)), "relations": rels}
    if json_out:
        emit_json(info)
        return
    from rich.table import Table

    out.print(f"[bold]{safe(info['entity'])}[/bold] ({safe(info['type'])})")
    if info["description"]:
        out.print(safe(info["description"]))
    if info["aliases"]:
        out.print(f"also called: {safe(', '.join(info['aliases']))}")
    out.print(f"mentioned {info['mentions_last_snapshot']:,} times in the latest snapshot; "
              f"{info['mined_relations']} mined relations out of {info['candidates']} candidates")
    table = Table("related entity", "type", "score", "mined", "evidence")
    for r in rels:  # evidence in words: why the pair became a candidate and what supports it
        src = r["sources"].split("+")
        ev = [f"together in {r['sessions']} sessions"] if r["sessions"] else []
        if "semantic" in src:
            ev.append("similar descriptions")
        if "known" in src:
            ev.append("in the knowledge graph")
        if r["description_link"]:
            ev.append("named in a description")
        table.add_row(safe(r["entity"]), safe(r["type"]), f"{r['score']:.3f}", "yes" if r["mined"] else "no", ", ".join(ev))
    out.print(table)
