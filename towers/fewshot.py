"""Few-shot targeting from a handful of seed users, saved by name for `find --prompt NAME`.

Two ways, following the two zero-shot scorers (towers/find.py):

* `forecast` (default of `targetbot tune`): the zero-shot forecaster of the demand's matching
  future behaviour, refitted with the seed users' latest history added as weighted examples
  (`tune_forecast`). Nothing is trained beyond the per-demand logistic model, so the saved record
  is the demand and the seed ids. Eval method `forecast-fewshot`; it is the default because it
  builds on the stronger zero-shot scorer (its figures against zero-shot `find` and `umlp`:
  docs/RESULTS.md).
* `tower`: CoOp-style prompt tuning (FIND Sec. 3.4, `tune_prompt`, eval method `find-fewshot`).

CoOp prompt tuning: learnable context vectors are inserted into the text tower's input before
the demand's template sentences; only they are trained, with the triplet loss of FIND Eq. 14
between the resulting demand embedding and the (frozen) embeddings of positive and negative seed
users. Prompt tuning over-fits quickly with few shots, so a share of the seeds is held out and
training stops when their triplet loss stops improving; the best context is kept. Tuned context
vectors are saved by name in the tower bundle (they belong to its text tower); forecast records
in the workspace (`Bundle.seed_records_dir`), where a tower rebuild leaves them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import torch

from targetbot.core.atomic import atomic_path, write_json
from targetbot.core.errors import TargetbotError
from targetbot.towers.bundle import Bundle
from targetbot.towers.templates import future_sentence
from targetbot.towers.losses import prompt_triplet_loss
from targetbot.towers.text_tower import PromptLearner

CONTEXT_INIT = "the user is likely to"


@dataclass
class TuneConfig:
    n_ctx: int = 4
    steps: int = 60
    lr: float = 0.02
    margin: float = 0.2
    holdout: float = 0.3  # share of seeds (each class) held out for early stopping
    patience: int = 10
    seed: int = 0


def tuning_sentences(demand: str) -> list[str]:
    return [demand.strip(), future_sentence(demand)]


def _seed_rows(bundle: Bundle, ids: list[str], what: str) -> np.ndarray:
    ids = [str(i).strip() for i in ids if str(i).strip()]
    if not ids:
        raise TargetbotError(f"no {what} seed users given")
    rows = bundle.users.get_indexer(ids)
    unknown = [i for i, r in zip(ids, rows) if r < 0]
    if unknown:
        raise TargetbotError(f"{len(unknown)} {what} seed user(s) not in this workspace, e.g. '{unknown[0]}'")
    return rows


def tune_prompt(bundle: Bundle, demand: str, positives: list[str], negatives: list[str],
                cfg: TuneConfig | None = None) -> tuple[PromptLearner, dict]:
    cfg = cfg or TuneConfig()
    pos_rows, neg_rows = seed_rows(bundle, positives, negatives)
    emb = torch.from_numpy(np.array(bundle.embeddings("fused"), dtype=np.float32))
    text = bundle.text_tower()
    for p in text.parameters():
        p.requires_grad_(False)
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)

    def split(rows):
        rows = rng.permutation(rows)
        k = int(round(len(rows) * cfg.holdout)) if len(rows) >= 3 else 0
        return rows[k:], rows[:k]

    p_fit, p_val = split(pos_rows)
    n_fit, n_val = split(neg_rows)
    tok = text.tokenizer(CONTEXT_INIT, add_special_tokens=False, return_tensors="pt")["input_ids"][0][: cfg.n_ctx]
    init = text.encoder.get_input_embeddings()(tok).detach()
    if len(init) < cfg.n_ctx:
        init = torch.cat([init, torch.randn(cfg.n_ctx - len(init), init.shape[1]) * 0.02])
    prompt = PromptLearner(cfg.n_ctx, text.width, init)
    opt = torch.optim.Adam(prompt.parameters(), lr=cfg.lr)
    sentences = tuning_sentences(demand)

    def demand_vec():
        return torch.nn.functional.normalize(text(sentences, prompt).mean(0), dim=-1)

    def val_loss():
        with torch.no_grad():
            if len(p_val) and len(n_val):
                return float(prompt_triplet_loss(demand_vec(), emb[p_val], emb[n_val], cfg.margin))
            return float(prompt_triplet_loss(demand_vec(), emb[p_fit], emb[n_fit], cfg.margin))

    text.eval()
    t0 = time.perf_counter()
    best, best_state, bad, history = val_loss(), prompt.ctx.detach().clone(), 0, []
    for step in range(cfg.steps):
        loss = prompt_triplet_loss(demand_vec(), emb[p_fit], emb[n_fit], cfg.margin)
        opt.zero_grad()
        loss.backward()
        opt.step()
        v = val_loss()
        history.append((round(float(loss), 4), round(v, 4)))
        if v < best - 1e-4:
            best, best_state, bad = v, prompt.ctx.detach().clone(), 0
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    with torch.no_grad():
        prompt.ctx.copy_(best_state)
    info = {"demand": demand, "positives": [str(x) for x in positives], "negatives": [str(x) for x in negatives],
            "steps_run": len(history), "best_val_loss": round(best, 4), "seconds": round(time.perf_counter() - t0, 2),
            "config": cfg.__dict__, "sentences": sentences}
    return prompt, info


def seed_rows(bundle: Bundle, positives: list[str], negatives: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Bundle rows of the seed users; a clear error for unknown or doubly listed ids."""
    pos_rows = _seed_rows(bundle, positives, "positive")
    neg_rows = _seed_rows(bundle, negatives, "negative")
    if set(pos_rows) & set(neg_rows):
        raise TargetbotError("a seed user is listed as both positive and negative")
    return pos_rows, neg_rows


