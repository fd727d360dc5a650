"""Rewrite suite: how well each rewriter model turns requests into plans.

`targetbot eval run -w WS --suite rewrite [--requests FILE] [--models base,tuned] --json`

FILE is JSONL, one object per line: {"request": str, "families": [str], "entities": [str],
"exclude": [str]}, optionally with "filter_fields": [str] (the profile fields the request states),
"amount": number|null and "min_count": int|null. The project's own sets: eval/data/rewrite_requests_dev.jsonl
(settings are chosen on it) and eval/data/rewrite_requests_test.jsonl (reported, never tuned on),
both written by hand from the catalogue alone. Without it, the held-out synthesized set is used: requests from the paraphrase
families (and extra wordings) marked `heldout` in prompts/rewrite_requests.yaml, which never reach
training, generated from this workspace's catalog with the training seed.

Models: `base` (the untuned Qwen with the full instruction prompt), `tuned` (the LoRA adapter:
the workspace's if built, else the versioned one), `tuned=PATH` (another adapter). Every model is
grounded (retrieval before decoding, checks after: rewrite/retrieval.py, rewrite/ground.py); a
`:raw` suffix turns grounding off (the rewriter as it was before), `:free` constrained decoding
(plain greedy text, parsed afterwards, ungrounded).

Metrics per model, pooled over requests (micro-averaged):
* json_valid        share of requests whose first answer is a valid plan (schema + catalog checks)
* family_f1         F1 of the plan's demand families against the expected families
* entity_f1         F1 of the plan's entities (demand entity slots + seed entities) against the
                    expected entities, both sides alias-normalised and case-folded
* exclude_f1        F1 of the plan's exclusions, normalised the same way
* placeholder_rate  share of requests whose first answer copies a template placeholder ({items} ...)
* invented_filter_rate  share of requests (with "filter_fields") whose plan has a condition on a
                    field the request does not state
* quantity_acc      share of requests (with "amount"/"min_count") whose plan's amount (num or
                    total) and minimum count equal the expected ones (null when not stated)
* latency_s         mean seconds per request, the one allowed repair attempt included
An answer that stays invalid after the repair contributes empty sets (all misses).
"""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

from targetbot.eval.runner import register_suite
from targetbot.core.errors import DataError, TargetbotError

WARMUP_REQUEST = "users likely to buy a new phone"
ROW_KEYS = ("model", "json_valid", "family_f1", "entity_f1", "exclude_f1", "invented_filter_rate", "quantity_acc",
            "placeholder_rate", "latency_s")


def load_requests(path: Path) -> list[dict]:
    from targetbot.rewrite.plan import FAMILIES

    path = Path(path)
    if not path.is_file():
        raise TargetbotError(f"{path}: requests file not found")
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise DataError(f"{path}: line {n}: not JSON ({e.__class__.__name__})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("request"), str) or not obj["request"].strip():
                raise DataError(f"{path}: line {n}: needs a non-empty string 'request'")
            for key in ("families", "entities", "exclude", "filter_fields"):
                if key == "filter_fields" and key not in obj:
                    continue
                v = obj.get(key, [])
                if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                    raise DataError(f"{path}: line {n}: '{key}' must be a list of strings")
                obj[key] = v
            bad = [f for f in obj["families"] if f not in FAMILIES]
            if bad:
                raise DataError(f"{path}: line {n}: unknown family '{bad[0]}' (families: {', '.join(FAMILIES)})")
            out.append(obj)
    if not out:
        raise DataError(f"{path}: no requests")
    return out


def heldout_requests(catalog) -> list[dict]:
    from targetbot.rewrite.config import TrainConfig
    from targetbot.rewrite.synth_requests import request_pairs

    return request_pairs(catalog, TrainConfig.cpu().synth)[1]


class _Counts:
    def __init__(self):
        self.tp = self.fp = self.fn = 0

    def add(self, pred: set, gold: set) -> None:
        self.tp += len(pred & gold)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)

    def f1(self) -> float:
        if self.tp == 0:
            return 1.0 if self.fp == 0 and self.fn == 0 else 0.0
        p, r = self.tp / (self.tp + self.fp), self.tp / (self.tp + self.fn)
        return 2 * p * r / (p + r)


def _engine_for(spec: str, ws, settings):
    """(LocalEngine, served model name, prompt kind, constrained) for a model spec."""
    from targetbot.rewrite.config import BUNDLED_ADAPTER_DIR
    from targetbot.rewrite.engine_local import LocalEngine
    from targetbot.rewrite.train import workspace_adapter_dir

    name, _, mode = spec.partition(":")
    if mode not in ("", "free", "raw"):
        raise TargetbotError(f"model '{spec}': unknown mode '{mode}' (use NAME, NAME:raw or NAME:free)")
    constrained = mode != "free"
    if name == "base":
        eng = LocalEngine(settings, adapter=None)
        return eng, eng.models()[0], "full", constrained
    if name == "tuned" or name.startswith("tuned="):
        path = Path(name.split("=", 1)[1]) if "=" in name else None
        if path is None:
            path = workspace_adapter_dir(ws) if (workspace_adapter_dir(ws) / "adapter_config.json").is_file() \
                else BUNDLED_ADAPTER_DIR
        eng = LocalEngine(settings, adapter=path, merge=True)
        return eng, eng.models()[0], "tuned", constrained
    raise TargetbotError(f"unknown rewrite model '{spec}' (use base, tuned, tuned=ADAPTER_DIR, optionally with :raw "
                         "or :free)")


