"""Find data files that ship inside installed packages, without importing those packages.

Dataset packages are installed with `--no-deps`, so importing them would fail on their own
missing dependencies (recbole needs torch extensions, ISLP needs statsmodels …). The import
system can still tell where a package lives: `importlib.util.find_spec(name)` reads the path
without executing the package's `__init__`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from targetbot.core.errors import TargetbotError


def package_file(package: str, relative: str, pip: str) -> Path:
    """Path of `relative` inside installed `package`; a TargetbotError naming `pip` when absent."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise TargetbotError(f"package '{package}' is not installed; install it with `{pip}`")
    for loc in locations:
        path = Path(loc) / relative
        if path.exists():
            return path
    raise TargetbotError(f"package '{package}' has no {relative} (at {locations[0]}); reinstall it with `{pip}`")
