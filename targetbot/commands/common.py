"""Shared CLI pieces: settings and models for the command, the workspace option, JSON output,
and one-line errors."""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from targetbot.core.config import Settings
from targetbot.core.errors import TargetbotError
from targetbot.core.terminal import for_console as safe  # noqa: F401  (re-exported for the commands)
from targetbot.core.terminal import printable

console = Console(stderr=True)
out = Console()

WorkspaceOpt = Annotated[
    Optional[Path],
    typer.Option("--workspace", "-w", envvar="TARGETBOT_WORKSPACE",
                 help="Workspace directory (or set TARGETBOT_WORKSPACE).", show_default=False),
]
VLLM_VENV_PYTHON = Path(".venv-vllm") / "bin" / "python"
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def settings_from_env(environ=None) -> Settings:
    """The settings of this invocation: TARGETBOT_CACHE_DIR (else $XDG_CACHE_HOME/targetbot),
    TARGETBOT_TEXT_ENCODER, TARGETBOT_LLM, TARGETBOT_SEED, TARGETBOT_VLLM_PYTHON (else the
    .venv-vllm that `make vllm-env` builds, in the current folder or the source checkout). The only
    place the environment is read."""
    env = os.environ if environ is None else environ
    values: dict = {}
    if v := env.get("TARGETBOT_CACHE_DIR"):
        values["cache_dir"] = Path(v)
    elif v := env.get("XDG_CACHE_HOME"):
        values["cache_dir"] = Path(v) / "targetbot"
    if v := env.get("TARGETBOT_TEXT_ENCODER"):
        values["text_encoder"] = v
    if v := env.get("TARGETBOT_LLM"):
        values["llm"] = v
    if v := env.get("TARGETBOT_SEED"):
        try:
            values["seed"] = int(v)
        except ValueError:
            raise TargetbotError(f"TARGETBOT_SEED must be a whole number (got '{v}')") from None
    if v := env.get("TARGETBOT_VLLM_PYTHON"):
        values["vllm_python"] = Path(v)
    else:
        checkout = Path(__file__).resolve().parents[2]  # the source tree of an editable install
        values["vllm_python"] = next((p for p in (Path.cwd() / VLLM_VENV_PYTHON, checkout / VLLM_VENV_PYTHON)
                                      if p.is_file()), None)
    return Settings(**values)


def models_for(ctx: typer.Context | None):
    """The invocation's models: what the caller passed as the app's `obj` (tests:
    `CliRunner().invoke(app, args, obj=Models(...))`), else one built from the environment, kept on
    the root context so every sub-command of one invocation shares it."""
    from targetbot.agent.models import Models

    root = ctx.find_root() if ctx is not None else None
    if root is not None and isinstance(root.obj, Models):
        return root.obj
    models = Models(settings_from_env())
    if root is not None:
        root.obj = models
    return models


def release_users(ws, result: dict, route: str, min_export: int | None = None) -> dict:
    """`result` with its `users` listed only when the workspace's privacy guard lets them out
    (the audience floor and the difference guard, targetbot.agent.privacy); otherwise `users` is
    empty and `note` says why. A listed audience is recorded for later difference checks."""
    from targetbot.agent.privacy import command_config, guard_for

    privacy = guard_for(ws, command_config(ws, min_export))
    ids = [u["user_id"] for u in result["users"]]
    reason = privacy.refusal(ids)
    if reason:
        return {**result, "users": [], "listed": False, "note": reason}
    privacy.record(ids, route)
    return {**result, "listed": True}


def guard(fn):
    """Turn TargetbotError (and a few stdlib errors users cause) into `error: ...` + exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TargetbotError as e:
            typer.echo(f"error: {printable(str(e))}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()
