import numpy as np
import pandas as pd
import pytest

from targetbot.agent.filters import FilterError, filter_mask, merge_filters
from targetbot.agent.fusion import fuse, rank_normalise
from targetbot.rewrite.plan import Filters


def test_rank_normalise_is_scale_free_and_puts_missing_last():
    a = rank_normalise(np.array([0.1, 0.5, np.nan, 0.3]))
    assert a.tolist() == [1 / 3, 1.0, 0.0, 2 / 3]
    assert np.allclose(rank_normalise(np.array([1.0, 50.0, 2.0])), rank_normalise(np.array([-3.0, 9.0, -2.0])))
    assert rank_normalise(np.array([2.0, 2.0])).tolist() == [0.5, 0.5]  # ties share the average rank


def test_fuse_is_weighted_reciprocal_rank_fusion():
    f = np.array([3.0, 2.0, 1.0])
    g = np.array([1.0, 2.0, 3.0])
    # k=1: rrf = [1/1 + 1/3, 1/2 + 1/2, 1/3 + 1/1]; being first in one source beats the middle of both
    assert np.allclose(fuse({"find": f, "graph": g}, {"find": 1, "graph": 1}, k=1), [0.75, 0.0, 0.75])
    # weights 3/1: [3 + 1/3, 3/2 + 1/2, 3/3 + 1/1] -> u0 first, u1 and u2 tie
    assert np.allclose(fuse({"find": f, "graph": g}, {"find": 3, "graph": 1}, k=1), [1.0, 0.25, 0.25])
    assert np.allclose(fuse({"find": f}, {"find": 0.5, "graph": 0.5}), [1.0, 0.5, 0.0])


def test_a_weak_source_does_not_drag_finds_top_users_down():
    rng = np.random.default_rng(0)
    find = np.arange(1000, dtype=float)[::-1]  # user 0 is FIND's best
    graph = rng.permutation(1000).astype(float)  # noise
    fused = fuse({"find": find, "graph": graph, "mentions": np.zeros(1000)}, {"find": 4, "graph": 1, "mentions": 1})
    top = np.argsort(-fused)[:50]
    assert len(set(top) & set(range(50))) >= 45


PROFILES = pd.DataFrame({"user_id": ["a", "b", "c", "d"], "age": [20, 35, 50, None],
                         "city_tier": ["1", "2", "1", "3"]})


def _f(*conds, join="AND"):
    return Filters.model_validate({"join": join, "conditions": [dict(zip(("field", "op", "value"), c)) for c in conds]})


def test_filters_are_exact():
    m, counts = filter_mask(PROFILES, _f(("age", "between", "20,40"), ("city_tier", "in", "1,2")))
    assert m.tolist() == [True, True, False, False]
    assert counts[0]["users"] == 2
    assert filter_mask(PROFILES, _f(("age", ">", "30"), ("city_tier", "=", "1"), join="OR"))[0].tolist() == [True, True, True, False]
    assert filter_mask(PROFILES, _f(("city_tier", "!=", "1")))[0].tolist() == [False, True, False, True]
    assert filter_mask(PROFILES, None)[0].all()


def test_contradictory_and_empty_filters_are_named():
    with pytest.raises(FilterError, match=r"contradict.*\(city_tier#=#1\) AND \(city_tier#=#2\)"):
        filter_mask(PROFILES, _f(("city_tier", "=", "1"), ("city_tier", "=", "2")))
    with pytest.raises(FilterError, match="matches no user"):
        filter_mask(PROFILES, _f(("age", ">", "90")))
    with pytest.raises(FilterError, match="no column"):
        filter_mask(PROFILES, _f(("shoe_size", "=", "9")))
    with pytest.raises(FilterError, match="categorical"):
        filter_mask(PROFILES, _f(("city_tier", ">", "1")))


def test_merge_filters_replaces_a_field_and_ands_the_rest():
    m = merge_filters(_f(("city_tier", "=", "1"), ("age", ">", "30")), _f(("city_tier", "=", "2")))
    assert m.render() == "(age#>#30) AND (city_tier#=#2)"
    assert merge_filters(None, _f(("age", "<", "30"))).render() == "(age#<#30)"
