"""Model inputs per user for a set of windows: behaviour steps, recent searches, profile codes.

* Behaviour: events other than searches, bucketed into steps of `step_days` (or, for windows
  without dates, into equal shares of the user's events in that window); each step is the
  mean of the events' representation-center vectors plus an event count.
* Searches: the user's most recent distinct search texts, as row ids into the content matrix.
* Profile: categorical columns as integer codes, numeric columns rank-gauss normalised.

Everything is vectorised: a sparse (user*step x text) count matrix times the content matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import QuantileTransformer

from targetbot.core.workspace import Workspace

DEFAULT_STEPS_PER_WINDOW = 10


@dataclass
class ProfileCodec:
    """Fitted on profiles only (no labels): category vocabularies and numeric quantiles."""

    categorical: list[str]
    numeric: list[str]
    vocab: dict[str, list[str]]
    quantiles: QuantileTransformer | None

    @classmethod
    def fit(cls, profiles: pd.DataFrame, schema: dict[str, str], max_values: int = 50) -> "ProfileCodec":
        cats = [c for c, k in schema.items() if k == "categorical" and c in profiles.columns]
        nums = [c for c, k in schema.items() if k == "numeric" and c in profiles.columns]
        vocab = {c: [str(v) for v in profiles[c].astype(str).value_counts().index[:max_values]] for c in cats}
        qt = None
        if nums:
            qt = QuantileTransformer(n_quantiles=min(200, len(profiles)), output_distribution="normal", random_state=0)
            qt.fit(profiles[nums].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy())
        return cls(cats, nums, vocab, qt)

    @property
    def cardinalities(self) -> list[int]:
        return [len(self.vocab[c]) + 1 for c in self.categorical]  # +1: other / unseen

    def transform(self, profiles: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        cat = np.zeros((len(profiles), len(self.categorical)), dtype=np.int64)
        for j, c in enumerate(self.categorical):
            index = {v: i for i, v in enumerate(self.vocab[c])}
            cat[:, j] = profiles[c].astype(str).map(index).fillna(len(index)).to_numpy(dtype=np.int64)
        if self.numeric:
            raw = profiles[self.numeric].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy()
            num = self.quantiles.transform(raw).astype(np.float32)
        else:
            num = np.zeros((len(profiles), 0), dtype=np.float32)
        return cat, num

    def to_dict(self) -> dict:
        """Plain JSON (floats round-trip exactly): what a bundle stores instead of a pickle, so a
        stored bundle does not depend on the module path of this class."""
        qt = self.quantiles
        q = None if qt is None else {"n_quantiles": int(qt.n_quantiles_), "quantiles": qt.quantiles_.tolist(),
                                     "references": qt.references_.tolist()}
        return {"categorical": list(self.categorical), "numeric": list(self.numeric), "vocab": self.vocab,
                "quantiles": q}

    @classmethod
    def from_dict(cls, d: dict) -> "ProfileCodec":
        qt = None
        if d.get("quantiles") is not None:
            q = d["quantiles"]
            qt = QuantileTransformer(n_quantiles=q["n_quantiles"], output_distribution="normal", random_state=0)
            qt.n_quantiles_ = int(q["n_quantiles"])
            qt.quantiles_ = np.asarray(q["quantiles"], dtype=np.float64)
            qt.references_ = np.asarray(q["references"], dtype=np.float64)
            qt.n_features_in_ = qt.quantiles_.shape[1]
        return cls(list(d["categorical"]), list(d["numeric"]), {k: list(v) for k, v in d["vocab"].items()}, qt)


@dataclass
class UserInputs:
    user_ids: np.ndarray  # (U,) str
    step_content: np.ndarray  # (U, T, D) float16: mean content vector per step
    step_counts: np.ndarray  # (U, T) float32
    search_rows: np.ndarray  # (U, S) int64 rows into the content matrix, -1 = none
    bag_rows: np.ndarray  # (U, B) int64 the user's most characteristic distinct behaviour texts
    cat: np.ndarray  # (U, C) int64
    num: np.ndarray  # (U, N) float32
    step_items: np.ndarray | None = None  # (U, T, K) int64 item ids (0 = none), MIM option

    @property
    def step_mask(self) -> np.ndarray:
        return self.step_counts > 0

    def __len__(self) -> int:
        return len(self.user_ids)


def steps_per_window(ws: Workspace, window: str, step_days: int) -> int:
    w = next(x for x in ws.meta.windows if x.name == window)
    if w.start is None or w.end is None:
        return DEFAULT_STEPS_PER_WINDOW
    return max(1, math.ceil((w.end - w.start).days / step_days))


def _relative_position(ws: Workspace, ev: pd.DataFrame) -> np.ndarray:
    """Position of each event inside its window, in [0, 1)."""
    pos = np.zeros(len(ev))
    ts = pd.to_datetime(ev["ts"]).to_numpy()
    win = ev["window"].astype(str).to_numpy()
    for w in ws.meta.windows:
        m = win == w.name
        if not m.any():
            continue
        if w.start is not None and w.end is not None:
            lo = np.datetime64(w.start.replace(tzinfo=None))
            span = (np.datetime64(w.end.replace(tzinfo=None)) - lo).astype("timedelta64[s]").astype(float)
            pos[m] = (ts[m] - lo).astype("timedelta64[s]").astype(float) / span
        else:  # explicit windows: share of the user's events in this window, in time order
            sub = pd.DataFrame({"u": ev["user_id"].astype(str).to_numpy()[m], "t": ts[m]})
            rank = sub.groupby("u")["t"].rank(method="first").to_numpy() - 1
            size = sub.groupby("u")["t"].transform("size").to_numpy()
            pos[m] = rank / size
    return np.clip(pos, 0, 1 - 1e-9)


@dataclass
class BagIdf:
    """How many users have each content row among their behaviour texts, out of `users`: the IDF
    that ranks a user's bag. Counted once on the training sample and reused for every batch of
    users embedded later, so a user's bag does not depend on which batch it is in."""

    row_users: np.ndarray  # (content rows,) int64
    users: int

    def weights(self, rows: np.ndarray) -> np.ndarray:
        return np.log((1 + self.users) / (1 + self.row_users[rows]))


