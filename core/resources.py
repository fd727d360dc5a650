"""Files shipped inside the package (prompts, scenarios, configs, the rewriter adapter), found
through `importlib.resources`, so an installed wheel works from any directory."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path


def package_path(package: str, *parts: str) -> Path:
    """A data file or folder of an installed package as a file-system path.

    >>> package_path("targetbot.prompts", "find_templates.yaml").name
    'find_templates.yaml'
    """
    return Path(os.fspath(files(package).joinpath(*parts)))
