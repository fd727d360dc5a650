"""The rewriter served three ways, measured in one run on the same requests.

    .venv/bin/python bench/rewrite_serving.py [--n 32] [--concurrency 1,4,16] [--engines local,vllm-merged,vllm-lora]
        [--protocol json] [--out docs/bench/rewrite_serving.json]

* `local`        engine local (in-process transformers, merged adapter) behind its HTTP server;
                 it decodes one request at a time, so concurrency only queues
* `vllm-merged`  vLLM (the `.venv-vllm` build for this machine) serving the adapter merged into the weights
* `vllm-lora`    vLLM serving the base model with the adapter as a LoRA module

Each engine answers the same held-out requests (the bundled adapter's held-out set, its catalog)
through the project's own client (rewrite.client.Rewriter: schema-constrained, entities snapped,
one repair) at each concurrency. Printed per engine and concurrency: requests/s, p50/p95 latency,
output tokens/s, valid plans, and plan agreement with engine local at concurrency 1 (same
families, targeted and excluded catalog entities). Ratios against `local` in the same run are what
to compare across machines; absolute times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CountingChat:
    """Wraps a chat backend and adds up the output tokens it reports."""

    def __init__(self, inner):
        import threading

        self.inner, self.tokens, self.lock = inner, 0, threading.Lock()
        self.snaps_entities = getattr(inner, "snaps_entities", False)

    def _count(self, r: dict) -> dict:
        with self.lock:
            self.tokens += int(r.get("completion_tokens") or 0)
        return r

    def __call__(self, *a, **kw):
        return self._count(self.inner(*a, **kw))

    def tool_calls(self, *a, **kw):
        return self._count(self.inner.tool_calls(*a, **kw))


def key(plan) -> tuple | None:
    if plan is None:
        return None
    return (frozenset(plan.families()), frozenset(plan.entities()), frozenset(plan.exclude))


def measure(url: str, catalog, requests: list[str], concurrency: int, protocol: str) -> tuple[dict, list]:
    from targetbot.core.errors import TargetbotError
    from targetbot.rewrite.client import OpenAIChat, Rewriter
    from targetbot.rewrite.config import SERVED_NAME

    chat = CountingChat(OpenAIChat(url))
    rw = Rewriter(chat, catalog, SERVED_NAME, protocol=protocol)

    def one(req: str):
        t = time.perf_counter()
        try:
            plan = rw.rewrite(req).plan
        except TargetbotError:
            plan = None
        return plan, time.perf_counter() - t

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        out = list(pool.map(one, requests))
    wall = time.perf_counter() - t0
    lat = sorted(s for _, s in out)
    row = {"concurrency": concurrency, "requests": len(requests), "seconds": round(wall, 2),
           "requests_per_s": round(len(requests) / wall, 3),
           "p50_s": round(statistics.median(lat), 2), "p95_s": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 2),
           "output_tokens_per_s": round(chat.tokens / wall, 1), "valid": sum(p is not None for p, _ in out)}
    return row, [p for p, _ in out]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=32, help="Requests per engine and concurrency.")
    ap.add_argument("--concurrency", default="1,4,16")
    ap.add_argument("--engines", default="local,vllm-merged,vllm-lora")
    ap.add_argument("--protocol", default="json", choices=["json", "tools"])
    ap.add_argument("--out", default=None, help="Also write the JSON here.")
    args = ap.parse_args(argv)

    from targetbot.commands.common import settings_from_env
    from targetbot.core.bundled import llm_path
    from targetbot.rewrite.catalog import Catalog
    from targetbot.rewrite.config import BUNDLED_ADAPTER_DIR, ServeConfig
    from targetbot.rewrite.engine_local import LocalEngine
    from targetbot.rewrite.engine_vllm import (VllmServer, check_python, merged_model_dir, server_env,
                                               vllm_command)
    from targetbot.rewrite.server import serve_in_thread

    settings = settings_from_env()
    catalog = Catalog.load(BUNDLED_ADAPTER_DIR / "catalog.json")
    rows = [json.loads(line) for line in (BUNDLED_ADAPTER_DIR / "heldout.jsonl").read_text().splitlines() if line]
    requests = [r["request"] for r in rows][: args.n]
    levels = [int(c) for c in args.concurrency.split(",")]
    engines = [e.strip() for e in args.engines.split(",")]
    result: dict = {"requests": len(requests), "protocol": args.protocol, "engines": {}}
    reference = None

    def run_levels(name: str, url: str, extra: dict) -> None:
        nonlocal reference
        out = []
        measure(url, catalog, requests[:2], 1, args.protocol)  # warm-up: compiled grammars, prefix cache
        for c in levels:
            row, plans = measure(url, catalog, requests, c, args.protocol)
            if reference is None and name == "local" and c == levels[0]:
                reference = [key(p) for p in plans]
            if reference is not None:
                row["agree_with_local"] = round(sum(key(p) == r for p, r in zip(plans, reference)) / len(plans), 3)
            out.append(row)
            print(json.dumps({"engine": name, **row}), flush=True)
        result["engines"][name] = {**extra, "levels": out}

    for name in engines:
        if name == "local":
            t = time.perf_counter()
            engine = LocalEngine(settings, adapter=BUNDLED_ADAPTER_DIR, merge=True)
            srv, url = serve_in_thread(engine)
            try:
                run_levels(name, url, {"load_s": round(time.perf_counter() - t, 1)})
            finally:
                srv.shutdown()
                srv.server_close()
            del engine
            continue
        merged = name == "vllm-merged"
        cfg = ServeConfig(engine="vllm", port=_free_port(), device="cpu", merge=merged)
        model = merged_model_dir(BUNDLED_ADAPTER_DIR, settings.cache_dir, settings) if merged else llm_path(settings)
        cmd = vllm_command(cfg, model, BUNDLED_ADAPTER_DIR, python=check_python(settings.vllm_python))
        t = time.perf_counter()
        with VllmServer(cmd, server_env(cfg, dict(os.environ)), settings.cache_dir / "logs" / f"bench-{name}.log", cfg.host,
                        cfg.port) as server:
            server.wait_ready(cfg.vllm.ready_timeout_s)
            run_levels(name, server.url, {"ready_s": round(time.perf_counter() - t, 1)})

    base = {r["concurrency"]: r for r in result["engines"].get("local", {}).get("levels", [])}
    for name, e in result["engines"].items():
        for r in e["levels"]:
            b = base.get(r["concurrency"])
            if b and name != "local":
                r["tokens_per_s_vs_local"] = round(r["output_tokens_per_s"] / max(b["output_tokens_per_s"], 1e-9), 2)
                r["requests_per_s_vs_local"] = round(r["requests_per_s"] / max(b["requests_per_s"], 1e-9), 2)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        from targetbot.core.atomic import write_text

        write_text(Path(args.out), text + "\n")


if __name__ == "__main__":
    main()
