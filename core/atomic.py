"""Atomic writes: write to a temporary sibling, fsync, then rename over the target.

A crash or a bad input therefore never leaves a half-written artifact behind; readers see
either the old file or the new one. A temporary name carries its writer's process id, so what a
killed writer left (a graph build stopped by kill -9) is removed by the next write of the same
target, while a live writer's is left alone. (Process ids are per machine: two machines writing
one shared workspace at once are not told apart.)
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import yaml


@contextmanager
def atomic_path(target: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to `target`; on success rename it onto `target`.

    Works for files and for directories (the caller creates whatever it wants at the path).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=suffix + ".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if target.is_dir() and not target.is_symlink():
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                shutil.rmtree(old)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_leftovers(target: Path, max_age_s: float = 3600.0) -> list[Path]:
    """Remove what killed writes of `target` left: temporaries of dead writers (or, without a
    writer id, older than `max_age_s`), and the previous version a directory swap kept (restored
    when the swap died before the new one was in place)."""
    removed = []
    for p in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        writer = p.name[len(target.name) + 2:].split(".", 1)[0]
        if writer.isdigit() and int(writer) <= 2**22:  # a pid (Linux caps them at 2**22)
            stale = not _alive(int(writer))
        else:  # an older temporary without a writer id, or a name that only looks like one
            stale = time.time() - p.stat().st_mtime > max_age_s
        if stale and writer != str(os.getpid()):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            removed.append(p)
    old = target.with_name(f".{target.name}.old")
    if old.is_dir():
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(target)
        removed.append(old)
    return removed


def write_text(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())


def write_json(target: str | Path, obj: Any) -> None:
    write_text(target, json.dumps(obj, indent=2, default=str) + "\n")


def write_yaml(target: str | Path, obj: Any) -> None:
    write_text(target, yaml.safe_dump(obj, sort_keys=False, allow_unicode=True))


def write_parquet(target: str | Path, df) -> None:
    """Write a pandas DataFrame as Parquet atomically (zstd, no index)."""
    with atomic_path(target, suffix=".parquet") as tmp:
        df.to_parquet(tmp, index=False, compression="zstd")
