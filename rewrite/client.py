"""Rewrite a request into a TargetingPlan through any OpenAI-compatible chat endpoint.

Backends: an in-process engine (`LocalEngine`) or an HTTP server (`targetbot rewrite serve`,
`vllm serve`) reached with the standard `openai` client. Every request carries the plan's JSON
schema as `response_format` (structured output), so engine `local` and vLLM both constrain
decoding. Output that still fails validation (catalog checks) gets exactly one repair attempt;
after that a `PlanError` with a one-line reason is raised - never a half-valid plan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from targetbot.rewrite.catalog import Catalog
from targetbot.rewrite.messages import build_messages
from targetbot.rewrite.plan import PlanError, TargetingPlan, normalise_families, parse_plan, plan_json_schema

REPAIR = ("Your TargetingPlan is invalid: {error}. Reply with the corrected TargetingPlan JSON only, "
          "using entity names from the catalog.")


class InProcessChat:
    """Chat backend calling an engine directly (no HTTP)."""

    def __init__(self, engine):
        self.engine = engine

    def __call__(self, model: str, messages: list[dict], schema: dict | None, max_tokens: int) -> dict:
        r = self.engine.complete(model, messages, schema=schema, max_tokens=max_tokens)
        return {"content": r["content"], "completion_tokens": r["completion_tokens"]}


class OpenAIChat:
    """Chat backend over HTTP with the `openai` client (works against vLLM and the local server)."""

    def __init__(self, base_url: str, api_key: str = "EMPTY", timeout: float = 120.0):
        from openai import OpenAI

        self.client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)

    def __call__(self, model: str, messages: list[dict], schema: dict | None, max_tokens: int) -> dict:
        from openai import OpenAIError

        kw = {}
        if schema is not None:
            kw["response_format"] = {"type": "json_schema",
                                     "json_schema": {"name": "TargetingPlan", "schema": schema, "strict": True}}
        try:
            r = self.client.chat.completions.create(model=model, messages=messages, temperature=0,
                                                    max_tokens=max_tokens, **kw)
        except OpenAIError as e:
            from targetbot.core.errors import TargetbotError

            raise TargetbotError(f"rewriter endpoint error: {str(e).splitlines()[0][:200]}") from None
        return {"content": r.choices[0].message.content or "",
                "completion_tokens": getattr(r.usage, "completion_tokens", 0) if r.usage else 0}


@dataclass
class RewriteResult:
    plan: TargetingPlan
    seconds: float
    attempts: int
    raw: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"plan": self.plan.model_dump(mode="json", exclude_defaults=True), "sentences": self.plan.sentences(),
                "conditions": self.plan.condition_string(), "seconds": round(self.seconds, 3),
                "attempts": self.attempts}


class Rewriter:
    def __init__(self, chat, catalog: Catalog | None, model: str, prompt: str = "tuned", constrained: bool = True,
                 max_tokens: int = 320, normalise: bool = True):
        self.chat, self.catalog, self.model = chat, catalog, model
        self.prompt, self.constrained, self.max_tokens = prompt, constrained, max_tokens
        self.normalise = normalise  # entities moved to their type's family (plan.normalise_families)
        self.schema = plan_json_schema(catalog)
        engine = getattr(chat, "engine", None)
        if catalog is not None and hasattr(engine, "add_aliases"):  # in-process engine: snap entity aliases
            engine.add_aliases(catalog.aliases())

    def rewrite(self, request: str) -> RewriteResult:
        """A validated plan, after at most one repair attempt; raises PlanError otherwise."""
        t = time.perf_counter()
        messages = build_messages(request, self.prompt)
        if not messages[-1]["content"]:
            from targetbot.core.errors import TargetbotError

            raise TargetbotError("the request is empty: describe the audience to target")
        schema = self.schema if self.constrained else None
        raw = []
        reply = self.chat(self.model, messages, schema, self.max_tokens)["content"]
        raw.append(reply)
        try:
            return RewriteResult(self._parse(reply), time.perf_counter() - t, 1, raw)
        except PlanError as first:
            messages = messages + [{"role": "assistant", "content": reply},
                                   {"role": "user", "content": REPAIR.format(error=str(first))}]
            reply = self.chat(self.model, messages, schema, self.max_tokens)["content"]
            raw.append(reply)
            try:
                return RewriteResult(self._parse(reply), time.perf_counter() - t, 2, raw)
            except PlanError as second:
                raise PlanError(f"the rewriter's output is invalid after one repair attempt: {second}") from None

    def _parse(self, reply: str) -> TargetingPlan:
        plan = parse_plan(reply, self.catalog)
        if self.normalise and self.catalog is not None:
            plan = normalise_families(plan, self.catalog)
        return plan
