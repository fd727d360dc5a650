"""Zero-shot targeting by self-supervised forecasting of the demand's future behaviour.

FIND's premise is that a user's history predicts the text of their *next* window. The dual
towers learn that mapping once, for every possible sentence, through a 128-d bottleneck; a
linear probe on those embeddings stays well below a linear model on the raw history (figures in
docs/RESULTS.md), so the bottleneck, not the text side, limits zero-shot targeting.
This scorer keeps the premise and drops the bottleneck, one demand at a time:

1. *Which future behaviour realises the demand?* The demand's template sentences are matched
   (MiniLM cosine, the representation center's vectors) against every behaviour text that
   training users produced in their target window; texts within `margin` of the best match
   (at most `max_texts`) are taken.
2. *Who did it, and what did their history look like before?* Training users for whom those
   texts make up a larger share of their target window than they do on average over all
   training users are the pseudo-positives — no labels are read. Where the behaviour is rare
   (most of the 20k world) that is simply "did it at all"; where nearly everyone does it
   (everyone watches some comedy), it picks the users it is typical of rather than the most
   active ones (on MovieLens genres the share ranks better; on the rare behaviours of the world
   simulator the two agree; see docs/RESULTS.md). A sparse
   logistic regression from their input-window history (log counts of texts, merchants, items,
   categories, plus profile codes) to that outcome is fitted per demand; it is small and strongly
   regularised, so the fit is cheap enough to run at query time.
3. *Who is likely to do it next?* The regression scores every user's latest history windows.
4. *Who already does it?* People repeat themselves: the share of a user's latest-history events
   that are one of the matched texts is added, as a z-score weighted `repeat_weight` against
   the regression's (`repeat_prior`). The regression sees those texts too, but among thousands
   of strongly regularised features; for a behaviour that is common in history (a film genre)
   the plain share ranks better. Behaviour absent from history (a new service) adds nothing.

Exclusions are scored the same way and subtracted. When no training user ever produced a
matching text (< `min_positives`), the scorer returns None and the caller falls back to the
dual towers. Everything here is deterministic: the same workspace and demand give the same scores.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from targetbot.core.atomic import atomic_path, write_json
from targetbot.core.engine import collect
from targetbot.core.user_batches import UserBatches, user_index
from targetbot.core.workspace import Workspace
from targetbot.towers.config import ForecastConfig
from targetbot.towers.templates import demand_groups

FIELDS = ("text", "merchant", "item", "category")
_MATRICES = ("history_input", "history_latest", "future", "latest_share")


@dataclass
class ForecastData:
    """Sparse history features and training users' future texts, built once per tower bundle."""

    users: pd.Index
    train_rows: np.ndarray  # rows of the training sample's training users (the regression fits on them)
    history_input: sp.csr_matrix  # all users x features, train_input windows (only train_rows filled)
    history_latest: sp.csr_matrix  # all users x features, the latest history windows (scored)
    future: sp.csc_matrix  # train users x future texts (1 = did it in the target window)
    future_texts: list[str]
    future_vectors: np.ndarray  # unit-norm MiniLM vectors of future_texts
    future_categories: list[str]  # each future text's most frequent event category ("" = none)
    # all users x future texts: share of the user's latest-history events with that text (None = not built)
    latest_share: sp.csr_matrix | None = None

    @classmethod
    def build(cls, ws: Workspace, batches: UserBatches, sample: np.ndarray, codec, input_windows: list[str],
              latest_windows: list[str], target_windows: list[str], store, min_users: int = 5,
              progress=None, engine=None) -> "ForecastData":
        """Features of every user of `batches`. The vocabulary, the regression's inputs and the futures
        come from the training sample (positions `sample`: every user up to the towers' sample size),
        so a demand's fit costs the same at any size; the scored features and repeat shares are built
        for everyone, one batch of users at a time."""
        users = batches.users
        split = ws.user_split(pd.Series(users)).to_numpy()
        profiles = ws.user_profiles().set_index("user_id")
        profiles.index = profiles.index.astype(str)

        # ---- the sample: vocabulary, training users' inputs, their future texts
        events = batches.read_users(sample, windows=sorted(set(input_windows) | set(target_windows)))
        uidx = user_index(users, events["user_id"])
        window = events["window"].astype(str).to_numpy()
        tok, win, uu = _history_tokens(events, uidx, window)
        fit = np.isin(win, input_windows) & (uu >= 0)
        seen = pd.DataFrame({"u": uu[fit], "t": tok[fit]}).drop_duplicates()["t"].value_counts()
        vocab = pd.Index(seen[seen >= min_users].index)
        train_rows = sample[split[sample] == "train"]

        m = fit & np.isin(uu, train_rows)
        local = pd.Index(train_rows).get_indexer(uu[m])
        history_input = _expand_rows(sp.hstack([_bag(local, vocab.get_indexer(tok[m]), len(train_rows), len(vocab)),
                                                _profile_features(codec, profiles.reindex(users[train_rows]))]),
                                     train_rows, len(users))
        target = np.isin(window, target_windows) & (uidx >= 0)
        target &= split[np.maximum(uidx, 0)] == "train"
        rows = store.row_ids(events.loc[target, "text"])
        present, col = np.unique(rows, return_inverse=True)
        future = sp.csr_matrix((np.ones(len(col), np.float32), (uidx[target], col)), shape=(len(users), len(present)))
        future.sum_duplicates()
        future.data[:] = 1.0
        vectors = np.asarray(store.matrix(), dtype=np.float32)[present]
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        texts = store.texts()
        categories = [""] * len(present)
        if "category" in events.columns:
            raw = events.loc[target, "category"]
            cat = raw.astype(str).to_numpy()
            named = ~pd.isna(raw).to_numpy() & (cat != "")
            top = (pd.DataFrame({"col": col[named], "cat": cat[named]}).value_counts()
                   .reset_index().drop_duplicates("col"))  # value_counts sorts: first row = most frequent
            for c, name in zip(top["col"], top["cat"]):
                categories[int(c)] = name
        del events, tok, win, uu

        # ---- everyone, batch by batch: the scored features and the repeat shares
        present_index = pd.Index(present)
        n_features = len(vocab) + _profile_width(codec)

        def features(b: int) -> dict[str, np.ndarray]:
            """One batch's rows of both matrices, as (part, row, col, value) non-zeros."""
            lo, hi = batches.bounds(b)
            ev = batches.read(b, windows=latest_windows)
            local = user_index(users, ev["user_id"]) - lo
            x = sp.hstack([_bag(*_token_columns(ev, local, vocab), hi - lo, len(vocab)),
                           _profile_features(codec, profiles.reindex(users[lo:hi]))]).tocoo()
            total = np.bincount(local, minlength=hi - lo).astype(np.float32)
            # texts no training user produced in a target window (and missing texts, row -1) drop out
            lcol = present_index.get_indexer(store.row_ids(ev["text"], missing="ignore"))
            known = lcol >= 0
            lu = local[known]
            share = sp.csr_matrix((1.0 / total[lu], (lu, lcol[known])), shape=(hi - lo, len(present)))
            share.sum_duplicates()
            share = share.tocoo()
            return {"part": np.r_[np.zeros(x.nnz, np.int8), np.ones(share.nnz, np.int8)],
                    "row": np.r_[x.row, share.row].astype(np.int32) + np.int32(lo),
                    "col": np.r_[x.col, share.col].astype(np.int32),
                    "value": np.r_[x.data, share.data].astype(np.float32)}

        nz = collect(engine, features, len(batches),
                     progress and (lambda k: progress(f"forecast features: batch {k}/{len(batches)}")))

        def matrix(part: int, width: int) -> sp.csr_matrix:
            m = nz["part"] == part
            return sp.csr_matrix((nz["value"][m], (nz["row"][m], nz["col"][m])), shape=(len(users), width))

        latest, share = matrix(0, n_features), matrix(1, len(present))
        return cls(users, train_rows, history_input, latest, future[train_rows].tocsc(),
                   [texts[i] for i in present], vectors, categories, share)

    def save(self, folder: Path) -> None:
        """A folder of plain files (sparse matrices as .npz, arrays as .npy, the rest as JSON), written
        under a temporary name and renamed when complete; nothing is pickled."""
        with atomic_path(folder) as tmp:
            tmp.mkdir(parents=True)
            for name in _MATRICES:
                m = getattr(self, name)
                if m is not None:
                    sp.save_npz(tmp / f"{name}.npz", m, compressed=False)
            np.save(tmp / "future_vectors.npy", np.asarray(self.future_vectors, dtype=np.float32))
            np.save(tmp / "train_rows.npy", np.asarray(self.train_rows, dtype=np.int64))
            pd.DataFrame({"user_id": self.users.astype(str)}).to_parquet(tmp / "users.parquet", index=False)
            write_json(tmp / "texts.json", {"future_texts": list(self.future_texts),
                                            "future_categories": list(self.future_categories)})

    @classmethod
    def load(cls, folder: Path) -> "ForecastData":
        def matrix(name: str):
            path = folder / f"{name}.npz"
            return sp.load_npz(path) if path.exists() else None

        texts = json.loads((folder / "texts.json").read_text(encoding="utf-8"))
        users = pd.Index(pd.read_parquet(folder / "users.parquet")["user_id"].astype(str), name="user_id")
        return cls(users, np.load(folder / "train_rows.npy"), matrix("history_input").tocsr(),
                   matrix("history_latest").tocsr(), matrix("future").tocsc(), texts["future_texts"],
                   np.load(folder / "future_vectors.npy"), texts["future_categories"],
                   None if matrix("latest_share") is None else matrix("latest_share").tocsr())