def evaluate_model(rewriter, catalog, requests: list[dict], label: str, progress=None) -> tuple[dict, list[dict]]:
    from targetbot.rewrite.plan import PLACEHOLDER, PlanError

    fam, ent, exc = _Counts(), _Counts(), _Counts()
    valid = valid_after = placeholder = 0
    invented = with_fields = qty_ok = with_qty = 0
    seconds: list[float] = []
    rows = []
    norm = catalog.normalise
    for i, req in enumerate(requests):
        if progress:
            progress(f"rewrite · {label} · {i + 1}/{len(requests)}")
        t = time.perf_counter()
        raw: list[str] = []
        plan = res = None
        error = None
        try:
            res = rewriter.rewrite(req["request"])
            plan, raw = res.plan, res.raw
            valid += res.attempts == 1
            valid_after += 1
        except PlanError as e:
            error = str(e)
            raw = getattr(e, "raw", [])  # the replies of a rewrite that failed (rewrite.client.Rewriter)
        dt = time.perf_counter() - t
        seconds.append(dt)
        first = raw[0] if raw else ""
        placeholder += bool(PLACEHOLDER.search(first))
        pf = set(plan.families()) if plan else set()
        pe = {norm(x) for x in plan.entities()} if plan else set()
        px = {norm(x) for x in plan.exclude} if plan else set()
        fam.add(pf, set(req.get("families", [])))
        ent.add(pe, {norm(x) for x in req.get("entities", [])})
        exc.add(px, {norm(x) for x in req.get("exclude", [])})
        fields = {c.field for c in plan.filters.conditions} if plan and plan.filters else set()
        if "filter_fields" in req:
            with_fields += 1
            invented += bool(fields - set(req["filter_fields"]))
        if "amount" in req or "min_count" in req:
            with_qty += 1
            qty_ok += _quantities(plan) == (req.get("amount"), req.get("min_count"))
        rows.append({"model": label, "request": req["request"], "plan": plan.to_json() if plan else None,
                     "error": error, "seconds": round(dt, 3), "grounding": getattr(res, "grounding", None)
                     if plan else None})
    n = len(requests)
    row = {"model": label, "json_valid": round(valid / n, 4), "family_f1": round(fam.f1(), 4),
           "entity_f1": round(ent.f1(), 4), "exclude_f1": round(exc.f1(), 4),
           "invented_filter_rate": round(invented / with_fields, 4) if with_fields else None,
           "quantity_acc": round(qty_ok / with_qty, 4) if with_qty else None,
           "placeholder_rate": round(placeholder / n, 4), "latency_s": round(sum(seconds) / n, 3)}
    extra = {"model": label, "requests": n, "valid_after_repair": round(valid_after / n, 4),
             "latency_p50_s": round(sorted(seconds)[n // 2], 3), "latency_max_s": round(max(seconds), 3)}
    return row, [extra, *rows]


def _quantities(plan) -> tuple:
    """(amount, minimum count) of a plan, as the request files state them (first value found)."""
    if plan is None:
        return None, None
    amount = next((d.num if d.num is not None else d.total for d in plan.demands
                   if getattr(d, "num", None) is not None or getattr(d, "total", None) is not None), None)
    count = next((d.min_count for d in plan.demands if d.min_count is not None), None)
    return (float(amount) if amount is not None else None), count


def entity_index(ws, models, catalog, progress=None):
    """The retrieval index of a workspace's catalogue (cached under WS/artifacts/rewrite/)."""
    from targetbot.rewrite.retrieval import EntityIndex

    return EntityIndex.build(catalog, models.text_encoder(), ws.artifacts_dir / "rewrite", progress=progress)


@register_suite("rewrite")
def run_rewrite_suite(ws, models, methods, options) -> dict:
    from targetbot.rewrite.catalog import Catalog
    from targetbot.rewrite.client import InProcessChat, OpenAIChat, Rewriter
    from targetbot.rewrite.config import SERVED_NAME

    options = options or {}
    url = options.get("url")
    specs = options.get("models") or methods or ([SERVED_NAME] if url else ["base", "tuned"])
    progress = options.get("progress")
    catalog = Catalog.from_workspace(ws)
    if options.get("requests"):
        requests, source = load_requests(options["requests"]), str(options["requests"])
    else:
        requests, source = heldout_requests(catalog), "held-out synthesized set (heldout paraphrase families)"
    limit = options.get("limit")
    if limit:
        requests = requests[: int(limit)]
    results, details = [], []
    for spec in specs:
        if progress:
            progress(f"rewrite · loading {spec}")
        if url:  # a served model (vLLM or `targetbot rewrite serve`): the spec is its served name
            engine, served, constrained = None, spec.partition(":")[0], not spec.endswith(":free")
            prompt = "full" if served == "base" else "tuned"
            chat = OpenAIChat(url)
        else:
            engine, served, prompt, constrained = _engine_for(spec, ws, models.settings)
            chat = InProcessChat(engine)
        grounded = not spec.endswith((":raw", ":free"))
        index = entity_index(ws, models, catalog, progress) if grounded else None
        rw = Rewriter(chat, catalog, served, prompt=prompt, constrained=constrained,
                      protocol=options.get("protocol") or "json", index=index)
        try:  # warm-up outside the timing, as a served model is warm: allowed-token tables, prompt cache
            rw.rewrite(WARMUP_REQUEST)
        except TargetbotError:
            pass
        row, det = evaluate_model(rw, catalog, requests, spec, progress)
        results.append(row)
        details.append({"summary": det[0], "outputs": det[1:]})
        del engine, rw
        gc.collect()
    return {"suite": "rewrite", "results": results, "requests": len(requests), "source": source,
            "details": details}


