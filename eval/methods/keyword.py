"""`keyword`: rule-based targeting from the demand's words, the usual industry baseline.

An analyst turns "users likely to rent phones" into the keywords {rent, phone} and looks for
users whose history mentions them. Score: sum over history events of the IDF weights of the
keywords each event mentions (log-damped per user). Decision rule: select users with at least
one event that mentions at least half of the distinctive keywords (keywords found in more than
half of all events, like "watch" in a log of watched movies, select nobody in particular and
are left out of the rule).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from targetbot.eval.registry import EvalContext, MethodOutput, TargetingMethod, register_method

STOPWORDS = set("""
a an the and or but not no of to in on at by for from with without into onto over under about as is are be been being
was were will would can could may might should must do does did have has had their they them there these those this
that who whose whom which what when where why how users user people customers customer likely likelihood probably
soon new who's it its our your my me we you he she his her than then also very more most some any all each every
one two three app service services
""".split())


def keywords(demand: str) -> list[str]:
    """Content words of the demand, crudely stemmed (phones -> phone, watching -> watch)."""
    words = re.findall(r"[a-z0-9][a-z0-9\-]+", demand.lower())
    out = []
    for w in words:
        if w in STOPWORDS or len(w) < 3:
            continue
        w = stem(w)
        if w not in out:
            out.append(w)
    return out


def stem(w: str) -> str:
    """A tiny English stemmer: enough to match 'phones' with 'phone' and 'watching' with 'watch'."""
    if w.endswith("ies") and len(w) > 4:
        return w[:-1] if len(w) <= 6 else w[:-3] + "y"  # movies -> movie, categories -> category
    if w.endswith(("sses", "shes", "ches", "xes")):
        return w[:-2]
    if w.endswith("ss") or w.endswith("us"):
        return w
    if w.endswith("s") and len(w) > 3:
        return w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            return w[: -len(suffix)]
    return w


@register_method("keyword")
class KeywordMethod(TargetingMethod):
    suites = ("zero-shot",)
    description = "IDF-weighted keyword matches of the demand in history text"

    def score(self, scenario, ctx: EvalContext) -> MethodOutput:
        hist = ctx.history()
        kws = keywords(scenario.demand)
        texts = pd.Series(hist["text"].cat.categories.astype(str)).str.lower()
        codes = hist["text"].cat.codes.to_numpy()
        freq = np.bincount(codes[codes >= 0], minlength=len(texts))
        n_events = max(int(freq.sum()), 1)
        weight = np.zeros(len(texts))
        n_hit = np.zeros(len(texts), dtype=np.int32)
        distinctive = []
        for kw in kws:
            hit = texts.str.contains(r"\b" + re.escape(kw), regex=True).to_numpy()
            df = int(freq[hit].sum())
            idf = math.log(n_events / (1 + df))
            weight += hit * max(idf, 0.0)
            if df <= n_events / 2:
                n_hit += hit
                distinctive.append(kw)
        need = max(1, math.ceil(len(distinctive) / 2)) if distinctive else len(kws) + 1
        per_event_w = np.where(codes >= 0, weight[np.maximum(codes, 0)], 0.0)
        per_event_ok = np.where(codes >= 0, n_hit[np.maximum(codes, 0)] >= need, False)
        user = hist["user_id"].astype(str)
        by_user = pd.DataFrame({"w": per_event_w, "ok": per_event_ok}).groupby(user.to_numpy())
        agg = by_user.agg(w=("w", "sum"), ok=("ok", "any"))
        eval_users = pd.Index(ctx.eval_users)
        w = agg["w"].reindex(eval_users, fill_value=0.0).to_numpy()
        ok = agg["ok"].reindex(eval_users, fill_value=False).to_numpy(dtype=bool)
        scores = np.log1p(w) + ok * 100.0  # rule-matching users first, then by weighted mentions
        return MethodOutput(scores=scores, selected=ok,
                            rule=f"an event mentions >= {need} of {distinctive}",
                            extra={"keywords": kws})
