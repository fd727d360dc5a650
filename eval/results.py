"""A suite's result, typed by what it measured, so readers dispatch on its kind, never on its shape.

* `scenarios` (zero-shot, few-shot, probe): one row per scenario and method (AUC, KS, precision
  and recall at the method's own rule ...) and a summary per method;
* `graph`: relation-mining metrics of EGL's stages and baselines against the true relations;
* `rewrite`: plan metrics of each rewriter model (JSON validity, slot F1, latency).

`body` is the JSON contract of `targetbot eval run --json` (and WS/runs/eval-*/result.json).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["scenarios", "graph", "rewrite"]


@dataclass
class SuiteResult:
    suite: str
    kind: Kind
    body: dict

    @property
    def per_scenario(self) -> bool:
        return self.kind == "scenarios"

    def to_json(self) -> dict:
        return {"kind": self.kind, **self.body}
