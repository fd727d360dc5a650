"""What every adapter shares: refuse an existing workspace early, write it (see
targetbot.core.workspace.write_workspace), and summarise its scenarios.

Adapters build all tables in memory first, so a parse error never leaves a half-written
workspace.
"""

from __future__ import annotations

from pathlib import Path

from targetbot.core.errors import TargetbotError
from targetbot.core.workspace import META_FILE, Workspace, write_workspace  # noqa: F401  (re-exported for adapters)


def check_target(root: str | Path, overwrite: bool) -> None:
    """Refuse an existing workspace before any work is done (Workspace.create checks again)."""
    if (Path(root) / META_FILE).exists() and not overwrite:
        raise TargetbotError(f"{root} already holds a workspace (use --overwrite to replace it)")


def scenario_summaries(ws: Workspace) -> list[dict]:
    """Prevalence, positives and hard negatives of every scenario in the workspace."""
    from targetbot.core.scenarios import LabelContext, compute_labels, load_scenarios

    ctx = LabelContext.load(ws)
    return [compute_labels(s, ctx).summary() for s in load_scenarios(ws.scenario_files())]
