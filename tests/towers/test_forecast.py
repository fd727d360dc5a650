"""The forecast scorer on a hand-made world where history predicts the future behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import pandas as pd
import scipy.sparse as sp

from targetbot.eval.metrics import auc
from targetbot.towers.forecast import ForecastData, ForecastScorer

TEXTS = ["Paid first month's rent for a phone", "Bought dog food", "Watched NBA highlights"]
AXES = {"phone": 0, "dog": 1, "nba": 2}


def encode(sentences):
    """Each sentence points along the axis of the keyword it contains (a stand-in for MiniLM)."""
    out = np.full((len(sentences), 4), 0.05, dtype=np.float32)
    for i, s in enumerate(sentences):
        for word, axis in AXES.items():
            if word in s.lower():
                out[i, axis] = 1.0
    return out


def world(n=600, seed=0):
    """Feature 0 ('browsed phone shops') makes renting a phone next window likely; feature 1 is noise."""
    rng = np.random.default_rng(seed)
    users = pd.Index([f"u{i:04d}" for i in range(n)])

    def history():
        x = rng.random((n, 3)) < [0.3, 0.5, 0.2]
        return x, sp.csr_matrix(x.astype(np.float32))

    x_in, h_in = history()
    x_latest, h_latest = history()
    train_rows = np.arange(n // 2)
    rents = (rng.random(len(train_rows)) < np.where(x_in[train_rows, 0], 0.6, 0.03))
    dogs = rng.random(len(train_rows)) < 0.2
    future = sp.csc_matrix(np.c_[rents, dogs, np.zeros(len(train_rows))].astype(np.float32))
    data = ForecastData(users, train_rows, h_in, h_latest, future, TEXTS,
                        encode(TEXTS) / np.linalg.norm(encode(TEXTS), axis=1, keepdims=True), ["", "", ""])
    truth = rng.random(n) < np.where(x_latest[:, 0], 0.6, 0.03)  # what the latest history foretells
    return data, truth


def test_forecast_finds_the_users_whose_history_foretells_the_demand():
    data, truth = world()
    scorer = ForecastScorer(data, encode)
    f = scorer.forecast(["users likely to rent a phone"])
    assert f is not None and f.evidence[0][0] == TEXTS[0]
    assert f.positives == int(np.asarray(data.future[:, 0].sum()))
    assert auc(truth, f.scores) > 0.75
    again = scorer.scores(["users likely to rent a phone"])
    assert np.array_equal(again, f.scores)  # deterministic


def test_exclusions_are_subtracted_and_unmatched_demands_fall_back():
    data, _ = world()
    scorer = ForecastScorer(data, encode)
    plain = scorer.scores(["rent a phone"])
    excluded = scorer.scores(["rent a phone"], exclude=["dog food"])
    assert not np.allclose(plain, excluded)
    # nobody ever watched NBA highlights in the target window: no pseudo-positives, caller falls back
    assert scorer.forecast(["NBA fans"]) is None
    assert scorer.scores(["NBA fans"]) is None


def test_seed_users_steer_the_forecaster():
    """Labelled seeds whose latest history shares feature 1 pull the scores toward feature 1."""
    data, _ = world()
    scorer = ForecastScorer(data, encode)
    x = data.history_latest.toarray()
    pos = np.flatnonzero(x[:, 1] > 0)[:5]
    neg = np.flatnonzero(x[:, 1] == 0)[:5]
    plain = scorer.forecast(["rent a phone"]).scores
    seeded = scorer.forecast(["rent a phone"], seeds=(pos, neg)).scores
    gap = lambda s: s[x[:, 1] > 0].mean() - s[x[:, 1] == 0].mean()
    assert gap(seeded) > gap(plain)


def test_seed_trust_falls_as_the_zero_shot_ranking_of_the_seeds_improves():
    from targetbot.towers.forecast import seed_trust

    neg = np.array([0.0, 1.0])
    assert seed_trust(np.array([2.0, 3.0]), neg) == pytest.approx(0.1)  # every positive above every negative
    assert seed_trust(np.array([0.5, 0.5]), neg) == pytest.approx(1.0)  # seed AUC 0.5: no better than chance
    assert seed_trust(np.array([-1.0, -2.0]), neg) == pytest.approx(1.0)  # worse than chance: full weight
    assert seed_trust(np.array([0.5, 2.0]), neg) == pytest.approx(0.5)  # seed AUC 0.75


def test_category_lifts_a_text_by_at_most_category_lift():
    """Text cosines to 'phone rental' along axis 0; the category name of text 1 points the same way."""
    vecs = np.eye(4, dtype=np.float32)[[3, 3, 2]]
    vecs[0] = [0.3, 0, 0, 0.954]  # cosine 0.3 to the demand
    vecs[1] = [0.1, 0, 0, 0.995]  # cosine 0.1, but filed under "phone rental" (cosine 1.0)
    data = ForecastData(pd.Index(["a"]), np.arange(1), sp.csr_matrix((1, 1)), sp.csr_matrix((1, 1)),
                        sp.csc_matrix((1, 3)), ["x", "y", "z"], vecs, ["", "phone rental", "nba"])

    def enc(sentences):
        return np.array([[1.0, 0, 0, 0] if "phone" in s else [0, 0, 1.0, 0] for s in sentences], np.float32)

    from targetbot.towers.config import ForecastConfig

    lifted = ForecastScorer(data, enc).text_similarity(["phone"])
    assert lifted == pytest.approx([0.3, 0.1 + 0.2, 0.0], abs=1e-5)  # capped at its own cosine + 0.2
    plain = ForecastScorer(data, enc, ForecastConfig(category_lift=0.0)).text_similarity(["phone"])
    assert plain == pytest.approx([0.3, 0.1, 0.0], abs=1e-5)


def test_evidence_names_the_category_that_raised_a_match():
    from targetbot.towers.config import ForecastConfig

    data, _ = world()
    data.future_categories = ["", "phone rental", ""]  # dog food filed under phone rental: a lift to see
    f = ForecastScorer(data, encode, ForecastConfig(margin=1.0)).forecast(["rent a phone"])
    lifted = dict(zip([t for t, _ in f.evidence], f.lifted_by))
    assert lifted[TEXTS[0]] == ""  # matched on its own words
    assert lifted[TEXTS[1]] == "phone rental"


def test_a_listed_category_lifts_by_its_best_part():
    """'Drama, War' is two categories: a war demand is lifted by 'War', not by the blurred pair."""
    vecs = np.array([[0.1, 0, 0, 0.995]], np.float32)
    data = ForecastData(pd.Index(["a"]), np.arange(1), sp.csr_matrix((1, 1)), sp.csr_matrix((1, 1)),
                        sp.csc_matrix((1, 1)), ["Watched X"], vecs, ["Drama, War"])

    def enc(sentences):
        return np.array([[1.0, 0, 0, 0] if s in ("war", "War") else [0, 1.0, 0, 0] for s in sentences], np.float32)

    assert ForecastScorer(data, enc).text_similarity(["war"]) == pytest.approx([0.3], abs=1e-5)


def test_history_tokens_split_listed_categories():
    from targetbot.towers.forecast import _history_tokens, category_parts

    assert category_parts("Action, Adventure,Sci-Fi") == ["Action", "Adventure", "Sci-Fi"]
    assert category_parts("phone rental") == ["phone rental"]
    events = pd.DataFrame({"text": ["t1", "t2"], "category": ["Comedy, Romance", None]}, index=[10, 11])
    tok, win, users = _history_tokens(events, np.array([0, 1]), np.array(["w0", "w1"]))
    got = sorted(zip(tok.tolist(), win.tolist(), users.tolist()))
    assert got == [("category:Comedy", "w0", 0), ("category:Romance", "w0", 0), ("text:t1", "w0", 0),
                   ("text:t2", "w1", 1)]  # a missing category gives no token


def test_a_category_on_the_other_side_of_a_transaction_lifts_nothing():
    from targetbot.towers.forecast import _words, opposite_direction

    assert opposite_direction(_words("sell their used car"), _words("car purchase"))
    assert opposite_direction(_words("users likely to buy a car"), _words("used car sale"))
    assert not opposite_direction(_words("sell their used car"), _words("used car listing"))
    assert not opposite_direction(_words("buy or sell a used car"), _words("car purchase"))  # both sides named
    vecs = np.array([[0.1, 0, 0, 0.995]], np.float32)
    data = ForecastData(pd.Index(["a"]), np.arange(1), sp.csr_matrix((1, 1)), sp.csr_matrix((1, 1)),
                        sp.csc_matrix((1, 1)), ["Bought a car"], vecs, ["car purchase"])

    def enc(sentences):  # every sentence and category name points the same way: only the words differ
        return np.array([[1.0, 0, 0, 0]] * len(sentences), np.float32)

    assert ForecastScorer(data, enc).text_similarity(["buy a car"]) == pytest.approx([0.3], abs=1e-5)
    assert ForecastScorer(data, enc).text_similarity(["sell my car", "The user purchased sell my car."]) == \
        pytest.approx([0.1], abs=1e-5)


def test_pseudo_positives_count_by_how_well_their_best_text_matches():
    """Three users did: the best match (sim 0.8), an edge match (0.68 = best - margin), and both."""
    from targetbot.towers.config import ForecastConfig

    data = ForecastData(pd.Index(["a", "b", "c", "d"]), np.arange(4), sp.csr_matrix((4, 1)), sp.csr_matrix((4, 1)),
                        sp.csc_matrix(np.array([[1, 0], [0, 1], [1, 1], [0, 0]], np.float32)), ["x", "y"],
                        np.eye(2, dtype=np.float32), ["", ""])
    scorer = ForecastScorer(data, encode, ForecastConfig(margin=0.12, edge_weight=0.3))
    y = np.array([True, True, True, False])
    w = scorer.pseudo_weights(np.array([0, 1]), np.array([0.8, 0.68]), y)
    raw = np.array([1.0, 0.3, 1.0])  # best matched text's weight, then rescaled to keep the total (3)
    assert w == pytest.approx(list(raw * 3 / raw.sum()) + [1.0])
    flat = ForecastScorer(data, encode, ForecastConfig(edge_weight=1.0)).pseudo_weights(np.array([0, 1]),
                                                                                         np.array([0.8, 0.68]), y)
    assert flat == pytest.approx([1.0] * 4)


def test_repeat_prior_adds_the_share_in_the_scores_units():
    from targetbot.towers.forecast import repeat_prior

    scores = np.array([0.0, 1.0, 2.0, 3.0])
    share = np.array([0.0, 0.0, 0.25, 0.25])  # sqrt: 0, 0, .5, .5 -> z: -1, -1, 1, 1
    out = repeat_prior(scores, share, 0.5)
    assert np.allclose(out, scores + 0.5 * scores.std() * np.array([-1, -1, 1, 1]))
    assert np.isclose(out.mean(), scores.mean())  # the prior only reorders
    assert np.array_equal(repeat_prior(scores, np.zeros(4), 0.5), scores)  # nobody did it before: no change
    assert np.array_equal(repeat_prior(scores, share, 0.0), scores)


def test_users_who_already_do_the_behaviour_rank_higher_with_the_repeat_prior():
    data, _ = world()
    # two users with the same latest history, one of whom rented a phone in it
    data.history_latest = data.history_latest.tolil()
    data.history_latest[[400, 401], :] = np.array([[0, 1, 0], [0, 1, 0]], dtype=np.float32)
    data.history_latest = data.history_latest.tocsr()
    share = np.zeros((len(data.users), len(TEXTS)), np.float32)
    share[401, 0] = 0.5
    data.latest_share = sp.csr_matrix(share)
    with_prior = ForecastScorer(data, encode).scores(["users likely to rent a phone"])
    assert with_prior[401] > with_prior[400]
    from targetbot.towers.config import ForecastConfig
    without = ForecastScorer(data, encode, ForecastConfig(repeat_weight=0.0)).scores(["users likely to rent a phone"])
    assert without[401] == without[400]


def test_seed_positives_confirm_texts_for_the_repeat_prior():
    data, _ = world()
    share = np.zeros((len(data.users), len(TEXTS)), np.float32)
    share[[10, 11], 1] = 0.5  # two seed positives bought dog food recently
    share[12, 2] = 0.5  # one watched NBA: below the two-positive minimum
    share[20, 2] = 0.5  # ... and a seed negative did too
    data.latest_share = sp.csr_matrix(share)
    from targetbot.towers.config import ForecastConfig

    scorer = ForecastScorer(data, encode, ForecastConfig(seed_repeat_margin=2.0))  # every text counts as near
    pos, neg = np.array([10, 11, 12]), np.array([20, 21])
    assert list(scorer.seed_repeats(["users likely to rent a phone"], pos, neg)) == [1]
    assert len(ForecastScorer(data, encode).seed_repeats(["users likely to rent a phone"], pos, neg)) == 0  # not near
    assert len(ForecastScorer(data, encode, ForecastConfig(seed_repeat_margin=2.0, seed_repeat_min=0))
               .seed_repeats(["users likely to rent a phone"], pos, neg)) == 0  # switched off
