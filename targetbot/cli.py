"""The `targetbot` command: assembles the command groups; holds no logic of its own."""

from __future__ import annotations

import typer

from targetbot.commands import build, data, eval as eval_cmd, models, world

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
app.command("models")(models.models)
app.command("build")(build.build)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
