"""History features for reference models: sparse per-user counts plus the profile table.

Columns are (window, field, value) counts over history events for field in category,
merchant, item and text, kept when at least `min_users` users have them; values are log1p.
Profiles become numeric columns and one-hot categoricals. Built once per workspace and shared
through the evaluation context cache.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from targetbot.eval.registry import EvalContext

FIELDS = ("category", "merchant", "item", "text", "source")


@dataclass
class UserFeatures:
    counts: sp.csr_matrix  # users x vocabulary, log1p counts
    vocabulary: list[str]
    profile: np.ndarray  # users x profile columns (dense)
    profile_columns: list[str]


def build_features(ctx: EvalContext, min_users: int = 20) -> UserFeatures:
    if "_features" in ctx.cache:
        return ctx.cache["_features"]
    hist = ctx.history()
    users = ctx.users
    uidx = users.get_indexer(hist["user_id"].astype(str))
    blocks, vocab = [], []
    windows = hist["window"].astype(str).to_numpy()
    for w in sorted(set(windows)):
        wm = windows == w
        for f in FIELDS:
            if f not in hist.columns:
                continue
            col = hist[f]
            if not isinstance(col.dtype, pd.CategoricalDtype):
                col = col.astype("category")
            codes = col.cat.codes.to_numpy()
            keep = wm & (codes >= 0) & (uidx >= 0)
            m = sp.coo_matrix((np.ones(keep.sum(), dtype=np.float32), (uidx[keep], codes[keep])),
                              shape=(len(users), len(col.cat.categories))).tocsr()
            m.sum_duplicates()
            n_users = np.asarray((m > 0).sum(axis=0)).ravel()
            cols = np.flatnonzero(n_users >= min_users)
            blocks.append(m[:, cols])
            vocab += [f"{w}:{f}:{col.cat.categories[c]}" for c in cols]
    counts = sp.hstack(blocks).tocsr().astype(np.float32)
    counts.data = np.log1p(counts.data)

    prof = ctx.labels_ctx.profiles
    schema = ctx.ws.profile_schema().columns
    dense, names = [], []
    for col, kind in schema.items():
        if col not in prof.columns:
            continue
        if kind == "numeric":
            dense.append(pd.to_numeric(prof[col], errors="coerce").fillna(0).to_numpy(dtype=np.float32)[:, None])
            names.append(col)
        else:
            values = prof[col].astype(str)
            top = values.value_counts().index[:30]
            for v in top:
                dense.append((values == v).to_numpy(dtype=np.float32)[:, None])
                names.append(f"{col}={v}")
    profile = np.hstack(dense) if dense else np.zeros((len(users), 0), dtype=np.float32)
    feats = UserFeatures(counts=counts, vocabulary=vocab, profile=profile, profile_columns=names)
    ctx.cache["_features"] = feats
    return feats