def build_inputs(ws: Workspace, users: pd.Index, windows: list[str], content_rows: np.ndarray,
                 events: pd.DataFrame, matrix: np.ndarray, codec: ProfileCodec, profiles: pd.DataFrame,
                 step_days: int, max_searches: int, item_vocab: dict[str, int] | None = None,
                 items_per_step: int = 4, bag_size: int = 48, idf: BagIdf | None = None) -> UserInputs:
    """`events` with their `content_rows` (row ids into `matrix`) restricted here to `windows`.
    `idf`: the bag's IDF (default: counted over these users; see `bag_idf`)."""
    U = len(users)
    in_windows = events["window"].astype(str).isin(windows).to_numpy()
    ev = events.loc[in_windows]
    rows = content_rows[in_windows]
    uidx = users.get_indexer(ev["user_id"].astype(str))
    ok = uidx >= 0
    ev, rows, uidx = ev.loc[ok], rows[ok], uidx[ok]
    per_window = [steps_per_window(ws, w, step_days) for w in windows]
    offsets = np.cumsum([0] + per_window[:-1])
    T = int(sum(per_window))
    win_idx = pd.Index(windows).get_indexer(ev["window"].astype(str))
    step = offsets[win_idx] + np.floor(_relative_position(ws, ev) * np.asarray(per_window)[win_idx]).astype(int)

    is_search = (ev["source"].astype(str) == "search").to_numpy()
    b = ~is_search
    cell = uidx[b] * T + step[b]
    counts = sp.csr_matrix((np.ones(b.sum(), dtype=np.float32), (cell, rows[b])), shape=(U * T, matrix.shape[0]))
    sums = counts @ matrix
    n = np.asarray(counts.sum(axis=1)).ravel()
    mean = (sums / np.maximum(n, 1)[:, None]).astype(np.float16).reshape(U, T, -1)

    s_ev = pd.DataFrame({"u": uidx[is_search], "row": rows[is_search], "ts": pd.to_datetime(ev["ts"]).to_numpy()[is_search]})
    s_ev = s_ev.sort_values(["u", "ts"], ascending=[True, False]).drop_duplicates(["u", "row"])
    s_ev = s_ev[s_ev.groupby("u").cumcount() < max_searches]
    search_rows = np.full((U, max_searches), -1, dtype=np.int64)
    search_rows[s_ev["u"].to_numpy(), s_ev.groupby("u").cumcount().to_numpy()] = s_ev["row"].to_numpy()

    # the bag: distinct behaviour texts ranked by count x IDF (rare-for-everyone, frequent-for-user first)
    bag = pd.DataFrame({"u": uidx[b], "row": rows[b]}).value_counts().rename("n").reset_index()
    idf = idf or _idf_of(bag, U, matrix.shape[0])
    bag["w"] = np.log1p(bag["n"].to_numpy()) * idf.weights(bag["row"].to_numpy())
    bag = bag.sort_values(["u", "w"], ascending=[True, False])
    bag = bag[bag.groupby("u").cumcount() < bag_size]
    bag_rows = np.full((U, bag_size), -1, dtype=np.int64)
    bag_rows[bag["u"].to_numpy(), bag.groupby("u").cumcount().to_numpy()] = bag["row"].to_numpy()

    step_items = None
    if item_vocab is not None and "item" in ev.columns:
        ids = ev["item"].astype(str).map(item_vocab).fillna(0).to_numpy(dtype=np.int64)[b]
        it = pd.DataFrame({"cell": cell, "id": ids})
        it = it[it["id"] > 0].drop_duplicates()
        it = it[it.groupby("cell").cumcount() < items_per_step]
        step_items = np.zeros((U * T, items_per_step), dtype=np.int64)
        step_items[it["cell"].to_numpy(), it.groupby("cell").cumcount().to_numpy()] = it["id"].to_numpy()
        step_items = step_items.reshape(U, T, items_per_step)

    prof = profiles.reindex(users)
    cat, num = codec.transform(prof)
    return UserInputs(user_ids=users.to_numpy(), step_content=mean, step_counts=n.reshape(U, T).astype(np.float32),
                      search_rows=search_rows, bag_rows=bag_rows, cat=cat, num=num, step_items=step_items)


