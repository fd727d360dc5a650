"""The audience floor and the difference guard: what keeps a targeting tool from singling people out.

*The floor* is workspace policy: `min_export_size` in WS/agent.yaml (default 50), set by whoever
owns the workspace. A caller may raise it for one command (`--min-export`), never lower it.
Every route that reveals user ids obeys it: `ask`, `chat` and `batch` (listing and export),
`find`, `tune`, `graph users`, and run records (below the floor a run stores counts, not ids).

*The difference guard*: two audiences that are each large can still isolate a few people by
their difference ("everyone in the city" minus "everyone in the city without one credit score").
Every released audience (listed or exported, through any route) is kept in WS/privacy/releases/;
a new one A is refused, naming the earlier release R, when either one-sided difference (A minus
R, or R minus A) is non-empty but smaller than the floor, for any release of the last
`difference_window_days`. (One-sided: padding the new audience with other users does not hide
the few it drops.)

What it does not protect against: combinations of three or more releases (A minus the union of
B and C); intersections (two large audiences whose overlap is small); releases made outside
targetbot or before the window; an owner who lowers the floor in agent.yaml; anyone who can
read the workspace's tables directly. It bounds what the tool itself hands out.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from targetbot.core.atomic import write_parquet
from targetbot.core.errors import TargetbotError


class AudienceRefused(TargetbotError):
    """An audience may not be revealed (below the floor, or it would isolate users by difference)."""


@dataclass
class Release:
    ref: str  # the run id or a route-made id: what a refusal names
    route: str
    created: float  # epoch seconds
    path: Path

    def users(self) -> np.ndarray:
        return pd.read_parquet(self.path)["user_id"].astype(str).to_numpy()


def floor_for(workspace_floor: int, requested: int | None) -> int:
    """The floor of one command: the workspace's, or a higher one the caller asks for."""
    if requested is None:
        return workspace_floor
    if requested < workspace_floor:
        raise TargetbotError(f"--min-export {requested} is below this workspace's audience floor ({workspace_floor}, "
                             "min_export_size in WS/agent.yaml): a command may raise the floor, not lower it")
    return requested


class PrivacyGuard:
    def __init__(self, ws, floor: int, window_days: float = 30.0):
        self.ws, self.floor, self.window_days = ws, int(floor), float(window_days)

    @property
    def releases_dir(self) -> Path:
        return self.ws.root / "privacy" / "releases"

    def releases(self) -> list[Release]:
        """Releases within the window, newest first."""
        if self.window_days <= 0 or not self.releases_dir.is_dir():
            return []
        since = time.time() - self.window_days * 86400
        out = []
        for p in self.releases_dir.glob("*__*__*.parquet"):
            stamp, route, ref = p.stem.split("__", 2)
            if stamp.isdigit() and int(stamp) / 1000 >= since:
                out.append(Release(ref, route, int(stamp) / 1000, p))
        return sorted(out, key=lambda r: -r.created)

    def refusal(self, user_ids) -> str | None:
        """Why these users may not be revealed, or None."""
        ids = np.unique(np.asarray(user_ids, dtype=str))
        if len(ids) < self.floor:
            return (f"audience of {len(ids):,} users is below the minimum size ({self.floor}): ids are not revealed; "
                    "widen the request")
        for r in self.releases():
            prev = np.unique(r.users())
            for diff, side in ((len(np.setdiff1d(ids, prev, assume_unique=True)), "has"),
                               (len(np.setdiff1d(prev, ids, assume_unique=True)), "lacks")):
                if 0 < diff < self.floor:
                    return (f"this audience differs from release {r.ref} ({r.route}, "
                            f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(r.created))} UTC) by {diff} users it "
                            f"{side}, fewer than the minimum size ({self.floor}): revealing both would single "
                            "them out")
        return None

    def check(self, user_ids) -> None:
        reason = self.refusal(user_ids)
        if reason:
            raise AudienceRefused(reason)

    def record(self, user_ids, route: str, ref: str | None = None) -> str:
        """Keep a revealed audience for later difference checks; returns its reference."""
        if self.window_days <= 0:
            return ref or ""
        ref = ref or f"{route}-{secrets.token_hex(3)}"
        stamp = int(time.time() * 1000)
        ids = pd.DataFrame({"user_id": np.unique(np.asarray(user_ids, dtype=str))})
        write_parquet(self.releases_dir / f"{stamp}__{route}__{ref}.parquet", ids)
        return ref

    def release(self, user_ids, route: str, ref: str | None = None) -> str:
        """check, then record (AudienceRefused instead of a reason)."""
        self.check(user_ids)
        return self.record(user_ids, route, ref)


def command_config(ws, min_export: int | None = None):
    """WS/agent.yaml with one command's floor: the workspace's, or a higher one it asks for."""
    from targetbot.agent.config import AgentConfig

    cfg = AgentConfig.for_workspace(ws.root)
    return cfg.model_copy(update={"min_export_size": floor_for(cfg.min_export_size, min_export)})


def guard_for(ws, config) -> PrivacyGuard:
    """The guard of a workspace under an agent config (its floor and difference window)."""
    return PrivacyGuard(ws, config.min_export_size, config.difference_window_days)
