"""The `targetbot` command: assembles the command groups; holds no logic of its own."""

from __future__ import annotations

import typer

from targetbot.commands import build, data, eval as eval_cmd, models, world
from targetbot.commands import find as find_cmd
from targetbot.commands import rewrite
from targetbot.commands import graph
from targetbot.commands import ask as ask_cmd
from targetbot.commands import runs

app = typer.Typer(
    name="targetbot",
    help="LLM-agent assisted user targeting: one sentence in, a scored and explained audience out.\n\n"
    "Start with `targetbot world generate -w ws` (a simulated workspace) or bring your own data "
    "(`targetbot data validate -w ws`), then `targetbot build -w ws` and `targetbot eval run -w ws`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(world.app, name="world")
app.add_typer(data.app, name="data")
app.add_typer(eval_cmd.app, name="eval")
app.add_typer(rewrite.app, name="rewrite")
app.add_typer(graph.app, name="graph")
app.command("models")(models.models)
app.command("build")(build.build)
app.command("find")(find_cmd.find)
app.command("tune")(find_cmd.tune)
app.command("ask")(ask_cmd.ask)
app.command("chat")(ask_cmd.chat)
app.command("batch")(ask_cmd.batch)
app.add_typer(runs.app, name="runs")


def _limit_threads() -> None:
    """TARGETBOT_THREADS caps torch's intra-op threads. On a machine shared with other jobs one
    thread per process is often several times faster than two that keep waiting on each other."""
    import os

    n = os.environ.get("TARGETBOT_THREADS")
    if n:
        import torch

        torch.set_num_threads(max(1, int(n)))


def main() -> None:
    _limit_threads()
    app()


if __name__ == "__main__":
    main()
