"""Rewrite latency and throughput through the OpenAI-compatible interface.

    .venv/bin/python bench/rewrite_latency.py -w WS [--n 20] [--model targetbot-rewriter]
        starts engine `local` in-process behind the HTTP server and measures it;
    .venv/bin/python bench/rewrite_latency.py -w WS --url http://GPU-HOST:8000/v1 --concurrency 8
        measures a running server instead (e.g. `targetbot rewrite serve --engine vllm`).

Requests come from the held-out synthesized set of the workspace. Every answer is validated as a
TargetingPlan; the JSON printed holds mean/p50/max latency, requests per second and validity,
plus one langchain ChatOpenAI round trip.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", "-w", required=True)
    ap.add_argument("--url", default=None, help="A running server; default: start engine local in-process.")
    ap.add_argument("--model", default="targetbot-rewriter")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--adapter", default=None)
    args = ap.parse_args(argv)

    from targetbot.eval.rewrite_suite import heldout_requests
    from targetbot.rewrite.catalog import Catalog
    from targetbot.rewrite.client import OpenAIChat, Rewriter
    from targetbot.rewrite.plan import PlanError
    from targetbot.core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    catalog = Catalog.from_workspace(ws)
    requests = [r["request"] for r in heldout_requests(catalog)][: args.n]
    url, srv, load_s = args.url, None, None
    if url is None:
        from targetbot.commands.common import settings_from_env
        from targetbot.rewrite.config import BUNDLED_ADAPTER_DIR
        from targetbot.rewrite.engine_local import LocalEngine
        from targetbot.rewrite.server import serve_in_thread
        from targetbot.rewrite.train import workspace_adapter_dir

        adapter = args.adapter or (workspace_adapter_dir(ws) if (workspace_adapter_dir(ws) / "adapter_config.json").is_file()
                                   else BUNDLED_ADAPTER_DIR)
        t = time.perf_counter()
        engine = LocalEngine(settings_from_env(), adapter=adapter, merge=True)
        load_s = time.perf_counter() - t
        srv, url = serve_in_thread(engine)
    rw = Rewriter(OpenAIChat(url), catalog, args.model)
    rw.rewrite("users likely to buy a new phone")  # warm-up

    def one(req):
        t = time.perf_counter()
        try:
            rw.rewrite(req)
            ok = True
        except PlanError:
            ok = False
        return time.perf_counter() - t, ok

    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.concurrency) as pool:
        res = list(pool.map(one, requests))
    wall = time.perf_counter() - t0
    lat = [r[0] for r in res]
    from langchain_openai import ChatOpenAI

    from targetbot.rewrite.messages import build_messages
    from targetbot.rewrite.plan import parse_plan, plan_json_schema

    llm = ChatOpenAI(model=args.model, base_url=url, api_key="EMPTY", temperature=0, use_responses_api=False)
    msgs = [(m["role"], m["content"]) for m in build_messages(requests[0])]
    t = time.perf_counter()
    reply = llm.invoke(msgs, response_format={"type": "json_schema", "json_schema": {
        "name": "TargetingPlan", "schema": plan_json_schema(catalog)}})
    lc_s = time.perf_counter() - t
    try:
        parse_plan(reply.content, catalog)
        lc_ok = True
    except PlanError:
        lc_ok = False
    out = {"url": url, "model": args.model, "requests": len(lat), "concurrency": args.concurrency,
           "latency_mean_s": round(statistics.mean(lat), 3), "latency_p50_s": round(statistics.median(lat), 3),
           "latency_max_s": round(max(lat), 3), "requests_per_s": round(len(lat) / wall, 3),
           "valid": sum(r[1] for r in res) / len(res), "langchain_valid": lc_ok, "langchain_s": round(lc_s, 3),
           "engine_load_s": None if load_s is None else round(load_s, 1)}
    print(json.dumps(out, indent=2))
    if srv is not None:
        srv.shutdown()


if __name__ == "__main__":
    main()
