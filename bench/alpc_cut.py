"""ALPC against its ablation without the contrastive task, seed by seed: is the relation-ACC gap
ranking or cut?

    .venv/bin/python bench/alpc_cut.py -w workspaces/default --seeds 8

Retrains ALPC and its β = 0 ablation on the stored graph's latest snapshot with the same seeds
and held-out pairs as `targetbot eval run --suite graph --repeats N`, then reports per seed:
* ACC and kept (directed) relations at each model's own adaptive thresholds (what the suite scores);
* ALPC's ACC when its thresholds are shifted together until it keeps as many relations as the
  ablation does: the same count, so only the ranking differs;
and over the seeds the correlation between kept count and ACC. Runs single-threaded.
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def margins(logits: np.ndarray, thresholds: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """s_ab - t_a for both directions of every candidate edge: > 0 means kept."""
    return np.r_[logits - thresholds[edges[:, 0]], logits - thresholds[edges[:, 1]]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-w", "--workspace", default="workspaces/default")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import torch

    from targetbot.agent.models import Models
    from targetbot.commands.common import settings_from_env
    from targetbot.egl.alpc import NodeInputs, train_alpc
    from targetbot.egl.build import alpc_params, ensure_graph
    from targetbot.egl.storage import load_graph
    from targetbot.eval.graph_suite import is_true, truth_keys
    from targetbot.core.workspace import Workspace

    torch.set_num_threads(1)
    ws = Workspace.open(args.workspace)
    cfg = ensure_graph(ws, Models(settings_from_env()))
    graph = load_graph(ws)
    snap = graph.snapshot(graph.snapshot_names()[-1])
    inputs = NodeInputs.build(snap.U, snap.V, graph.semantic, snap.counts)
    cand = snap.candidate_graph()
    true2 = np.tile(is_true(cand.edges, graph.n, truth_keys(ws, graph)), 2)
    rows = []
    for i in range(args.seeds):
        m = {}
        for name, over in (("alpc", {}), ("no_contrastive", {"beta": 0.0})):
            res = train_alpc(cand, inputs, alpc_params(cfg, seed=cfg.seed + i, **over), test_pairs=graph.test_pairs())
            m[name] = margins(res.edge_logits, res.thresholds, cand.edges)
        kept = {k: int((v > 0).sum()) for k, v in m.items()}
        acc = {k: float(true2[v > 0].mean()) for k, v in m.items()}
        same_count = float(true2[np.argsort(-m["alpc"], kind="stable")[:kept["no_contrastive"]]].mean())
        rows.append({"seed": cfg.seed + i, "acc": acc, "kept": kept, "alpc_acc_at_ablation_count": same_count})
        if not args.json:
            print(f"seed {cfg.seed + i}: ALPC {acc['alpc']:.4f} ({kept['alpc']} kept)  no-contrastive "
                  f"{acc['no_contrastive']:.4f} ({kept['no_contrastive']} kept)  ALPC at that count {same_count:.4f}",
                  flush=True)
    summary = {}
    for name in ("alpc", "no_contrastive"):
        a = np.array([r["acc"][name] for r in rows])
        k = np.array([r["kept"][name] for r in rows])
        summary[name] = {"acc": round(float(a.mean()), 4), "acc_std": round(float(a.std()), 4),
                         "kept_min": int(k.min()), "kept_max": int(k.max()),
                         "corr_kept_acc": round(float(np.corrcoef(k, a)[0, 1]), 3) if len(rows) > 2 else None}
    gain = np.array([r["alpc_acc_at_ablation_count"] - r["acc"]["no_contrastive"] for r in rows])
    summary["same_count"] = {"alpc_ahead": int((gain > 0).sum()), "seeds": len(rows), "mean_gain": round(float(gain.mean()), 4)}
    summary["own_thresholds"] = {"alpc_ahead": int(sum(r["acc"]["alpc"] > r["acc"]["no_contrastive"] for r in rows))}
    if args.json:
        print(json.dumps({"seeds": rows, "summary": summary}, indent=2))
    else:
        print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
