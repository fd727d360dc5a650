"""The vLLM command line, environment and process handling, without vLLM (the real server is in
test_vllm_server.py)."""

import sys

import pytest

from targetbot.core.errors import TargetbotError
from targetbot.rewrite.config import ServeConfig, VllmConfig
from targetbot.rewrite.engine_vllm import VLLM_MODULE, VllmServer, check_python, server_env, vllm_command


def test_lora_module_command_on_a_cpu():
    cfg = ServeConfig(engine="vllm", port=9000, host="0.0.0.0")
    cmd = vllm_command(cfg, "/models/qwen", "/adapters/rw", python="/venv/bin/python")
    assert cmd[:4] == ["/venv/bin/python", "-m", VLLM_MODULE, "--model"] and cmd[4] == "/models/qwen"
    s = " ".join(cmd)
    assert "--enable-lora --lora-modules targetbot-rewriter=/adapters/rw" in s
    assert "--enable-auto-tool-choice --tool-call-parser hermes" in s
    assert "--served-model-name base" in s and "--port 9000" in s and "--host 0.0.0.0" in s
    assert "--dtype bfloat16" in s and "--gpu-memory-utilization" not in s


def test_merged_gpu_and_base_only_commands():
    merged = vllm_command(ServeConfig(engine="vllm", merge=True, device="gpu"), "/models/merged", "/adapters/rw")
    assert "--enable-lora" not in merged and merged[merged.index("--served-model-name") + 1] == "targetbot-rewriter"
    assert "--gpu-memory-utilization" in merged and merged[merged.index("--dtype") + 1] == "auto"
    base = vllm_command(ServeConfig(engine="vllm", vllm=VllmConfig(extra_args=["--enforce-eager"])), "/m", None)
    assert "--enable-lora" not in base and base[-1] == "--enforce-eager"
    assert base[base.index("--served-model-name") + 1] == "base"


def test_cpu_environment_sets_the_kv_cache_and_runtime_lora():
    env = server_env(ServeConfig(engine="vllm"), base={"PATH": "/bin"})
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "2" and env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    assert "VLLM_CPU_KVCACHE_SPACE" not in server_env(ServeConfig(engine="vllm", device="gpu"), base={})


def test_a_missing_environment_says_which_make_target_installs_it(tmp_path):
    with pytest.raises(TargetbotError, match="make vllm-env"):
        check_python(tmp_path / "nope" / "python")
    with pytest.raises(TargetbotError, match="make vllm-env"):
        check_python(None)


def test_a_server_that_dies_early_reports_its_log(tmp_path):
    cmd = [sys.executable, "-c", "import sys; print('boom: no model'); sys.exit(3)"]
    with VllmServer(cmd, {}, tmp_path / "log.txt", "127.0.0.1", 9) as s:
        with pytest.raises(TargetbotError, match="(?s)exited \\(code 3\\).*boom: no model"):
            s.wait_ready(timeout=30)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return "State:\tZ" not in fh.read()  # a killed child waits as a zombie for its reaper
    except FileNotFoundError:
        return False


def _leader_with_worker(tmp_path, leader_waits: bool) -> tuple[VllmServer, int]:
    """A started VllmServer whose leader starts a worker in its process group, as vLLM's API server
    starts its engine core; returns it and the worker's pid."""
    import time

    pidfile = tmp_path / "child.pid"
    code = ("import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']);"
            f"open({str(pidfile)!r}, 'w').write(str(c.pid))" + ("; time.sleep(600)" if leader_waits else ""))
    s = VllmServer([sys.executable, "-c", code], {}, tmp_path / "log.txt", "127.0.0.1", 9).start()
    for _ in range(100):
        if pidfile.is_file() and pidfile.read_text():
            break
        time.sleep(0.1)
    return s, int(pidfile.read_text())


def test_stop_ends_the_whole_process_group(tmp_path):
    import time

    s, child = _leader_with_worker(tmp_path, leader_waits=True)
    assert _alive(child)
    s.stop(grace=5)
    time.sleep(0.5)
    assert s.proc.poll() is not None and not _alive(child)


def test_stop_kills_workers_left_behind_by_a_leader_that_exited(tmp_path):
    import time

    s, child = _leader_with_worker(tmp_path, leader_waits=False)  # the leader exits at once, the worker stays
    s.proc.wait(timeout=30)
    assert _alive(child)
    s.stop(grace=1)
    time.sleep(0.5)
    assert not _alive(child)
