"""towers/find.py: the demand's core phrase and template sentences (no models needed)."""

from __future__ import annotations

import pytest

from targetbot.towers.find import core_phrase
from targetbot.towers.templates import template_sentences


@pytest.mark.parametrize("demand, core", [
    ("users likely to rent phones", "rent phones"),
    ("find all the users who are very likely to buy a car", "buy a car"),
    ("users whose accounts are likely to be stolen", "accounts are likely to be stolen"),
    ("people who'd rather rent a phone than buy one", "rather rent a phone than buy one"),
    ("people who'll keep using MetroGo", "keep using MetroGo"),
    ("customers who will need a loan soon", "need a loan soon"),
    ("customers interested in a monthly phone rental plan", "a monthly phone rental plan"),
    ("basketball fans who follow the American league", "basketball fans who follow the American league"),
    ("NBA", "NBA"),
    ("users", "users"),
])
def test_core_phrase_drops_generic_subjects_and_modals(demand, core):
    assert core_phrase(demand) == core


def test_template_sentences_fill_the_families_with_the_core():
    s = template_sentences("users likely to rent phones")
    assert s[0] == "users likely to rent phones"
    assert "The user will rent phones." in s and "The user searched for how to rent phones." in s


def test_a_scored_answer_carries_its_own_decision_rule():
    """Two answers kept side by side each keep their own rule and evidence (nothing read from the
    scorer's last call)."""
    import numpy as np

    from targetbot.towers.find import Scored, decision_threshold
    from targetbot.towers.forecast import Forecast

    log_odds = np.array([3.0, 3.0, -9.0, -9.0, -9.0, -9.0])  # expected audience: 2 users
    fc = Forecast(log_odds, positives=2, evidence=[("Rented a phone", 0.8)], lifted_by=["phone rental"])
    forecast = Scored(log_odds - 0.5, fc)  # exclusions shift the scores, not the rule
    tower = Scored(np.linspace(0, 1, 50))
    assert forecast.threshold() == 2.5 and forecast.rule == "expected audience of the forecaster"
    assert forecast.scorer == "forecast" and tower.scorer == "tower"
    assert forecast.evidence == [("Rented a phone", 0.8, "phone rental")]
    assert tower.threshold() == decision_threshold(tower.scores) and tower.evidence == []
