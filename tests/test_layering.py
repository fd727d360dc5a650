"""The house's shape, read from the source: imports point down the layers, nothing below the
CLI reads the environment, and every package folder is in the wheel.

    CLI (targetbot/: cli.py, commands/)
      └─► agent/   eval/
            └─► towers/ (FIND)   egl/ (EGL)   rewrite/
                  └─► core/
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDER = {"core": "core", "towers": "towers", "egl": "egl", "rewrite": "rewrite", "agent": "agent", "eval": "eval",
          "cli": "targetbot", "prompts": "prompts"}
# which layers each layer may import (itself included); FIND and EGL meet only in the agent, and
# the rewriter knows plans, not models
ALLOWED = {
    "core": {"core"},
    "towers": {"core", "towers"},
    "egl": {"core", "egl"},
    "rewrite": {"core", "rewrite"},
    "agent": {"core", "towers", "egl", "rewrite", "agent"},
    "eval": {"core", "towers", "egl", "rewrite", "agent", "eval"},
    "cli": {"core", "towers", "egl", "rewrite", "agent", "eval", "cli", "prompts"},
    "prompts": set(),
}
# reading the process environment is the CLI's job; below it only these (not our settings)
ENV_READERS = {"rewrite/engine_vllm.py": "hands the environment to the vLLM child process",
               "rewrite/llm.py": "HF_HUB_OFFLINE, the hub library's own switch"}


def layer_of(module: str) -> str | None:
    """'targetbot.towers.find' -> 'towers'; 'targetbot.commands.x' / 'targetbot.cli' -> 'cli'."""
    parts = module.split(".")
    if parts[0] != "targetbot":
        return None
    if len(parts) == 1 or parts[1] in ("cli", "commands"):
        return "cli"
    return parts[1] if parts[1] in ALLOWED else "cli"


def sources(layer: str) -> list[Path]:
    folder = ROOT / FOLDER[layer]
    files = sorted(folder.rglob("*.py"))
    if layer == "cli":  # the CLI folder is targetbot/ itself
        files = [f for f in files if f.parent == folder or "commands" in f.parts]
    return files


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, at the top or inside a function (lazy imports count too)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            if node.module == "targetbot":  # from targetbot import x
                out += [(node.lineno, f"targetbot.{a.name}") for a in node.names]
    return out


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_point_down(layer):
    wrong = []
    for path in sources(layer):
        for line, module in imports(path):
            target = layer_of(module)
            if target is not None and target not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module} ({layer} -> {target})")
            top = module.split(".")[0]
            if top in ("agent", "eval", "towers", "egl", "rewrite", "core"):  # the old top-level names
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports '{module}': use targetbot.{module}")
    assert not wrong, "\n".join(wrong)


def test_the_layer_map_sees_a_violation(tmp_path):
    """The check itself: a core module importing the agent is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from targetbot.agent.models import Models\n")
    (line, module), = imports(bad)
    assert layer_of(module) == "agent" and "agent" not in ALLOWED["core"]


def test_only_the_cli_reads_the_environment():
    found = []
    for layer in ("core", "towers", "egl", "rewrite", "agent", "eval"):
        for path in sources(layer):
            rel = path.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                        isinstance(node.value, ast.Name) and node.value.id == "os" and rel not in ENV_READERS:
                    found.append(f"{rel}:{node.lineno}")
                if isinstance(node, ast.Attribute) and node.attr == "from_env":
                    found.append(f"{rel}:{node.lineno} (from_env)")
    assert not found, "read the environment in the CLI and pass settings down: " + ", ".join(found)


def test_every_package_folder_is_in_the_wheel():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed, dirs = set(cfg["packages"]), cfg["package-dir"]
    found = set()
    for name, folder in dirs.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *rel)))
    assert found == listed, f"missing from pyproject: {sorted(found - listed)}; listed without a folder: {sorted(listed - found)}"
