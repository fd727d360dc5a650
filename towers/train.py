"""The FIND training pipeline: pretrain the modality encoders, align user and text towers,
embed every user and index them. One function per phase; `build_towers` runs them in order.

Windows (workspace roles) keep training and evaluation apart:
* pretraining reads only history windows (self-supervised, no labels);
* alignment pairs a *training* user's `train_input` window with the description of their
  `train_target` window;
* user embeddings for targeting are computed from the latest history windows (`eval_input`,
  the last windows before the label window), never from a label window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import sparse
from tqdm.auto import tqdm

from targetbot.core.engine import LocalEngine
from targetbot.core.errors import TargetbotError
from targetbot.core.user_batches import UserBatches
from targetbot.core.workspace import Workspace
from targetbot.towers.config import TowerConfig
from targetbot.towers.content import event_texts
from targetbot.towers.describe import future_statements
from targetbot.towers.inputs import BagIdf, ProfileCodec, UserInputs, bag_idf, build_inputs, item_vocabulary
from targetbot.towers.losses import ForecastLoss, InfoNCELoss, ModalityReconstructionLoss
from targetbot.towers.tabular import TabularPretrainer
from targetbot.towers.text_tower import TextTower
from targetbot.towers.user_tower import MODALITIES, UserTower, make_batch


def eval_input_windows(ws: Workspace) -> list[str]:
    """The most recent history windows, as many as the training input spans."""
    n = len(ws.meta.roles.train_input)
    return list(ws.meta.roles.history[-n:])


@dataclass
class Prepared:
    users: pd.Index  # the training sample (every user when there are no more than cfg.sample_users)
    split: np.ndarray
    matrix: np.ndarray
    codec: ProfileCodec
    item_vocab: dict[str, int] | None
    train_inputs: UserInputs  # train_input windows, the sample
    eval_inputs: UserInputs  # eval_input windows, the sample
    descriptions: pd.DataFrame  # train users' train_target statements (user_id, family, text, weight)
    profiles: pd.DataFrame  # every user's profile, indexed by user_id (embedding reads it per batch)
    idf: BagIdf  # the sample's bag IDF over the eval_input windows, reused for every user embedded


def training_sample(split: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """Positions of the users the towers train on: everyone up to `size`, past it a seeded sample
    drawn from the train and eval halves in proportion, so training cost stays flat in users."""
    n = len(split)
    if size is None or n <= size:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    parts = []
    for half in ("train", "eval"):
        idx = np.flatnonzero(split == half)
        k = int(round(size * len(idx) / n))
        parts.append(rng.choice(idx, size=min(k, len(idx)), replace=False))
    return np.sort(np.concatenate(parts))


def model_windows(ws: Workspace) -> list[str]:
    """Every window a tower reads: history, the training input and target windows (never labels)."""
    roles = ws.meta.roles
    return sorted(set(roles.history) | set(roles.train_target) | set(roles.train_input))


def prepare(ws: Workspace, cfg: TowerConfig, store, batches: UserBatches, progress=None) -> Prepared:
    say = progress or (lambda m: None)
    profiles = ws.user_profiles().set_index("user_id")
    profiles.index = profiles.index.astype(str)
    split_all = ws.user_split(pd.Series(batches.users)).to_numpy()
    pick = training_sample(split_all, cfg.sample_users, cfg.seed)
    users, split = batches.users[pick], split_all[pick]
    events = batches.read_users(pick, windows=model_windows(ws))
    say(f"{len(events):,} history events of {len(users):,} training users"
        + (f" (a sample of {len(batches.users):,})" if len(users) < len(batches.users) else ""))
    rows = store.row_ids(events["text"])
    matrix = np.asarray(store.matrix(), dtype=np.float32)
    if cfg.standardize_content:
        # statistics of the event texts alone: the store also keeps the future statements a build
        # adds, and a build must not depend on whether an earlier (or killed) one stored them
        matrix = standardize(matrix, store.row_ids(event_texts(ws)))
    codec = ProfileCodec.fit(profiles, ws.profile_schema().columns)
    item_vocab = item_vocabulary(events) if cfg.behaviour.item_ids else None
    kw = dict(events=events, content_rows=rows, matrix=matrix, codec=codec, profiles=profiles,
              step_days=cfg.step_days, max_searches=cfg.max_searches, item_vocab=item_vocab)
    train_inputs = build_inputs(ws, users, list(ws.meta.roles.train_input), **kw)
    idf = bag_idf(users, eval_input_windows(ws), rows, events, matrix.shape[0])
    eval_inputs = build_inputs(ws, users, eval_input_windows(ws), idf=idf, **kw)
    target = events[events["window"].astype(str).isin(ws.meta.roles.train_target)]
    train_users = set(users[split == "train"])
    target = target[target["user_id"].astype(str).isin(train_users)]
    descriptions = future_statements(target, seed=cfg.seed)
    say(f"{descriptions['user_id'].nunique():,} training users with future descriptions")
    return Prepared(users, split, matrix, codec, item_vocab, train_inputs, eval_inputs, descriptions, profiles, idf)


def standardize(matrix: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Centre the content vectors and scale them to unit spread per dimension on average.

    Sentence-encoder vectors share a large common component (every behaviour text is a short
    English sentence about a purchase or an app), so raw, unit-norm vectors of very different
    events sit close together, and a freshly initialised user tower maps every user to nearly
    the same point (mean pairwise cosine close to 1). Removing the mean
    and rescaling gives the encoders inputs whose differences are as large as their values.
    `rows`: the rows the statistics come from (default: all).
    """
    ref = matrix if rows is None else matrix[np.unique(rows)]
    mu = ref.mean(0, keepdims=True)
    spread = float(ref.std(0).mean()) or 1.0
    return ((matrix - mu) / spread).astype(np.float32)


