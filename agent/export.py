"""Audience export: a CSV (user_id,score) or Parquet file written atomically, and only for an
audience the privacy guard lets out (agent/privacy.py: the floor and the difference guard).
The path is checked before any work, so a bad one costs nothing; an existing file is replaced
only when the caller says so."""

from __future__ import annotations

import tempfile
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


def check_export_path(path: Path, overwrite: bool = False) -> Path:
    """The path an audience can be written to, or ExportRefused saying why not."""
    path = Path(path)
    if path.suffix not in FORMATS:
        raise ExportRefused(f"{path}: export to a .csv or .parquet file")
    if path.is_dir():
        raise ExportRefused(f"{path} is a directory; give a file name")
    if path.exists() and not overwrite:
        raise ExportRefused(f"{path} exists; pass --force to replace it")
    parent = path.parent
    if not parent.is_dir():
        raise ExportRefused(f"{path}: {parent} is not a directory")
    try:  # the only sure test of writability (root passes os.access checks that /proc then refuses)
        tempfile.NamedTemporaryFile(dir=parent, prefix=".targetbot-probe-").close()
    except OSError as e:
        raise ExportRefused(f"{path}: cannot write there ({e.strerror or e.__class__.__name__})") from None
    return path


def export_audience(session, path: Path, overwrite: bool = False) -> dict:
    check_export_path(path, overwrite)
    if session.state.audience is None:
        raise ExportRefused("nothing to export yet")
    if session.state.refusal:
        raise ExportRefused(session.state.refusal)
    df = audience_frame(session)
    floor = session.res.config.min_export_size
    if len(df) < floor:
        raise ExportRefused(f"audience of {len(df)} users is below the minimum exportable size ({floor}); "
                            "widen the request")
    try:
        write_audience(df, path)
    except OSError as e:
        raise ExportRefused(f"{path}: cannot write ({e.strerror or e.__class__.__name__})") from None
    return {"path": str(path), "users": int(len(df))}
