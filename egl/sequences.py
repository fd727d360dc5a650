"""Per-user chronological entity sequences and the rolling history snapshots they are cut into.

A snapshot is the last `days` days of history as of some day: the graph build uses several
such windows, ending `stride_days` apart, so Stage III can ensemble models trained on each.
Only history windows feed a snapshot; the label window never does.

Context pairs for co-occurrence come from sessions: two mentions pair up when they belong to
different events of the same user at most `window` events apart and at most `gap_minutes`
apart. Mentions inside one event (an item and the shop it was bought at) are not paired: one
event's slots are filled by the renderer, not by the user moving from one thing to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from targetbot.core.errors import TargetbotError


@dataclass(frozen=True)
class Snapshot:
    name: str
    start: pd.Timestamp  # inclusive
    end: pd.Timestamp  # exclusive

    def as_dict(self) -> dict:
        return {"name": self.name, "start": str(self.start), "end": str(self.end)}


def history_span(mentions: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    if mentions.empty:
        raise TargetbotError("no entity mentions in the history windows: nothing to build a graph from")
    return pd.Timestamp(mentions["ts"].min()), pd.Timestamp(mentions["ts"].max())


def snapshots(mentions: pd.DataFrame, days: float, count: int, stride_days: float,
              min_share: float = 0.0) -> list[Snapshot]:
    """`count` windows of `days` days, the last ending at the end of history, each `stride_days` earlier.

    Windows widen (stride in proportion) until the latest holds at least `min_share` of all
    history mentions — workspaces whose history windows are per user (MovieLens: each user's
    first 70 % of ratings) spread history over months. When history is shorter than the
    windows need, they shrink to fit (never below a day). Chronological order always."""
    lo, hi = history_span(mentions)
    end = hi.normalize() + pd.Timedelta(days=1)  # exclusive: the day after the last mention
    span_days = (end - lo.normalize()).total_seconds() / 86400
    if min_share > 0:
        age = (end - mentions["ts"]).dt.total_seconds().to_numpy() / 86400
        need_days = float(np.quantile(age, min(min_share, 1.0)))
        if need_days > days:
            stride_days *= need_days / days
            days = need_days
    need = days + stride_days * (count - 1)
    if need > span_days:
        scale = span_days / need
        days, stride_days = max(days * scale, 1.0), stride_days * scale
    out = []
    for k in range(count):
        e = end - pd.Timedelta(days=stride_days * (count - 1 - k))
        out.append(Snapshot(f"s{k}", e - pd.Timedelta(days=days), e))
    return out


def in_snapshot(mentions: pd.DataFrame, snap: Snapshot) -> pd.DataFrame:
    ts = mentions["ts"]
    return mentions[(ts >= snap.start) & (ts < snap.end)]


def context_pairs(mentions: pd.DataFrame, n_entities: int, window: int, gap_minutes: float) -> sparse.csr_matrix:
    """Symmetric sparse (n_entities x n_entities) counts of session context pairs.

    `mentions` must be sorted by user, then time, then event (extraction returns them so)."""
    if mentions.empty:
        return sparse.csr_matrix((n_entities, n_entities), dtype=np.float64)
    u = mentions["user"].cat.codes.to_numpy() if isinstance(mentions["user"].dtype, pd.CategoricalDtype) \
        else pd.factorize(mentions["user"])[0]
    ts = mentions["ts"].to_numpy().astype("datetime64[s]").astype(np.int64)
    e = mentions["entity"].to_numpy().astype(np.int64)
    ev = mentions["event"].to_numpy()
    # ordinal of each mention's event in the stream: "k events apart" = difference of ordinals
    pos = np.cumsum(np.r_[0, (ev[1:] != ev[:-1]).astype(np.int64)])
    gap = gap_minutes * 60
    rows, cols = [], []
    k = 1
    while k < len(e):
        same_user = u[k:] == u[:-k]
        dpos = pos[k:] - pos[:-k]
        near = same_user & (dpos <= window)
        if not near.any():
            break
        ok = near & (dpos > 0) & ((ts[k:] - ts[:-k]) <= gap)
        rows.append(e[:-k][ok])
        cols.append(e[k:][ok])
        k += 1
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    m = sparse.coo_matrix((np.ones(len(r)), (r, c)), shape=(n_entities, n_entities)).tocsr()
    m = (m + m.T).tocsr()
    m.setdiag(0)
    m.eliminate_zeros()
    return m
