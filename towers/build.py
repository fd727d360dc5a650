"""`targetbot build --stage towers`: prepare inputs, pretrain, align, embed, index — skipping
everything when the bundle for this config and data already exists."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import torch

from targetbot.core.protocols import ModelSource
from targetbot.core.user_batches import DEFAULT_BATCH_USERS, UserBatches
from targetbot.core.workspace import Workspace
from targetbot.towers.bundle import Bundle, bundle_root, current_key, set_current, write_bundle
from targetbot.towers.config import FindConfig, TowerConfig
from targetbot.towers.index import build_index
from targetbot.towers.text_tower import TextTower
from targetbot.towers.train import StatementSampler, align, embed_batches, prepare, pretrain_behaviour, pretrain_tabular
from targetbot.towers.user_tower import UserTower

PROFILES = {"quick": "quick", "full": "full"}


def data_fingerprint(ws: Workspace, store) -> str:
    parts = [str(getattr(store, "fingerprint", ""))]
    for name in ("events", "profiles"):
        st = ws.table_path(name).stat()
        parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    parts.append(ws.meta.model_dump_json())
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:10]


# Tower variants the probe suite compares the current bundle with (eval/methods/probe.py); kept
# here, with the code that builds them, so `build --prune` knows which bundles to keep.
ABLATIONS = {
    "ablation-no-behaviour": {"align": {"modalities": ["tabular", "search"]}},
    "ablation-no-tabular": {"align": {"modalities": ["behaviour", "search"]}},
    "ablation-no-search": {"align": {"modalities": ["behaviour", "tabular"]}},
    "ablation-concat": {"align": {"fusion": "concat"}},
}


def build_towers(ws: Workspace, models: ModelSource, profile: str = "quick", force: bool = False,
                 progress=None, config: TowerConfig | None = None, batches: UserBatches | None = None,
                 forecast: bool = True, engine=None, batch_users: int | None = None) -> dict:
    """Train on a sample of users (`sample_users`), then embed every user batch by batch (on
    `engine`: core.engine, this process by default); with `forecast`, also build the forecast
    scorer's features for the bundle."""
    from targetbot.towers.content import ContentStore

    say = progress or (lambda m: None)
    settings = models.settings
    cfg = config or TowerConfig.from_name(PROFILES.get(profile, profile))
    store = ContentStore.open(ws, spec=settings.text_encoder)
    key = f"{cfg.key()}-{data_fingerprint(ws, store)}"
    if not force and (bundle_root(ws) / key / "meta.json").exists():
        if current_key(ws) != key:
            set_current(ws, key)
        return {"status": "up to date", "bundle": key}

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    timings, log = {}, {}
    t = time.perf_counter()
    batches = batches or UserBatches.build(ws, batch_users or DEFAULT_BATCH_USERS, progress=say)
    p = prepare(ws, cfg, store, batches, say)
    timings["prepare"] = time.perf_counter() - t

    tower = UserTower(cfg, p.matrix.shape[1], p.codec.cardinalities, len(p.codec.numeric), len(p.item_vocab or {}))
    t = time.perf_counter()
    pretrain_behaviour(tower, p, cfg, rng, log)
    timings["pretrain_behaviour"] = time.perf_counter() - t
    say(f"behaviour CPC loss {log.get('behaviour_loss')}")
    t = time.perf_counter()
    pretrain_tabular(tower, p, cfg, rng, log)
    timings["pretrain_tabular"] = time.perf_counter() - t
    say(f"tabular MFP+RTD loss {log.get('tabular_loss')}")

    t = time.perf_counter()
    text = TextTower(cfg.dim, settings, cfg.align.lora_rank, cfg.align.max_text_tokens, cfg.text_encoder,
                     cfg.align.lora_top_layers)
    statements = StatementSampler(p.descriptions).texts_unique
    say(f"embedding {len(statements):,} future statements (representation center, incremental)")
    vectors = store.lookup(statements, models.text_encoder(), store=True)
    align(tower, text, p, cfg, rng, log, statement_vectors=vectors, progress=say)
    timings["align"] = time.perf_counter() - t
    say(f"alignment loss {log.get('align_loss')}, temperature {log.get('temperature')}")

    def embed_and_index(folder):
        t = time.perf_counter()
        embed_batches(tower, p, ws, cfg, store, batches, folder / "embeddings", say, engine)
        timings["embed"] = time.perf_counter() - t
        t = time.perf_counter()
        index = build_index(np.load(folder / "embeddings" / "fused.npy", mmap_mode="r"), cfg.index)
        timings["index"] = time.perf_counter() - t
        return index

    n_users = len(batches.users)
    meta = {"key": key, "content_dim": int(p.matrix.shape[1]), "users": n_users, "log": log,
            "sample_users": len(p.users), "train_users": int(p.descriptions["user_id"].nunique()), "windows": {
                "train_input": list(ws.meta.roles.train_input), "train_target": list(ws.meta.roles.train_target)}}

    def finish(m):  # timings are known only once embedding and indexing are done
        m["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
        m["users_per_second"] = round(n_users / max(timings["embed"], 1e-9), 1)

    write_bundle(ws, key, cfg, meta, batches.users, tower, text, p.codec, p.item_vocab, embed_and_index, finish)
    p = None  # the training sample's inputs: not needed past here
    if forecast:  # the forecast scorer's features and the anchor towers, so the first `find` does not build them
        t = time.perf_counter()
        find_config = FindConfig.for_workspace(ws.root)
        built = Bundle.load(ws, settings, key)
        built.forecast_data(find_config.forecast, batches, say, engine)
        meta["timings_s"]["forecast_features"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        built.anchor_tower(find_config, models.text_encoder().encode, say)
        meta["timings_s"]["anchor_towers"] = round(time.perf_counter() - t, 2)
    return {"status": "built", "bundle": key, "timings_s": meta["timings_s"], "log": log,
            "users_per_second": meta["users_per_second"]}


def ablation_config(ws: Workspace, overrides: dict, profile: str | None = None) -> TowerConfig:
    """The current bundle's config (or the profile's, with no bundle yet) with `overrides` applied."""
    from targetbot.towers.bundle import current_key

    base = Bundle.read_config(ws) if current_key(ws) else TowerConfig.from_name(profile or "quick")
    data = base.model_dump()
    for k, v in overrides.items():
        data[k] = {**data[k], **v} if isinstance(v, dict) else v
    return TowerConfig.model_validate(data)


def ablation_key(ws: Workspace, overrides: dict, text_encoder: str) -> str:
    """The key `ablation_bundle(ws, ..., overrides)` builds under, without building anything
    (`text_encoder`: the encoder spec whose content store the towers read)."""
    from targetbot.towers.content import ContentStore

    store = ContentStore.open(ws, spec=text_encoder)
    return f"{ablation_config(ws, overrides).key()}-{data_fingerprint(ws, store)}"


def ablation_bundle(ws: Workspace, models: ModelSource, overrides: dict, profile: str | None = None,
                    progress=None) -> Bundle:
    """A bundle trained like the current one but with `overrides` (e.g. one modality removed);
    built on first use, stored beside the main bundle, never made CURRENT."""
    from targetbot.towers.bundle import current_key

    cfg = ablation_config(ws, overrides, profile)
    keep = current_key(ws)
    result = build_towers(ws, models, config=cfg, progress=progress, forecast=False)
    if keep:
        set_current(ws, keep)
    return Bundle.load(ws, models.settings, result["bundle"])


def build_stage(ws: Workspace, *, models: ModelSource, profile: str = "quick", force: bool = False,
                progress=None, engine=None, batch_users: int | None = None, **_) -> dict:
    """The `towers` build stage (see targetbot/commands/build.py for the stage protocol)."""
    result = build_towers(ws, models, profile=profile, force=force, progress=progress, engine=engine,
                          batch_users=batch_users)
    if result["status"] == "built":
        t = result["timings_s"]
        result["summary"] = (f"bundle {result['bundle']}: " + ", ".join(f"{k} {v:.0f}s" for k, v in t.items())
                             + f"; {result['users_per_second']:,.0f} users/s embedded")
    else:
        result["summary"] = f"bundle {result['bundle']} is up to date"
    return result
