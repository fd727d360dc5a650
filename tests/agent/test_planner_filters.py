"""The planner applies filter grounding (rewrite/filter_grounding.py) to what the rewriter returns."""



def test_planner_drops_an_invented_filter_and_says_so(make_agent):
    planner, executor, _ = make_agent({"demands": [{"family": "purchase", "items": ["phone rental"]}],
                                       "filters": {"conditions": [{"field": "city_tier", "op": "=", "value": "2"}]}})
    plan, info = planner.plan("users likely to rent phones")
    assert plan.filters is None and info["dropped_filters"] == ["(city_tier#=#2)"]
    r = executor.execute(plan, "users likely to rent phones", info=info)
    assert any("city_tier#=#2" in n and "dropped" in n for n in r.explanation["notes"])
    plan, info = planner.plan("users likely to rent phones in second-tier cities")
    assert plan.filters is not None and "dropped_filters" not in info


def test_planner_adds_a_stated_filter_the_rewriter_missed(make_agent):
    planner, executor, _ = make_agent({"demands": [{"family": "purchase", "items": ["phone rental"]}]})
    plan, info = planner.plan("users likely to rent phones in first-tier cities")
    assert plan.filters.render() == "(city_tier#=#1)" and info["added_filters"] == ["(city_tier#=#1)"]
    r = executor.execute(plan, "x", info=info)
    assert any("added" in n for n in r.explanation["notes"])
    assert (executor.res.profiles.set_index("user_id").loc[r.audience["user_id"], "city_tier"].astype(str) == "1").all()


def test_an_exclusion_broader_than_a_target_goes(make_agent):
    """"never insured their home but about to" read as exclude `insurance` beside target `home
    insurance` would exclude the target's own doers; a narrower or unrelated exclusion stays."""
    from targetbot.agent.planner import broader_exclusions
    from targetbot.rewrite.plan import TargetingPlan

    plan = TargetingPlan.model_validate({"demands": [{"family": "purchase", "items": ["home insurance"]}],
                                         "exclude": ["insurance", "travel insurance", "SafeGuard"]})
    assert broader_exclusions(plan) == ["insurance"]
    import re

    planner, _, _ = make_agent({})
    names = planner.res.catalog.names
    words = {n: set(re.findall(r"[a-z0-9]+", n.lower())) for n in names}
    broad, narrow = next((a, b) for a in names for b in names if words[a] and words[a] < words[b])
    planner, _, _ = make_agent({"demands": [{"family": "purchase", "items": [narrow]}], "exclude": [broad]})
    plan, info = planner.plan(f"people who never bought {narrow} but are about to")
    assert plan.exclude == [] and info["dropped_exclusions"] == [broad]
