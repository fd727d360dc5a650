"""The probe suite's fused-vs-concatenation comparison over tower seeds: is the gap systematic?

    .venv/bin/python bench/probe_seeds.py -w workspaces/default --seeds 4
    .venv/bin/python bench/probe_seeds.py -w workspaces/default --seeds 4 --overrides '{"align": {"recon_weight": 2}}'

Trains the towers once per seed (0, 1, ...) with the workspace's tower config plus `--overrides`
(`towers.build.ablation_bundle`: bundles are kept beside the main one, keyed by config, so a
rerun reuses them; `targetbot build --prune` deletes them) and probes each bundle exactly as
`targetbot eval run --suite probe` does (`eval.methods.probe.probe`: logistic regression fitted
on one training user per four evaluation users). Per seed it reports the mean AUC over the
scenarios of the fused embedding, the concatenation of the modality encoders, the best single
modality, and (when the fused embedding is narrower) the concatenation compressed to the fused
embedding's width by a random orthonormal projection of its standardised columns (the mean over
`--projections` draws); then the paired gaps, from unrounded AUCs.

Why a random projection and not PCA: the probe standardises every column before its L2-penalised
fit, so it whitens PCA components, and whitening alone costs the probe AUC (PCA of the fused
embedding to its own full width, a mere rotation, probes lower than the embedding as it is;
docs/RESULTS.md). A random projection keeps the columns' variances alike, so
the probe sees it much as it sees the concatenation.
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-w", "--workspace", default="workspaces/default")
    ap.add_argument("--seeds", type=int, default=4, help="tower seeds 0 .. N-1")
    ap.add_argument("--overrides", default="{}", help="JSON tower-config overrides applied at every seed")
    ap.add_argument("--projections", type=int, default=3, help="random projections averaged per seed")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.seeds < 1 or args.projections < 1:
        raise SystemExit("--seeds and --projections must be at least 1")
    try:
        overrides = json.loads(args.overrides)
    except json.JSONDecodeError as e:
        raise SystemExit(f"--overrides is not valid JSON ({e}): {args.overrides!r}")
    if not isinstance(overrides, dict):
        raise SystemExit(f"--overrides must be a JSON object (got {args.overrides!r})")

    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    from targetbot.agent.models import Models
    from targetbot.commands.common import settings_from_env
    from targetbot.eval.methods.probe import bundle_rows, probe
    from targetbot.eval.registry import EvalContext
    from targetbot.core.scenarios import load_scenarios
    from targetbot.core.workspace import Workspace
    from targetbot.towers.build import ablation_bundle

    ws = Workspace.open(args.workspace)
    models = Models(settings_from_env())
    ctx = EvalContext.load(ws, models)
    scenarios = load_scenarios(ws.scenario_files())

    def mean_auc(emb: np.ndarray, ev: np.ndarray, tr: np.ndarray) -> float:
        return float(np.mean([roc_auc_score(ctx.eval_labels(s), probe(emb, ctx, s, ev, tr).scores) for s in scenarios]))

    def random_projection(x: np.ndarray, width: int, seed: int) -> np.ndarray:
        basis, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((x.shape[1], width)))
        return StandardScaler().fit_transform(x) @ basis

    rows, gaps, proj_gaps = [], [], []
    for seed in range(args.seeds):
        bundle = ablation_bundle(ws, models, {**overrides, "seed": seed})
        ev, tr = bundle_rows(ctx, bundle)
        emb = {k: np.asarray(bundle.embeddings(k), dtype=np.float32)
               for k in ("fused", "concat", "behaviour", "tabular", "search")}
        width = emb["fused"].shape[1]
        auc = {k: mean_auc(x, ev, tr) for k, x in emb.items()}
        gaps.append(auc["fused"] - auc["concat"])
        proj = f"concat_proj{width}"
        if width < emb["concat"].shape[1]:
            auc[proj] = float(np.mean([mean_auc(random_projection(emb["concat"], width, 1000 * seed + r), ev, tr)
                                       for r in range(args.projections)]))
            proj_gaps.append(auc["fused"] - auc[proj])
        best = max(("behaviour", "tabular", "search"), key=auc.get)
        rows.append({"seed": seed, "bundle": bundle.root.name, "fused_dim": width, "concat_dim": emb["concat"].shape[1],
                     **{k: round(v, 4) for k, v in auc.items()}, "best_single": best})
        if not args.json:
            print(f"seed {seed}: fused {auc['fused']:.4f}  concat {auc['concat']:.4f}  (fused - concat {gaps[-1]:+.4f})  "
                  f"best single ({best}) {auc[best]:.4f}"
                  + (f"  concat projected to {width} {auc[proj]:.4f}" if proj in auc else ""), flush=True)

    def spread(g: list[float]) -> dict | None:
        g = np.asarray(g)
        return {"mean": round(float(g.mean()), 4), "min": round(float(g.min()), 4), "max": round(float(g.max()), 4),
                "fused_ahead": int((g >= 0).sum()), "seeds": len(g)} if len(g) else None

    summary = {"overrides": overrides, "fused_minus_concat": spread(gaps),
               "fused_minus_concat_projected": spread(proj_gaps)}
    print(json.dumps({"seeds": rows, "summary": summary}, indent=2) if args.json else json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
