"""Audience export: a CSV (user_id,score) or Parquet file written atomically, and only for
audiences of at least `min_export_size` users (small audiences would single people out)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from targetbot.core.atomic import atomic_path, write_parquet
from targetbot.core.errors import TargetbotError

FORMATS = (".csv", ".parquet")


class ExportRefused(TargetbotError):
    """The audience may not be exported (too small, or a bad path)."""


def audience_frame(session) -> pd.DataFrame:
    rows = session.state.audience.rows
    return pd.DataFrame({"user_id": session.res.users.to_numpy()[rows],
                         "score": session.scores["fused"][rows].round(6)})


def write_audience(df: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        write_parquet(path, df)
    else:
        with atomic_path(path, suffix=".csv") as tmp:
            df.to_csv(tmp, index=False)


def export_audience(session, path: Path, min_size: int | None = None) -> dict:
    min_size = session.res.config.min_export_size if min_size is None else min_size
    if path.suffix not in FORMATS:
        raise ExportRefused(f"{path}: export to a .csv or .parquet file")
    if path.exists() and path.is_dir():
        raise ExportRefused(f"{path} is a directory; give a file name")
    if session.state.audience is None:
        raise ExportRefused("nothing to export yet")
    df = audience_frame(session)
    if len(df) < min_size:
        raise ExportRefused(f"audience of {len(df)} users is below the minimum exportable size ({min_size}); "
                            "widen the request or lower min_export_size in agent.yaml")
    write_audience(df, path)
    return {"path": str(path), "users": int(len(df))}
