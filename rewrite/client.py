"""Rewrite a request into a TargetingPlan through any OpenAI-compatible chat endpoint.

Backends: an in-process engine (`LocalEngine`) or an HTTP server (`targetbot rewrite serve`, a
vLLM server) reached with the standard `openai` client, or through langchain for tool calls.

Two protocols, the two ways vLLM offers structure:
* `json`: one answer under the plan's JSON schema (`response_format` json_schema);
* `tools`: calls to the agent's tools (`rewrite.tool_calls`, `tool_choice="required"`) assembled
  into the same plan.

Grounded (with an `EntityIndex`, the default of every command): the catalogue entities the
request can mean are retrieved first (rewrite.retrieval) and shown to the model after the request
(rewrite.messages.candidate_note), the model writes entity slots as free phrases under a schema that leaves out what the request does not state (no filters when it
names no profile field, no exclusions without a negation), and the answer is grounded
(rewrite.ground): entities snapped by meaning onto the candidates or kept as the request's
words, exclusions from negated clauses, filters and quantities from the request's own words.
Both engines go the same way, so a served plan equals an in-process one.

Ungrounded (no index): engine `local` snaps each entity slot onto the catalog inside its decoder (rewrite.snap).
A served model cannot, so against a server the first answer is decoded with entity slots as free
text and the client snaps them afterwards, the same way; a phrase that snaps onto nothing is a
validation error. Output that fails validation (catalog checks) gets exactly one repair attempt,
decoded with entity slots as catalog enums; after that a `PlanError` with a one-line reason is
raised - never a half-valid plan.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

from targetbot.core.errors import TargetbotError
from targetbot.rewrite.catalog import Catalog
from targetbot.rewrite.messages import build_messages, sanitize_request
from targetbot.rewrite.plan import PlanError, TargetingPlan, extract_json, normalise_families, parse_plan, plan_json_schema
from targetbot.rewrite.snap import catalog_snapper, snap_entities
from targetbot.rewrite.tool_calls import parse_calls_text, plan_from_tool_calls, plan_tools, required_calls_schema

REPAIR = ("Your TargetingPlan is invalid: {error}. Reply with the corrected TargetingPlan JSON only, "
          "using entity names from the catalog.")
REPAIR_TOOLS = ("Those tool calls do not make a valid plan: {error}. Call the tools again, with entity names "
                "from the catalog.")
PROTOCOLS = ("json", "tools")


class InProcessChat:
    """Chat backend calling an engine directly (no HTTP); the engine snaps entities itself."""

    snaps_entities = True

    def __init__(self, engine):
        from targetbot.rewrite.train import trained_with_matches

        self.engine = engine
        # an adapter trained before retrieval was in its prompt is asked the way it was trained
        self.shows_matches = trained_with_matches(getattr(engine, "adapter", None))

    def __call__(self, model: str, messages: list[dict], schema: dict | None, max_tokens: int) -> dict:
        r = self.engine.complete(model, messages, schema=schema, max_tokens=max_tokens)
        return {"content": r["content"], "completion_tokens": r["completion_tokens"]}

    def tool_calls(self, model: str, messages: list[dict], tools: list[dict], max_tokens: int,
                   choice: str = "required") -> dict:
        """One call: to any of `tools` ("required") or to the tool named `choice`."""
        if choice != "required":
            tools = [t for t in tools if t["function"]["name"] == choice]
        schema = required_calls_schema(tools, parallel=False)
        r = self.engine.complete(model, messages, schema=schema, max_tokens=max_tokens)
        return {"calls": parse_calls_text(r["content"]), "completion_tokens": r["completion_tokens"]}


class OpenAIChat:
    """Chat backend over HTTP (vLLM or the local server): the `openai` client for JSON answers,
    langchain's `ChatOpenAI(...).bind_tools(...)` for tool calls."""

    snaps_entities = False

    def __init__(self, base_url: str, api_key: str = "EMPTY", timeout: float = 300.0):
        from openai import OpenAI

        self.base_url, self.api_key, self.timeout = base_url, api_key, timeout
        self.client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        self._lc: dict[tuple, object] = {}

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
            raise _endpoint_error(e) from None
        return {"content": r.choices[0].message.content or "",
                "completion_tokens": getattr(r.usage, "completion_tokens", 0) if r.usage else 0}

    def tool_calls(self, model: str, messages: list[dict], tools: list[dict], max_tokens: int,
                   choice: str = "required") -> dict:
        """One call (`parallel_tool_calls=False`): to any of `tools` ("required") or to the tool named
        `choice`. One per turn because vLLM's `required` array has no upper bound, and a small
        model left free repeats a call until its token budget ends (then no call parses)."""
        from openai import OpenAIError

        key = (model, max_tokens, choice, json.dumps(tools, sort_keys=True))
        bound = self._lc.get(key)
        if bound is None:
            from langchain_openai import ChatOpenAI

            llm = ChatOpenAI(base_url=self.base_url, api_key=self.api_key, model=model, temperature=0,
                             max_tokens=max_tokens, timeout=self.timeout, max_retries=0, use_responses_api=False)
            bound = self._lc[key] = llm.bind_tools(tools, tool_choice=choice, parallel_tool_calls=False)
        try:
            msg = bound.invoke(messages)
        except OpenAIError as e:
            raise _endpoint_error(e) from None
        if msg.invalid_tool_calls:
            bad = msg.invalid_tool_calls[0]
            raise PlanError(f"tool call {bad.get('name') or '?'}: arguments are not valid JSON "
                            f"({str(bad.get('error') or 'unparsable')[:80]})")
        if not msg.tool_calls:
            raise PlanError("the model made no tool call (output cut off at max_tokens?)")
        calls = [{"name": c["name"], "arguments": c["args"]} for c in msg.tool_calls]
        usage = getattr(msg, "usage_metadata", None) or {}
        return {"calls": calls, "completion_tokens": usage.get("output_tokens", 0)}


