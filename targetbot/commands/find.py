"""`targetbot find` (zero-shot) and `targetbot tune` (few-shot prompt tuning) over the FIND towers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import typer

from targetbot.commands.common import JsonOpt, WorkspaceOpt, console, emit_json, guard, models_for, out, release_users, safe
from targetbot.core.errors import TargetbotError
from targetbot.core.workspace import Workspace

TopK = Annotated[Optional[int], typer.Option("--top-k", "-k", min=1, help="Return the K best users instead of applying the decision rule.")]
Threshold = Annotated[Optional[float], typer.Option(help="Return every user scoring at least this (range search).")]
Exclude = Annotated[Optional[list[str]], typer.Option("--exclude", "-x", help="Hard-negative sentence to push away (repeatable).")]
Template = Annotated[Optional[list[str]], typer.Option("--template", "-t", help="Extra template sentence for the demand (repeatable).")]


MinExport = Annotated[Optional[int], typer.Option("--min-export", min=1, help="Raise the audience floor for this "
                                                  "command (WS/agent.yaml's min_export_size cannot be lowered).")]


def _print_audience(result: dict, shown: int = 10) -> None:
    out.print(f"[bold]{safe(result['demand'])}[/]: {result['audience_size']:,} users (threshold {result['threshold']:.4f})")
    if result.get("profile"):
        out.print(f"  profile: {', '.join(safe(p) for p in result['profile'])}")
    for u in result["users"][:shown]:
        out.print(f"  {u['user_id']}  {u['score']:.4f}")
    if result.get("note"):
        out.print(f"[yellow]note[/]: {result['note']}")
    elif result["audience_size"] > shown:
        out.print(f"  … {result['audience_size'] - shown:,} more (use --json for all)")


def _zero_shot(ctx: typer.Context, ws: Workspace, scorer: str = "forecast"):
    from targetbot.towers.bundle import Bundle
    from targetbot.towers.config import FindConfig
    from targetbot.towers.find import ZeroShot

    models = models_for(ctx)
    with console.status("loading the user index and text tower"):
        return ZeroShot(Bundle.load(ws, models.settings), models.encode, scorer, FindConfig.for_workspace(ws.root))


@guard
def find(
    ctx: typer.Context,
    demand: Annotated[str, typer.Argument(help="Who to target, in one sentence, e.g. 'users likely to rent phones'.")],
    workspace: WorkspaceOpt = None,
    template: Template = None,
    exclude: Exclude = None,
    top_k: TopK = None,
    threshold: Threshold = None,
    prompt: Annotated[Optional[str], typer.Option(help="Use a prompt tuned with `targetbot tune --name NAME`.")] = None,
    scorer: Annotated[str, typer.Option(help="forecast: fit a forecaster of the future behaviour that matches the "
                                        "demand (default); tower: FIND's dual towers and the faiss index; anchors: "
                                        "the forecaster's answers to anchor behaviours, weighted by the demand "
                                        "(no fit per query).")] = "forecast",
    min_export: MinExport = None,
    json_out: JsonOpt = False,
) -> None:
    """Zero-shot targeting: score every user against the demand, no labels needed.

    The demand is expanded into FIND template sentences (add your own with --template). The
    default scorer matches them to the behaviour training users showed in their next window and
    fits a forecaster of that behaviour on their earlier history; `--scorer tower` uses the
    aligned towers alone, `--scorer anchors` the forecaster distilled into an inner product. Who
    the demand describes ("high earners who ...") is read against the profile columns and added
    to the score (the JSON's `profile` lists what it took). Unless --top-k or --threshold is given, users are selected by a
    label-free rule: as many as the forecaster expects to do the behaviour (forecast), or the
    upper component of a two-Gaussian mixture over the scores (tower).

    Example: targetbot find -w ws "users likely to rent phones" --exclude "phone repair technicians" -k 100
    """
    from targetbot.towers.find import Query

    ws = Workspace.open(workspace)
    zs = _zero_shot(ctx, ws, scorer)
    learner, seeds = None, None
    if prompt:
        from targetbot.towers.fewshot import load_prompt, seed_rows, tuning_sentences

        learner, info = load_prompt(zs.bundle, prompt)
        if learner is None:  # a forecast record: the seed users join the forecaster's examples
            if scorer != "forecast":
                raise TargetbotError(f"prompt '{prompt}' was tuned for the forecast scorer: drop --scorer {scorer}")
            seeds = seed_rows(zs.bundle, info["positives"], info["negatives"])
            query = Query.from_demand([demand, *(template or [])], exclude)
        else:
            query = Query(tuning_sentences(demand) + list(template or []), [e for e in (exclude or []) if e.strip()])
    else:
        query = Query.from_demand([demand, *(template or [])], exclude)
    result = {"demand": demand, **zs.audience(query, top_k=top_k, threshold=threshold, prompt=learner, seeds=seeds)}
    if prompt:
        result["prompt_name"] = prompt
    result = release_users(ws, result, "find", min_export)
    if json_out:
        emit_json(result)
    else:
        _print_audience(result)


def read_user_ids(path: Path) -> list[str]:
    """One user id per line, or a CSV/TSV whose header has a `user_id` column."""
    if not path.exists():
        raise TargetbotError(f"{path}: seed file not found")
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        raise TargetbotError(f"{path}: no user ids")
    header = [h.strip().lower() for h in re.split(r"[,\t]", lines[0])]
    if len(header) > 1 or header[0] == "user_id":
        if "user_id" not in header:
            raise TargetbotError(f"{path}: a CSV seed file needs a 'user_id' column (found: {', '.join(header)})")
        col = header.index("user_id")
        return [re.split(r"[,\t]", ln)[col].strip() for ln in lines[1:]]
    return lines


@guard
def tune(
    ctx: typer.Context,
    demand: Annotated[str, typer.Argument(help="The demand the seed users illustrate.")],
    positives: Annotated[Path, typer.Option(help="File of positive seed user ids (one per line, or CSV with user_id).")],
    negatives: Annotated[Path, typer.Option(help="File of negative seed user ids.")],
    workspace: WorkspaceOpt = None,
    name: Annotated[Optional[str], typer.Option(help="Save the tuned prompt under this name (default: from the demand).")] = None,
    scorer: Annotated[str, typer.Option(help="forecast: add the seeds to the demand's forecaster (default); "
                                        "tower: CoOp context vectors in the text tower, triplet loss.")] = "forecast",
    steps: Annotated[int, typer.Option(min=1, help="tower: most optimisation steps (early stopping on held-out seeds).")] = 60,
    top_k: TopK = None,
    threshold: Threshold = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    min_export: MinExport = None,
    json_out: JsonOpt = False,
) -> None:
    """Few-shot targeting: correct the zero-shot audience with a few labelled seed users.

    forecast (default): the seeds' latest history joins the demand's forecaster as weighted
    examples (the demand's words choose the behaviour, the seeds correct it); falls back to the
    towers when nothing in the training users' future matches the demand. tower: learnable
    context vectors of the text tower are tuned with FIND's triplet loss, towers frozen, a share
    of the seeds held out for early stopping. Either is saved by name and reusable with
    `targetbot find --prompt NAME`.

    Example: targetbot tune -w ws "users likely to rent phones" --positives pos.txt --negatives neg.txt
    """
    from targetbot.towers.fewshot import TuneConfig, save_prompt, seed_rows, tune_forecast, tune_prompt, tuning_sentences
    from targetbot.towers.find import Query, ZeroShot

    if scorer not in ("forecast", "tower"):
        raise TargetbotError(f"unknown scorer '{scorer}' (choose forecast or tower)")
    ws = Workspace.open(workspace)
    pos, neg = read_user_ids(positives), read_user_ids(negatives)
    zs = _zero_shot(ctx, ws, scorer)
    name = name or re.sub(r"[^a-z0-9]+", "-", demand.lower()).strip("-")[:48] or "prompt"
    info = None
    if scorer == "forecast":
        with console.status(f"fitting the forecaster with {len(pos)} positive and {len(neg)} negative seed users"):
            info = tune_forecast(zs, demand, pos, neg)
        if info is None:
            console.print("[yellow]nothing in the training users' future matches this demand: tuning the towers' prompt instead[/]")
            zs = ZeroShot(zs.bundle, zs.encode, "tower", zs.config)  # the bundle and text tower are loaded already
    if info is not None:
        save_prompt(zs.bundle, name, None, info)
        result = {"demand": demand, **zs.audience(Query.from_demand(demand), top_k=top_k, threshold=threshold,
                                                  seeds=seed_rows(zs.bundle, pos, neg)),
                  "prompt_name": name, "tuning": {"scorer": "forecast", "pseudo_positives": info["pseudo_positives"],
                                                  "seconds": info["seconds"]}}
        done = f"{info['pseudo_positives']:,} pseudo-positives + {len(pos)} / {len(neg)} seeds"
    else:
        with console.status(f"tuning on {len(pos)} positive and {len(neg)} negative seed users"):
            learner, info = tune_prompt(zs.bundle, demand, pos, neg, TuneConfig(steps=steps, seed=seed))
        save_prompt(zs.bundle, name, learner, info)
        result = {"demand": demand, **zs.audience(Query(tuning_sentences(demand), []), top_k=top_k, threshold=threshold,
                                                  prompt=learner), "prompt_name": name,
                  "tuning": {"scorer": "tower", **{k: info[k] for k in ("steps_run", "best_val_loss", "seconds")}}}
        done = f"{info['steps_run']} steps, held-out loss {info['best_val_loss']}"
    result = release_users(ws, result, "tune", min_export)
    if json_out:
        emit_json(result)
    else:
        _print_audience(result)
        out.print(f"saved prompt '{name}' ({done}); reuse: targetbot find -w {ws.root} \"{demand}\" --prompt {name}")
