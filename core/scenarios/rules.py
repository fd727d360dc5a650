"""The label-rule language: scenarios are data, so a new scenario needs no code.

A rule is a YAML mapping with exactly one key:

    events:            users with matching events in a window
      window: label    # a role (label, history, train_input, train_target) or a window name
      where:           # AND over event fields; each value is a condition (below)
        source: bill
        category: [phone_rental, device_lease]
        text: {contains: "rent"}
      count: {gte: 2}  # optional, default {gte: 1}; also `days` (distinct active days),
      sum: {amount: {gte: 500}}          # sums of numeric fields,
      distinct: {merchant: {gte: 3}}     # distinct counts of any field,
      share: {gte: 0.1}                  # and matching events / all the user's events in the window
    profile:           users whose profile matches (AND over columns)
      age: {between: [18, 35]}
      city_tier: [1, 2]
    all: [rule, ...]   every sub-rule holds
    any: [rule, ...]   at least one holds
    not: rule          the sub-rule does not hold

A condition is a scalar (equals), a list (is one of), or a mapping with one or more of
eq, ne, in, not_in, gt, gte, lt, lte, between, contains, contains_any, matches
(contains/matches are case-insensitive; matches is a regular expression in RE2 syntax, run by a
linear-time engine, so no pattern can hang labelling: no backreferences or lookarounds).
"""

from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator


def check_regex(pattern: str) -> str | None:
    """None when `pattern` compiles under RE2 (what `matches` runs on), else the reason."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array([""]), pattern, ignore_case=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        return str(e).removeprefix("Invalid regular expression: ")[:120]
    return None


def regex_matches(values, pattern: str):
    """Case-insensitive `pattern` search over strings (None -> False), in linear time (RE2 via Arrow)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values, type=pa.string(), from_pandas=True)
    hit = pc.fill_null(pc.match_substring_regex(arr, pattern, ignore_case=True), False)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)

Scalar = Union[str, int, float, bool]

OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "contains", "contains_any", "matches")


class Condition(BaseModel):
    """A test on one value; parsed from a scalar, a list or an operator mapping."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: list[Scalar] | None = Field(None, alias="in")
    not_in: list[Scalar] | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    between: list[float] | None = Field(None, min_length=2, max_length=2)
    contains: str | None = None
    contains_any: list[str] | None = None
    matches: str | None = None

    @field_validator("matches")
    @classmethod
    def _linear_time_regex(cls, v: str | None) -> str | None:
        if v is not None:
            regex_error = check_regex(v)
            if regex_error:
                raise ValueError(f"not a valid regular expression ({regex_error})")
        return v

    @classmethod
    def parse(cls, value: Any) -> "Condition":
        if isinstance(value, Condition):
            return value
        if isinstance(value, dict):
            unknown = [k for k in value if k not in OPERATORS]
            if unknown:
                raise ValueError(f"unknown operator '{unknown[0]}' (operators: {', '.join(OPERATORS)})")
            cond = cls.model_validate(value)
            if not cond.model_dump(exclude_none=True):
                raise ValueError("empty condition")
            return cond
        if isinstance(value, list):
            if not value:
                raise ValueError("empty list condition")
            return cls.model_validate({"in": value})
        if value is None:
            raise ValueError("condition value is empty")
        return cls(eq=value)

    def ops(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, by_alias=True)


def _parse_conditions(value: Any) -> dict[str, Condition]:
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of field: condition")
    return {str(k): Condition.parse(v) for k, v in value.items()}


class EventsClause(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: str = "label"
    where: dict[str, Condition] = Field(default_factory=dict)
    count: Condition | None = None
    days: Condition | None = None
    sum: dict[str, Condition] | None = None
    distinct: dict[str, Condition] | None = None
    share: Condition | None = None

    @field_validator("where", "sum", "distinct", mode="before")
    @classmethod
    def _conds(cls, v):
        return None if v is None else _parse_conditions(v)

    @field_validator("count", "days", "share", mode="before")
    @classmethod
    def _cond(cls, v):
        return None if v is None else Condition.parse(v)


class EventsRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: EventsClause


class ProfileRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profile: dict[str, Condition]

    @field_validator("profile", mode="before")
    @classmethod
    def _conds(cls, v):
        return _parse_conditions(v)


class AllRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    all: list["Rule"] = Field(min_length=1)


class AnyRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    any: list["Rule"] = Field(min_length=1)


class NotRule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    not_: "Rule" = Field(alias="not")


RULE_KEYS = {"events": EventsRule, "profile": ProfileRule, "all": AllRule, "any": AnyRule, "not": NotRule}
Rule = Union[EventsRule, ProfileRule, AllRule, AnyRule, NotRule]


def parse_rule(raw: Any) -> Rule:
    """Parse one rule, choosing the model by its single key so errors point at the right place."""
    if isinstance(raw, BaseModel):
        return raw
    if not isinstance(raw, dict) or len(raw) != 1:
        keys = ", ".join(RULE_KEYS)
        raise ValueError(f"a rule is a mapping with exactly one key ({keys})")
    key = next(iter(raw))
    if key not in RULE_KEYS:
        raise ValueError(f"unknown rule '{key}' (rules: {', '.join(RULE_KEYS)})")
    if key in ("all", "any"):
        items = raw[key]
        if not isinstance(items, list) or not items:
            raise ValueError(f"'{key}' needs a non-empty list of rules")
        return RULE_KEYS[key].model_validate({key: [parse_rule(r) for r in items]})
    if key == "not":
        return NotRule.model_validate({"not": parse_rule(raw[key])})
    return RULE_KEYS[key].model_validate(raw)


def rule_to_data(rule: Rule) -> dict:
    """Back to plain YAML-able data (inverse of parse_rule)."""
    if isinstance(rule, AllRule):
        return {"all": [rule_to_data(r) for r in rule.all]}
    if isinstance(rule, AnyRule):
        return {"any": [rule_to_data(r) for r in rule.any]}
    if isinstance(rule, NotRule):
        return {"not": rule_to_data(rule.not_)}
    return rule.model_dump(exclude_none=True, by_alias=True)


for _m in (AllRule, AnyRule, NotRule):
    _m.model_rebuild()
