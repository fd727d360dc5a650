"""`targetbot world generate`: catalog + population + behaviour -> a complete workspace.

Deterministic by seed; every generator works on whole numpy arrays. Timeline: `days` days
from `start`, cut into consecutive windows of `window_days`; with the defaults w0 and w1 are
history (w0 -> w1 are the training pairs) and w2 holds the labels.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from targetbot.core.contract import ProfileSchema
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


def simulate(cfg: WorldConfig, progress=None):
    """Run the simulator in memory; returns (catalog, population, events DataFrame, timings)."""
    step = progress or (lambda msg: None)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    cat = build_catalog(cfg.seed)
    pop = generate_population(cfg.users, cat.topics, rng)
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
    """Simulate and write a complete workspace (data, scenarios, metadata)."""
    t_all = time.perf_counter()
    cat, pop, events, timings = simulate(cfg, progress)
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
    tables = {"events": events, "profiles": pop.profiles, "entities": cat.entities_frame(),
              "relations": cat.relations_frame()}
    ws = write_workspace(root, meta, tables, ProfileSchema(columns=PROFILE_SCHEMA), builtin_scenario_files(),
                         overwrite=overwrite)
    timings["write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t_all
    return {"workspace": str(ws.root), "users": cfg.users, "events": len(events),
            "distinct_texts": int(events["text"].cat.categories.size), "timings_s": {k: round(v, 2) for k, v in timings.items()}}
