"""The plan as tool calls: the agent's tools offered to a served model, assembled into one plan.

The second way a served model can answer (the first is one JSON object under the plan's schema):
calls to the agent's own tools, each with arguments that are a part of the plan,

* `find_users(demands, exclude)`   the template demands FIND scores and the entities whose users are
                                   pushed away (`TargetingPlan.demands`, `exclude`)
* `expand_entities(phrases, hops)` extra seeds for graph expansion (`seed_entities`, `hops`)
* `estimate_size(filters, size, threshold)`  profile filters and the audience size

The arguments keep the plan's own order (demands, then exclusions), which is the order the rewriter
was trained to write them in.

`plan_from_tool_calls` checks every call against the allowed names and its tool's argument model
and assembles the calls into a plan dict, which then takes the same catalog checks and repair
rule as a JSON answer (rewrite.client.Rewriter). Seed users are not a tool argument: ids never
enter a prompt, the agent's planner adds them (and so `tune_prompt`) after the rewrite.

`required_calls_schema` is the JSON schema vLLM decodes under for `tool_choice="required"` (an
array of {name, parameters}); the local server builds the same one, so both engines constrain
tool calls alike.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from targetbot.rewrite.plan import (MAX_CONDITIONS, MAX_DEMANDS, MAX_EXCLUDE, MAX_SEEDS, OPS, PlanError,
                                   plan_json_schema)

PLAN_TOOLS = ("find_users", "expand_entities", "estimate_size")

_DESCRIPTIONS = {
    "find_users": "Every request needs it, and most need nothing else: the demands (what the users will buy, "
                  "browse, search, click or pay with) and, in exclude, the entities whose users are left out.",
    "expand_entities": "Only when the request asks for related or similar interests: catalog entities to expand "
                       "through the entity graph.",
    "estimate_size": "Only when the request states a profile filter (age, city, device ...) or an audience size: "
                     "those filters and that size.",
}


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindUsersCall(_Args):
    demands: list[dict] = Field(min_length=1, max_length=MAX_DEMANDS)
    exclude: list[str] = Field(default_factory=list, max_length=MAX_EXCLUDE)


class ExpandEntitiesCall(_Args):
    phrases: list[str] = Field(min_length=1, max_length=MAX_SEEDS)
    hops: int = Field(1, ge=0, le=3)


class EstimateSizeCall(_Args):
    filters: dict | None = None
    size: int | None = None
    threshold: float | None = None


ARG_MODELS: dict[str, type[_Args]] = {"find_users": FindUsersCall, "expand_entities": ExpandEntitiesCall,
                                      "estimate_size": EstimateSizeCall}


def compact_filters_schema(catalog=None) -> dict:
    """Filters with the field names as an enum and the value as a short string: a server renders
    tool schemas into the prompt, and every categorical value listed would cost prompt tokens (the
    catalog check validates values afterwards)."""
    field = {"enum": [f.name for f in catalog.fields]} if catalog is not None and catalog.fields else \
        {"type": "string", "minLength": 1, "maxLength": 40}
    cond = {"type": "object", "additionalProperties": False, "required": ["field", "op", "value"],
            "properties": {"field": field, "op": {"enum": list(OPS)},
                           "value": {"type": "string", "minLength": 1, "maxLength": 60}}}
    return {"type": "object", "additionalProperties": False, "required": ["conditions"],
            "properties": {"join": {"enum": ["AND", "OR"]},
                           "conditions": {"type": "array", "minItems": 1, "maxItems": MAX_CONDITIONS, "items": cond}}}


def plan_tools(catalog=None, entities: str = "text") -> list[dict]:
    """The planning tools in OpenAI's `tools` format, argument schemas cut from the plan's schema.
    A served model sees these schemas in its prompt, so entity slots are free text by default
    (snapped onto the catalog afterwards) and filters compact; `entities="enum"` constrains entity
    slots to catalog names where the schema only constrains decoding (the in-process engine)."""
    plan = plan_json_schema(catalog, entities)["properties"]
    params = {
        "find_users": {"type": "object", "additionalProperties": False, "required": ["demands"],
                       "properties": {"demands": plan["demands"], "exclude": plan["exclude"]}},
        "expand_entities": {"type": "object", "additionalProperties": False, "required": ["phrases"],
                            "properties": {"phrases": {**plan["seed_entities"], "minItems": 1},
                                           "hops": plan["hops"]}},
        "estimate_size": {"type": "object", "additionalProperties": False, "required": [],
                          "properties": {"filters": compact_filters_schema(catalog), "size": plan["size"],
                                         "threshold": plan["threshold"]}},
    }
    return [{"type": "function", "function": {"name": n, "description": _DESCRIPTIONS[n], "parameters": params[n]}}
            for n in PLAN_TOOLS]


def required_calls_schema(tools: list[dict], parallel: bool = True) -> dict:
    """What `tool_choice="required"` decodes under: a non-empty array of calls to the given tools
    (one call with `parallel_tool_calls=False`)."""
    calls = [{"type": "object", "additionalProperties": False, "required": ["name", "parameters"],
              "properties": {"name": {"const": t["function"]["name"]},
                             "parameters": t["function"].get("parameters") or {"type": "object", "properties": {}}}}
             for t in tools]
    return {"type": "array", "minItems": 1, "maxItems": len(tools) if parallel else 1, "items": {"anyOf": calls}}


def parse_calls_text(text: str) -> list[dict]:
    """[{"name", "arguments"}] from the JSON array a `required` decode produced."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise PlanError(f"tool calls are not valid JSON ({e.__class__.__name__})") from None
    if not isinstance(data, list):
        raise PlanError("tool calls must be a JSON array")
    out = []
    for c in data:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            raise PlanError("each tool call needs a name")
        out.append({"name": c["name"], "arguments": c.get("parameters", c.get("arguments", {}))})
    return out


