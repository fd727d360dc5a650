"""The graph build stage: entity dictionary + history events -> the stored entity graph (TRMP).

    extraction -> rolling snapshots -> per snapshot: session pairs, skip-gram, Stage-I candidates,
    Stage-II ALPC -> Stage-III ensemble over the last snapshots -> storage + user preferences

Only history windows are read, through the workspace's user batches (core.user_batches), so no
step holds every event at once. Relations are mined from the history of every user, or of a seeded
sample of `sample_users` (relations are shared by all users, and a sample of users shows them as
well as all of them do, for a fraction of the memory and time). Preferences are per user, so they
are computed batch by batch over every user, and only the stored outputs grow with the number of
users. The build is skipped when the stored graph was made with the same config key from the same
data files (`force=True` rebuilds). Everything random is seeded.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import sparse
import torch

from targetbot.egl.alpc import ALPCParams, NodeInputs, sample_non_edges, train_alpc
from targetbot.egl.candidates import SOURCE_NAMES, CandidateGraph, candidate_graph
from targetbot.egl.config import GraphConfig
from targetbot.egl.cooccurrence import skipgram
from targetbot.egl.ensemble import train_ensemble
from targetbot.egl.extraction import Dictionary, Mentions, TextMatches, extract_events
from targetbot.egl.gloss import gloss_links
from targetbot.egl.preference import mean_vectors, preference_space, user_entities
from targetbot.egl.semantic import embed_entities, entity_texts
from targetbot.egl.sequences import Snapshot, context_pairs, in_snapshot, snapshots
from targetbot.egl.storage import MANIFEST, SnapshotArrays, cache_dir, graph_dir
from targetbot.core.atomic import atomic_path, write_parquet
from targetbot.core.protocols import ModelSource
from targetbot.core.errors import TargetbotError
from targetbot.core.user_batches import DEFAULT_BATCH_USERS, UserBatches

Progress = Callable[[str], None]


def data_fingerprint(ws) -> dict:
    """Sizes and modification times of everything the graph is built from."""
    out = {}
    for name in ("events", "entities", "relations"):
        p = ws.table_path(name)
        if p.exists():
            st = p.stat()
            out[name] = [st.st_size, st.st_mtime_ns]
    out["windows"] = ws.meta.roles.history
    return out


def is_up_to_date(ws, config: GraphConfig) -> bool:
    man = graph_dir(ws) / MANIFEST
    if not man.exists():
        return False
    try:
        m = json.loads(man.read_text())
    except ValueError:
        return False
    return m.get("key") == config.key() and m.get("data") == json.loads(json.dumps(data_fingerprint(ws)))


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run a block with torch limited to `n` intra-op threads (None: leave torch's setting)."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _say(progress: Progress | None, msg: str) -> None:
    if progress is not None:
        progress(msg)


def use_known_relations(ws, config: GraphConfig) -> bool:
    if config.known_relations == "ignore" or not ws.has_table("relations"):
        return False
    if config.known_relations == "use":
        return True
    return ws.meta.origin != "world"


def known_pairs(ws, index: dict[str, int]) -> np.ndarray:
    rel = ws.relations()
    a = rel["head"].astype(str).map(index)
    b = rel["tail"].astype(str).map(index)
    ok = a.notna() & b.notna()
    a, b = a[ok].astype(np.int64).to_numpy(), b[ok].astype(np.int64).to_numpy()
    keep = a != b
    return np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], 1)[keep], axis=0)


def graph_nodes(n: int, mentioned: np.ndarray, known: np.ndarray, all_below: int = 5000,
                min_known_links: int = 3) -> np.ndarray:
    """Entities that take part: all of a small dictionary (cold-start entities link semantically),
    otherwise those mentioned in history plus those with at least `min_known_links` known relations."""
    if n <= all_below:
        return np.arange(n)
    keep = np.zeros(n, bool)
    keep[mentioned] = True
    if len(known):
        deg = np.bincount(known.ravel(), minlength=n)
        keep |= deg >= min_known_links
    return np.flatnonzero(keep)


def _stage1(mentions: pd.DataFrame, n: int, sem: np.ndarray, cfg: GraphConfig, seed: int,
            known: np.ndarray, gloss: np.ndarray) -> tuple[CandidateGraph, NodeInputs]:
    cc = cfg.cooccurrence
    counts = context_pairs(mentions, n, cc.window, cc.gap_minutes)
    U, V = skipgram(counts, dim=cc.dim, negatives=cc.negatives, lr=cc.lr, seed=seed, full_batch_steps=cc.steps,
                    steps=cc.steps * 10, full_batch_max=cc.full_batch_max)
    cand = candidate_graph(U, V, sem, counts, cfg.candidates.k_cooc, cfg.candidates.k_semantic,
                           cfg.candidates.min_count, known=known,
                           gloss=gloss if cfg.candidates.gloss else None)
    return cand, NodeInputs.build(U, V, sem, counts)


def alpc_params(cfg: GraphConfig, **over) -> ALPCParams:
    """The ALPC settings of `cfg` (its `alpc` section and seed), with `over` applied."""
    p = ALPCParams(**cfg.alpc.model_dump(), seed=cfg.seed)
    for k, v in over.items():
        if not hasattr(p, k):
            raise TypeError(f"ALPCParams has no field '{k}'")
        setattr(p, k, v)
    return p


def choose_test_pairs(cand: CandidateGraph, holdout: float, seed: int) -> np.ndarray:
    """`holdout` of the latest candidate edges plus as many sampled non-edges: scored by every model."""
    rng = np.random.default_rng(seed + 1)
    n_test = int(round(holdout * len(cand)))
    if n_test == 0:
        return np.zeros((0, 2), np.int64)
    pos = cand.edges[rng.choice(len(cand), n_test, replace=False)]
    neg = sample_non_edges(cand.n, n_test, set(cand.keys().tolist()), rng, pool=np.unique(cand.edges.ravel()))
    return np.concatenate([pos, neg]).astype(np.int64)


def sample_user_index(n_users: int, sample: int | None, seed: int) -> np.ndarray | None:
    """Sorted positions of a seeded random sample of `sample` of `n_users` users; None when every
    user takes part (no sample asked, or no more users than it)."""
    if sample is None or n_users <= sample:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_users, sample, replace=False))


def history_mentions(ub: UserBatches, windows: list[str], matcher: TextMatches, column: str,
                     context_minutes: float, users: np.ndarray | None = None) -> Mentions:
    """Mentions in the history events of the users at `users` (positions in `ub.users`; None: all),
    extracted batch by batch, so only the mentions are ever held together, not the events."""
    frames, stats = [], dict.fromkeys(("events", "events_with_mentions", "mentions", "ambiguous_mentions",
                                       "ambiguous_resolved"), 0)
    offset = 0
    batches = range(len(ub)) if users is None else np.unique(users // ub.batch_users)
    for b in batches:
        ev = ub.read(int(b), columns=["ts", column], windows=windows)
        if users is not None:
            ev = ev[np.isin(ev["user_id"].cat.codes.to_numpy(), users)].reset_index(drop=True)
        if ev.empty:
            continue
        m = extract_events(matcher, ev, column, context_minutes)
        # event ids must stay distinct across batches: session pairs tell events apart by them
        frames.append(m.frame.assign(event=m.frame["event"].to_numpy() + offset))
        offset += len(ev)
        for k in stats:
            stats[k] += m.stats[k]
    if not frames:
        return Mentions(pd.DataFrame({"user": pd.Categorical([], categories=ub.users), "ts": pd.to_datetime([]),
                                      "entity": np.zeros(0, np.int32), "event": np.zeros(0, np.int64)}), stats)
    # batches hold whole users in profile order, so the concatenation keeps the (user, ts, event) order
    frame = pd.concat(frames, ignore_index=True)
    stats = {"distinct_texts": len(matcher), "texts_with_mentions": matcher.texts_with_mentions, **stats,
             "entities_seen": int(frame["entity"].nunique())}
    return Mentions(frame, stats)


@dataclass
class PreferenceState:
    """What every batch of the preference pass shares. Plain data, so that a Ray `map_batches`
    worker could be handed it as well as a local loop."""

    matcher: TextMatches
    column: str
    context_minutes: float
    snapshot: Snapshot  # the latest one: a preference reflects the user's recent history
    n_entities: int
    remap: np.ndarray | None = None  # dictionary id -> graph id (-1: not in the graph); None: the same ids


def batch_user_entities(events: pd.DataFrame, users: pd.Index, state: PreferenceState
                        ) -> tuple[pd.Index, sparse.csr_matrix, np.ndarray]:
    """One batch of whole users -> (ids of its users who mention an entity in the latest snapshot,
    in `users`' order; their users × entities mention counts; mentions per entity).

    `events` must hold every history event of the users in `users` (ambiguous mentions are resolved
    by the same user's other mentions); its `user_id` may be categorical over any users or plain."""
    uid = events["user_id"]
    # recoded over this batch's users only: the rows then follow `users`, whatever the input's categories
    uid = uid.cat.set_categories(users) if isinstance(uid.dtype, pd.CategoricalDtype) \
        else pd.Categorical(uid.astype(str), categories=users)
    frame = extract_events(state.matcher, events.assign(user_id=uid), state.column, state.context_minutes).frame
    if state.remap is not None:
        ent = state.remap[frame["entity"].to_numpy()]
        # a sample of users may leave an entity other users name out of the graph: nothing to prefer there
        frame = frame.assign(entity=ent)[ent >= 0]
    latest = in_snapshot(frame, state.snapshot)
    ids, incidence = user_entities(latest, state.n_entities)
    return ids, incidence, np.bincount(latest["entity"].to_numpy(), minlength=state.n_entities)


def user_incidence(ub: UserBatches, windows: list[str], state: PreferenceState,
                   progress: Progress | None = None, engine=None,
                   block_users: int = 50_000) -> tuple[pd.Index, list[sparse.csr_matrix], np.ndarray]:
    """`batch_user_entities` over every batch, on `engine` (core.engine: this process by default, or
    Ray): (ids of the users with mentions, in profile order; their incidence in blocks of
    `block_users` rows; mentions per entity)."""
    from targetbot.core.engine import collect

    def one(b: int) -> dict[str, np.ndarray]:
        ids, inc, _ = batch_user_entities(ub.read(b, columns=["ts", state.column], windows=windows),
                                          ub.users_of(b), state)
        coo = inc.tocoo()
        return {"user": ub.users.get_indexer(ids)[coo.row].astype(np.int64), "entity": coo.col.astype(np.int32),
                "count": coo.data.astype(np.float32)}

    nz = collect(engine, one, len(ub), lambda k: _say(progress, f"graph: user entities, batch {k}/{len(ub)}"))
    users, rank = np.unique(nz["user"], return_inverse=True)  # positions: profile order
    incidence = sparse.csr_matrix((nz["count"], (rank, nz["entity"])), shape=(len(users), state.n_entities))
    counts = np.bincount(nz["entity"], weights=nz["count"], minlength=state.n_entities).astype(np.int64)
    blocks = [incidence[i:i + block_users] for i in range(0, max(len(users), 1), block_users)]
    return pd.Index(ub.users[users].astype(str)), blocks, counts


def write_preferences(path, blocks: list[sparse.csr_matrix], pref: np.ndarray) -> None:
    """preferences.npy, r_u per row of the incidence blocks, written block by block into a memory
    map so that only one block's vectors are ever in memory."""
    rows = sum(b.shape[0] for b in blocks)
    if rows == 0:  # a memory map of nothing cannot be opened
        np.save(path, np.zeros((0, pref.shape[1]), np.float32))
        return
    r = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, pref.shape[1]))
    lo = 0
    for block in blocks:
        r[lo:lo + block.shape[0]] = mean_vectors(block, pref)
        lo += block.shape[0]
    r.flush()
    del r


