"""Warm latency of `graph expand` on a built graph: p50 / p95 / max per query, in milliseconds.

    .venv/bin/python bench/graph_expand_latency.py -w /tmp/egl_ws --rounds 20

Loads the graph once (and the text encoder once, for the free-text phrases), then times
`targetbot.egl.expansion.expand_phrases` — exactly what `targetbot graph expand --json` runs
after argument parsing — over a mix of seed phrases: canonical names, aliases, several seeds at
once, free text that names an entity, and phrases that name none (encoded by MiniLM on every
query: the slowest path). Phrases are drawn from the workspace's own
entities (the most mentioned ones) so the script works on any built workspace. Process start-up
(importing torch, reading the parquet files) is reported separately as the cold cost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-w", "--workspace", default=os.environ.get("TARGETBOT_WORKSPACE", "/tmp/egl_ws"))
    ap.add_argument("--rounds", type=int, default=20, help="passes over the phrase set")
    ap.add_argument("--hops", type=int, default=2)
    ap.add_argument("--free-text", default="basketball fans,bike sharing commuters,phone repair",
                    help="comma-separated free text that names an entity inside it (lexical match)")
    ap.add_argument("--semantic", default="people who love hoops,cheap flights abroad,new parents,"
                    "electric scooters,dog owners",
                    help="comma-separated phrases that name no entity: matched by the text encoder each query")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import torch

    from targetbot.agent.models import Models
    from targetbot.commands.common import settings_from_env
    from targetbot.core.workspace import Workspace
    from targetbot.egl.config import GraphConfig
    from targetbot.egl.expansion import expand_phrases, single_threaded
    from targetbot.egl.storage import load_graph

    ws = Workspace.open(args.workspace)
    graph = load_graph(ws)
    ex = GraphConfig.for_workspace(ws.root).expansion
    cold_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    models = Models(settings_from_env())
    models.text_encoder()
    encode = single_threaded(models.encode)
    encoder_load = time.perf_counter() - t1

    ents = graph.entities.sort_values("mentions", ascending=False)
    top = ents[ents["degree"] > 0].head(40)
    rng = random.Random(args.seed)
    phrases: list[tuple[str, list[str]]] = []
    for name in top["entity"].head(20):
        phrases.append(("name", [name]))
    for al in top["aliases"].head(20):
        if len(al):
            phrases.append(("alias", [str(rng.choice(list(al)))]))
    names = top["entity"].tolist()
    for _ in range(5):
        phrases.append(("multi", rng.sample(names, 3)))
    for ft in [x.strip() for x in args.free_text.split(",") if x.strip()]:
        phrases.append(("free-text", [ft]))
    for ft in [x.strip() for x in args.semantic.split(",") if x.strip()]:
        phrases.append(("semantic", [ft]))

    expand_phrases(graph, ex, phrases[0][1], encode, hops=args.hops)  # warm caches (adjacency, dictionary)
    times: dict[str, list[float]] = {}
    sizes = []
    for _ in range(args.rounds):
        for kind, ph in phrases:
            t = time.perf_counter()
            res = expand_phrases(graph, ex, ph, encode, hops=args.hops)
            times.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
            sizes.append(len(res["entities"]))
    all_ms = sorted(x for v in times.values() for x in v)

    def pct(v, q):
        v = sorted(v)
        return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]

    report = {
        "workspace": str(ws.root), "entities": graph.n, "mined_relations": int(graph.manifest["stats"]["mined_relations"]),
        "queries": len(all_ms), "hops": args.hops, "mean_entities_returned": round(statistics.mean(sizes), 1),
        "p50_ms": round(pct(all_ms, 0.5), 2), "p95_ms": round(pct(all_ms, 0.95), 2), "max_ms": round(all_ms[-1], 2),
        "by_kind": {k: {"p50_ms": round(pct(v, 0.5), 2), "p95_ms": round(pct(v, 0.95), 2), "n": len(v)}
                    for k, v in times.items()},
        "torch_threads": torch.get_num_threads(), "cold_graph_load_s": round(cold_load, 2), "encoder_load_s": round(encoder_load, 2),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['queries']} warm expansions ({args.hops} hops) on {report['entities']:,} entities / "
          f"{report['mined_relations']:,} mined relations")
    print(f"  all        p50 {report['p50_ms']:7.2f} ms   p95 {report['p95_ms']:7.2f} ms   max {report['max_ms']:7.2f} ms")
    for k, v in report["by_kind"].items():
        print(f"  {k:<10} p50 {v['p50_ms']:7.2f} ms   p95 {v['p95_ms']:7.2f} ms   (n={v['n']})")
    print(f"  cold: graph load {report['cold_graph_load_s']} s, text encoder load {report['encoder_load_s']} s")


if __name__ == "__main__":
    main()
