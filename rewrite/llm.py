"""The chat LLM (Qwen2.5 by default): loaded from the bundled folder, a local folder or a hub id,
and greedy chat replies. The rewriter's engines and its trainer load it through here.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Callable

from targetbot.core.bundled import llm_path, looks_like_path
from targetbot.core.config import BUNDLED_LLM
from targetbot.core.config import Settings
from targetbot.core.errors import TargetbotError

Progress = Callable[[str], None]


def _say(progress: Progress | None, msg: str) -> None:
    if progress is not None:
        progress(msg)


def _hub_reachable(timeout: float = 3.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    from urllib.parse import urlparse

    try:
        from huggingface_hub import constants

        endpoint = constants.ENDPOINT
    except Exception:  # pragma: no cover - very old huggingface_hub
        endpoint = "https://huggingface.co"
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def _from_pretrained(path: str, hub: bool, dtype):
    """(model, tokenizer); for a hub id try the local HF cache first, then the hub if reachable."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def load(**kw):
        tok = AutoTokenizer.from_pretrained(path, **kw)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kw)
        return model, tok

    if not hub:
        try:
            return load()
        except (OSError, ValueError) as e:
            raise TargetbotError(f"cannot load LLM from {path}: {str(e).splitlines()[0]}") from None
    try:
        return load(local_files_only=True)
    except OSError:
        pass
    if not _hub_reachable():
        raise TargetbotError(f"cannot load LLM '{path}': the model hub is not reachable and it is not in the local "
                             f"HF cache; set TARGETBOT_LLM to {BUNDLED_LLM} or a local model folder")
    try:
        return load()
    except OSError as e:
        raise TargetbotError(f"cannot load LLM '{path}' from the hub: {str(e).splitlines()[0]} "
                             f"(set TARGETBOT_LLM to {BUNDLED_LLM} or a local model folder)") from None


def load_llm(settings: Settings, progress: Progress | None = None, dtype: str = "bfloat16"):
    """(model, tokenizer) for `settings.llm` in eval mode; `model.targetbot_load_seconds` holds the load time
    (conversion, if it had to happen first, is not counted).

    dtype defaults to bf16 (half the memory); on CPUs without native bf16 (AVX2 only) "float32" decodes faster.
    """
    import torch

    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype):
        raise TargetbotError(f"unknown dtype '{dtype}' (use bfloat16, float16 or float32)")
    path = llm_path(settings, progress)
    hub = settings.llm != BUNDLED_LLM and not looks_like_path(settings.llm)
    _say(progress, f"loading {settings.llm}")
    t = time.perf_counter()
    model, tokenizer = _from_pretrained(path, hub, torch_dtype)
    model.eval()
    model.targetbot_load_seconds = time.perf_counter() - t
    model.targetbot_spec = settings.llm
    return model, tokenizer


def chat(model, tokenizer, messages: list[dict], max_new_tokens: int = 64, stats: dict | None = None) -> str:
    """Greedy reply to chat `messages` ([{"role": ..., "content": ...}]); fills `stats` with
    new_tokens / seconds / tokens_per_second when given."""
    import torch

    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs = tokenizer(prompt, return_tensors="pt").to(model.device)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    t = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad)
    seconds = time.perf_counter() - t
    new = out[0, inputs["input_ids"].shape[1]:]
    if stats is not None:
        stats.update(new_tokens=int(new.numel()), seconds=seconds,
                     tokens_per_second=(new.numel() / seconds) if seconds > 0 else 0.0)
    return tokenizer.decode(new, skip_special_tokens=True).strip()
