"""YAML config files read into pydantic models, failing with the one-line errors users get:
`PATH: not valid YAML (...)` or `PATH: field.sub: what is wrong`."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from targetbot.core.errors import DataError

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: str | Path) -> dict:
    """The file's mapping ({} for an empty file)."""
    try:
        return yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as e:
        raise DataError(f"{path}: not valid YAML ({e.__class__.__name__})") from None


def first_error(e: ValidationError) -> str:
    """`field.sub: message` of a validation error's first problem."""
    err = e.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


def load_model(cls: type[M], path: str | Path, raw: dict | None = None) -> M:
    """`cls` validated from `raw` (default: the file's contents); errors name the file and the field."""
    raw = read_yaml(path) if raw is None else raw
    try:
        return cls.model_validate(raw)
    except ValidationError as e:
        raise DataError(f"{path}: {first_error(e)}") from None


def load_workspace_config(cls: type[M], root: str | Path, file_name: str, overrides: dict | None = None) -> M:
    """`cls` from the workspace's `file_name` (every key optional; no file: the defaults), with the
    non-None `overrides` on top (a CLI flag beats the file)."""
    path = Path(root) / file_name
    raw = read_yaml(path) if path.exists() else {}
    if overrides:
        if not isinstance(raw, dict):
            raise DataError(f"{path}: expected a mapping of settings")
        raw = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    return load_model(cls, path, raw)
