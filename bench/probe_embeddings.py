"""Probe user embeddings from outside the project beside the towers', with the project's probe suite.

    .venv/bin/python bench/probe_embeddings.py -w ws --embedding coles=emb.parquet \
        [--embedding NAME=users_by_dims.npy] [--scenarios builtin|dev|test] [--json]

Each `--embedding NAME=PATH` is a parquet of `user_id` + `emb_*` columns (what a peer such as
pytorch-lifestream's CoLES writes), or a users x dims .npy / .npz (`embeddings`) in the tower
bundle's user order; users it lacks get zeros. Every embedding gets the same probe as `eval run
--suite probe` (a logistic regression fitted on one training user per four evaluation users,
scored on the evaluation users), beside `probe-behaviour`, `probe-concat`, `probe-fused` and
`probe-anchors` (the anchor towers' embedding) in the same run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def load_embedding(path: Path, users: pd.Index, bundle_users: pd.Index) -> np.ndarray:
    """Rows in `users` order."""
    if path.suffix in (".npz", ".npy"):
        x = np.load(path)["embeddings"] if path.suffix == ".npz" else np.load(path, mmap_mode="r")
        rows = bundle_users.get_indexer(users)
        return np.where(rows[:, None] >= 0, x[np.maximum(rows, 0)], 0.0).astype(np.float32)
    df = pd.read_parquet(path)
    df["user_id"] = df["user_id"].astype(str)
    cols = [c for c in df.columns if c.startswith("emb_")]
    if not cols and "emb" in df.columns:
        wide = pd.DataFrame(np.stack(df["emb"].to_numpy()), index=df["user_id"])
        return wide.reindex(users).fillna(0.0).to_numpy(np.float32)
    return df.set_index("user_id")[cols].reindex(users).fillna(0.0).to_numpy(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-w", "--workspace", required=True)
    ap.add_argument("--embedding", action="append", default=[], help="NAME=PATH (parquet or .npz), repeatable")
    ap.add_argument("--scenarios", default="builtin", help="builtin, or dev / test of --bank")
    ap.add_argument("--bank", default=str(ROOT / "eval" / "data" / "scenario_bank"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from targetbot.agent.models import Models
    from targetbot.commands.common import settings_from_env
    from targetbot.core.workspace import Workspace
    from targetbot.eval.methods.probe import probe
    from targetbot.eval.registry import EvalContext, TargetingMethod, register_method
    from targetbot.eval.runner import run_suite
    from targetbot.towers.bundle import Bundle

    ws = Workspace.open(args.workspace)
    models = Models(settings_from_env())
    bundle_users = Bundle.load(ws, models.settings).users
    names = []
    for spec in args.embedding:
        name, _, path = spec.partition("=")
        if not path:
            raise SystemExit(f"--embedding {spec!r}: say NAME=PATH")
        names.append(f"probe-{name}")

        def _method(path=Path(path)):
            class External(TargetingMethod):
                suites = ("probe",)
                description = f"linear probe on {path.name}"

                def score(self, scenario, ctx: EvalContext):
                    key = f"_external_{path}"
                    if key not in ctx.cache:
                        ctx.cache[key] = load_embedding(path, pd.Index(ctx.users.astype(str)), bundle_users)
                    x = ctx.cache[key]
                    return probe(x, ctx, scenario, np.flatnonzero(ctx.eval_mask), np.flatnonzero(ctx.train_mask))
            return External

        register_method(f"probe-{name}")(_method())
    options = {} if args.scenarios == "builtin" else {"scenario_dirs": [Path(args.bank)], "split": args.scenarios}
    methods = names + ["probe-behaviour", "probe-concat", "probe-fused", "probe-anchors"]
    rows = run_suite(ws, "probe", methods, models=models, seed=args.seed, options=options)["results"]
    table: dict[str, dict[str, float]] = {}
    for r in rows:
        table.setdefault(r["method"], {})[r["scenario"]] = r["auc"]
    means = {m: round(float(np.mean(list(v.values()))), 4) for m, v in table.items()}
    if args.json:
        print(json.dumps({"workspace": args.workspace, "scenarios": args.scenarios, "mean_auc": means,
                          "per_scenario": table}, indent=1))
    else:
        for m, v in means.items():
            print(f"{m:20s} {v:.4f}")


if __name__ == "__main__":
    main()
