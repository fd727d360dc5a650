"""Anchor towers: the forecaster's answers to anchor behaviours, weighted by a demand's match."""

from __future__ import annotations

import numpy as np

from targetbot.eval.metrics import auc
from targetbot.towers.anchors import AnchorTower, pick_anchors
from targetbot.towers.config import AnchorConfig
from targetbot.towers.forecast import ForecastScorer
from targetbot.towers.templates import demand_groups, template_sentences

from tests.towers.test_forecast import TEXTS, encode, world


def _unit(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_anchors_are_texts_enough_training_users_did():
    data, _ = world()
    cols = pick_anchors(data, AnchorConfig(count=10, min_users=5))
    # nobody watched NBA highlights in the target window: no anchor for it
    assert sorted(data.future_texts[c] for c in cols) == sorted(TEXTS[:2])
    assert pick_anchors(data, AnchorConfig(count=1, min_users=5)) == cols[:1]


def test_a_demand_is_answered_by_its_closest_anchor(tmp_path):
    data, truth = world()
    tower = AnchorTower.build(ForecastScorer(data, encode), AnchorConfig(count=10, min_users=5), tmp_path / "anchors")
    assert tower.embeddings.shape == (len(data.users), 2) and not list(tmp_path.glob(".anchors*"))
    assert np.allclose(tower.embeddings.mean(0), 0, atol=1e-4)  # z-scored forecasts
    sentences = template_sentences("users likely to rent a phone")
    w = tower.weights(_unit(encode(sentences)), demand_groups(sentences), written_weight=0.6, temperature=0.05)
    assert np.isclose(w.sum(), 1.0) and tower.texts[int(np.argmax(w))] == TEXTS[0] and w.max() > 0.99
    scores = tower.scores(w)
    assert auc(truth, scores) > 0.75
    again = AnchorTower.load(tmp_path / "anchors")
    assert again.texts == tower.texts and np.array_equal(again.scores(w), scores)


def test_a_high_temperature_spreads_the_weights(tmp_path):
    data, _ = world()
    tower = AnchorTower.build(ForecastScorer(data, encode), AnchorConfig(count=10, min_users=5), tmp_path / "a")
    v = _unit(encode(["users likely to rent a phone"]))
    sharp, flat = (tower.weights(v, [[0]], 0.6, t) for t in (0.05, 100.0))
    assert sharp.max() > 0.99 and np.allclose(flat, 0.5, atol=0.01)


def test_no_text_enough_users_did_gives_no_anchor(tmp_path):
    data, _ = world()
    tower = AnchorTower.build(ForecastScorer(data, encode), AnchorConfig(count=10, min_users=10_000), tmp_path / "a")
    assert tower.texts == [] and tower.embeddings.shape == (len(data.users), 0)
