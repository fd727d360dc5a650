"""The profile term of a request's subject (towers/profile_prior.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from targetbot.towers.config import ProfilePriorConfig
from targetbot.towers.profile_prior import ProfilePrior, describe_columns

# a toy encoder: each text is the sum of its words' concept vectors, so closeness is shared concepts
CONCEPTS = {"retired": 0, "retirees": 0, "student": 1, "students": 1, "income": 2, "earners": 2, "high": 3,
            "low": 4, "car": 5, "owner": 6, "owners": 6, "occupation": 7, "monthly": 2, "gamers": 8}


def encode(texts):
    out = np.zeros((len(texts), len(CONCEPTS) + 1), np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().replace(":", " ").split():
            out[i, CONCEPTS.get(w, len(CONCEPTS))] += 1.0
    return out


PROFILES = pd.DataFrame({"occupation": ["retired", "student", "retired", "office worker", "student", "office worker"],
                         "income_monthly": [3000.0, 800.0, 5000.0, 20000.0, 1200.0, 9000.0],
                         "car_owner": [1, 0, 0, 1, 0, 1]})


def test_columns_are_described_from_their_own_names_and_values():
    described = {d for _, d, _ in describe_columns(PROFILES, max_values=30)}
    assert {"occupation: retired", "high income monthly", "low income monthly", "car owner", "no car owner"} <= described
    assert not any(d.startswith("occupation") for _, d, _ in describe_columns(PROFILES, max_values=2))


def test_a_subject_takes_the_value_it_names_and_raises_those_users():
    prior = ProfilePrior(PROFILES, encode, ProfilePriorConfig(min_similarity=0.3, margin=0.1))
    matches = prior.matches("retirees")
    assert [m.description for m in matches] == ["occupation: retired"]
    scores = np.linspace(0, 0.1, 6)
    added = prior.apply(scores, matches) - scores
    retired = PROFILES["occupation"].eq("retired").to_numpy()
    assert (added[retired] > 0).all() and (added[~retired] < 0).all()


def test_high_earners_take_the_numeric_direction():
    prior = ProfilePrior(PROFILES, encode, ProfilePriorConfig(min_similarity=0.3, margin=0.1))
    assert [m.description for m in prior.matches("high earners")] == ["high income monthly"]
    scores = np.linspace(0, 0.01, 6)
    added = prior.apply(scores, prior.matches("high earners")) - scores
    by_income = np.argsort(PROFILES["income_monthly"].to_numpy())
    assert (np.diff(added[by_income]) > 0).all()


def test_a_column_the_subject_cannot_tell_apart_is_left_alone():
    # "earners" is equally close to high and low income: neither direction is guessed
    prior = ProfilePrior(PROFILES, encode, ProfilePriorConfig(min_similarity=0.3, margin=0.1))
    assert prior.matches("earners") == []
    assert prior.matches("gamers") == []  # nothing in the profiles


def test_no_subject_or_weight_zero_changes_nothing():
    scores = np.linspace(0, 1, 6)
    prior = ProfilePrior(PROFILES, encode, ProfilePriorConfig(min_similarity=0.3))
    assert prior.matches(None) == []
    assert np.array_equal(prior.apply(scores, []), scores)
    assert ProfilePrior(PROFILES, encode, ProfilePriorConfig(weight=0.0)).matches("retirees") == []


@pytest.mark.real_models
def test_real_minilm_reads_subjects_against_world_columns():
    from targetbot.core.config import Settings
    from targetbot.towers.text_encoder import load_text_encoder

    enc = load_text_encoder(Settings(cache_dir=Path("/nonexistent-unused")))
    profiles = pd.DataFrame({"occupation": ["retired", "student", "shop owner", "office worker"] * 5,
                             "income_monthly": np.arange(20, dtype=float) * 1000,
                             "membership_level": ["gold", "silver", "bronze", "platinum"] * 5})
    prior = ProfilePrior(profiles, enc.encode)
    assert "occupation: retired" in [m.description for m in prior.matches("retirees")]
    assert [m.description for m in prior.matches("high earners")] == ["high income monthly"]
    assert prior.matches("caffeine lovers") == []
