"""The package as a user installs it: a wheel (not the editable checkout) in a fresh virtual
environment works from any directory, its data files (prompts, scenarios, tower configs, the
rewriter adapter) inside it.

The fresh environment gets the project's pinned dependencies from this test run's own
environment (a .pth line: plain paths, so the editable install's import hook there is not run)
instead of installing torch and the rest again; what is tested is the wheel's own contents."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    leftover = not (ROOT / "build").exists()  # setuptools builds in the source tree: leave it as it was
    try:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                        "--wheel-dir", str(tmp / "dist"), str(ROOT)], check=True, cwd=tmp)
    finally:
        if leftover:
            shutil.rmtree(ROOT / "build", ignore_errors=True)
    (wheel,) = (tmp / "dist").glob("targetbot-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, cwd=tmp)
    shutil.rmtree(tmp / "dist")
    return env_dir, tmp


def run(env_dir: Path, args: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TARGETBOT_") and k != "PYTHONPATH"}
    return subprocess.run([str(env_dir / "bin" / "targetbot"), *args], cwd=cwd,
                          capture_output=True, text=True, env={**clean, **env}, timeout=900)


def test_wheel_holds_one_namespace_and_its_data(wheel_env):
    env_dir, tmp = wheel_env
    code = ("import importlib.util, json, targetbot\n"
            "from targetbot.rewrite.config import BUNDLED_ADAPTER_DIR, PROMPTS_DIR\n"
            "from targetbot.core.scenarios.scenario import builtin_scenario_files\n"
            "from targetbot.towers.config import list_configs\n"
            "print(json.dumps({'pkg': targetbot.__file__, 'adapter': str(BUNDLED_ADAPTER_DIR),\n"
            "  'adapter_ok': (BUNDLED_ADAPTER_DIR / 'adapter_model.safetensors').is_file(),\n"
            "  'prompts': sorted(p.name for p in PROMPTS_DIR.iterdir()), 'scenarios': len(builtin_scenario_files()),\n"
            "  'configs': list_configs(), 'squatters': [m for m in ('agent', 'eval', 'towers', 'egl', 'rewrite', 'core')\n"
            "                                         if importlib.util.find_spec(m) is not None]}))\n")
    r = subprocess.run([str(env_dir / "bin" / "python"), "-c", code], cwd=tmp, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert str(tmp / "venv") in got["pkg"] and str(ROOT) not in got["pkg"]  # the wheel, not the checkout
    assert str(tmp / "venv") in got["adapter"] and got["adapter_ok"]
    assert "find_templates.yaml" in got["prompts"] and "rewrite_system.txt" in got["prompts"]
    assert got["scenarios"] == 13 and got["configs"] == ["full", "quick"]
    assert got["squatters"] == []


def test_installed_cli_runs_from_any_directory(wheel_env, tmp_path):
    env_dir, _ = wheel_env
    r = run(env_dir, ["models", "--json"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = {m["name"]: m for m in json.loads(r.stdout)["models"]}
    assert rows["text-encoder"]["available"] and rows["llm"]["verified"] is True
    r = run(env_dir, ["world", "generate", "-w", "ws", "--users", "300", "--seed", "5"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "ws" / "workspace.yaml").is_file()
    assert len(list((tmp_path / "ws" / "scenarios").glob("*.yaml"))) == 13
