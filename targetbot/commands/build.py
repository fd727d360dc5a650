"""`targetbot build`: run the offline build stages of a workspace, in order, skipping what is up to date.

Each stage is a function in its own subsystem module, named here by an import string so the
CLI stays quick to start and imports no model code it does not run. Adding a stage is one line
in STAGES (pipeline order: a stage may read what the stages before it built). A stage function
is called as

    fn(ws: Workspace, *, models: ModelSource, profile: "quick" | "full", force: bool,
       progress: Callable[[str], None], engine: LocalEngine | RayEngine, batch_users: int)

(`models`: the invocation's settings and text encoder, loaded only if a stage needs it;
targetbot.core.protocols.ModelSource; `engine` runs per-user batch work, targetbot.core.engine;
`batch_users`: users per batch, targetbot.core.user_batches)

(`progress` prints a line of news on stderr; a stage may also draw a progress bar there when it
is given one) and returns a dict with `status` ("built", or "skipped"/"up to date" when there
was nothing to do), `summary` (one line saying what it did) and any figures worth recording;
it raises TargetbotError for anything the user can fix.
"""

from __future__ import annotations

import importlib
import time
from enum import Enum
from typing import Annotated, Callable, NamedTuple, Optional

import typer

from targetbot.commands.common import JsonOpt, WorkspaceOpt, console, emit_json, guard, models_for, out
from targetbot.core.errors import TargetbotError


class Stage(NamedTuple):
    name: str
    target: str  # "module:function"
    help: str

    def load(self) -> Callable[..., dict]:
        module, _, fn = self.target.partition(":")
        return getattr(importlib.import_module(module), fn)


STAGES: list[Stage] = [
    Stage("content", "targetbot.towers.content:build_stage", "representation center: embed every distinct event text once"),
    Stage("towers", "targetbot.towers.build:build_stage", "FIND user tower: pretrain, align with the text tower, embed and index users"),
    Stage("graph", "targetbot.egl.build:build_stage", "EGL entity graph: extract mentions, mine relations (candidates, ALPC ranking, ensemble), user preferences"),
]


class Profile(str, Enum):
    quick = "quick"
    full = "full"


def select_stages(names: list[str] | None) -> list[Stage]:
    """The named stages in pipeline order (all of them when none are named)."""
    if not names:
        return list(STAGES)
    known = {s.name for s in STAGES}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise TargetbotError(f"unknown stage '{unknown[0]}' (stages: {', '.join(s.name for s in STAGES)})")
    return [s for s in STAGES if s.name in names]


def _news(message: str) -> None:
    console.print(f"  {message}", highlight=False)


def _summary(result: dict) -> str:
    """A line for stages that return figures but no summary."""
    return ", ".join(f"{k} {v}" for k, v in result.items() if k != "status" and isinstance(v, (str, int, float)))


def _stage_list() -> str:
    return "\n\n".join(f"* {s.name}: {s.help}" for s in STAGES)


@guard
def build(
    ctx: typer.Context,
    workspace: WorkspaceOpt = None,
    stage: Annotated[Optional[list[str]], typer.Option(
        "--stage", "-s", metavar="NAME", show_default=False,
        help="Run only this stage (repeatable); default: every stage, in pipeline order.")] = None,
    profile: Annotated[Profile, typer.Option(
        help="quick: training budgets that fit a 2-core CPU (the default, and what the benchmark uses); full: larger models and longer training. "
             "Stages without training ignore it.")] = Profile.quick,
    force: Annotated[bool, typer.Option("--force", help="Rebuild the selected stages even when up to date.")] = False,
    engine: Annotated[str, typer.Option(help="Where per-user batch work runs (user embeddings, forecast features, "
                                        "entity preferences): local (this process) or ray (Ray Data jobs; local "
                                        "Ray, or the cluster at --ray-address).")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="With --engine ray: an existing cluster, e.g. "
                                                       "ray://head:10001 (default: start Ray on this machine).")] = None,
    batch_users: Annotated[int, typer.Option(min=1, help="Users per batch of per-user work: memory follows it, "
                                             "not the number of users.")] = 50_000,
    prune: Annotated[bool, typer.Option(
        "--prune", help="Afterwards delete old tower bundles: all but the current one and the probe suite's "
                        "ablations of it (each config change leaves a bundle behind).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Build the workspace's artifacts: the offline stages, in order, skipping those up to date.

    Prints each stage's status, what it did and its time. Artifacts go to WS/artifacts/<stage>/.
    """
    from targetbot.core.workspace import Workspace

    from targetbot.core.engine import make_engine

    ws = Workspace.open(workspace)
    models = models_for(ctx)
    selected = select_stages(stage)
    runner = make_engine(engine, ray_address)
    results = []
    total = time.perf_counter()
    for st in selected:
        console.print(f"[bold]{st.name}[/]: {st.help}")
        t = time.perf_counter()
        result = st.load()(ws, models=models, profile=profile.value, force=force, progress=_news, engine=runner,
                           batch_users=batch_users)
        seconds = time.perf_counter() - t
        status = "skipped" if result.get("status") in ("skipped", "up to date") else str(result.get("status", "built"))
        summary = result.get("summary") or _summary(result)
        results.append({"name": st.name, **result, "status": status, "summary": summary, "seconds": round(seconds, 3)})
        if not json_out:
            colour = "green" if status == "built" else "dim"
            out.print(f"  [{colour}]{status:<8}[/] {st.name:<10} {seconds:8.1f} s  {summary}")
    pruned = _prune_towers(ws, models.settings.text_encoder) if prune else []
    total_s = time.perf_counter() - total
    if json_out:
        emit_json({"workspace": str(ws.root), "profile": profile.value, "stages": results, "seconds": round(total_s, 3),
                   **({"pruned": [k for k, _ in pruned]} if prune else {})})
        return
    if prune:
        out.print(f"  pruned {len(pruned)} old tower bundle(s), {sum(b for _, b in pruned) / 2**20:,.0f} MiB freed")
    out.print(f"[bold]{ws.root}[/]: {len(results)} stage(s) in {total_s:.1f} s")


def _prune_towers(ws, text_encoder: str) -> list[tuple[str, int]]:
    """Old tower bundles out; the current one and its probe ablations (towers.build.ABLATIONS) stay."""
    from targetbot.towers.build import ABLATIONS, ablation_key
    from targetbot.towers.bundle import current_key, prune_bundles

    keep = {ablation_key(ws, over, text_encoder) for over in ABLATIONS.values()} if current_key(ws) else set()
    return prune_bundles(ws, keep)


build.__doc__ = (build.__doc__ or "") + "\n\nStages, in pipeline order:\n\n" + _stage_list() + (
    "\n\nExamples: targetbot build -w ws · targetbot build -w ws --stage content --json · "
    "targetbot build -w ws --prune")
