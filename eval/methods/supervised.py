"""`supervised`: the reference — a gradient-boosted model trained on many labelled users.

Training users' labels from the label window are the targets; inputs are history-window
features (eval.features). It shows how much forecastable signal the data holds; zero- and
few-shot methods are measured against it. Decision rule: the probability threshold that
maximises F1 on held-out training users (labels of evaluation users are never seen).
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_selection import chi2

from targetbot.eval.features import build_features
from targetbot.eval.registry import EvalContext, MethodOutput, TargetingMethod, register_method

TOP_FEATURES = 300


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    order = np.argsort(-p)
    ys = y[order].astype(bool)
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    f1 = 2 * tp / (k + ys.sum())
    best = int(np.argmax(f1))
    return float(p[order][best])


@register_method("supervised")
class SupervisedMethod(TargetingMethod):
    suites = ("zero-shot", "few-shot")
    description = "gradient boosting on history features, trained on all training-user labels"

    def prepare(self, ctx: EvalContext) -> None:
        build_features(ctx)

    def score(self, scenario, ctx: EvalContext) -> MethodOutput:
        feats = build_features(ctx)
        y = ctx.train_labels(scenario)
        Xc_train = feats.counts[ctx.train_mask]
        if y.sum() < 5:
            scores = np.zeros(int(ctx.eval_mask.sum()))
            return MethodOutput(scores=scores, selected=scores > 0, rule="too few positive training users")
        stat, _ = chi2(Xc_train, y)
        stat = np.nan_to_num(stat)
        cols = np.argsort(-stat)[:TOP_FEATURES]

        def design(mask):
            return np.hstack([feats.counts[mask][:, cols].toarray(), feats.profile[mask]])

        X = design(ctx.train_mask)
        rng = np.random.default_rng([ctx.seed, 11])
        hold = rng.random(len(y)) < 0.2
        model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.06, max_leaf_nodes=31,
                                               l2_regularization=1.0, early_stopping=True, validation_fraction=0.15,
                                               n_iter_no_change=20, random_state=ctx.seed)
        model.fit(X[~hold], y[~hold])
        thr = best_f1_threshold(y[hold], model.predict_proba(X[hold])[:, 1]) if y[hold].sum() else 0.5
        model.fit(X, y)
        p = model.predict_proba(design(ctx.eval_mask))[:, 1]
        return MethodOutput(scores=p, selected=p >= thr, rule=f"p >= {thr:.3f} (best F1 on held-out training users)")
