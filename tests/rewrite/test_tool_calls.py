"""The plan as tool calls (rewrite.tool_calls) and the client's entity snapping for served models:
scripted replies, no model."""

import json

import pytest

from targetbot.rewrite.client import Rewriter
from targetbot.rewrite.plan import PlanError
from targetbot.rewrite.tool_calls import PLAN_TOOLS, plan_from_tool_calls, plan_tools, required_calls_schema


def _entity(catalog, family):
    from targetbot.rewrite.config import TYPE_FAMILY

    return next(e for e in catalog.entities if TYPE_FAMILY.get(e.type, "click") == family)


class ScriptedServer:
    """Stands in for OpenAIChat: a served model (it does not snap entities) with scripted answers."""

    snaps_entities = False

    def __init__(self, replies=(), calls=()):
        self.replies, self.calls, self.seen = list(replies), list(calls), []

    def __call__(self, model, messages, schema, max_tokens):
        self.seen.append(("json", messages, schema))
        return {"content": self.replies.pop(0), "completion_tokens": 1}

    def tool_calls(self, model, messages, tools, max_tokens, choice="required"):
        self.seen.append(("tools", messages, tools, choice))
        return {"calls": self.calls.pop(0), "completion_tokens": 1}


def test_the_planning_tools_are_the_agents_tools():
    from targetbot.agent.tools import TOOL_NAMES

    assert set(PLAN_TOOLS) <= set(TOOL_NAMES)


def test_tool_schemas_stay_small_enough_for_a_prompt(catalog):
    text = json.dumps(plan_tools(catalog))
    assert not any(e.name in text for e in catalog.entities[:50])  # no catalog enum in a served prompt
    assert len(text) < 6000
    enum = json.dumps(plan_tools(catalog, "enum"))
    assert catalog.entities[0].name in enum


def test_calls_assemble_into_one_plan(catalog):
    buy, app = _entity(catalog, "purchase").name, _entity(catalog, "browsing").name
    calls = [{"name": "find_users", "arguments": {"demands": [{"family": "purchase", "items": [buy]}],
                                                  "exclude": [app]}},
             {"name": "expand_entities", "arguments": json.dumps({"phrases": [buy], "hops": 2})},
             {"name": "estimate_size", "arguments": {"size": 500}}]
    plan = plan_from_tool_calls(calls)
    assert plan == {"demands": [{"family": "purchase", "items": [buy]}], "exclude": [app],
                    "seed_entities": [buy], "hops": 2, "size": 500}


@pytest.mark.parametrize("calls, message", [
    ([{"name": "delete_workspace", "arguments": {}}], "unknown tool 'delete_workspace'"),
    ([{"name": "export_audience", "arguments": {}}], "unknown tool 'export_audience'"),  # an agent tool, not a plan part
    ([{"name": "find_users", "arguments": "{not json"}], "arguments are not valid JSON"),
    ([{"name": "find_users", "arguments": {"demands": [], "extra": 1}}], "find_users"),
    ([{"name": "estimate_size", "arguments": {"size": 10}}], "no find_users call"),
    ([], "no find_users call"),
])
def test_bad_calls_are_named(calls, message):
    with pytest.raises(PlanError, match=message):
        plan_from_tool_calls(calls)


def test_required_schema_is_an_array_of_named_calls(catalog):
    s = required_calls_schema(plan_tools(catalog))
    assert s["type"] == "array" and s["minItems"] == 1
    assert [c["properties"]["name"]["const"] for c in s["items"]["anyOf"]] == list(PLAN_TOOLS)


def test_a_served_model_writes_entities_as_text_and_the_client_snaps_them(catalog):
    e = _entity(catalog, "purchase")
    typo = e.name[:-1] + e.name[-1].upper() + "s"  # "cat food" -> "cat fooDs"
    chat = ScriptedServer([json.dumps({"demands": [{"family": "purchase", "items": [typo]}]})])
    res = Rewriter(chat, catalog, "m").rewrite("users likely to buy " + typo)
    assert res.attempts == 1 and res.plan.demands[0].items == [e.name]
    schema = chat.seen[0][2]  # first answer: entity slots free text, filter fields still constrained
    items = schema["properties"]["demands"]["items"]["anyOf"][0]["properties"]["items"]["items"]
    assert "enum" not in items and items["maxLength"] == 80


def test_a_phrase_that_snaps_onto_nothing_is_repaired_under_the_catalog_enum(catalog):
    e = _entity(catalog, "purchase")
    chat = ScriptedServer([json.dumps({"demands": [{"family": "purchase", "items": ["zzqx vortex"]}]}),
                           json.dumps({"demands": [{"family": "purchase", "items": [e.name]}]})])
    res = Rewriter(chat, catalog, "m").rewrite("users likely to buy zzqx vortex")
    assert res.attempts == 2 and res.plan.demands[0].items == [e.name]
    assert "unknown entity 'zzqx vortex'" in chat.seen[1][1][-1]["content"]
    repair_items = chat.seen[1][2]["properties"]["demands"]["items"]["anyOf"][0]["properties"]["items"]["items"]
    assert e.name in repair_items["enum"]


def test_the_tool_protocol_plans_and_repairs_once(catalog):
    e = _entity(catalog, "purchase")
    bad = [{"name": "find_users", "arguments": {"demands": [{"family": "purchase", "items": ["zzqx vortex"]}]}}]
    good = [{"name": "find_users", "arguments": {"demands": [{"family": "purchase", "items": [e.name.upper()]}]}}]
    chat = ScriptedServer(calls=[bad, good])
    res = Rewriter(chat, catalog, "m", protocol="tools").rewrite("users likely to buy things")
    assert res.attempts == 2 and res.plan.demands[0].items == [e.name]
    assert chat.seen[1][0] == "tools" and "Call the tools again" in chat.seen[1][1][-1]["content"]
    chat = ScriptedServer(calls=[bad, [{"name": "drop_tables", "arguments": {}}], good])
    with pytest.raises(PlanError, match="after one repair attempt: tool call 0: unknown tool 'drop_tables'"):
        Rewriter(chat, catalog, "m", protocol="tools").rewrite("x")


def test_a_first_call_that_is_not_find_users_is_followed_by_a_named_find_users_call(catalog):
    e = _entity(catalog, "purchase")
    chat = ScriptedServer(calls=[[{"name": "estimate_size", "arguments": {"size": 300}}],
                                 [{"name": "find_users", "arguments": {"demands": [{"family": "purchase",
                                                                                    "items": [e.name]}]}}]])
    res = Rewriter(chat, catalog, "m", protocol="tools").rewrite("300 users likely to buy things")
    assert res.attempts == 1 and res.plan.size == 300 and res.plan.demands[0].items == [e.name]
    assert [s[3] for s in chat.seen] == ["required", "find_users"]


def test_unknown_protocol_is_refused(catalog):
    from targetbot.core.errors import TargetbotError

    with pytest.raises(TargetbotError, match="unknown protocol 'xml'"):
        Rewriter(ScriptedServer(), catalog, "m", protocol="xml")
