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
