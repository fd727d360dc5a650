"""Filter grounding: conditions the request does not mention are dropped, the rest kept."""

import pytest

from targetbot.rewrite.filter_grounding import ground_filters, mentions_condition
from targetbot.rewrite.plan import Condition, Filters


@pytest.mark.parametrize("text, field, op, value, kept", [
    ("folks who'd tap a Fitbeat fitness app ad", "app_os", "=", "android", False),  # "app" alone is not app_os
    ("commuters who would rent an electric shared bike", "city", "=", "Beijing", False),
    ("customers interested in a monthly phone rental plan", "age", ">", "18", False),
    ("users likely to rent 1 phone", "city_tier", "=", "1", False),  # a number is not a tier
    ("narrow it to first-tier cities", "city", "=", "Beijing", False),  # "cities" names no city
    ("car owners who might sell", "car_owner", "=", "1", True),
    ("females who buy pet food", "gender", "=", "female", True),
    ("NBA fans in first-tier cities", "city_tier", "=", "1", True),
    ("narrow it to tier 2 cities", "city_tier", "=", "2", True),
    ("android users who rent phones", "app_os", "=", "android", True),
    ("users over 30 who rent phones", "age", ">", "30", True),
    ("users aged 20-30", "age", "between", "20,30", True),
    ("young people who rent phones", "age", "<", "30", True),
    ("women who buy pet food", "gender", "=", "female", True),
    ("people with kids", "num_children", ">", "0", True),
    ("high income users", "income_monthly", ">", "20000", True),
])
def test_a_condition_needs_support_in_the_request(text, field, op, value, kept):
    assert mentions_condition(text, Condition(field=field, op=op, value=value)) is kept


def _f(*conds, join="AND"):
    return Filters.model_validate({"join": join, "conditions": [dict(zip(("field", "op", "value"), c)) for c in conds]})


def test_ground_filters_keeps_the_supported_and_reports_the_rest():
    kept, dropped = ground_filters("male users in Beijing", _f(("city", "=", "Beijing"), ("age", ">", "40")))
    assert kept == _f(("city", "=", "Beijing")) and dropped == ["(age#>#40)"]
    kept, dropped = ground_filters("users likely to rent phones", _f(("age", ">", "18")))
    assert kept is None and dropped == ["(age#>#18)"]
    assert ground_filters("anything", None) == (None, [])


def test_or_filters_are_kept_or_dropped_whole():
    f = _f(("city", "=", "Beijing"), ("age", ">", "40"), join="OR")
    assert ground_filters("users in Beijing", f) == (f, [])  # dropping one alternative would narrow the audience
    assert ground_filters("users who rent phones", f) == (None, [f.render()])


@pytest.mark.parametrize("text, stated", [
    ("pet owners shopping for pet food in first-tier cities", ["(city_tier#=#1)"]),
    ("tier 2 and tier 3 city users", ["(city_tier#in#2,3)"]),
    ("users in Beijing or Shanghai who rent phones", ["(city#in#Beijing,Shanghai)"]),
    ("people from the east who like NBA", ["(region#=#east)"]),
    ("users not in Beijing", []),
    ("Beijing duck lovers", []),  # a place name alone is not a filter
    ("users likely to rent phones", []),
])
def test_stated_conditions(text, stated):
    from targetbot.rewrite.filter_grounding import stated_conditions

    assert [c.render() for c in stated_conditions(text, _Catalog())] == stated


class _Field:
    def __init__(self, name, values):
        self.name, self.kind, self.values = name, "categorical", values


class _Catalog:
    fields = [_Field("city_tier", ["1", "2", "3"]), _Field("city", ["Beijing", "Shanghai", "Wuhan"]),
              _Field("region", ["east", "west"])]


def test_recall_adds_only_fields_the_plan_leaves_open():
    from targetbot.rewrite.filter_grounding import recall_filters

    f, added = recall_filters("users in Beijing in first-tier cities", _f(("city", "=", "Wuhan")), _Catalog())
    assert added == ["(city_tier#=#1)"] and [c.field for c in f.conditions] == ["city", "city_tier"]
    f = _f(("age", ">", "30"), join="OR")
    assert recall_filters("users in first-tier cities", f, _Catalog()) == (f, [])  # never widen an OR


