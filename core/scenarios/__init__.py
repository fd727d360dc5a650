"""Benchmark scenarios as data: YAML files in a small label-rule language.

`rules` defines the language, `scenario` the file format, `labels` evaluates both on a
workspace. Built-in scenarios for the world simulator live in `builtin/`.
"""

from targetbot.core.scenarios.labels import LabelContext, ScenarioLabels, compute_labels, evaluate_rule
from targetbot.core.scenarios.rules import Condition, Rule, parse_rule
from targetbot.core.scenarios.scenario import Scenario, builtin_scenario_files, load_scenario, load_scenarios, parse_scenario

__all__ = [
    "Condition", "LabelContext", "Rule", "Scenario", "ScenarioLabels", "builtin_scenario_files",
    "compute_labels", "evaluate_rule", "load_scenario", "load_scenarios", "parse_rule", "parse_scenario",
]