def build_graph(ws, models: ModelSource, progress: Progress | None = None, force: bool = False,
                config: GraphConfig | None = None, batch_users: int | None = None, engine=None) -> dict:
    """Build (or reuse) the workspace's entity graph; returns what it did, stats and stage timings.
    `batch_users` sizes the user batches events are read in and `engine` (core.engine) runs the
    per-batch preference pass; neither changes the graph."""
    cfg = config or GraphConfig.for_workspace(ws.root)
    key = cfg.key()
    if not force and is_up_to_date(ws, cfg):
        man = json.loads((graph_dir(ws) / MANIFEST).read_text())
        st = man.get("stats", {})
        return {"stage": "graph", "status": "up to date", "skipped": True, "reason": "up to date", "key": key,
                "summary": f"entity graph up to date ({st.get('mined_relations', 0):,} relations, key {key})",
                "path": str(graph_dir(ws)), "stats": st, "timings_s": man.get("timings_s", {})}
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    with torch_threads(cfg.torch_threads):
        result = _build(ws, models, cfg, progress, timings, batch_users or DEFAULT_BATCH_USERS, engine)
    timings["total"] = time.perf_counter() - t_all
    result["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    st = result["stats"]
    result["summary"] = (f"entity graph: {st['graph_entities']:,} entities, {st['candidate_edges']:,} candidates -> "
                         f"{st['mined_relations']:,} mined relations over {st['snapshots']} snapshots "
                         f"in {timings['total']:.0f}s")
    man_path = graph_dir(ws) / MANIFEST
    man = json.loads(man_path.read_text())
    man["timings_s"] = result["timings_s"]
    from targetbot.core.atomic import write_json
    write_json(man_path, man)
    return result


def _build(ws, models: ModelSource, cfg: GraphConfig, progress: Progress | None, timings: dict,
           batch_users: int = DEFAULT_BATCH_USERS, engine=None) -> dict:
    settings = models.settings

    def timed(name):
        class T:
            def __enter__(self_):
                self_.t = time.perf_counter()

            def __exit__(self_, *a):
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - self_.t
        return T()

    # ---- dictionary and extraction --------------------------------------------------------
    with timed("extraction"):
        if not ws.has_table("entities"):
            raise TargetbotError(f"{ws.table_path('entities')} not found: the entity graph needs an entity "
                                 "dictionary (entity, type, aliases, description)")
        entities = ws.entities().reset_index(drop=True)
        if entities.empty:
            raise TargetbotError(f"{ws.table_path('entities')}: the entity dictionary is empty")
        n_dict = len(entities)
        dictionary = Dictionary.from_frame(entities)
        # shared by the mining and the preference pass: each distinct text is matched once
        matcher = TextMatches(dictionary)
        history = list(ws.meta.roles.history)
        ub = UserBatches.build(ws, batch_users=batch_users, progress=lambda m: _say(progress, f"graph: {m}"))
        sample = sample_user_index(len(ub.users), cfg.sample_users, cfg.seed)
        mined_users = len(ub.users) if sample is None else len(sample)
        _say(progress, f"graph: extracting {n_dict:,} entities from the history events of {mined_users:,} users")
        mentions = history_mentions(ub, history, matcher, cfg.extraction.column, cfg.extraction.context_minutes,
                                    users=sample)
        if len(mentions) == 0:
            raise TargetbotError("no dictionary entity is mentioned in the history events: check the entities "
                                 "table's names and aliases against the event text")
        index = {name: i for i, name in enumerate(entities["entity"].astype(str))}
        known = known_pairs(ws, index) if use_known_relations(ws, cfg) else np.zeros((0, 2), np.int64)
        extraction_stats = mentions.stats
        mentioned = np.unique(mentions.frame["entity"].to_numpy())
        rows = graph_nodes(n_dict, mentioned, known, cfg.nodes.all_below, cfg.nodes.min_known_links)
        frame = mentions.frame
        remap = None
        if len(rows) < n_dict:  # large dictionaries: work in the graph's own index space
            remap = np.full(n_dict, -1, np.int64)
            remap[rows] = np.arange(len(rows))
            entities = entities.iloc[rows].reset_index(drop=True)
            frame = frame.assign(entity=remap[frame["entity"].to_numpy()])
            kk = remap[known] if len(known) else known
            known = kk[(kk >= 0).all(axis=1)] if len(kk) else known
            dictionary = Dictionary.from_frame(entities)
        n = len(entities)
        snaps = snapshots(frame, cfg.snapshots.days, cfg.snapshots.count, cfg.snapshots.stride_days,
                          cfg.snapshots.min_share)
        gloss = gloss_links(dictionary, entities) if cfg.candidates.gloss else np.zeros((0, 2), np.int64)
        mentioned = np.unique(frame["entity"].to_numpy())

    # ---- semantic embeddings --------------------------------------------------------------
    with timed("semantic"):
        texts = entity_texts(entities)
        sem = embed_entities(texts, cache_dir(ws), models.text_encoder,
                             fingerprint=settings.text_encoder, progress=progress)

    # ---- Stage I + II per snapshot -----------------------------------------------------------
    stage1, per_snap = [], []
    for k, snap in enumerate(snaps):
        with timed("stage1_candidates"):
            _say(progress, f"graph: stage I candidates for snapshot {snap.name} ({snap.start.date()} .. {snap.end.date()})")
            m = in_snapshot(frame, snap)
            stage1.append(_stage1(m, n, sem, cfg, cfg.seed + k, known, gloss))
    del frame, m, mentions  # the mined mentions are done with; the preference pass reads batches anew
    test_pairs = choose_test_pairs(stage1[-1][0], cfg.alpc.holdout, cfg.seed)
    params = alpc_params(cfg)
    for k, (snap, (cand, inputs)) in enumerate(zip(snaps, stage1)):
        with timed("stage2_alpc"):
            _say(progress, f"graph: stage II ALPC on snapshot {snap.name} ({len(cand):,} candidate edges)")
            res = train_alpc(cand, inputs, params, test_pairs=test_pairs,
                             progress=lambda e, tot, s=snap.name: _say(progress, f"graph: ALPC {s} epoch {e}/{tot}"))
            per_snap.append(res)

    # ---- Stage III ensemble -------------------------------------------------------------------
    with timed("stage3_ensemble"):
        w = min(cfg.ensemble.window, len(snaps))
        _say(progress, f"graph: stage III ensemble over the last {w} snapshots")
        cand, inputs = stage1[-1]
        ens = train_ensemble([r.embeddings for r in per_snap[-w:]], cand, inputs, test_pairs, params,
                             dim=cfg.ensemble.dim, heads=cfg.ensemble.heads, epochs=cfg.ensemble.epochs,
                             lr=cfg.ensemble.lr,
                             progress=lambda e, tot: _say(progress, f"graph: ensemble epoch {e}/{tot}"))

    # ---- every user's entities ------------------------------------------------------------------
    with timed("preferences"):
        state = PreferenceState(matcher, cfg.extraction.column, cfg.extraction.context_minutes, snaps[-1], n, remap)
        user_ids, blocks, mention_counts = user_incidence(ub, history, state, progress, engine)

    # ---- preferences and storage --------------------------------------------------------------
    with timed("store"):
        _say(progress, "graph: user preferences and storage")
        # weighted by every user's mentions, not only the sample's: the space is for every user's r_u
        pref = preference_space(ens.embeddings, sem, mention_counts, cfg.preference.embedding)
        keep = ens.keep(cand.edges, ens.edge_logits)
        score = 1.0 / (1.0 + np.exp(-ens.edge_logits.astype(np.float64)))
        names = entities["entity"].astype(str).to_numpy()
        edges = pd.DataFrame({
            "head_id": cand.edges[:, 0], "tail_id": cand.edges[:, 1],
            "head": names[cand.edges[:, 0]], "tail": names[cand.edges[:, 1]],
            "score": score.round(6), "logit": ens.edge_logits.astype(np.float32),
            "kept_head": keep[:, 0], "kept_tail": keep[:, 1],
            "sources": ["+".join(v for b, v in SOURCE_NAMES.items() if s & b) for s in cand.sources],
            "cooc": cand.cooc, "semantic": cand.semantic, "count": cand.count,
            "gloss": cand.gloss if cand.gloss is not None else np.zeros(len(cand), bool),
        })
        deg = np.bincount(np.r_[cand.edges[keep[:, 0], 0], cand.edges[keep[:, 1], 1]], minlength=n)
        ent_out = pd.DataFrame({"id": np.arange(n), "entity": names, "type": entities["type"].astype(str),
                                "aliases": entities["aliases"] if "aliases" in entities.columns else [[]] * n,
                                "description": entities.get("description", pd.Series([""] * n)).fillna("").astype(str),
                                "mentions": mention_counts, "degree": deg})
        kept_dir = int(keep.sum())
        srcs = int(len(np.unique(cand.edges.ravel())))
        stats = {
            "dictionary_entities": n_dict, "graph_entities": n, "entities_mentioned": int(len(mentioned)),
            "extraction": extraction_stats, "snapshots": len(snaps),
            "candidate_edges": int(len(cand)), "gloss_links": int(len(gloss)), "known_relations": int(len(known)),
            "candidate_sources": {v: int(((cand.sources & b) > 0).sum()) for b, v in SOURCE_NAMES.items()},
            "mined_relations": kept_dir, "relations_per_source": round(kept_dir / max(srcs, 1), 3),
            "users": int(len(user_ids)), "mined_users": mined_users,
        }
        metrics = {"link_auc": {s.name: round(r.link_auc, 4) for s, r in zip(snaps, per_snap)},
                   "ensemble_link_auc": round(ens.link_auc, 4),
                   "snapshot_attention": [round(float(x), 4) for x in ens.snapshot_weight]}
        manifest = {
            "key": cfg.key(), "config": cfg.model_dump(mode="json"), "data": data_fingerprint(ws),
            "workspace": str(ws.root), "text_encoder": settings.text_encoder,
            "snapshots": [s.as_dict() for s in snaps], "ensemble_snapshots": [s.name for s in snaps[-w:]],
            "stats": stats, "metrics": metrics,
            "built_at": pd.Timestamp.now(tz="UTC").isoformat(),
        }
        target = graph_dir(ws)
        with atomic_path(target) as tmp:
            tmp.mkdir(parents=True)
            (tmp / "snapshots").mkdir()
            write_parquet(tmp / "entities.parquet", ent_out)
            write_parquet(tmp / "edges.parquet", edges)
            np.save(tmp / "embeddings.npy", ens.embeddings.astype(np.float32))
            np.save(tmp / "preference_embeddings.npy", pref.astype(np.float32))
            np.save(tmp / "thresholds.npy", ens.thresholds.astype(np.float32))
            np.save(tmp / "semantic.npy", sem.astype(np.float32))
            write_preferences(tmp / "preferences.npy", blocks, pref)
            sparse.save_npz(tmp / "user_entities.npz", sparse.vstack(blocks, format="csr").astype(np.float32))
            np.save(tmp / "test_pairs.npy", test_pairs)
            np.save(tmp / "test_logits.npy", ens.test_logits.astype(np.float32))
            write_parquet(tmp / "users.parquet", pd.DataFrame({"user_id": user_ids.astype(str)}))
            for snap, (c, inp), res in zip(snaps, stage1, per_snap):
                SnapshotArrays(name=snap.name, start=str(snap.start), end=str(snap.end), edges=c.edges,
                               sources=c.sources, cooc=c.cooc, semantic=c.semantic, count=c.count,
                               gloss=c.gloss if c.gloss is not None else np.zeros(len(c), bool),
                               embeddings=res.embeddings.astype(np.float32), thresholds=res.thresholds,
                               edge_logits=res.edge_logits, test_logits=res.test_logits,
                               link_auc=res.link_auc, U=inp.U, V=inp.V, counts=inp.counts,
                               ).save(tmp / "snapshots" / f"{snap.name}.npz")
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return {"stage": "graph", "status": "built", "skipped": False, "key": cfg.key(), "path": str(graph_dir(ws)),
            "stats": stats, "metrics": metrics}


# The quick profile saves time on snapshots only: ALPC trained for fewer epochs is badly under-trained
# on the 20k-user world (the epoch sweep is in docs/RESULTS.md).
QUICK = {"snapshots": {"count": 3}, "ensemble": {"window": 2}}
PROFILES = ("quick", "full")


def profile_config(ws, profile: str = "full") -> GraphConfig:
    """The workspace's graph config (WS/egl.yaml or the defaults) under a build profile: `full` as is,
    `quick` with fewer snapshots (QUICK)."""
    cfg = GraphConfig.for_workspace(ws.root)
    if profile == "quick":
        body = cfg.model_dump()
        for section, values in QUICK.items():
            body[section].update(values)
        cfg = GraphConfig.model_validate(body)
    return cfg


def built_config(ws) -> GraphConfig | None:
    """The config of the stored graph if it is current: built from the present data with the
    workspace's config under either profile. None when there is none or it is stale."""
    for profile in PROFILES:
        cfg = profile_config(ws, profile)
        if is_up_to_date(ws, cfg):
            return cfg
    return None


def ensure_graph(ws, models: ModelSource, progress: Progress | None = None) -> GraphConfig:
    """Readers' entry (graph suite, `graph` method): use the current stored graph whatever profile built
    it, else build one with `targetbot build`'s default profile (quick). Returns the config it was built with."""
    cfg = built_config(ws)
    if cfg is None:
        cfg = profile_config(ws, "quick")
        build_graph(ws, models, progress=progress, config=cfg)
    return cfg


def build_stage(ws, *, models: ModelSource, profile: str = "full", force: bool = False,
                progress: Progress | None = None, engine=None, batch_users: int | None = None, **_) -> dict:
    """`targetbot build`'s stage protocol: the `full` profile is the workspace's graph config
    (WS/egl.yaml or the defaults); `quick` trains fewer snapshots. `engine` runs the per-user
    preference pass (core.engine)."""
    return build_graph(ws, models, progress=progress, force=force, config=profile_config(ws, profile),
                       batch_users=batch_users, engine=engine)
