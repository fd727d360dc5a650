"""Evaluation: metrics, the method registry and suites over a workspace's scenarios.

Methods register themselves with `@register_method`; later subsystems (FIND towers, EGL,
agent) add theirs in `eval/methods/`. Nothing outside the CLI imports this package.
"""

from targetbot.eval.registry import EvalContext, MethodOutput, TargetingMethod, get_method, list_methods, register_method

__all__ = ["EvalContext", "MethodOutput", "TargetingMethod", "get_method", "list_methods", "register_method"]
