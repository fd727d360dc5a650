"""Warm `find` latency on a built FIND bundle, and search latency against 1M random vectors.

    .venv/bin/python bench/find_latency.py -w ws --rounds 5 [--million 1000000] [--json]

Loads the bundle and the text tower once (the warm state of a long-lived process), then times
zero-shot `find` over the workspace's scenario demands with both scorers: `forecast` (the
default: match future texts, fit the per-demand forecaster, score everyone) and `tower` (text
tower + faiss k-NN for `--top-k`, or every score + the mixture threshold for the decision rule). It then adds `--million` random unit vectors of the bundle's dimension
to a fresh index of each kind (flat, IVF) and times k-NN and range search for the same query
vectors, so the index cost at scale is seen apart from the text tower. Users embedded per
second come from the bundle's build record (measured while the bundle was built).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np


def _pcts(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"p50_ms": round(1000 * statistics.median(xs), 1),
            "p95_ms": round(1000 * xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))], 1),
            "max_ms": round(1000 * xs[-1], 1), "n": len(xs)}


def _time(fn, items, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        for it in items:
            t = time.perf_counter()
            fn(it)
            out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-w", "--workspace", default=os.environ.get("TARGETBOT_WORKSPACE", "ws"))
    ap.add_argument("--rounds", type=int, default=5, help="passes over the demand set")
    ap.add_argument("--top-k", type=int, default=1000)
    ap.add_argument("--million", type=int, default=1_000_000, help="random vectors for the at-scale index (0: skip)")
    ap.add_argument("--kinds", default="flat,ivf", help="index kinds at scale")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import faiss

    from targetbot.core.scenarios import load_scenarios
    from targetbot.agent.models import Models
    from targetbot.commands.common import settings_from_env
    from targetbot.core.workspace import Workspace
    from targetbot.towers.bundle import Bundle
    from targetbot.towers.config import FindConfig
    from targetbot.towers.config import IndexConfig
    from targetbot.towers.find import Query, ZeroShot
    from targetbot.towers.index import build_index, range_search, search

    ws = Workspace.open(args.workspace)
    t0 = time.perf_counter()
    models = Models(settings_from_env())
    bundle = Bundle.load(ws, models.settings)
    config = FindConfig.for_workspace(ws.root)
    zs = ZeroShot(bundle, models.encode, "forecast", config)
    tower = ZeroShot(bundle, models.encode, "tower", config)
    demands = [s.demand for s in load_scenarios(ws.scenario_files())]
    tower.audience(Query.from_demand(demands[0]), top_k=args.top_k)  # warm-up: first call pays lazy init
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    zs.audience(Query.from_demand(demands[0]), top_k=args.top_k)  # loads (or builds) the forecast features
    forecast_load_s = time.perf_counter() - t1

    report: dict = {"workspace": str(ws.root), "users": len(bundle.users), "dim": int(bundle.embeddings().shape[1]),
                    "threads": faiss.omp_get_max_threads(), "load_s": round(load_s, 2),
                    "forecast_first_query_s": round(forecast_load_s, 2),
                    "users_per_second_embedded": bundle.meta.get("users_per_second")}
    queries = [Query.from_demand(d) for d in demands]
    report["text_tower"] = _pcts(_time(lambda q: zs.query_vector(q.sentences), queries, args.rounds))
    report["find_top_k"] = _pcts(_time(lambda q: zs.audience(q, top_k=args.top_k), queries, args.rounds))
    report["find_decision_rule"] = _pcts(_time(lambda q: zs.audience(q), queries, args.rounds))
    report["tower_top_k_index"] = _pcts(_time(lambda q: tower.audience(q, top_k=args.top_k), queries, args.rounds))
    report["tower_decision_rule"] = _pcts(_time(lambda q: tower.audience(q), queries, args.rounds))

    if args.million:
        qv = np.stack([zs.query_vector(q.sentences) for q in queries])
        rng = np.random.default_rng(0)
        x = rng.standard_normal((args.million, qv.shape[1]), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        x[: len(bundle.users)] = bundle.embeddings()  # the real users are among the vectors
        thr = float(np.quantile(x[:20000] @ qv[0], 0.99))  # a threshold that selects ~1% of the vectors
        for kind in [k.strip() for k in args.kinds.split(",") if k.strip()]:
            t = time.perf_counter()
            index = build_index(x, IndexConfig(kind=kind))
            build_s = time.perf_counter() - t
            rows = list(qv)
            knn = _pcts(_time(lambda q: search(index, q[None], args.top_k), rows, args.rounds))
            rng_s = _pcts(_time(lambda q: range_search(index, q, thr), rows, args.rounds))
            report[f"million_{kind}"] = {"vectors": args.million, "build_s": round(build_s, 1),
                                         "knn": knn, "range": rng_s, "range_threshold": round(thr, 4)}
            del index

    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['workspace']}: {report['users']:,} users, dim {report['dim']}, {report['threads']} faiss threads; "
          f"bundle + text tower load {report['load_s']} s; first forecast query {report['forecast_first_query_s']} s; "
          f"{report['users_per_second_embedded']} users/s embedded at build")
    for name in ("text_tower", "find_top_k", "find_decision_rule", "tower_top_k_index", "tower_decision_rule"):
        r = report[name]
        print(f"  {name:22s} p50 {r['p50_ms']:8.1f} ms  p95 {r['p95_ms']:8.1f} ms  max {r['max_ms']:8.1f} ms  (n={r['n']})")
    for key in [k for k in report if k.startswith("million_")]:
        r = report[key]
        print(f"  {key:22s} build {r['build_s']} s; k-NN p50 {r['knn']['p50_ms']} ms p95 {r['knn']['p95_ms']} ms; "
              f"range p50 {r['range']['p50_ms']} ms p95 {r['range']['p95_ms']} ms")


if __name__ == "__main__":
    main()