def combine_matches(sims: np.ndarray, groups: list[list[int]], written_weight: float) -> np.ndarray:
    """One match per row from its cosines to each sentence (columns; `groups` from
    `templates.demand_groups`): within a request's group, `written_weight` x the request as written
    + the rest x its best family sentence; then the best group. The families' fixed words ("used
    mini-programs to ...") match whole classes of texts on their own, so the best single sentence
    is often a family frame matching, not the request (docs/RESULTS.md, "Transfer", compares the
    ways of combining)."""
    a = written_weight
    per_group = [sims[:, g[0]] if len(g) == 1 else a * sims[:, g[0]] + (1 - a) * sims[:, g[1:]].max(1) for g in groups]
    return np.max(per_group, axis=0).astype(np.float32)


def category_parts(category: str) -> list[str]:
    """A category value may list several ("Action, Adventure, Sci-Fi" in MovieLens): its parts."""
    return [p for p in (x.strip() for x in category.split(",")) if p] or [category]


# Sentence encoders barely separate buying from selling ("sell their used car" is as close to the
# category "car purchase" as to "used car listing"), so the category lift checks the direction.
_ACQUIRE = frozenset("buy buys buying bought purchase purchases purchased purchasing".split())
_DISPOSE = frozenset("sell sells selling sold sale sales resell reselling".split())


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def opposite_direction(demand: set[str], category: set[str]) -> bool:
    """True when the category names one side of a transaction and the demand only the other
    ("car purchase" for "sell their used car"); a demand naming both sides opposes nothing."""
    return any(category & a and not category & b and demand & b and not demand & a
               for a, b in ((_ACQUIRE, _DISPOSE), (_DISPOSE, _ACQUIRE)))


