"""`targetbot world generate`: catalog + population + behaviour -> a complete workspace.

Deterministic by seed; every generator works on whole numpy arrays. Timeline: `days` days
from `start`, cut into consecutive windows of `window_days`; with the defaults w0 and w1 are
history (w0 -> w1 are the training pairs) and w2 holds the labels.

Users are simulated `chunk_users` at a time (each chunk with its own random stream, seeded by
the world seed and the chunk number) and each chunk is appended to the events and profiles files
as it is done, so peak memory is set by the chunk, not by the world. A world of one chunk is
exactly the world the simulator made before chunking existed.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from targetbot.core.atomic import clean_leftovers
from targetbot.core.contract import ProfileSchema
from targetbot.core.errors import TargetbotError
from targetbot.core.scenarios.scenario import builtin_scenario_files
from targetbot.core.workspace import Roles, Window, WorkspaceMeta, write_workspace
from targetbot.core.world import behaviour
from targetbot.core.world.catalog import build_catalog
from targetbot.core.world.events import EventBuffer
from targetbot.core.world.journeys import Ctx, run_habit, run_journey
from targetbot.core.world.population import PROFILE_SCHEMA, generate_population
from targetbot.core.world.processes import RESERVED, RESERVED_CATEGORIES, habits, journeys


class WorldConfig(BaseModel):
    users: int = Field(20_000, ge=10, le=5_000_000)
    seed: int = 7
    start: str = "2026-06-01"
    window_days: int = Field(30, ge=7)
    windows: int = Field(3, ge=3, description="Consecutive windows; the last holds labels.")
    sessions_per_day: float = Field(0.45, gt=0, description="Background interest sessions per user per day.")
    signal: float = Field(1.0, ge=0, description="Lead-signal strength: mean lead events per life event scale.")
    noise: float = Field(1.0, ge=0, description="False-lead rate: users who look like converters without a life event.")
    hard_negative_rate: float = Field(1.0, ge=0, description="Scale of lookalike (hard negative) groups.")
    alias_rate: float = Field(0.35, ge=0, le=1, description="Share of mentions that use an alias, not the canonical name.")
    eval_fraction: float = Field(0.5, gt=0, lt=1)
    chunk_users: int = Field(50_000, ge=10, description="Users simulated together (bounds peak memory).")

    @property
    def days(self) -> int:
        return self.window_days * self.windows


def _reserved_mask(cat) -> np.ndarray:
    mask = np.zeros(len(cat.names), dtype=bool)
    for name in RESERVED:
        if name in cat.index:
            mask[cat[name]] = True
    for name in RESERVED_CATEGORIES:
        mask |= cat.category_arr == cat[name]
    return mask


def user_chunks(cfg: WorldConfig) -> list[tuple[int, int]]:
    """(first user, number of users) of each chunk."""
    return [(a, min(cfg.chunk_users, cfg.users - a)) for a in range(0, cfg.users, cfg.chunk_users)]


def simulate(cfg: WorldConfig, progress=None, chunk: int = 0, catalog=None):
    """Run the simulator in memory for one chunk of users (all of them when the world is one
    chunk); returns (catalog, population, events DataFrame, timings)."""
    step = progress or (lambda msg: None)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    chunks = user_chunks(cfg)
    first, n = chunks[chunk]
    rng = np.random.default_rng(cfg.seed if len(chunks) == 1 else [cfg.seed, chunk])
    cat = catalog or build_catalog(cfg.seed)
    pop = generate_population(n, cat.topics, rng, first_id=first, id_width=len(str(cfg.users)))
    timings["catalog+population"] = time.perf_counter() - t
    step("catalog and population")

    start = np.datetime64(cfg.start)
    start_weekday = int((start.astype("datetime64[D]").view("int64") - 4) % 7)  # 1970-01-01 was a Thursday
    buf = EventBuffer(cat, rng, cfg.alias_rate)
    t = time.perf_counter()
    behaviour.background_sessions(pop, cat, buf, rng, cfg.days, start_weekday, cfg.sessions_per_day, _reserved_mask(cat))
    behaviour.cycles(pop, cat, buf, rng, cfg.days, start_weekday)
    timings["background"] = time.perf_counter() - t
    step("background behaviour")

    t = time.perf_counter()
    ctx = Ctx(pop, cat, buf, rng, cfg.days, start_weekday, cfg.signal, cfg.noise, cfg.hard_negative_rate)
    for j in journeys():
        if j.span is not None:  # spans are written for the default 3 x 30-day timeline: scale them
            j.span = tuple(s / 90.0 * cfg.days for s in j.span)
        run_journey(j, ctx)
    for h in habits(ctx):
        run_habit(h, ctx)
    timings["life events"] = time.perf_counter() - t
    step("life events and habits")

    t = time.perf_counter()
    events, _ = buf.to_frame(pop.profiles["user_id"].tolist(), start, cfg.days)
    timings["render"] = time.perf_counter() - t
    step("rendered text")
    return cat, pop, events, timings


def generate_world(root: str | Path, cfg: WorldConfig, overwrite: bool = False, progress=None) -> dict:
    """Simulate and write a complete workspace (data, scenarios, metadata), chunk by chunk."""
    t_all = time.perf_counter()
    root = Path(root)
    if (root / "workspace.yaml").exists() and not overwrite:  # before any work, as write_workspace would
        raise TargetbotError(f"{root} already holds a workspace (use --overwrite to replace it)")
    chunks = user_chunks(cfg)
    timings: dict[str, float] = {}
    cat, n_events, texts = None, 0, set()
    with ChunkWriter(root / "data" / "events.parquet") as events_out, \
            ChunkWriter(root / "data" / "profiles.parquet") as profiles_out:
        for i in range(len(chunks)):
            say = progress if len(chunks) == 1 else (
                lambda msg, i=i: progress and progress(f"chunk {i + 1}/{len(chunks)}: {msg}"))
            cat, pop, events, t = simulate(cfg, say, chunk=i, catalog=cat)
            for k, v in t.items():
                timings[k] = timings.get(k, 0.0) + v
            t0 = time.perf_counter()
            events_out.write(events)
            profiles_out.write(pop.profiles)
            timings["write"] = timings.get("write", 0.0) + time.perf_counter() - t0
            n_events += len(events)
            texts.update(events["text"].cat.categories)
            del pop, events
    start = datetime.fromisoformat(cfg.start)
    windows = [Window(name=f"w{i}", start=start + timedelta(days=i * cfg.window_days),
                      end=start + timedelta(days=(i + 1) * cfg.window_days)) for i in range(cfg.windows)]
    names = [w.name for w in windows]
    meta = WorkspaceMeta(
        name=f"world-{cfg.users}-s{cfg.seed}", origin="world", windows=windows,
        roles=Roles(train_input=[names[-3]], train_target=[names[-2]], history=names[:-1], label=[names[-1]]),
        eval_fraction=cfg.eval_fraction, seed=cfg.seed, info={"generator": cfg.model_dump()},
    )
    t = time.perf_counter()
    tables = {"events": events_out.path, "profiles": profiles_out.path, "entities": cat.entities_frame(),
              "relations": cat.relations_frame()}
    ws = write_workspace(root, meta, tables, ProfileSchema(columns=PROFILE_SCHEMA), builtin_scenario_files(),
                         overwrite=overwrite)
    timings["write"] = timings.get("write", 0.0) + time.perf_counter() - t
    timings["total"] = time.perf_counter() - t_all
    return {"workspace": str(ws.root), "users": cfg.users, "events": n_events, "chunks": len(chunks),
            "distinct_texts": len(texts), "timings_s": {k: round(v, 2) for k, v in timings.items()}}


class ChunkWriter:
    """Appends DataFrames to one Parquet file under a temporary name (`path` once closed): the
    workspace writer moves it into place, so a killed generation leaves no half-written table."""

    def __init__(self, target: Path):
        self.target = Path(target)
        self.path: Path | None = None
        self._writer = None

    def __enter__(self) -> "ChunkWriter":
        self.target.parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(self.target)
        self.path = self.target.with_name(f".{self.target.name}.{os.getpid()}.chunks.tmp")
        return self

    def write(self, df) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self._writer.write_table(table.cast(self._writer.schema))

    def __exit__(self, exc_type, *_) -> None:
        if self._writer is not None:
            self._writer.close()
        if exc_type is not None and self.path.exists():
            self.path.unlink()
