"""Two-stage LoRA SFT of the bundled Qwen: stage 1 on domain-knowledge dialogues, stage 2 on
request -> plan pairs; the loss covers assistant tokens only.

CPU recipe (`TrainConfig.cpu()`): rank-8 LoRA on the top 8 decoder layers only, so backward
stops there; short sequences (the plan is compact JSON); logits computed only where the loss
needs them. GPU recipe (`TrainConfig.gpu()`): all layers, rank 16, bf16, far more data.

`build_rewriter(ws, settings)` is the build stage: synthesize from the workspace catalog, train,
and write WS/artifacts/rewrite/adapter/ atomically; it is skipped when an adapter for the same
config, catalog and base model exists. `targetbot rewrite train -w WS --out DIR` produces the
versioned adapter in rewrite/adapters/default/ the same way.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from pathlib import Path
from typing import Callable

from targetbot.rewrite.catalog import Catalog
from targetbot.rewrite.config import BUNDLED_ADAPTER_DIR, TrainConfig, read_prompt
from targetbot.rewrite.messages import sanitize_request, user_turn
from targetbot.rewrite.synth_knowledge import knowledge_dialogues
from targetbot.rewrite.synth_requests import request_pairs
from targetbot.core.atomic import atomic_path, write_json
from targetbot.core.config import Settings
from targetbot.core.errors import TargetbotError

Progress = Callable[[str], None]
META_FILE = "rewriter.json"


def _say(progress: Progress | None, msg: str) -> None:
    if progress is not None:
        progress(msg)


# ---- data ------------------------------------------------------------------------------------
def plan_messages(example: dict, system: str) -> list[dict]:
    return [{"role": "system", "content": system},
            {"role": "user", "content": user_turn(example["request"], example.get("matches", ()),
                                                  example.get("negated", ()))},
            {"role": "assistant", "content": example["plan"]}]


def attach_matches(examples: list[dict], index, rate: float, seed: int) -> None:
    """Give a `rate` share of the examples the catalog matches retrieval finds for their request,
    exactly as a grounded rewrite shows them (rewrite.client.Rewriter), so the model learns to pick
    among them, to keep words when none fits, and to read exclusions off the negated clauses."""
    rng = random.Random(seed)
    for x in examples:
        if rng.random() < rate:
            r = index.retrieve(sanitize_request(x["request"]))
            x["matches"], x["negated"] = r.names(), [c.name for c in r.excluded]


def encode_dialogue(tokenizer, messages: list[dict], max_len: int) -> tuple[list[int], list[int]] | None:
    """(input_ids, labels) with labels = -100 everywhere but assistant contents and their end marker."""
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    spans, pos = [], 0
    for m in messages:
        if m["role"] != "assistant":
            continue
        start = text.index(m["content"], pos)
        end = start + len(m["content"])
        spans.append((start, end))
        pos = end
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    end_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    labels = [-100] * len(ids)
    for i, (a, b) in enumerate(offsets):
        for s, e in spans:
            if a >= s and b <= e and b > a:
                labels[i] = ids[i]
            elif a == e and ids[i] == end_id:  # learn to stop right after the answer
                labels[i] = ids[i]
    if len(ids) > max_len:
        return None
    return ids, labels


# ---- training ----------------------------------------------------------------------------------
def _lora_model(model, cfg: TrainConfig):
    from peft import LoraConfig, get_peft_model

    n_layers = model.config.num_hidden_layers
    layers = None if cfg.lora.top_layers is None else list(range(max(0, n_layers - cfg.lora.top_layers), n_layers))
    lc = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                    target_modules=list(cfg.lora.target_modules), layers_to_transform=layers, task_type="CAUSAL_LM")
    return get_peft_model(model, lc)


def _loss(peft_model, batch_ids, batch_labels):
    """Cross-entropy on assistant tokens, with the LM head applied only at those positions."""
    import torch

    base = peft_model.get_base_model()
    pad = 0
    L = max(len(x) for x in batch_ids)
    ids = torch.full((len(batch_ids), L), pad, dtype=torch.long)
    lab = torch.full((len(batch_ids), L), -100, dtype=torch.long)
    att = torch.zeros((len(batch_ids), L), dtype=torch.long)
    for i, (x, y) in enumerate(zip(batch_ids, batch_labels)):
        ids[i, :len(x)] = torch.tensor(x)
        lab[i, :len(y)] = torch.tensor(y)
        att[i, :len(x)] = 1
    hidden = base.model(input_ids=ids, attention_mask=att).last_hidden_state  # (B, L, d)
    target = lab[:, 1:]
    keep = target != -100
    h = hidden[:, :-1][keep]
    logits = base.lm_head(h).float()
    return torch.nn.functional.cross_entropy(logits, target[keep]), int(keep.sum())


def train_stage(peft_model, examples: list[tuple[list[int], list[int]]], recipe, seed: int, name: str,
                progress: Progress | None = None) -> dict:
    import torch

    rng = random.Random(seed)
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, recipe.warmup)) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / recipe.steps))))
    order: list[int] = []
    peft_model.train()
    losses, tokens = [], 0
    t0 = time.perf_counter()
    from tqdm import tqdm

    bar = tqdm(range(recipe.steps), desc=f"rewriter SFT {name}", unit="step", disable=progress is None and not os.isatty(2))
    for step in bar:
        batch = []
        for _ in range(recipe.batch_size):
            if not order:
                order = list(range(len(examples)))
                rng.shuffle(order)
            batch.append(examples[order.pop()])
        loss, n = _loss(peft_model, [b[0] for b in batch], [b[1] for b in batch])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        tokens += n
        bar.set_postfix(loss=f"{sum(losses[-10:]) / len(losses[-10:]):.3f}")
        if progress and (step % 10 == 0 or step == recipe.steps - 1):
            _say(progress, f"{name}: step {step + 1}/{recipe.steps} loss {sum(losses[-10:]) / len(losses[-10:]):.3f}")
    peft_model.eval()
    seconds = time.perf_counter() - t0
    return {"stage": name, "steps": recipe.steps, "batch_size": recipe.batch_size, "examples": len(examples),
            "target_tokens": tokens, "seconds": round(seconds, 1), "seconds_per_step": round(seconds / recipe.steps, 2),
            "loss_first10": round(sum(losses[:10]) / max(1, len(losses[:10])), 4),
            "loss_last10": round(sum(losses[-10:]) / max(1, len(losses[-10:])), 4)}


def synthesize(catalog: Catalog, cfg: TrainConfig, index=None) -> dict:
    stage1 = knowledge_dialogues(catalog, cfg.synth)
    stage2, heldout = request_pairs(catalog, cfg.synth)
    if index is not None and cfg.synth.candidates_rate:
        attach_matches(stage2, index, cfg.synth.candidates_rate, cfg.synth.seed * 31 + 5)
    return {"stage1": stage1, "stage2": stage2, "heldout": heldout}


def train_rewriter(catalog: Catalog, out_dir: str | Path, settings: Settings, cfg: TrainConfig | None = None,
                   progress: Progress | None = None,
                   model_and_tokenizer=None, index=None) -> dict:
    """Synthesize, run both SFT stages, and write the adapter folder atomically. Returns the report.

    `index` (rewrite.retrieval.EntityIndex of the catalog) shows the training requests their
    retrieved matches, as grounded rewriting does; without it the model learns from requests alone.
    `model_and_tokenizer` replaces the configured LLM (tests use a tiny random-weight Qwen2).
    """
    import torch

    from targetbot.rewrite.llm import load_llm

    cfg = cfg or TrainConfig.cpu()
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    t_all = time.perf_counter()
    _say(progress, "synthesizing dialogues (stage 1) and request -> plan pairs (stage 2)")
    data = synthesize(catalog, cfg, index)
    model, tok = model_and_tokenizer or load_llm(settings, progress=progress, dtype=cfg.dtype)
    system = read_prompt(cfg.system_prompt_file)
    s1 = [e for e in (encode_dialogue(tok, d["messages"], cfg.stage1.max_len) for d in data["stage1"]) if e]
    s2 = [e for e in (encode_dialogue(tok, plan_messages(x, system), cfg.stage2.max_len) for x in data["stage2"]) if e]
    if not s1 or not s2:
        raise TargetbotError("rewriter synthesis produced no training examples that fit max_len")
    peft_model = _lora_model(model, cfg)
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    _say(progress, f"LoRA: {trainable:,} trainable parameters; stage 1 {len(s1)} dialogues, stage 2 {len(s2)} pairs")
    reports = [train_stage(peft_model, s1, cfg.stage1, cfg.seed, "stage1", progress),
               train_stage(peft_model, s2, cfg.stage2, cfg.seed + 1, "stage2", progress)]
    from targetbot.core.bundled import QWEN_SHA256

    meta = {
        "base_model": settings.llm, "base_sha256": QWEN_SHA256 if settings.llm.startswith("bundled:") else None,
        "config": cfg.model_dump(mode="json"), "config_key": cfg.key(), "catalog_fingerprint": catalog.fingerprint(),
        "system_prompt_file": cfg.system_prompt_file, "system_prompt": system, "trainable_params": trainable,
        "stages": reports, "seconds_total": round(time.perf_counter() - t_all, 1),
        "data": {"stage1": len(s1), "stage2": len(s2), "heldout": len(data["heldout"]),
                 "with_matches": sum(1 for x in data["stage2"] if "matches" in x)},
        "retrieval_index": getattr(index, "version", None),
        "torch_threads": torch.get_num_threads(),
    }
    out_dir = Path(out_dir)
    with atomic_path(out_dir) as tmp:
        tmp.mkdir(parents=True)
        peft_model.save_pretrained(str(tmp))
        (tmp / "README.md").unlink(missing_ok=True)  # peft's empty model-card template; rewriter.json says it all
        catalog.save(tmp / "catalog.json")
        write_json(tmp / META_FILE, meta)
        with open(tmp / "heldout.jsonl", "w", encoding="utf-8") as fh:
            for x in data["heldout"]:
                fh.write(json.dumps({k: x[k] for k in ("request", "families", "entities", "exclude",
                                                        "paraphrase_family", "plan")}) + "\n")
    _say(progress, f"adapter written to {out_dir} in {meta['seconds_total']:.0f}s")
    return meta


def read_meta(adapter_dir: str | Path) -> dict | None:
    try:
        return json.loads((Path(adapter_dir) / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def trained_with_matches(adapter_dir: str | Path | None) -> bool:
    """Whether an adapter learnt from requests followed by their retrieved catalog matches (the
    base model, with no adapter, is shown them too: they only add context)."""
    if adapter_dir is None:
        return True
    meta = read_meta(adapter_dir) or {}
    return bool(meta.get("data", {}).get("with_matches"))


def workspace_adapter_dir(ws) -> Path:
    return ws.artifacts_dir / "rewrite" / "adapter"


def build_rewriter(ws, settings: Settings, progress: Progress | None = None, force: bool = False,
                   cfg: TrainConfig | None = None, model_and_tokenizer=None, index=None) -> dict:
    """Build stage: train the workspace's rewriter adapter unless an up-to-date one exists.

    Returns {"adapter": path, "skipped": bool, ...the adapter's metadata}.
    """
    cfg = cfg or TrainConfig.cpu()
    catalog = Catalog.from_workspace(ws)
    out = workspace_adapter_dir(ws)
    meta = read_meta(out)
    if (not force and meta and meta.get("config_key") == cfg.key() and meta.get("base_model") == settings.llm
            and meta.get("catalog_fingerprint") == catalog.fingerprint()):
        return {"adapter": str(out), "skipped": True, **meta}
    bundled = read_meta(BUNDLED_ADAPTER_DIR)
    if (not force and bundled and bundled.get("config_key") == cfg.key() and bundled.get("base_model") == settings.llm
            and bundled.get("catalog_fingerprint") == catalog.fingerprint()):
        _say(progress, f"the versioned adapter {BUNDLED_ADAPTER_DIR} matches this catalog and config; using it")
        return {"adapter": str(BUNDLED_ADAPTER_DIR), "skipped": True, **bundled}
    meta = train_rewriter(catalog, out, settings, cfg, progress, model_and_tokenizer=model_and_tokenizer, index=index)
    return {"adapter": str(out), "skipped": False, **meta}