def _idf_of(bag: pd.DataFrame, users: int, n_rows: int) -> BagIdf:
    return BagIdf(np.bincount(bag["row"].to_numpy(), minlength=n_rows).astype(np.int64), users)


def bag_idf(users: pd.Index, windows: list[str], content_rows: np.ndarray, events: pd.DataFrame,
            n_rows: int) -> BagIdf:
    """The bag IDF of `users` over their behaviour (non-search) texts in `windows`."""
    m = events["window"].astype(str).isin(windows).to_numpy() & (events["source"].astype(str) != "search").to_numpy()
    uidx = users.get_indexer(events.loc[m, "user_id"].astype(str))
    ok = uidx >= 0
    bag = pd.DataFrame({"u": uidx[ok], "row": content_rows[m][ok]}).drop_duplicates()
    return _idf_of(bag, len(users), n_rows)


def item_vocabulary(events: pd.DataFrame, min_users: int = 5) -> dict[str, int]:
    """Item -> id (1-based; 0 = none) for items seen by at least `min_users` users."""
    if "item" not in events.columns:
        return {}
    pairs = pd.DataFrame({"u": events["user_id"].astype(str), "i": events["item"].astype("string")}).dropna().drop_duplicates()
    n = pairs["i"].value_counts()
    keep = sorted(n[n >= min_users].index)
    return {v: i + 1 for i, v in enumerate(keep)}
