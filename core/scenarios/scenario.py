"""Scenario files: a named targeting demand and the rules that label it.

    name: phone_renting
    domain: marketing                  # security | marketing | recommendation | any word
    demand: users likely to rent phones
    paraphrases: [...]                 # optional: how marketers say it (agent evaluation)
    cold_start: false                  # true when the target service is new in the label window
    label: <rule>                      # see targetbot.core.scenarios.rules
    hard_negative: <rule>              # optional: negatives that look like positives
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from targetbot.core.errors import DataError
from targetbot.core.scenarios.rules import Rule, parse_rule, rule_to_data
from targetbot.core.resources import package_path

BUILTIN_DIR = package_path("targetbot.core", "scenarios", "builtin")


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    domain: str
    demand: str = Field(min_length=3)
    description: str = ""
    paraphrases: list[str] = Field(default_factory=list)
    cold_start: bool = False
    label: Rule
    hard_negative: Rule | None = None

    @field_validator("label", "hard_negative", mode="before")
    @classmethod
    def _rule(cls, v):
        return None if v is None else parse_rule(v)

    def to_data(self) -> dict:
        data = self.model_dump(exclude={"label", "hard_negative"})
        data["label"] = rule_to_data(self.label)
        if self.hard_negative is not None:
            data["hard_negative"] = rule_to_data(self.hard_negative)
        return data


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if not re.fullmatch(r"function-.*|[A-Z]\w*Rule", str(p)))
    msg = err["msg"].removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def parse_scenario(raw: Any, source: str = "<scenario>") -> Scenario:
    if not isinstance(raw, dict):
        raise DataError(f"{source}: a scenario file is a YAML mapping (name, domain, demand, label, ...)")
    try:
        return Scenario.model_validate(raw)
    except ValidationError as e:
        raise DataError(f"{source}: {_first_error(e)}") from None
    except ValueError as e:
        raise DataError(f"{source}: {e}") from None


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: scenario file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise DataError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', e)})") from None
    return parse_scenario(raw, str(path))


def load_scenarios(paths: list[Path]) -> list[Scenario]:
    scenarios = [load_scenario(p) for p in paths]
    seen: dict[str, int] = {}
    for s in scenarios:
        seen[s.name] = seen.get(s.name, 0) + 1
    dup = [n for n, c in seen.items() if c > 1]
    if dup:
        raise DataError(f"scenario name '{dup[0]}' is used by more than one file")
    return scenarios


def builtin_scenario_files() -> list[Path]:
    return sorted(BUILTIN_DIR.glob("*.yaml"))
