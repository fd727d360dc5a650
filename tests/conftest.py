"""Shared fixtures: a small simulated workspace, built once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from targetbot.workspace import Workspace
from targetbot.world.generate import WorldConfig, generate_world


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