def tune_forecast(zs, demand: str, positives: list[str], negatives: list[str]) -> dict | None:
    """Few-shot on the forecast scorer: the record to save (demand, seed ids, what the demand
    matched), after checking the seeds and that the demand has pseudo-positives. Nothing is fitted
    here: the forecaster is fitted, with the seeds, whenever the record is used. None when nothing
    in the training users' future matches the demand (use the towers then)."""
    from targetbot.towers.find import Query

    t0 = time.perf_counter()
    seed_rows(zs.bundle, positives, negatives)
    f = zs.forecaster()
    labels = f.pseudo_labels(Query.from_demand(demand).sentences)
    if labels is None:
        return None
    cols, _, y = labels
    return {"scorer": "forecast", "demand": demand, "positives": [str(x) for x in positives],
            "negatives": [str(x) for x in negatives], "pseudo_positives": int(y.sum()),
            "matched_behaviour": [f.data.future_texts[c] for c in cols[:5]], "seconds": round(time.perf_counter() - t0, 2)}


def save_prompt(bundle: Bundle, name: str, prompt: PromptLearner | None, info: dict) -> None:
    """Save a few-shot record by name: the info (demand, seeds, scorer) and, for the tower scorer,
    the tuned context vectors."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise TargetbotError(f"prompt name '{name}' must be letters, digits, '-' or '_'")
    d = bundle.prompts_dir if prompt is not None else bundle.seed_records_dir
    d.mkdir(parents=True, exist_ok=True)
    if prompt is not None:
        with atomic_path(d / f"{name}.pt") as tmp:
            torch.save({"ctx": prompt.ctx.detach()}, tmp)
    other = (bundle.seed_records_dir if prompt is not None else bundle.prompts_dir) / f"{name}.json"
    write_json(d / f"{name}.json", {"name": name, "scorer": "tower" if prompt is not None else "forecast", **info})
    other.unlink(missing_ok=True)  # one record per name: the newest


def load_prompt(bundle: Bundle, name: str) -> tuple[PromptLearner | None, dict]:
    """(context vectors, or None for a forecast record; the record's info)."""
    dirs = (bundle.prompts_dir, bundle.seed_records_dir)
    meta = next((d / f"{name}.json" for d in dirs if (d / f"{name}.json").exists()), None)
    if meta is None:
        known = sorted({p.stem for d in dirs if d.exists() for p in d.glob("*.json")})
        raise TargetbotError(f"no tuned prompt '{name}' (prompts: {', '.join(known) or 'none yet; create one with targetbot tune'})")
    info = json.loads(meta.read_text())
    if info.get("scorer") == "forecast":
        return None, info
    ctx = torch.load(bundle.prompts_dir / f"{name}.pt", weights_only=True)["ctx"]
    return PromptLearner(ctx.shape[0], ctx.shape[1], ctx), info
