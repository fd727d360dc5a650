import json

import pytest

from targetbot.rewrite.plan import (PlanError, TargetingPlan, extract_json, parse_plan, plan_json_schema, render_demand)


def _plan(**kw):
    base = {"demands": [{"family": "purchase", "items": ["smartphone"], "num": 300}]}
    base.update(kw)
    return base


def test_canonical_json_leaves_defaults_out_and_round_trips():
    p = TargetingPlan.model_validate(_plan(exclude=["phone repair"]))
    s = p.to_json()
    assert '"hops"' not in s and '"seed_users"' not in s and '"exclude": ["phone repair"]' in s
    assert TargetingPlan.model_validate_json(s) == p


def test_sentences_fill_find_templates_without_placeholders():
    p = TargetingPlan.model_validate({"demands": [
        {"family": "purchase", "items": ["smartphone", "phone case"], "num": 300, "status": "successful"},
        {"family": "purchase", "items": ["laptop"]},
        {"family": "search", "queries": ["monthly phone payment"]},
        {"family": "browsing", "programs": ["MetroGo"]}]})
    s = p.sentences()
    assert s[0] == "The user purchased smartphone and phone case amounting more than 300 dollars with successful payment."
    assert s[1] == "The user purchased laptop."
    assert s[2] == "The user searched for monthly phone payment."
    assert all("{" not in x for x in s)
    assert render_demand(p.demands[3]) == "The user used the MetroGo mini-programs."


def test_conditions_render_arallm_style():
    p = TargetingPlan.model_validate(_plan(filters={"join": "OR", "conditions": [
        {"field": "age", "op": "between", "value": "18,35"}, {"field": "gender", "op": "=", "value": "female"}]}))
    assert p.condition_string() == "(age#between#18,35) OR (gender#=#female)"


def test_extract_json_ignores_chatter_and_fences():
    text = 'Sure! ```json\n{"demands": [{"family": "click", "pages": ["a {b}"]}]}\n``` done'
    assert json.loads(extract_json(text))["demands"][0]["pages"] == ["a {b}"]


@pytest.mark.parametrize("text,msg", [
    ("no json here", "no JSON object"),
    ('{"demands": [', "unterminated"),
    ('{"demands": []}', "demands"),
    ('{"demands": [{"family": "purchase", "items": ["smartphone"]}], "colour": 1}', "colour"),
    ('{"demands": [{"family": "shopping", "items": ["x"]}]}', "demands"),
])
def test_parse_plan_rejects_with_one_line(text, msg):
    with pytest.raises(PlanError) as e:
        parse_plan(text)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_catalog_checks_normalise_aliases_and_reject_unknowns(catalog):
    ent = next(e for e in catalog.entities if e.aliases)
    plan = parse_plan(json.dumps({"demands": [{"family": "purchase", "items": [ent.aliases[0].upper()]}]}), catalog)
    assert plan.demands[0].items == [ent.name]
    with pytest.raises(PlanError, match="unknown entity"):
        parse_plan('{"demands": [{"family": "purchase", "items": ["{items}"]}]}', catalog)
    with pytest.raises(PlanError, match="targets and excludes"):
        parse_plan(json.dumps({"demands": [{"family": "purchase", "items": [ent.name]}], "exclude": [ent.name]}), catalog)


def test_catalog_checks_filters(catalog):
    ok = _plan(demands=[{"family": "purchase", "items": [catalog.names[0]]}],
               filters={"conditions": [{"field": "gender", "op": "=", "value": "FEMALE"}]})
    assert parse_plan(json.dumps(ok), catalog).filters.conditions[0].value == "female"
    for cond, msg in [({"field": "age", "op": ">", "value": "old"}, "numeric"),
                      ({"field": "age", "op": "between", "value": "40,20"}, "reversed"),
                      ({"field": "gender", "op": ">", "value": "male"}, "categorical"),
                      ({"field": "shoe_size", "op": "=", "value": "9"}, "unknown profile field"),
                      ({"field": "gender", "op": "=", "value": "robot"}, "not a value")]:
        bad = dict(ok, filters={"conditions": [cond]})
        with pytest.raises(PlanError, match=msg):
            parse_plan(json.dumps(bad), catalog)


def test_schema_has_catalog_enums(catalog):
    s = plan_json_schema(catalog)
    items = s["properties"]["demands"]["items"]["anyOf"][0]["properties"]["items"]["items"]
    assert set(items["enum"]) == set(catalog.names)
    assert s["properties"]["filters"]["properties"]["conditions"]["items"]["anyOf"][0]["properties"]["field"] == {"const": "age"}
    json.dumps(s)  # serialisable for vLLM's response_format


def test_entities_move_to_their_type_family(catalog):
    from targetbot.rewrite.config import TYPE_FAMILY
    from targetbot.rewrite.plan import normalise_families, parse_plan

    fam = lambda e: TYPE_FAMILY.get(e.type, "click")  # noqa: E731
    prog = next(e.name for e in catalog.entities if fam(e) == "browsing")
    item = next(e.name for e in catalog.entities if fam(e) == "purchase")
    plan = parse_plan(json.dumps({"demands": [{"family": "purchase", "items": [item, prog], "num": 100},
                                              {"family": "search", "queries": ["x"]}]}), catalog)
    out = normalise_families(plan, catalog)
    assert [d.model_dump(exclude_defaults=True) for d in out.demands] == [
        {"family": "purchase", "items": [item], "num": 100}, {"family": "browsing", "programs": [prog]},
        {"family": "search", "queries": ["x"]}]
    assert normalise_families(out, catalog) == out
