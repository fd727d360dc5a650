"""The workspace's events cut once into batches of users, so per-user work streams.

Every per-user stage (user embeddings, forecast features, entity preferences, labels, the agent's
evidence) needs all of a user's events at once, and none needs more than a batch of users at a
time. The events table as a user brings it may be in any order, so one streaming pass writes it
again as one Parquet file per batch of users (users in profile order, `batch_users` a batch),
each with its events in (user, time) order and a `window` column already assigned:

    WS/artifacts/events/<data fingerprint>-b<batch_users>/
        batch-00000.parquet ...      the events of users [0, batch_users), ...
        users.parquet                every user, profile order (row = user index)
        manifest.json                written last: the commit record

Peak memory is one source row group plus one batch, whatever the number of users; a killed pass
leaves only a temporary folder that the next one removes. The same batch files feed a local loop
and a Ray Data job (`read_batch` is the per-batch function either runs).

    >>> ub = UserBatches.build(ws)                       # doctest: +SKIP
    >>> for b in range(len(ub)):                        # doctest: +SKIP
    ...     users, events = ub.users_of(b), ub.read(b, windows=["w0", "w1"])
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from targetbot.core.atomic import atomic_path, write_json, write_parquet
from targetbot.core.errors import DataError, TargetbotError
from targetbot.core.workspace import Workspace

STAGE = "events"
MANIFEST = "manifest.json"
FORMAT = 1
DEFAULT_BATCH_USERS = 50_000


def events_fingerprint(ws: Workspace) -> str:
    """What the batches depend on: the events and profiles files and the windows."""
    parts = []
    for name in ("events", "profiles"):
        st = ws.table_path(name).stat()
        parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    parts.append(json.dumps([w.model_dump(mode="json") for w in ws.meta.windows], sort_keys=True))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


@dataclass
class UserBatches:
    root: Path
    users: pd.Index  # every user, profile order: a user's index is its position here
    batch_users: int

    def __len__(self) -> int:
        return n_batches(len(self.users), self.batch_users)

    def bounds(self, b: int) -> tuple[int, int]:
        return b * self.batch_users, min(len(self.users), (b + 1) * self.batch_users)

    def users_of(self, b: int) -> pd.Index:
        lo, hi = self.bounds(b)
        return self.users[lo:hi]

    def path(self, b: int) -> Path:
        return self.root / f"batch-{b:05d}.parquet"

    def read(self, b: int, columns: list[str] | None = None, windows: list[str] | None = None) -> pd.DataFrame:
        """The events of batch `b` (all columns by default), in (user, time) order, with `window`;
        restricted to `windows` when given. `user_id` is categorical over every user."""
        return read_batch(self.path(b), self.users, columns, windows)

    def read_users(self, index: np.ndarray, columns: list[str] | None = None,
                   windows: list[str] | None = None) -> pd.DataFrame:
        """The events of the users at `index` (positions in `users`), reading only their batches."""
        index = np.unique(np.asarray(index, dtype=np.int64))
        parts = []
        for b in np.unique(index // self.batch_users):
            ev = self.read(int(b), columns, windows)
            keep = np.isin(ev["user_id"].cat.codes.to_numpy(), index)
            parts.append(ev[keep])
        if not parts:
            return self.read(0, columns, windows).iloc[:0]
        return concat_batches(parts)

    # ---- building -------------------------------------------------------------------------------
    @classmethod
    def build(cls, ws: Workspace, batch_users: int = DEFAULT_BATCH_USERS, progress=None) -> "UserBatches":
        """The batches of the current data, written on first use (one pass over the events)."""
        if batch_users < 1:
            raise TargetbotError("batch_users must be at least 1")
        current = events_fingerprint(ws)
        root = ws.artifacts_dir / STAGE / f"{current}-b{batch_users}"
        users = profile_users(ws)
        if (root / MANIFEST).is_file():
            return cls(root, users, batch_users)
        for old in (ws.artifacts_dir / STAGE).glob("*-b*"):  # batches of older data are never read again
            if old.is_dir() and not old.name.startswith((".", current)):
                import shutil

                shutil.rmtree(old, ignore_errors=True)
        with atomic_path(root) as tmp:
            tmp.mkdir(parents=True)
            n = _partition(ws, users, batch_users, tmp, progress)
            write_parquet(tmp / "users.parquet", pd.DataFrame({"user_id": users.astype(str)}))
            write_json(tmp / MANIFEST, {"format": FORMAT, "users": len(users), "batch_users": batch_users,
                                        "batches": n_batches(len(users), batch_users), "events": n})
        return cls(root, users, batch_users)


def concat_batches(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames of several batches as one; each batch's text columns are categorical over its own
    values, so their categories are united first (a plain concat would turn them into strings)."""
    from pandas.api.types import union_categoricals

    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    out = {}
    for col in parts[0].columns:
        values = [p[col] for p in parts]
        if all(isinstance(v.dtype, pd.CategoricalDtype) for v in values):
            out[col] = union_categoricals([v.array for v in values], ignore_order=True)
        else:
            out[col] = pd.concat(values, ignore_index=True)
    return pd.DataFrame(out)