def _batches(n: int, size: int, rng: np.random.Generator | None = None):
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for i in range(0, n, size):
        yield order[i:i + size]


def pretrain_behaviour(tower: UserTower, p: Prepared, cfg: TowerConfig, rng, log: dict) -> None:
    """CPC + cyclic KL over every user's history sequences (both input windows)."""
    enc = tower.behaviour
    opt = torch.optim.AdamW(enc.parameters(), lr=1e-3, weight_decay=1e-4)
    sources = [p.train_inputs, p.eval_inputs]
    enc.train()
    for epoch in range(cfg.behaviour.epochs):
        total, steps = 0.0, 0
        for src in sources:
            has = np.flatnonzero(src.step_mask.sum(1) >= 2)
            if cfg.behaviour.max_users and len(has) > cfg.behaviour.max_users:
                has = rng.choice(has, cfg.behaviour.max_users, replace=False)
            for idx in tqdm(list(_batches(len(has), 512, rng)), desc=f"behaviour CPC epoch {epoch + 1}", leave=False):
                b = make_batch(src, has[idx], p.matrix, steps_only=True)
                out = enc.pretrain_loss(b["steps"], b["counts"], b["step_mask"], cfg.behaviour.period,
                                        cfg.behaviour.kl_weight, b.get("items"))
                opt.zero_grad()
                out["loss"].backward()
                opt.step()
                total += float(out["loss"].detach())
                steps += 1
        log.setdefault("behaviour_loss", []).append(round(total / max(steps, 1), 4))


def pretrain_tabular(tower: UserTower, p: Prepared, cfg: TowerConfig, rng, log: dict) -> None:
    """Masked-feature prediction + replaced-token detection over every user's profile."""
    pre = TabularPretrainer(tower.tabular, cfg.tabular.mask_rate)
    opt = torch.optim.AdamW(pre.parameters(), lr=1e-3, weight_decay=1e-4)
    cat, num = torch.from_numpy(p.train_inputs.cat), torch.from_numpy(p.train_inputs.num)
    pre.train()
    for epoch in range(cfg.tabular.epochs):
        total, steps = 0.0, 0
        for idx in tqdm(list(_batches(len(cat), 1024, rng)), desc=f"tabular MFP+RTD epoch {epoch + 1}", leave=False):
            out = pre(cat[idx], num[idx])
            opt.zero_grad()
            out["loss"].backward()
            opt.step()
            total += float(out["loss"].detach())
            steps += 1
        log.setdefault("tabular_loss", []).append(round(total / max(steps, 1), 4))


class StatementSampler:
    """Draws one of a user's future statements, in proportion to its weight (count x IDF)."""

    def __init__(self, statements: pd.DataFrame):
        st = statements.sort_values("user_id", kind="stable").reset_index(drop=True)
        self.texts = st["text"].to_numpy()
        self.weights = st["weight"].to_numpy(dtype=np.float64)
        users = st["user_id"].to_numpy()
        starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
        self.span = {u: (a, b) for u, a, b in zip(users[starts], starts, np.r_[starts[1:], len(users)])}

    def users(self) -> list[str]:
        return list(self.span)

    @property
    def texts_unique(self) -> list[str]:
        return list(dict.fromkeys(self.texts.tolist()))

    def sample(self, users: np.ndarray, k: int, rng) -> list[str]:
        out = []
        for u in users:
            a, b = self.span[u]
            w = self.weights[a:b]
            pick = rng.choice(b - a, size=min(k, b - a), replace=False, p=w / w.sum())
            out.append(" ".join(self.texts[a + i] for i in sorted(pick)))
        return out