def plan_from_tool_calls(calls: list[dict], allowed: tuple[str, ...] = PLAN_TOOLS) -> dict:
    """Tool calls [{"name", "arguments" (dict or JSON text)}] -> a plan dict (not yet catalog-checked).
    Raises PlanError naming the first bad call: an unknown or disallowed tool, arguments that are
    not JSON or do not fit the tool, or no `find_users` call at all."""
    plan: dict[str, Any] = {"demands": []}
    for i, call in enumerate(calls):
        name = call.get("name")
        if name not in allowed or name not in ARG_MODELS:
            raise PlanError(f"tool call {i}: unknown tool '{str(name)[:40]}' (allowed: {', '.join(allowed)})")
        args = call.get("arguments")
        if isinstance(args, str):
            try:
                args = json.loads(args or "{}")
            except ValueError:
                raise PlanError(f"tool call {i} ({name}): arguments are not valid JSON") from None
        try:
            a = ARG_MODELS[name].model_validate(args if args is not None else {})
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "arguments"
            raise PlanError(f"tool call {i} ({name}): {where}: {err['msg']}") from None
        if isinstance(a, FindUsersCall):
            plan["demands"].extend(a.demands)
            if a.exclude:
                plan["exclude"] = list(dict.fromkeys([*plan.get("exclude", []), *a.exclude]))[:MAX_EXCLUDE]
        elif isinstance(a, ExpandEntitiesCall):
            plan["seed_entities"] = list(dict.fromkeys([*plan.get("seed_entities", []), *a.phrases]))[:MAX_SEEDS]
            plan["hops"] = max(plan.get("hops", 0), a.hops)
        else:
            if a.filters is not None:
                plan["filters"] = a.filters
            for key in ("size", "threshold"):
                if getattr(a, key) is not None:
                    plan[key] = getattr(a, key)
    if not plan["demands"]:
        raise PlanError("no find_users call: the plan needs at least one demand")
    plan["demands"] = plan["demands"][:MAX_DEMANDS]
    return plan
