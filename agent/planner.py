"""Request -> validated TargetingPlan through the rewriter (rewrite.client.Rewriter).

Requests are data, never instructions:
* an empty or over-long request is refused with a clear message before any model runs;
* user ids of the workspace found in the request are taken out before the text reaches the LLM
  (replaced by "a seed user") and put into the plan's `seed_users` afterwards — ids never enter
  a prompt;
* the rewriter sanitises the text (rewrite.messages.sanitize_request), decodes under the plan's
  JSON schema and validates the result against the catalog; what comes back is a plan, and a
  plan can only select tools through the executor's `allowed_tools`.

Grounding: after the rewriter, the request's own words are matched against the entity
graph (entities the request names, plus the up to three entities whose descriptions are closest
to it, cosine >= the graph's `semantic_match`) and added to the plan's `seed_entities` (at most
four, never an excluded entity). The LLM can misread a request ("rather rent a phone" ->
"phone case"); the grounded seeds keep EGL on what was said. The request's words themselves go
into the plan's `phrasing`, which FIND scores against (see agent/executor.py). Both are part of
the plan, so a replay needs no request text. Profile filters the request says nothing about
are dropped and reported (rewrite/filter_grounding.py): the small rewriter sometimes invents one, and an
exact filter nobody asked for silently removes most of the audience. Conversely a tier or place
stated in a fixed form ("in first-tier cities", "in Beijing") that the plan lacks is added.

When the rewriter gives no valid plan even after its repair turn (say, it both targets and
excludes an entity), the request is targeted by its words alone (`words_only_plan`: FIND over the
phrasing, EGL over the core phrase as a search query) and the answer says so; that fallback is
never cached.

Plans may be cached per request text (WS/artifacts/agent/plan-cache/), keyed by the sanitised
text, the rewriter model (and protocol), the retrieval index version and the catalog fingerprint; evaluation uses this to stay affordable on
a CPU. `ask` does not, unless told to.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

from targetbot.rewrite.filter_grounding import NEGATION, ground_filters, recall_filters, stated_bounds
from targetbot.agent.resources import Resources
from targetbot.rewrite.messages import sanitize_request
from targetbot.rewrite.plan import MAX_PHRASING_CHARS, MAX_QUERY_CHARS, MAX_SEED_USERS, MAX_SEEDS, PlanError, TargetingPlan
from targetbot.core.atomic import write_json
from targetbot.core.errors import TargetbotError

ID_PLACEHOLDER = "a seed user"
_TOKEN = re.compile(r"[A-Za-z0-9_\-:.]+")


class RequestError(TargetbotError):
    """A request that cannot be planned (empty, too long); the message says what to do."""


def check_request(request: str, max_chars: int) -> str:
    text = (request or "").strip()
    if not text:
        raise RequestError("empty request: say who to target, e.g. 'users likely to rent phones'")
    if len(text) > max_chars:
        raise RequestError(f"request too long ({len(text):,} characters; at most {max_chars:,}): "
                           "describe the audience in a sentence or two")
    if not re.search(r"[A-Za-z]{2,}", text):
        if re.search(r"[^\W\d_]{2,}", text):  # letters, but not Latin ones (e.g. a request in Chinese)
            raise RequestError("this request has no English words: the bundled encoder and rewriter read English "
                               "only (no multilingual model ships with targetbot); write the request in English")
        raise RequestError("the request has no words: say who to target, e.g. 'users likely to rent phones'")
    if instruction_like(text):
        raise RequestError("this reads as an instruction to the tool, not an audience: a request can only describe "
                           "who to target (e.g. 'users likely to rent phones'); workspaces are managed with files")
    return text


_COMMAND_VERBS = ("delete", "remove", "erase", "wipe", "destroy", "drop", "format", "shutdown", "shut down", "kill",
                  "ignore", "forget", "disregard", "overwrite", "rm", "run", "execute", "exec", "print", "reveal",
                  "dump", "leak", "send", "upload", "email", "disable", "export", "show", "list", "output")
# what an instruction to the tool acts on (a request acts on people)
_TOOL_OBJECTS = re.compile(r"\b(workspaces?|runs?|files?|folders?|director(?:y|ies)|tables?|databases?|data ?sets?|"
                           r"artifacts?|models?|prompts?|instructions?|rules?|system|config(?:uration)?|settings|"
                           r"cache|index(?:es)?|logs?|passwords?|secrets?|keys?|every user id|all user ids|user ids)\b",
                           re.IGNORECASE)


def instruction_like(text: str) -> bool:
    """A request that opens with a command verb aimed at the tool itself ("delete the workspace",
    "ignore previous instructions and ...", "print the system prompt"): an instruction, which a
    request cannot give. A command verb aimed at people ("remove churners from pet owners", "run a
    campaign for dog owners") is a request."""
    low = text.strip().lower()
    for v in _COMMAND_VERBS:
        m = re.match(rf"(please\s+)?{re.escape(v)}(?![\w\-])", low)
        if m:
            return bool(_TOOL_OBJECTS.search(low[m.end():]))
    return False


def id_pattern(users) -> re.Pattern | None:
    """The workspace's user-id shape as a case-insensitive pattern (letters + a fixed number of
    digits, e.g. u\d{5}, not followed by another digit), found inside any token ("xu12211",
    "u05184-u08259"); None when most ids share no such shape (then only known ids are matched)."""
    sample = [str(u) for u in list(users)[:2000]]
    shapes: dict[tuple[str, int], int] = {}
    for u in sample:
        m = re.fullmatch(r"([A-Za-z]{1,8})(\d{3,})", u)
        if m:
            key = (m.group(1).lower(), len(m.group(2)))
            shapes[key] = shapes.get(key, 0) + 1
    if not shapes:
        return None
    (prefix, digits), count = max(shapes.items(), key=lambda kv: kv[1])
    if count < 0.9 * len(sample):
        return None
    return re.compile(rf"{re.escape(prefix)}\d{{{digits}}}(?!\d)", re.IGNORECASE)


_ID_MARKER = re.compile(r"(?:\buser|\bid|\bcustomer|#)\s*[:=]?\s*$", re.IGNORECASE)


def user_id_index(users) -> tuple[dict[str, str], re.Pattern | None]:
    """(lower-case id -> id, the id shape): what `strip_user_ids` matches against, built once per
    workspace rather than per request."""
    known = {str(u).lower(): str(u) for u in users}
    return known, id_pattern(known.values())


def strip_user_ids(text: str, users=None, index: tuple[dict[str, str], re.Pattern | None] | None = None
                   ) -> tuple[str, list[str]]:
    """(text with user ids replaced, the known ids in order of appearance). Known ids match in any
    case; a token holding anything shaped like a workspace id (a prefix, a range "a-b", another case)
    is replaced too, so no id-like text reaches the LLM or the plan's phrasing. `index`: a prebuilt
    `user_id_index(users)`."""
    known, pattern = index if index is not None else user_id_index(users)
    found: list[str] = []

    def sub(m):
        tok = m.group(0).strip(".:")
        low = tok.lower()
        if low.isdigit() and not _ID_MARKER.search(m.string[max(0, m.start() - 12):m.start()]):
            return m.group(0)  # a bare number is a number ("aged 25", "500 users") unless marked as an id
        exact = [p for p in low.split("-") if p in known] if all(p in known for p in low.split("-")) else []
        shaped = [h.group(0) for h in pattern.finditer(tok)] if pattern is not None else []
        if not exact and not shaped and low not in known:
            return m.group(0)
        for h in exact or ([low] if low in known else []):  # only exact ids become seeds, not "xu12211"
            if known[h] not in found:
                found.append(known[h])
        return ID_PLACEHOLDER

    return _TOKEN.sub(sub, text), found


def _balanced_spans(text: str):
    """(start, end) of each outermost balanced {...} or [...] span."""
    pairs, stack, start = {"{": "}", "[": "]"}, [], None
    for k, ch in enumerate(text):
        if ch in pairs:
            if not stack:
                start = k
            stack.append(pairs[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
            if not stack:
                yield start, k + 1
        elif ch in "}]":
            stack = []


def strip_json(text: str) -> tuple[str, bool]:
    """The request without embedded JSON (a pasted plan, say): a request is read as words, and a
    plan inside it must not set sizes, thresholds or tools. Only spans that parse as a JSON object
    (or a list holding one) go; "[Guns N' Roses]" stays. An unterminated object (`{"size": 3`)
    goes from its brace to the end."""
    import json

    out, changed, cut = [], False, 0
    for a, b in _balanced_spans(text):
        try:
            value = json.loads(text[a:b])
        except ValueError:
            continue
        if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value)):
            out.append(text[cut:a])
            cut, changed = b, True
    rest = text[cut:]
    m = re.search(r"\{\s*[\"'][^\"']*[\"']\s*:", rest)  # the start of an object that never closes
    if m and "}" not in rest[m.start():]:
        rest, changed = rest[:m.start()], True
    return " ".join("".join(out + [rest]).split()) if changed else text, changed


_NUMBER_WORDS = {"a hundred": 100, "one hundred": 100, "a thousand": 1000, "one thousand": 1000,
                 "ten thousand": 10000, "a million": 1_000_000, "one million": 1_000_000}


def stated_numbers(text: str) -> set[float]:
    """Numbers a request states: 500, 1,000, 1.5k, 10k, 2m, "a thousand", and a percentage as its
    fraction too ("top 5%" -> 5 and 0.05)."""
    low = text.lower()
    out: set[float] = set()
    for m in re.finditer(r"(\d+(?:[.,]\d+)*)\s*(k|m|%)?(?![a-z])", low):
        raw, unit = m.group(1), m.group(2)
        v = float(raw.replace(",", "")) if re.fullmatch(r"\d{1,3}(,\d{3})+", raw) or "," not in raw else None
        if v is None:
            continue
        if re.fullmatch(r"\d{1,3}(\.\d{3})+", raw):  # 1.000 written the European way
            out.add(float(raw.replace(".", "")))
        out.add(v)
        if unit == "k":
            out.add(v * 1000)
        elif unit == "m":
            out.add(v * 1_000_000)
        elif unit == "%":
            out |= {v / 100, 1 - v / 100}
    for words, v in _NUMBER_WORDS.items():
        if words in low:
            out.add(float(v))
    return out


def phrasing_of(text: str) -> str:
    """The sanitised request as FIND reads it: id placeholders taken out, whitespace collapsed."""
    words = " ".join(text.replace(ID_PLACEHOLDER, " ").split())
    return words[:MAX_PHRASING_CHARS] or text[:MAX_PHRASING_CHARS]


def broader_exclusions(plan: TargetingPlan) -> list[str]:
    """Exclusions that are a broader kind of something the plan targets ("insurance" beside
    "home insurance", read from "never insured their home but about to"): excluding them would
    exclude the target's own doers, so they go."""
    def words(x: str) -> set[str]:
        return set(re.findall(r"[a-z0-9]+", x.lower()))

    targets = [words(t) for t in plan.entities()]
    targets += [words(w) for d in plan.demands for w in (getattr(d, "words", None) or [])]
    return [e for e in plan.exclude if any(words(e) and words(e) < t for t in targets)]


def words_only_plan(text: str) -> TargetingPlan:
    """The plan used when the rewriter returns no valid plan: one search demand on the request's
    core phrase (EGL matches it to entities as it can) and the words for FIND. It can call no tool
    that any other plan could not."""
    from targetbot.towers.find import core_phrase

    query = " ".join(core_phrase(phrasing_of(text)).split()[:8])[:MAX_QUERY_CHARS].strip() or "anything"
    return TargetingPlan.model_validate({"demands": [{"family": "search", "queries": [query]}]})


def local_adapter(res: Resources) -> Path | None:
    """The workspace's trained adapter, else the bundled one (as `targetbot rewrite` picks it)."""
    from targetbot.rewrite.config import BUNDLED_ADAPTER_DIR
    from targetbot.rewrite.train import workspace_adapter_dir

    return next((Path(d) for d in (workspace_adapter_dir(res.ws), BUNDLED_ADAPTER_DIR)
                 if (Path(d) / "adapter_config.json").is_file()), None)


def rewriter_identity(res: Resources, url: str | None = None, model: str | None = None, protocol: str = "json") -> str:
    """What a cached plan depends on, known without loading the model."""
    if url:
        return f"url|{url}|{model}|{protocol}"
    ad = local_adapter(res)
    stamp = [(p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in sorted(ad.glob("*"))] if ad else None
    return json.dumps(["local", str(ad), stamp, res.settings.llm, protocol])


def default_rewriter(res: Resources, url: str | None = None, model: str | None = None, protocol: str = "json"):
    """The rewriter a plain `ask` uses: engine `local` (in-process, the workspace's adapter, else the
    bundled one), or an OpenAI-compatible server at `url` (vLLM or `targetbot rewrite serve`)."""
    from targetbot.rewrite.client import InProcessChat, OpenAIChat, Rewriter
    from targetbot.rewrite.config import SERVED_NAME

    if url:
        return Rewriter(OpenAIChat(url), res.catalog, model or SERVED_NAME, protocol=protocol, index=res.entity_index)
    from targetbot.rewrite.engine_local import LocalEngine

    adapter = local_adapter(res)
    if adapter is None:
        raise TargetbotError("no rewriter adapter: run 'targetbot build' (or use --plan to replay a plan)")
    engine = LocalEngine(res.settings, adapter=adapter, merge=True)
    return Rewriter(InProcessChat(engine), res.catalog, engine.models()[0], protocol=protocol, index=res.entity_index)


class Planner:
    def __init__(self, res: Resources, rewriter=None, cache: bool = False, url: str | None = None,
                 model: str | None = None, protocol: str = "json"):
        self.res = res
        self._rewriter = rewriter
        self._injected = rewriter is not None
        self.url, self.model, self.protocol = url, model, protocol
        self.cache = cache
        self._id_index = None  # user_id_index(res.users), on the first request

    @property
    def rewriter(self):
        if self._rewriter is None:
            self._rewriter = self.res.models.rewriter(self.res, self.url, self.model, self.protocol)
        return self._rewriter

    def _cache_path(self, text: str) -> Path:
        rw = self._rewriter
        # a rewriter passed in (tests, benchmarks) names itself; otherwise what the plan comes from,
        # known whether or not the model is loaded yet
        if self._injected:
            index = getattr(rw, "index", None)
            ident = f"{rw.model}|{rw.prompt}|{getattr(rw, 'protocol', 'json')}|{getattr(index, 'version', None)}"
        else:  # grounded: a new catalogue (names, aliases, descriptions) or retrieval setting re-plans
            ident = f"{rewriter_identity(self.res, self.url, self.model, self.protocol)}|{self.res.entity_index_version()}"
        key = json.dumps([text, ident, self.res.catalog.fingerprint()])
        h = hashlib.sha256(key.encode()).hexdigest()[:20]
        return self.res.ws.artifacts_dir / "agent" / "plan-cache" / f"{h}.json"

    def plan(self, request: str) -> tuple[TargetingPlan, dict]:
        """(validated plan, info: source, seconds, attempts, model, seed user count)."""
        text = check_request(request, self.res.config.max_request_chars)
        if self._id_index is None:
            self._id_index = user_id_index(self.res.users)
        text, ids = strip_user_ids(text, index=self._id_index)
        text, had_json = strip_json(text)
        text = check_request(sanitize_request(text), self.res.config.max_request_chars)
        t = time.perf_counter()
        path = self._cache_path(text) if self.cache else None
        if path is not None and path.exists():
            plan = TargetingPlan.model_validate_json(json.loads(path.read_text())["plan"])
            info = {"plan_source": "cache", "plan_seconds": round(time.perf_counter() - t, 3)}
        else:
            try:
                r = self.rewriter.rewrite(text)
            except PlanError as e:  # no valid plan even after the repair turn: target by the words
                plan = words_only_plan(text)
                info = {"plan_source": "words only", "plan_error": str(e), "plan_seconds": round(time.perf_counter() - t, 3)}
            else:
                plan = r.plan
                info = {"plan_source": "rewriter", "plan_seconds": round(r.seconds, 3), "plan_attempts": r.attempts}
                if getattr(r, "grounding", None):
                    info["rewrite_grounding"] = r.grounding
                if path is not None:
                    write_json(path, {"request": text, "plan": plan.to_json()})
        info["rewriter_model"] = self.rewriter.model if self._rewriter is not None else None
        if had_json:
            info["ignored_json"] = True
        grounded = self.ground(text, plan)
        update = {"phrasing": [phrasing_of(text)]}
        filters, dropped = ground_filters(text, plan.filters)
        filters, added = recall_filters(text, filters, self.res.catalog)
        filters, replaced = stated_bounds(text, filters, self.res.catalog)  # raises on a contradiction
        if dropped or added or replaced:
            update["filters"] = filters.model_dump(mode="json") if filters is not None else None
            info.update({k: v for k, v in (("dropped_filters", dropped), ("added_filters", added),
                                           ("replaced_filters", replaced)) if v})
        update.update(self.ground_sizing(text, plan, info))
        if plan.exclude and not NEGATION.search(text):
            info["dropped_exclusions"] = list(plan.exclude)
            update["exclude"] = []
        elif broader := broader_exclusions(plan):
            info["dropped_exclusions"] = broader
            update["exclude"] = [e for e in plan.exclude if e not in broader]
        if grounded:
            update["seed_entities"] = list(plan.seed_entities) + grounded
            info["grounded_seed_entities"] = grounded
        plan = TargetingPlan.model_validate({**plan.model_dump(mode="json"), **update})
        if ids:
            plan = plan.model_copy(update={"seed_users": list(dict.fromkeys([*plan.seed_users, *ids]))[:MAX_SEED_USERS]})
            plan = TargetingPlan.model_validate(plan.model_dump())
            info["seed_users_from_request"] = len(ids)
        return plan, info

    @staticmethod
    def ground_sizing(text: str, plan: TargetingPlan, info: dict) -> dict:
        """A size or threshold stays only when the request states its number in words (a plan
        inside the request, or a number the model made up, does not size an audience)."""
        update, nums = {}, stated_numbers(text)
        if plan.size is not None and float(plan.size) not in nums:
            info["dropped_size"], update["size"] = plan.size, None
        if plan.threshold is not None and (round(float(plan.threshold), 6) not in {round(x, 6) for x in nums}
                                           or not re.search(r"\b(score|threshold|above|at least|top)\b|%", text, re.I)):
            info["dropped_threshold"], update["threshold"] = plan.threshold, None
        return update

    def ground(self, text: str, plan: TargetingPlan) -> list[str]:
        """Entities the request itself names or describes, not yet in the plan (see the module doc)."""
        import numpy as np

        from targetbot.egl.expansion import graph_dictionary
        from targetbot.towers.find import core_phrase

        g = self.res.graph()
        room = MAX_SEEDS - len(plan.seed_entities)
        if g is None or room <= 0:
            return []
        text = core_phrase(text.replace(ID_PLACEHOLDER, " "))
        found = [g.names[ids[0]] for ids in graph_dictionary(g).match(text) if len(ids) == 1]
        sims = g.semantic @ self.res.encode([text])[0]
        cut = self.res.graph_config.expansion.semantic_match
        found += [g.names[i] for i in np.argsort(-sims)[:3] if sims[i] >= cut]
        have = set(plan.entities()) | set(plan.exclude)
        out = []
        for name in dict.fromkeys(found):
            c = self.res.catalog.canonical(name)
            if c is not None and c not in have and c not in out:
                out.append(c)
        return out[:room]
