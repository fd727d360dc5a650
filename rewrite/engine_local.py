"""Engine `local`: in-process transformers + peft, with JSON-schema-constrained decoding.

One engine serves the base model and, when an adapter is given, the tuned model (peft adapter
switched on or off per request, as vLLM serves a base model plus LoRA modules); with
`merge=True` the adapter is merged into the weights and only the tuned model is served (faster).

Latency work for CPUs: float32 by default (bf16 is slow without native support); the system
prompt's KV cache is computed once and reused; constrained decoding feeds forced JSON text in
one forward pass and computes LM-head logits only for the tokens the schema allows.
"""

from __future__ import annotations

import copy
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable

from targetbot.rewrite.constrained import Automaton, Decoder, Vocab
from targetbot.core.config import Settings
from targetbot.core.errors import TargetbotError

Progress = Callable[[str], None]


class LocalEngine:
    def __init__(self, settings: Settings | None = None, adapter: str | Path | None = None, dtype: str = "float32",
                 merge: bool = False, served_name: str = "targetbot-rewriter", base_name: str = "base",
                 threads: int | None = None, progress: Progress | None = None, model_and_tokenizer=None,
                 snap: bool = True, aliases: dict[str, str] | None = None):
        import torch

        if threads:
            torch.set_num_threads(int(threads))
        t = time.perf_counter()
        if model_and_tokenizer is not None:
            model, tok = model_and_tokenizer
        else:
            from targetbot.rewrite.llm import load_llm

            if settings is None:
                raise TypeError("LocalEngine needs the settings that name its LLM, or model_and_tokenizer")
            model, tok = load_llm(settings, progress=progress, dtype=dtype)
        self.adapter = str(adapter) if adapter else None
        self.served_name, self.base_name = served_name, base_name
        self.merged = False
        if adapter:
            from peft import PeftModel

            if not (Path(adapter) / "adapter_config.json").is_file():
                raise TargetbotError(f"{adapter}: not a LoRA adapter folder (no adapter_config.json)")
            model = PeftModel.from_pretrained(model, str(adapter))
            if merge:
                model = model.merge_and_unload()
                self.merged = True
        model.eval()
        self.model, self.tokenizer = model, tok
        self.load_seconds = time.perf_counter() - t
        self._vocab: Vocab | None = None
        self._decoders: dict[str, Decoder] = {}
        self._prefix: dict[tuple, tuple[list[int], object]] = {}
        self.lock = threading.Lock()
        # entity slots: the model writes the phrase, rewrite.snap maps it onto the catalog (snap=False:
        # plain enum-constrained greedy decoding, what vLLM's structured outputs do)
        self.snap = snap
        self.aliases: dict[str, str] = dict(aliases) if aliases else _adapter_aliases(self.adapter)

    # ---- what is served
    def models(self) -> list[str]:
        if self.adapter is None:
            return [self.base_name]
        return [self.served_name] if self.merged else [self.served_name, self.base_name]

    def _adapter_ctx(self, model_name: str):
        if model_name not in self.models():
            raise TargetbotError(f"model '{model_name}' is not served here (models: {', '.join(self.models())})")
        if self.adapter and not self.merged and model_name == self.base_name:
            return self.model.disable_adapter()
        return nullcontext()

    def _core(self):
        m = self.model
        return m.get_base_model() if hasattr(m, "get_base_model") else m

    # ---- constrained decoding plumbing
    def vocab(self) -> Vocab:
        if self._vocab is None:
            self._vocab = Vocab(self.tokenizer)
        return self._vocab

    def decoder(self, schema: dict) -> Decoder:
        import hashlib
        import json

        key = hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()
        d = self._decoders.get(key)
        if d is None:
            d = Decoder(Automaton(schema), self.vocab(), aliases=self.aliases)
            self._decoders[key] = d
        return d

    def add_aliases(self, aliases: dict[str, str]) -> None:
        """Entity aliases {alias: canonical name} used when snapping entity slots (see rewrite.snap)."""
        new = {str(k): str(v) for k, v in aliases.items() if self.aliases.get(str(k)) != str(v)}
        if new:
            self.aliases.update(new)
            self._decoders.clear()

    def _prompt_ids(self, messages: list[dict]) -> tuple[list[int], int]:
        """Prompt token ids and the length of the reusable prefix (everything before the last user turn)."""
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        head = self.tokenizer.apply_chat_template(messages[:-1], tokenize=False) if len(messages) > 1 else ""
        n = len(self.tokenizer(head, add_special_tokens=False)["input_ids"]) if head and text.startswith(head) else 0
        return ids, n

    def _start_cache(self, model_name: str, ids: list[int], n_prefix: int):
        """A KV cache holding ids[:n_prefix] (reused across requests) and the ids still to feed."""
        import torch
        from transformers import DynamicCache

        key = (model_name, tuple(ids[:n_prefix]))
        hit = self._prefix.get(key) if n_prefix else None
        if hit is None:
            cache = DynamicCache()
            if n_prefix:
                with torch.inference_mode():
                    self._core().model(input_ids=torch.tensor([ids[:n_prefix]]), cache=cache, use_cache=True)
                if len(self._prefix) > 16:
                    self._prefix.clear()
                self._prefix[key] = (ids[:n_prefix], cache)
        else:
            cache = hit[1]
        return copy.deepcopy(cache), ids[n_prefix:]

    # ---- the chat call
    def complete(self, model: str, messages: list[dict], schema: dict | None = None, max_tokens: int = 256) -> dict:
        """{"content", "prompt_tokens", "completion_tokens", "seconds", "model_calls"}."""
        import numpy as np
        import torch

        with self.lock, self._adapter_ctx(model), torch.inference_mode():
            t0 = time.perf_counter()
            ids, n_prefix = self._prompt_ids(messages)
            cache, feed0 = self._start_cache(model, ids, n_prefix)
            core = self._core()
            head_w = core.lm_head.weight
            if schema is None:
                text, n_new, calls = self._free(core, cache, feed0, max_tokens)
                return {"content": text, "prompt_tokens": len(ids), "completion_tokens": n_new,
                        "seconds": time.perf_counter() - t0, "model_calls": calls}
            dec = self.decoder(schema)
            first = [list(feed0)]
            held: list = []  # hidden state at the position a rolled-back free string started from

            def advance(feed: list[int]):
                feed = first.pop() + list(feed) if first else list(feed)
                if not feed:
                    return held.pop()
                held.clear()
                out = core.model(input_ids=torch.tensor([feed]), cache=cache, use_cache=True)
                return out.last_hidden_state[0, -1]

            def next_logits(feed: list[int], cand: np.ndarray):
                h = advance(feed)
                if len(cand) < head_w.shape[0] // 4:
                    return (head_w[torch.from_numpy(cand)] @ h).float().numpy()
                return (core.lm_head(h)[torch.from_numpy(cand)]).float().numpy()

            def free_string(feed: list[int], max_chars: int) -> str:
                """Greedy string text up to its closing quote; the cache is rolled back afterwards."""
                h = advance(feed)
                start = cache.get_seq_length()
                vocab = self.vocab()
                cand = torch.from_numpy(vocab.free_ids)
                parts: list[str] = []
                h0 = h
                for _ in range(max_chars):
                    tok = int(cand[int((core.lm_head(h)[cand]).argmax())])
                    s = vocab.text[tok]
                    q = s.find('"')
                    if q >= 0:
                        parts.append(s[:q])
                        break
                    parts.append(s)
                    if sum(map(len, parts)) >= max_chars:
                        break
                    out = core.model(input_ids=torch.tensor([[tok]]), cache=cache, use_cache=True)
                    h = out.last_hidden_state[0, -1]
                extra = cache.get_seq_length() - start
                if extra > 0:
                    cache.crop(-extra)
                held[:] = [h0]
                return "".join(parts)

            snapping = self.snap and schema is not None
            text, stats = dec.run(next_logits, max_steps=max_tokens * 2,
                                  free_string=free_string if snapping else None)
            n_new = len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
            return {"content": text, "prompt_tokens": len(ids), "completion_tokens": n_new,
                    "seconds": time.perf_counter() - t0, "model_calls": stats["model_calls"],
                    "snaps": stats.get("snaps", [])}

    def _free(self, core, cache, feed: list[int], max_tokens: int) -> tuple[str, int, int]:
        """Plain greedy decoding (no schema), stopping at the end-of-turn token."""
        import torch

        eos = {self.tokenizer.convert_tokens_to_ids("<|im_end|>"), self.tokenizer.eos_token_id}
        out_ids: list[int] = []
        x = list(feed)
        for _ in range(max_tokens):
            out = core(input_ids=torch.tensor([x]), cache=cache, use_cache=True, logits_to_keep=1)
            nxt = int(out.logits[0, -1].argmax())
            if nxt in eos:
                break
            out_ids.append(nxt)
            x = [nxt]
        return self.tokenizer.decode(out_ids, skip_special_tokens=True).strip(), len(out_ids), len(out_ids) + 1


def _adapter_aliases(adapter: str | None) -> dict[str, str]:
    """Aliases from the catalog saved next to an adapter (the bundled one without an adapter)."""
    from targetbot.rewrite.config import BUNDLED_ADAPTER_DIR

    path = Path(adapter or BUNDLED_ADAPTER_DIR) / "catalog.json"
    if not path.is_file():
        return {}
    try:
        from targetbot.rewrite.catalog import Catalog

        return Catalog.load(path).aliases()
    except TargetbotError:
        return {}
