"""The evaluation core on the small world: registry, suites, JSON contract, keyword baseline."""

import numpy as np
import pytest

from targetbot.eval.methods.keyword import keywords, stem
from targetbot.eval.registry import get_method, list_methods
from targetbot.eval.runner import run_suite
from targetbot.core.errors import TargetbotError


def test_registry_lists_builtin_methods():
    assert {"random", "keyword", "supervised"} <= set(list_methods("zero-shot"))
    with pytest.raises(TargetbotError, match="unknown method 'nope'"):
        get_method("nope")


def test_keywords_drop_filler_and_stem():
    assert keywords("users likely to rent phones") == ["rent", "phone"]
    assert stem("watching") == "watch" and stem("business") == "business" and stem("categories") == "category"
    assert stem("movies") == "movie"


def test_zero_shot_suite_contract(small_world):
    result = run_suite(small_world, "zero-shot", ["random", "keyword"], ["phone_renting", "nba_fans"])
    assert result["suite"] == "zero-shot"
    assert len(result["results"]) == 4
    for row in result["results"]:
        assert {"scenario", "method", "auc", "ks", "accuracy", "precision", "recall"} <= set(row)
        assert row["auc"] is None or 0.0 <= row["auc"] <= 1.0
    assert set(result["summary"]) == {"random", "keyword"}
    assert "mean_auc" in result["summary"]["keyword"]


def test_keyword_finds_habitual_nba_viewers(small_world):
    r = run_suite(small_world, "zero-shot", ["keyword", "random"], ["nba_fans"])
    by = {x["method"]: x["auc"] for x in r["results"]}
    assert by["keyword"] > by["random"]


def test_supervised_reference_learns(small_world):
    r = run_suite(small_world, "zero-shot", ["supervised"], ["nba_fans"])
    assert r["results"][0]["auc"] > 0.7


def test_bad_suite_and_scenario_are_named(small_world):
    with pytest.raises(TargetbotError, match="unknown suite"):
        run_suite(small_world, "zeroshot", ["random"])
    with pytest.raises(TargetbotError, match="unknown scenario 'nope'"):
        run_suite(small_world, "zero-shot", ["random"], ["nope"])
    with pytest.raises(TargetbotError, match="not in suite"):
        run_suite(small_world, "few-shot", ["keyword"])


def test_eval_users_are_held_out(small_world):
    from targetbot.eval.registry import EvalContext

    ctx = EvalContext.load(small_world)
    assert not (ctx.eval_mask & ctx.train_mask).any()
    assert 0.3 < ctx.eval_mask.mean() < 0.7
    assert np.array_equal(ctx.split, EvalContext.load(small_world).split)  # stable


def test_scenarios_from_another_folder_and_a_user_sample(small_world, tmp_path):
    """`--scenario-dir`: any set of scenarios against a built workspace, without copying it in;
    `--sample-users`: evaluation on a seeded sample of evaluation users."""
    from pathlib import Path

    from targetbot.core.resources import package_path

    bank = Path(package_path("targetbot.eval", "data", "scenario_bank"))
    r = run_suite(small_world, "zero-shot", ["random"], ["first_home_move"], options={"scenario_dirs": [bank]})
    assert [x["scenario"] for x in r["results"]] == ["first_home_move"]
    with pytest.raises(TargetbotError, match="no such scenario file or folder"):
        run_suite(small_world, "zero-shot", ["random"], options={"scenario_dirs": [tmp_path / "nope"]})
    full = run_suite(small_world, "zero-shot", ["keyword"], ["nba_fans"])
    part = run_suite(small_world, "zero-shot", ["keyword"], ["nba_fans"], options={"sample_users": 100})
    assert part["eval_users"] == 100 < full["eval_users"]
    same = run_suite(small_world, "zero-shot", ["keyword"], ["nba_fans"], options={"sample_users": 100})
    assert same["results"] == part["results"]  # seeded


def test_the_bank_splits_into_fixed_dev_and_test_halves(small_world):
    """`--split`: the bank's recorded split (every scenario in exactly one half, both halves about
    the same size); a folder without a splits.yaml splits by a fixed hash of the name."""
    from pathlib import Path

    from targetbot.core.resources import package_path
    from targetbot.eval.runner import scenario_paths, scenario_split

    bank = Path(package_path("targetbot.eval", "data", "scenario_bank"))
    names = [p.stem for p in scenario_paths([bank])]
    halves = {n: scenario_split(n, [bank]) for n in names}
    dev = [n for n, h in halves.items() if h == "dev"]
    assert set(halves.values()) == {"dev", "test"} and abs(2 * len(dev) - len(names)) <= 4
    assert scenario_split("no_such_scenario", [bank]) == scenario_split("no_such_scenario")  # the hash rule
    r = run_suite(small_world, "zero-shot", ["random"], options={"scenario_dirs": [bank], "split": "test"})
    assert {x["scenario"] for x in r["results"]} == {n for n, h in halves.items() if h == "test"}
