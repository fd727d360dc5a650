"""The `probe` suite: how much each user embedding knows, measured with a linear probe.

A logistic regression is fitted on the embeddings of a random sample of *training* users
(one fit user for every four evaluation users, the 1:4 split) and scored on the evaluation
users. Embeddings: behaviour-only, tabular-only and search-only encoders, their
concatenation, the fused (aligned) user embedding, and the anchor towers' (towers/anchors.py); `ablation-*` methods probe the fused
embedding of towers trained without one modality or without attention fusion (built on first
use with the same config otherwise, and kept beside the main bundle).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from targetbot.eval.registry import EvalContext, MethodOutput, TargetingMethod, register_method
from targetbot.towers.build import ABLATIONS



def probe(emb: np.ndarray, ctx: EvalContext, scenario, rows_eval: np.ndarray, rows_train: np.ndarray) -> MethodOutput:
    y_train = ctx.train_labels(scenario)
    n_fit = max(20, int(ctx.eval_mask.sum()) // 4)
    rng = np.random.default_rng([ctx.seed, 7, sum(map(ord, scenario.name))])
    fit = rng.choice(len(rows_train), size=min(n_fit, len(rows_train)), replace=False)
    if y_train[fit].sum() == 0:  # rare scenario: make sure the fit sample has positives
        pos = np.flatnonzero(y_train == 1)
        fit = np.r_[fit, rng.choice(pos, min(len(pos), 5), replace=False)] if len(pos) else fit
    X = np.asarray(emb, dtype=np.float32)
    scaler = StandardScaler().fit(X[rows_train[fit]])
    model = LogisticRegression(C=0.1, max_iter=2000, class_weight="balanced", random_state=ctx.seed)
    model.fit(scaler.transform(X[rows_train[fit]]), y_train[fit])
    p = model.predict_proba(scaler.transform(X[rows_eval]))[:, 1]
    return MethodOutput(scores=p, selected=p >= 0.5, rule="logistic probe p >= 0.5 (balanced classes)",
                        extra={"fit_users": int(len(fit))})


def bundle_rows(ctx: EvalContext, bundle) -> tuple[np.ndarray, np.ndarray]:
    """(evaluation users' rows, training users' rows) in a tower bundle's embeddings."""
    ev = bundle.users.get_indexer(ctx.eval_users)
    tr = bundle.users.get_indexer(ctx.users.to_numpy()[ctx.train_mask])
    return ev, tr


def _make(kind: str):
    class Probe(TargetingMethod):
        suites = ("probe",)
        description = f"linear probe on the {kind} embedding"

        def score(self, scenario, ctx: EvalContext) -> MethodOutput:
            from targetbot.eval.methods.find import _bundle_and_rows

            zs, _ = _bundle_and_rows(ctx)
            ev, tr = bundle_rows(ctx, zs.bundle)
            return probe(zs.bundle.embeddings(kind), ctx, scenario, ev, tr)
    return Probe


for _kind in ("behaviour", "tabular", "search", "concat", "fused"):
    register_method(f"probe-{_kind}")(_make(_kind))


@register_method("probe-anchors")
class AnchorProbe(TargetingMethod):
    suites = ("probe",)
    description = "linear probe on the anchor towers' user embedding (forecasts of the anchor behaviours)"

    def score(self, scenario, ctx: EvalContext) -> MethodOutput:
        from targetbot.eval.methods.find import _bundle_and_rows

        zs, _ = _bundle_and_rows(ctx)
        ev, tr = bundle_rows(ctx, zs.bundle)
        tower = zs.anchor_tower()
        if not len(tower.texts):
            from targetbot.core.errors import TargetbotError
            raise TargetbotError("the workspace has no anchor behaviours (no future text enough training users did)")
        return probe(tower.embeddings, ctx, scenario, ev, tr)


def _make_ablation(name: str, overrides: dict):
    class Ablation(TargetingMethod):
        suites = ("probe",)
        description = f"linear probe on the fused embedding of towers trained with {overrides}"

        def prepare(self, ctx: EvalContext) -> None:
            from targetbot.towers.build import ablation_bundle

            ctx.cache[f"_bundle_{name}"] = ablation_bundle(ctx.ws, ctx.models, overrides)

        def score(self, scenario, ctx: EvalContext) -> MethodOutput:
            bundle = ctx.cache[f"_bundle_{name}"]
            ev, tr = bundle_rows(ctx, bundle)
            return probe(bundle.embeddings("fused"), ctx, scenario, ev, tr)
    return Ablation


for _name, _over in ABLATIONS.items():
    register_method(_name)(_make_ablation(_name, _over))