def align(tower: UserTower, text: TextTower, p: Prepared, cfg: TowerConfig, rng, log: dict,
          statement_vectors=None, progress=None) -> None:
    """Symmetric InfoNCE between the fused user embedding (train_input window) and statements
    about the user's next window (FIND families), with a negative queue and per-modality terms,
    plus (phase 1, `forecast_weight`) a multi-label BCE of the user against every statement of
    the vocabulary: which of them will describe the user's next window.

    Phase 1 (`epochs`): the text tower's LoRA adapters are still at their zero init, so its
    output for a statement equals the projection of the statement's frozen MiniLM vector; those
    vectors come from the representation center, so thousands of pairs per second train the
    user tower and the projection. Phase 2 (`lora_steps`): the LoRA adapters are trained too,
    running the text encoder live on each batch of statements.
    """
    a = cfg.align
    sampler = StatementSampler(p.descriptions)
    train_idx = np.flatnonzero(np.isin(p.users.to_numpy(), sampler.users()))
    if len(train_idx) < 8:
        raise TargetbotError(f"only {len(train_idx)} training users have behaviour in the target window; "
                             "alignment needs more data")
    main = InfoNCELoss(cfg.dim, a.queue_size)
    per_mod = torch.nn.ModuleDict({m: InfoNCELoss(cfg.dim, a.queue_size) for m in MODALITIES})
    vocab = sampler.texts_unique
    forecast = ForecastLoss(len(vocab))
    d = p.descriptions
    targets = sparse.csr_matrix(
        (np.ones(len(d), dtype=np.float32), (p.users.get_indexer(d["user_id"].astype(str)), pd.Index(vocab).get_indexer(d["text"]))),
        shape=(len(p.users), len(vocab)))
    targets.sum_duplicates()
    targets.data[:] = 1.0
    # built only when used: its initialisation draws from torch's RNG, so recon_weight=0 trains as before it existed
    recon = ModalityReconstructionLoss(cfg.dim, cfg.dim * len(MODALITIES)) if a.recon_weight > 0 else None
    user_params = (list(tower.parameters()) + list(main.parameters()) + list(per_mod.parameters())
                   + list(forecast.parameters()) + (list(recon.parameters()) if recon is not None else []))
    head_params = list(text.proj.parameters())
    lora_params = [q for n, q in text.named_parameters() if q.requires_grad and "lora_" in n]
    users_arr = p.users.to_numpy()
    tower.train(), main.train(), per_mod.train(), text.train()

    def step(opt, sched, uidx, t_fn, vocab_fn=None):
        b = make_batch(p.train_inputs, uidx, p.matrix)
        drop = torch.from_numpy(rng.random(len(uidx)) < 0.1)  # modality dropout: cope with missing searches
        b["search_mask"] = b["search_mask"] & ~drop[:, None]
        fused, mods = tower(b)
        t = t_fn(users_arr[uidx])
        loss = main(fused, t)
        if a.modality_weight > 0:
            loss = loss + a.modality_weight * torch.stack([per_mod[m](mods[m], t.detach()) for m in MODALITIES]).mean()
        if recon is not None:
            loss = loss + a.recon_weight * recon(fused, torch.cat([mods[m] for m in MODALITIES], -1))
        if vocab_fn is not None and a.forecast_weight > 0:
            y = torch.from_numpy(targets[uidx].toarray())
            loss = loss + a.forecast_weight * forecast(fused, vocab_fn(), y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([q for g in opt.param_groups for q in g["params"]], 5.0)
        opt.step()
        sched.step()
        return float(loss.detach())

    # phase 1: frozen encoder, statement vectors from the representation center
    vecs = torch.from_numpy(np.asarray(statement_vectors, dtype=np.float32))
    row_of = {t: i for i, t in enumerate(vocab)}

    def frozen_text(users):
        idx = [row_of[t] for t in sampler.sample(users, 1, rng)]
        return text.proj(vecs[idx])

    opt = torch.optim.AdamW([{"params": user_params + head_params, "lr": a.lr}], weight_decay=1e-4)
    n_steps = max(1, a.epochs * int(np.ceil(len(train_idx) / a.batch_size)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=n_steps, pct_start=0.1)
    for epoch in range(a.epochs):
        losses = [step(opt, sched, train_idx[idx], frozen_text, lambda: text.proj(vecs))
                  for idx in tqdm(list(_batches(len(train_idx), a.batch_size, rng)), desc=f"align {epoch + 1}/{a.epochs}",
                                  leave=False) if len(idx) > 1]
        log.setdefault("align_loss", []).append(round(float(np.mean(losses)), 4))
        if progress:
            progress(f"align epoch {epoch + 1}/{a.epochs}: loss {log['align_loss'][-1]}, temperature {main.temperature:.3f}")

    # phase 2: LoRA adapters learn too, text encoder run live on the statements
    if a.lora_steps > 0 and lora_params:
        bs = a.lora_batch_size
        opt = torch.optim.AdamW([{"params": user_params + head_params, "lr": a.lr * 0.1},
                                 {"params": lora_params, "lr": a.text_lr}], weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[a.lr * 0.1, a.text_lr], total_steps=a.lora_steps,
                                                    pct_start=0.1)
        losses = []
        for i in tqdm(range(a.lora_steps), desc="align LoRA", leave=False):
            idx = rng.choice(train_idx, size=min(bs, len(train_idx)), replace=False)
            losses.append(step(opt, sched, idx, lambda users: text(sampler.sample(users, 1, rng))))
        log["lora_loss"] = round(float(np.mean(losses[-max(1, len(losses) // 4):])), 4)
    log["temperature"] = round(main.temperature, 4)


@torch.no_grad()
def embed_users(tower: UserTower, inputs: UserInputs, matrix: np.ndarray, batch_size: int = 1024,
                progress: bool = True) -> dict[str, np.ndarray]:
    """Fused and per-modality embeddings for every user (fused L2-normalised)."""
    tower.eval()
    out: dict[str, list[np.ndarray]] = {"fused": [], **{m: [] for m in MODALITIES}}
    for idx in tqdm(list(_batches(len(inputs), batch_size)), desc="embedding users", disable=not progress, leave=False):
        b = make_batch(inputs, idx, matrix)
        fused, _ = tower(b)
        parts = tower.modality_embeddings(b)
        out["fused"].append(F.normalize(fused, dim=-1).numpy())
        for m in MODALITIES:
            out[m].append(parts[m].numpy())
    res = {k: np.concatenate(v).astype(np.float32) for k, v in out.items()}
    res["concat"] = np.concatenate([res[m] for m in MODALITIES], axis=1)
    return res


def embed_batches(tower: UserTower, p: Prepared, ws: Workspace, cfg: TowerConfig, store, batches: UserBatches,
                  out_dir, progress=None, engine=None) -> None:
    """Embed every user, one batch of users at a time (on `engine`: this process by default, or
    Ray), into `out_dir/<kind>.npy`, memory-mapped and written in place: peak memory is one batch,
    whatever the number of users."""
    out_dir = Path(out_dir)
    windows = eval_input_windows(ws)
    matrix, codec, profiles, item_vocab, idf = p.matrix, p.codec, p.profiles, p.item_vocab, p.idf
    single = len(batches) == 1

    def embed_batch(b: int) -> dict[str, np.ndarray]:
        ev = batches.read(b, windows=windows)
        inputs = build_inputs(ws, batches.users_of(b), windows, store.row_ids(ev["text"]), ev, matrix, codec,
                              profiles, cfg.step_days, cfg.max_searches, item_vocab, idf=idf)
        lo, hi = batches.bounds(b)
        return {"row": np.arange(lo, hi), **embed_users(tower, inputs, matrix, progress=single)}

    files: dict[str, np.ndarray] = {}
    done = 0
    for cols in (engine or LocalEngine()).map_batches(embed_batch, range(len(batches))):
        rows = cols.pop("row")
        for k, v in cols.items():
            if k not in files:
                files[k] = np.lib.format.open_memmap(out_dir / f"{k}.npy", mode="w+", dtype=np.float32,
                                                     shape=(len(batches.users), v.shape[1]))
            files[k][rows] = v
        done += len(rows)
        if progress and not single:
            progress(f"embedded {done:,} of {len(batches.users):,} users")
    for m in files.values():
        m.flush()