def n_batches(n_users: int, batch_users: int) -> int:
    """How many batches `n_users` make (at least one, so that an empty workspace has a file)."""
    return max(1, -(-n_users // batch_users))


def profile_users(ws: Workspace) -> pd.Index:
    """Every user id of the profiles table, as strings in profile order (a user's index)."""
    ids = ws.read_table("profiles", ["user_id"])["user_id"].astype(str)
    users = pd.Index(ids, name="user_id")
    if not users.is_unique:
        ws.user_profiles()  # raises the one-line duplicate error
    return users


def read_batch(path: Path, users: pd.Index, columns: list[str] | None = None,
               windows: list[str] | None = None) -> pd.DataFrame:
    """One batch file as a DataFrame (the per-batch function of a local loop or a Ray job)."""
    need = None if columns is None else list(dict.fromkeys(["uidx", *columns, "window"]))
    filters = [("window", "in", list(windows))] if windows is not None else None
    table = pq.read_table(path, columns=need, filters=filters)
    df = table.to_pandas()
    df["user_id"] = pd.Categorical.from_codes(df.pop("uidx").to_numpy(np.int32), categories=users)
    df["window"] = df["window"].astype("category")
    order = ["user_id", *[c for c in (columns or df.columns) if c not in ("user_id", "window", "uidx")], "window"]
    return df[order].reset_index(drop=True)


def _partition(ws: Workspace, users: pd.Index, batch_users: int, out: Path, progress=None) -> int:
    """Stream the events file row group by row group into one sorted file per user batch."""
    path = ws.table_path("events")
    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises many types for a corrupt file
        raise DataError(f"{path}: not a readable Parquet file ({e.__class__.__name__}: {str(e)[:120]})") from None
    count = n_batches(len(users), batch_users)
    spill = out / "spill"
    spill.mkdir()
    writers: dict[int, pq.ParquetWriter] = {}
    total = 0
    try:
        for g in range(pf.num_row_groups):
            df = pf.read_row_group(g).to_pandas()
            if "user_id" not in df.columns:
                raise DataError(f"{path}: no 'user_id' column")
            uidx = user_index(users, df["user_id"])
            keep = uidx >= 0  # events of users without a profile are no one's (data validate says so)
            df = ws.assign_windows(df.loc[keep].drop(columns=["user_id"]))
            df.insert(0, "uidx", uidx[keep].astype(np.int32))
            df["window"] = df["window"].astype("string")
            batch = df["uidx"].to_numpy() // batch_users
            for b in np.unique(batch):
                part = pa.Table.from_pandas(df[batch == b], preserve_index=False)
                w = writers.get(int(b))
                if w is None:
                    w = writers[int(b)] = pq.ParquetWriter(spill / f"{int(b)}.parquet", part.schema)
                w.write_table(part.cast(w.schema))
            total += int(keep.sum())
            if progress:
                progress(f"events by user batch: row group {g + 1}/{pf.num_row_groups}, {total:,} events")
    finally:
        for w in writers.values():
            w.close()
    if not writers:
        raise DataError(f"{path}: no event belongs to a user of the profiles table")
    schema = pq.read_schema(spill / f"{min(writers)}.parquet")
    for b in range(count):  # sort each batch by (user, time): one batch in memory at a time
        src = spill / f"{b}.parquet"
        if src.exists():
            df = pq.read_table(src).to_pandas()
            if "ts" in df.columns:
                df = df.sort_values(["uidx", "ts"], kind="stable")
            table = pa.Table.from_pandas(df, preserve_index=False).cast(schema)
            src.unlink()
        else:  # users with no events at all: an empty file of the same shape
            table = schema.empty_table()
        pq.write_table(table, out / f"batch-{b:05d}.parquet", compression="zstd")
    spill.rmdir()
    return total


def user_index(users: pd.Index, ids: pd.Series) -> np.ndarray:
    """Position in `users` of each id (-1: unknown), mapping a categorical's categories only once."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        cat = users.get_indexer(ids.cat.categories.astype(str))
        codes = ids.cat.codes.to_numpy()
        return np.where(codes >= 0, cat[np.maximum(codes, 0)], -1)
    return users.get_indexer(ids.astype(str))