def _history_tokens(events: pd.DataFrame, uidx: np.ndarray, window: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(token, window, user row) per history token: one per field value of each event, and one per
    part of a listed category, so "Comedy, Romance" and "Drama, Romance" share `category:Romance`
    (MovieLens: 18 genres listed in 215 combinations)."""
    toks, wins, users = [], [], []
    for f in (f for f in FIELDS if f in events.columns):
        values = events[f].astype(str).reset_index(drop=True)
        if f == "category" and values.str.contains(",", regex=False).any():
            parts = values.dropna().map(category_parts).explode()  # missing: no token, as below
            at = parts.index.to_numpy()
            toks.append(("category:" + parts.astype(str)).to_numpy())
            wins.append(window[at])
            users.append(uidx[at])
        else:
            toks.append((f"{f}:" + values).to_numpy())
            wins.append(window)
            users.append(uidx)
    return np.concatenate(toks), np.concatenate(wins), np.concatenate(users)


def _token_columns(events: pd.DataFrame, local: np.ndarray, vocab: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """(user row, vocabulary column) per history token of `events`, as `_history_tokens` names
    them, but naming each distinct field value once instead of each event (the latest windows of
    every user are most of the events)."""
    rows, cols = [], []
    for f in (f for f in FIELDS if f in events.columns):
        if f == "category" and events[f].astype(str).str.contains(",", regex=False).any():
            tok, _, at = _history_tokens(events[[f]], np.arange(len(events)), np.zeros(len(events)))
            col = vocab.get_indexer(tok)
            rows.append(local[at])
            cols.append(col)
            continue
        codes, uniques = pd.factorize(events[f], use_na_sentinel=False)
        col = vocab.get_indexer((f"{f}:" + pd.Series(uniques, dtype=object).astype(str)).to_numpy())[codes]
        rows.append(local)
        cols.append(col)
    return np.concatenate(rows), np.concatenate(cols)


def _bag(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """log(1 + count) of each (user, token), tokens outside the vocabulary (col -1) dropped."""
    ok = (cols >= 0) & (rows >= 0)
    x = sp.csr_matrix((np.ones(int(ok.sum()), np.float32), (rows[ok], cols[ok])), shape=(n_rows, n_cols))
    x.sum_duplicates()
    x.data = np.log1p(x.data)
    return x


def _expand_rows(x: sp.spmatrix, rows: np.ndarray, n: int) -> sp.csr_matrix:
    """`x` (one row per entry of `rows`) as an n-row matrix with those rows filled, the rest empty."""
    x = sp.csr_matrix(x)
    counts = np.zeros(n, dtype=np.int64)
    counts[rows] = np.diff(x.indptr)
    order = np.argsort(rows, kind="stable")
    x = x[order]
    indptr = np.r_[0, np.cumsum(counts)]
    return sp.csr_matrix((x.data, x.indices, indptr), shape=(n, x.shape[1]))


def _profile_width(codec) -> int:
    return int(sum(int(c) for c in codec.cardinalities)) + len(codec.numeric)


def _profile_features(codec, profiles: pd.DataFrame) -> sp.csr_matrix:
    """One-hot categorical codes and rank-gauss numerics (scaled to about unit range)."""
    cat, num = codec.transform(profiles)
    cards = [int(c) for c in codec.cardinalities]
    offsets = np.cumsum([0] + cards[:-1]).astype(np.int64)
    n = len(profiles)
    onehot = sp.csr_matrix((np.ones(cat.size, np.float32), (np.repeat(np.arange(n), cat.shape[1]), (cat + offsets).ravel())),
                           shape=(n, int(sum(cards))))
    return sp.hstack([onehot, sp.csr_matrix(num / 3.0)]).tocsr()


@dataclass
class Forecast:
    scores: np.ndarray  # every user of the bundle, log-odds
    positives: int  # pseudo-positives: training users enriched in the matched behaviour (seeds not counted)
    evidence: list[tuple[str, float]]  # matched future texts with their cosine, best first
    lifted_by: list[str]  # per evidence text: the category that raised its match, or ""


def enriched(future: sp.csr_matrix, cols: np.ndarray) -> np.ndarray:
    """Users whose target window holds a larger share of the matched texts than the mean share
    over all users (the pseudo-label; see the module doc)."""
    matched = np.asarray(future[:, cols].sum(axis=1), dtype=np.float64).ravel()
    share = matched / np.maximum(np.asarray(future.sum(axis=1), dtype=np.float64).ravel(), 1.0)
    return share > share.mean()


def repeat_prior(scores: np.ndarray, share: np.ndarray, weight: float) -> np.ndarray:
    """`scores` (log-odds) plus `weight` times the z-score of sqrt(share), in the scores' own units
    (so the ranking is that of z(scores) + weight * z(sqrt(share)), and the added term has mean 0).
    A share that is the same for everyone (nobody did it before) adds nothing."""
    root = np.sqrt(np.asarray(share, dtype=np.float64))
    sd_share, sd_scores = root.std(), scores.std()
    if weight == 0 or sd_share == 0 or sd_scores == 0:
        return scores
    return scores + weight * sd_scores * (root - root.mean()) / sd_share


def seed_trust(pos_scores: np.ndarray, neg_scores: np.ndarray) -> float:
    """How much the seeds should move a zero-shot forecast: 1 when it ranks the seed positives no
    better than chance (AUC over the seed pairs <= 0.5), falling linearly to 0.1 when it already
    ranks every positive above every negative. The seeds are ten labels; where the demand's words
    alone already separate them, weighting them fully mostly adds their sampling noise."""
    pairs = (pos_scores[:, None] > neg_scores[None, :]).mean() + 0.5 * (pos_scores[:, None] == neg_scores[None, :]).mean()
    return float(np.clip(2.0 * (1.0 - pairs), 0.1, 1.0))


def expected_audience(log_odds: np.ndarray) -> int:
    """The label-free audience size: how many users the forecaster expects to do the behaviour
    (the sum of its probabilities, which logistic regression calibrates to the pseudo-outcome's
    base rate). Used as the decision rule for forecast scores instead of the score mixture, whose
    upper component on a smooth log-odds distribution is arbitrary."""
    p = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -50, 50)))
    return int(max(1, round(float(p.sum()))))


class ForecastScorer:
    def __init__(self, data: ForecastData, encode, config: ForecastConfig | None = None):
        self._category_index: tuple[np.ndarray, np.ndarray, np.ndarray, list[set[str]]] | None = None
        self._last_encoded: tuple[tuple[str, ...], np.ndarray] | None = None
        self._last_similarity: tuple[tuple[str, ...], np.ndarray] | None = None
        self.data = data
        self.encode = encode  # list[str] -> (n, d) array, the representation center's encoder
        self.s = config or ForecastConfig()

    def _unit(self, texts: list[str]) -> np.ndarray:
        e = np.asarray(self.encode(texts), dtype=np.float32)
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)

    def _sentences(self, sentences: list[str]) -> np.ndarray:
        """Unit vectors of the demand's sentences, kept for the last demand: a forecast needs them
        twice (matching, then the evidence's own cosines)."""
        key = tuple(sentences)
        if self._last_encoded is None or self._last_encoded[0] != key:
            self._last_encoded = (key, self._unit(sentences))
        return self._last_encoded[1]

    def _categories(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[set[str]]]:
        """(unit vectors of the category names' parts, each future text's category or -1, each part's
        category, each category's words), over the distinct category names."""
        if self._category_index is None:
            names = sorted({c for c in self.data.future_categories if c})
            pos = {c: i for i, c in enumerate(names)}
            idx = np.array([pos.get(c, -1) for c in self.data.future_categories], dtype=np.int64)
            parts = [(i, p) for i, c in enumerate(names) for p in category_parts(c)]
            owner = np.array([i for i, _ in parts], dtype=np.int64)
            vecs = self._unit([p for _, p in parts]) if parts else np.zeros((0, self.data.future_vectors.shape[1]), np.float32)
            self._category_index = (vecs, idx, owner, [_words(c) for c in names])
        return self._category_index

    def text_similarity(self, sentences: list[str]) -> np.ndarray:
        """Each future text's match to the demand: its own cosine (`combine_matches`), raised towards its category's
        (e.g. "Applied for Harbor Bank car loan" under "credit application" for "apply for a credit
        line") by at most `category_lift`. The cap matters: category names are short and can be
        ambiguous ("sports watch" is close to "watch NBA games"), so a category may only promote
        texts that are relevant in their own right (uncapped, a short category name drags in
        unrelated texts; see docs/RESULTS.md for the measured effect, capped and uncapped). A
        category on the other side of a transaction (`opposite_direction`) lifts
        nothing. `sentences[0]` is the demand as written (as `template_sentences` orders them)."""
        key = tuple(sentences)
        if self._last_similarity is not None and self._last_similarity[0] == key:  # few-shot asks twice
            return self._last_similarity[1]
        e = self._sentences(sentences)
        groups = demand_groups(sentences)
        sim = combine_matches(self.data.future_vectors @ e.T, groups, self.s.written_weight)
        if self.s.category_lift > 0:
            vecs, idx, owner, name_words = self._categories()
            if len(vecs):
                cat_sim = np.full(len(name_words), -1.0, np.float32)
                np.maximum.at(cat_sim, owner, combine_matches(vecs @ e.T, groups, self.s.written_weight))
                said = _words(sentences[0])  # the demand as written: template families add "purchased"
                cat_sim[[i for i, w in enumerate(name_words) if opposite_direction(said, w)]] = -1.0
                lifted = np.where(idx >= 0, cat_sim[np.maximum(idx, 0)], sim)
                sim = np.maximum(sim, np.minimum(lifted, sim + self.s.category_lift))
        sim.setflags(write=False)  # cached: callers share it
        self._last_similarity = (key, sim)
        return sim

    def matches(self, sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
        sim = self.text_similarity(sentences)
        order = np.argsort(-sim, kind="stable")
        order = order[sim[order] >= sim[order[0]] - self.s.margin][: self.s.max_texts]
        return order, sim[order]

    def pseudo_labels(self, sentences: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(matched future-text columns, their similarities, training users' pseudo-labels), or None
        when too few (or all) training users qualify - cheap: no model is fitted."""
        cols, sims = self.matches(sentences)
        y = enriched(self.data.future, cols)
        if y.sum() < self.s.min_positives or y.all():
            return None
        return cols, sims, y

    def pseudo_weights(self, cols: np.ndarray, sims: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Training weights: 1 per user, except that a pseudo-positive counts by how well the best
        matched text it did matches the demand - 1 at the best match, falling linearly to
        `edge_weight` at the margin's edge - rescaled so the pseudo-positives keep their total.
        A user who did only a borderline match ("Paid with wallet balance" for "wallet accounts
        hackers take over") is weaker evidence; the effect on find is in docs/RESULTS.md."""
        w = np.ones(len(y))
        if self.s.edge_weight >= 1.0 or not y.any() or not len(cols):
            return w
        wt = np.clip((sims - (sims[0] - self.s.margin)) / max(self.s.margin, 1e-9), self.s.edge_weight, 1.0)
        best = self.data.future[:, cols].multiply(wt[None, :]).tocsr().max(axis=1).toarray().ravel()
        w[y] = np.maximum(best[y], 1e-3)
        w[y] *= y.sum() / w[y].sum()
        return w

    def seed_repeats(self, sentences: list[str], pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
        """Few-shot: future texts near the demand that several seed positives already did (latest
        history) and no seed negative did: behaviour the demand's words matched too weakly to
        take, but the seeds confirm."""
        if self.data.latest_share is None or not len(pos) or self.s.seed_repeat_min <= 0:
            return np.zeros(0, dtype=np.int64)
        sim = self.text_similarity(sentences)

        def users_who_did(rows) -> np.ndarray:
            return np.asarray((self.data.latest_share[np.asarray(rows, dtype=np.int64)] > 0).sum(axis=0)).ravel()

        by_pos = users_who_did(pos)
        by_neg = users_who_did(neg) if len(neg) else 0
        near = sim >= sim.max() - self.s.seed_repeat_margin
        return np.flatnonzero(near & (by_pos >= self.s.seed_repeat_min) & (by_neg == 0))

    def _fit(self, X: sp.csr_matrix, y: np.ndarray, weight: np.ndarray | None = None) -> LogisticRegression:
        return LogisticRegression(C=self.s.C, max_iter=300).fit(X, y, sample_weight=weight)

    def forecast(self, sentences: list[str], seeds: tuple[np.ndarray, np.ndarray] | None = None) -> Forecast | None:
        """`seeds`: optional (positive rows, negative rows) of labelled users (few-shot). Their latest
        history is added as training examples, weighted so that the seed positives together count
        as much as all pseudo-positives: the demand's words choose the behaviour, the seeds correct it."""
        labels = self.pseudo_labels(sentences)
        if labels is None:
            return None
        cols, sims, y = labels
        n_pseudo = int(y.sum())
        X, w = self.data.history_input[self.data.train_rows], self.pseudo_weights(cols, sims, y)
        if seeds is not None and len(seeds[0]):
            pos, neg = (np.asarray(r, dtype=np.int64) for r in seeds)
            share = self.s.seed_share
            if self.s.adaptive_seed_share and len(neg):
                zero = self._fit(X, y, w).decision_function(self.data.history_latest[np.r_[pos, neg]])
                share *= seed_trust(zero[:len(pos)], zero[len(pos):])
            sw = max(1.0, share * n_pseudo / len(pos))
            X = sp.vstack([X, self.data.history_latest[pos], self.data.history_latest[neg]]).tocsr()
            y = np.r_[y, np.ones(len(pos), bool), np.zeros(len(neg), bool)]
            w = np.r_[w, np.full(len(pos) + len(neg), sw)]
        scores = self._fit(X, y, w).decision_function(self.data.history_latest)
        if self.data.latest_share is not None:
            repeat = cols if seeds is None else np.union1d(cols, self.seed_repeats(sentences, *seeds))
            share = np.asarray(self.data.latest_share[:, repeat].sum(axis=1)).ravel()
            scores = repeat_prior(scores, share, self.s.repeat_weight)
        top = cols[:10]
        evidence = [(self.data.future_texts[c], round(float(v), 4)) for c, v in zip(top, sims[:10])]
        own = (combine_matches(self.data.future_vectors[top] @ self._sentences(sentences).T, demand_groups(sentences),
                               self.s.written_weight) if len(top) else np.zeros(0))
        lifted_by = [self.data.future_categories[c] if v > o + 1e-6 else "" for c, v, o in zip(top, sims[:10], own)]
        return Forecast(scores.astype(np.float64), n_pseudo, evidence, lifted_by)

    def answer(self, sentences: list[str], exclude: list[str] | None = None,
               seeds: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, Forecast] | None:
        """(scores with the exclusions subtracted, the demand's own forecast), or None when nothing
        matches the demand."""
        main = self.forecast(sentences, seeds)
        if main is None:
            return None
        s = main.scores
        if exclude:
            ex = self.forecast(exclude)
            if ex is not None:
                s = s - self.s.exclusion_weight * ex.scores
        return s, main

    def scores(self, sentences: list[str], exclude: list[str] | None = None,
               seeds: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray | None:
        answer = self.answer(sentences, exclude, seeds)
        return None if answer is None else answer[0]