def _endpoint_error(e: Exception) -> TargetbotError:
    return TargetbotError(f"rewriter endpoint error: {str(e).splitlines()[0][:200]}")


@dataclass
class RewriteResult:
    plan: TargetingPlan
    seconds: float
    attempts: int
    raw: list[str] = field(default_factory=list)
    grounding: dict = field(default_factory=dict)  # what grounding changed (rewrite.ground.Grounding)
    candidates: list[str] = field(default_factory=list)  # the retrieved entities the plan could use

    def to_dict(self) -> dict:
        out = {"plan": self.plan.model_dump(mode="json", exclude_defaults=True), "sentences": self.plan.sentences(),
               "conditions": self.plan.condition_string(), "seconds": round(self.seconds, 3),
               "attempts": self.attempts}
        if self.grounding:
            out["grounding"] = self.grounding
        return out


class Rewriter:
    def __init__(self, chat, catalog: Catalog | None, model: str, prompt: str = "tuned", constrained: bool = True,
                 max_tokens: int = 320, normalise: bool = True, protocol: str = "json", index=None,
                 show_matches: bool | None = None):
        if protocol not in PROTOCOLS:
            raise TargetbotError(f"unknown protocol '{protocol}' (use {' or '.join(PROTOCOLS)})")
        self.chat, self.catalog, self.model = chat, catalog, model
        self.prompt, self.constrained, self.max_tokens = prompt, constrained, max_tokens
        self.normalise = normalise  # entities moved to their type's family (plan.normalise_families)
        self.protocol = protocol
        self.index = index  # rewrite.retrieval.EntityIndex: grounded rewriting (see the module doc)
        # grounded: the retrieved entities follow the request in the prompt (a server is assumed to
        # serve an adapter trained that way; in process the adapter's own metadata says)
        self.show_matches = getattr(chat, "shows_matches", True) if show_matches is None else show_matches
        self._schemas: dict[tuple, dict] = {}
        self.schema = plan_json_schema(catalog)
        # entity slots as free text on the first answer, snapped here (the in-process engine snaps itself)
        self.snapper = catalog_snapper(catalog) if catalog is not None and not getattr(chat, "snaps_entities", False) \
            else None
        engine = getattr(chat, "engine", None)
        if catalog is not None and hasattr(engine, "add_aliases"):  # in-process engine: snap entity aliases
            engine.add_aliases(catalog.aliases())

    def rewrite(self, request: str) -> RewriteResult:
        """A validated plan, after at most one repair attempt; raises PlanError otherwise."""
        t = time.perf_counter()
        text = sanitize_request(request)
        if not text:
            raise TargetbotError("the request is empty: describe the audience to target")
        raw = []
        ground = self._grounding(text) if self.index is not None and self.catalog is not None else None
        if ground is not None and self.show_matches:  # retrieval-augmented: the model sees what it may name
            r = ground["retrieval"]
            messages = build_messages(text, self.prompt, r.names(), [c.name for c in r.excluded])
        else:
            messages = build_messages(text, self.prompt)
        reply, plan_or_error = self._answer(messages, repair=False, ground=ground)
        raw.append(reply)
        if isinstance(plan_or_error, TargetingPlan):
            return self._result(plan_or_error, t, 1, raw, ground)
        repair = REPAIR_TOOLS if self.protocol == "tools" else REPAIR
        messages = messages + [{"role": "assistant", "content": reply},
                               {"role": "user", "content": repair.format(error=str(plan_or_error))}]
        reply, plan_or_error = self._answer(messages, repair=True, ground=ground)
        raw.append(reply)
        if isinstance(plan_or_error, TargetingPlan):
            return self._result(plan_or_error, t, 2, raw, ground)
        err = PlanError(f"the rewriter's output is invalid after one repair attempt: {plan_or_error}")
        err.raw = raw  # what the model said, for evaluation (placeholder copies count for failed output too)
        raise err from None

    def _grounding(self, text: str) -> dict:
        """Per-request grounding state: the retrieval, the report, and the decoding schema."""
        from targetbot.rewrite.filter_grounding import stated_fields
        from targetbot.rewrite.ground import Grounding
        from targetbot.rewrite.retrieval import NEGATED

        omit = []
        if not stated_fields(text, self.catalog):
            omit.append("filters")
        if not NEGATED.search(text):
            omit.append("exclude")
        if not re.search(r"\d", text):
            omit += ["size", "threshold"]
        if "seed user" not in text:
            omit.append("seed_users")
        key = tuple(omit)
        if key not in self._schemas:
            self._schemas[key] = plan_json_schema(self.catalog, "text", omit=key)
        return {"text": text, "retrieval": self.index.retrieve(text), "report": Grounding(),
                "schema": self._schemas[key]}

    def _result(self, plan: TargetingPlan, t: float, attempts: int, raw: list[str], ground: dict | None):
        if ground is None:
            return RewriteResult(plan, time.perf_counter() - t, attempts, raw)
        from targetbot.rewrite.ground import ground_plan

        report = ground["report"]
        plan = ground_plan(plan, ground["text"], self.catalog, report)
        return RewriteResult(plan, time.perf_counter() - t, attempts, raw, report.to_dict(),
                             ground["retrieval"].names())

    def _answer(self, messages: list[dict], repair: bool, ground: dict | None = None) -> tuple[str, TargetingPlan | PlanError]:
        """(the reply as text, its plan or the PlanError saying why it is none). Against a server the
        first JSON answer has entity slots as free text (snapped here), the repair the catalog enum;
        tool schemas are always free text there, because a server writes them into the prompt."""
        if self.protocol == "tools":
            tools = plan_tools(self.catalog, "text" if self.snapper is not None or ground is not None else "enum")
            calls: list[dict] = []
            try:
                calls += self.chat.tool_calls(self.model, messages, tools, self.max_tokens)["calls"]
                if not any(c["name"] == "find_users" for c in calls):  # every plan needs its demands
                    calls += self.chat.tool_calls(self.model, messages, tools, self.max_tokens,
                                                  choice="find_users")["calls"]
                reply = json.dumps([{"name": c["name"], "arguments": c["arguments"]} for c in calls])
                data = plan_from_tool_calls(calls)
                return reply, (self._ground_data(data, ground) if ground is not None else self._check(data))
            except PlanError as e:
                return json.dumps(calls), e
        schema = None
        if ground is not None:
            schema = ground["schema"] if self.constrained else None
        elif self.constrained:
            free_text = self.snapper is not None and not repair
            schema = plan_json_schema(self.catalog, "text") if free_text else self.schema
        reply = self.chat(self.model, messages, schema, self.max_tokens)["content"]
        try:
            if ground is not None:
                return reply, self._check_grounded(reply, ground)
            return reply, self._check_text(reply)
        except PlanError as e:
            return reply, e

    def _check_grounded(self, reply: str, ground: dict) -> TargetingPlan:
        try:
            data = json.loads(extract_json(reply))
        except ValueError:
            return self._parse(reply)  # names the JSON error
        if not isinstance(data, dict):
            return self._parse(reply)
        return self._ground_data(data, ground)

    def _ground_data(self, data: dict, ground: dict) -> TargetingPlan:
        from targetbot.rewrite.ground import ground_entities

        for key in ("phrasing", "unknown"):  # grounding's fields, never the model's
            data.pop(key, None)
        ground["report"].__init__()  # a repaired answer is grounded afresh
        data = ground_entities(data, ground["retrieval"], ground["report"], self.catalog)
        return self._parse(json.dumps(data))

    def _check_text(self, reply: str) -> TargetingPlan:
        if self.snapper is not None:
            try:
                data = json.loads(extract_json(reply))
            except ValueError:
                data = None  # parse_plan names the JSON error
            if isinstance(data, dict):
                return self._check(data)
        return self._parse(reply)

    def _check(self, data: dict) -> TargetingPlan:
        """A plan dict with its entities snapped (against a server), through the catalog checks."""
        if self.snapper is not None:
            data, _ = snap_entities(data, self.snapper)
        return self._parse(json.dumps(data))

    def _parse(self, reply: str) -> TargetingPlan:
        plan = parse_plan(reply, self.catalog)
        if self.normalise and self.catalog is not None:
            plan = normalise_families(plan, self.catalog)
        return plan
