"""Anchor towers: the forecast scorer distilled into a text-user space that needs no fit per query.

The forecast scorer (towers/forecast.py) fits a regression per demand, at query time; the
learned dual towers (towers/train.py) answer any demand with one inner product but squeeze a
user's history through a fixed-width bottleneck. Anchor towers keep the inner product and take the
forecaster as the teacher:

* Anchors: `count` future behaviour texts - for each event category the text most training users
  did, then others drawn at random (seeded) - each one a demand the forecaster answers once, at
  build time.
* User tower: a user's z-scored forecast for every anchor (a `count`-d embedding).
* Text tower: a demand's weights over the anchors, a softmax (at `temperature`) over its match to
  each anchor text, combined over the demand's sentences as the forecaster combines them
  (`forecast.combine_matches`: the request as written against its best template sentence; no
  category lift).
* Score: embedding . weights - a weighted sum of the forecasts of the behaviours the demand is
  closest to.

    >>> tower = AnchorTower.build(scorer, AnchorConfig(count=1000), folder)  # doctest: +SKIP
    >>> w = tower.weights(unit_vectors(sentences), demand_groups(sentences), written_weight=0.6, temperature=0.05)  # doctest: +SKIP
    >>> scores = tower.scores(w)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from targetbot.core.atomic import atomic_path, write_json
from targetbot.towers.config import AnchorConfig
from targetbot.towers.forecast import ForecastData, ForecastScorer, combine_matches


def pick_anchors(data: ForecastData, config: AnchorConfig) -> list[int]:
    """Columns of `data.future`: each category's most common text, then random others; only texts
    at least `min_users` training users did (fewer is too few positives for a forecast)."""
    done = np.asarray(data.future.sum(axis=0)).ravel()
    first: dict[str, int] = {}
    for i in np.argsort(-done, kind="stable"):
        if done[i] >= config.min_users and data.future_categories[i] not in first:
            first[data.future_categories[i]] = int(i)
    chosen = list(first.values())
    taken = set(chosen)
    rng = np.random.default_rng(config.seed)
    rest = [int(i) for i in rng.permutation(len(done)) if done[i] >= config.min_users and int(i) not in taken]
    return (chosen + rest)[:config.count]


@dataclass
class AnchorTower:
    by_anchor: np.ndarray  # anchors x users, float32 (z-scored forecasts), memory-mapped when loaded
    texts: list[str]  # the anchor texts
    vectors: np.ndarray  # anchors x d, unit-norm sentence vectors of the texts

    @property
    def embeddings(self) -> np.ndarray:
        """users x anchors: each user's embedding."""
        return self.by_anchor.T

    @staticmethod
    def build(scorer: ForecastScorer, config: AnchorConfig, folder: Path, progress=None) -> "AnchorTower":
        """Answer every anchor and write the tower to `folder` (atomically). Each anchor's forecasts are
        one row of a memory-mapped file, so the build holds one forecast, not users x anchors."""
        columns = pick_anchors(scorer.data, config)
        n_users = len(scorer.data.users)
        with atomic_path(folder) as tmp:
            tmp.mkdir(parents=True)
            out = np.lib.format.open_memmap(tmp / "by_anchor.npy", mode="w+", dtype=np.float32,
                                            shape=(len(columns), n_users))
            kept: list[int] = []
            for n, c in enumerate(columns):
                f = scorer.forecast([scorer.data.future_texts[c]])
                if f is not None:  # every user or too few users enriched: no anchor
                    s = f.scores
                    out[len(kept)] = (s - s.mean()) / max(float(s.std()), 1e-9)
                    kept.append(c)
                if progress and ((n + 1) % 100 == 0 or n + 1 == len(columns)):
                    progress(f"anchor towers: {n + 1}/{len(columns)} anchors")
            out.flush()
            del out  # rows past len(kept) stay zero and are not read
            vectors = np.asarray(scorer.data.future_vectors, dtype=np.float32)[kept]
            np.save(tmp / "vectors.npy", vectors.reshape(len(kept), scorer.data.future_vectors.shape[1]))
            write_json(tmp / "anchors.json", {"texts": [scorer.data.future_texts[c] for c in kept]})
        return AnchorTower.load(folder)

    def weights(self, sentence_vectors: np.ndarray, groups: list[list[int]], written_weight: float,
                temperature: float) -> np.ndarray:
        """A demand's weights over the anchors (they sum to 1)."""
        sim = combine_matches(self.vectors @ np.asarray(sentence_vectors, dtype=np.float32).T, groups, written_weight)
        w = np.exp((sim - sim.max()) / temperature)
        return w / w.sum()

    def scores(self, weights: np.ndarray) -> np.ndarray:
        return np.asarray(weights.astype(np.float32) @ self.by_anchor, dtype=np.float64)

    @classmethod
    def load(cls, folder: Path) -> "AnchorTower":
        meta = json.loads((folder / "anchors.json").read_text(encoding="utf-8"))
        texts = meta["texts"]
        return cls(np.load(folder / "by_anchor.npy", mmap_mode="r")[:len(texts)], texts, np.load(folder / "vectors.npy"))
