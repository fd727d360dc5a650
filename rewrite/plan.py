"""`TargetingPlan`: the one contract between the rewriter and the agent.

A plan holds template demands in FIND's five families (purchase, browsing, search, click,
payment) with their slots filled, seed entities and hop depth for graph expansion, profile
filters as ARALLM-style `(field # op # value)` conditions joined by AND/OR, exclusions (hard
negatives), seed users and an audience size or score threshold.

`plan_json_schema(catalog)` exports the JSON schema used for constrained decoding (entity slots
are enums over the catalog, filter fields an enum over profile columns); `parse_plan` turns model
text into a plan that passed both the pydantic model and the catalog checks, or raises
`PlanError` with a one-line reason. Nothing half-valid gets through.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from targetbot.core.errors import TargetbotError
from targetbot.core.resources import package_path

FAMILIES = ("purchase", "browsing", "search", "click", "payment")
# Which slot of each family holds catalog entities (None: free text).
FAMILY_SLOT = {"purchase": "items", "browsing": "programs", "search": "queries", "click": "pages", "payment": "channels"}
ENTITY_SLOTS = ("items", "programs", "pages", "channels")
OPS = ("=", "!=", ">", ">=", "<", "<=", "between", "in")
STATUSES = ("successful", "failed")
PLACEHOLDER = re.compile(r"\{(items|num|status|pages|programs|queries|channels|texts)\}|\{[a-z_]+\}")
TEMPLATES_FILE = package_path("targetbot.prompts", "find_templates.yaml")

MAX_DEMANDS, MAX_SLOT, MAX_SEEDS, MAX_EXCLUDE, MAX_CONDITIONS, MAX_SEED_USERS = 4, 3, 4, 4, 4, 10
MAX_QUERY_CHARS = 60
MAX_PHRASING_CHARS = 2000


class PlanError(TargetbotError):
    """Model output that is not a valid plan; the message is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Name = Annotated[str, Field(min_length=1, max_length=80)]


Words = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS)]


class _Demand(_Strict):
    # Quantities the request states (rewrite/quantities.py fills them from the request's own words;
    # the decoding schema leaves them out, so the model never guesses one).
    min_count: int | None = Field(None, ge=1, le=1000, description="At least this many times.")
    per_days: int | None = Field(None, ge=1, le=365, description="...per this many days ('twice a week': 7).")
    within_days: int | None = Field(None, ge=1, le=365, description="Within this horizon ('next two weeks': 14).")

    @model_validator(mode="after")
    def _slot_or_words(self):
        slot = FAMILY_SLOT[self.family]
        if slot in ENTITY_SLOTS and not getattr(self, slot) and not self.words:
            raise ValueError(f"a {self.family} demand needs {slot} or words")
        return self


class _EntityDemand(_Demand):
    # The request's own words for what the catalog lacks ("wedding planning"): set by grounding when
    # a phrase the model wrote matches no retrieved entity, instead of forcing a near miss.
    words: list[Words] = Field(default_factory=list, max_length=MAX_SLOT,
                               description="Request words with no catalog entity.")


class PurchaseDemand(_EntityDemand):
    family: Literal["purchase"]
    items: list[Name] = Field(default_factory=list, max_length=MAX_SLOT, description="Catalog entities bought.")
    num: int | None = Field(None, ge=0, le=10_000_000, description="Amount in dollars a purchase exceeds.")
    total: int | None = Field(None, ge=0, le=100_000_000, description="Dollars the purchases exceed in total.")
    status: Literal["successful", "failed"] | None = Field(None, description="Payment status.")


class BrowsingDemand(_EntityDemand):
    family: Literal["browsing"]
    programs: list[Name] = Field(default_factory=list, max_length=MAX_SLOT, description="Mini-programs or apps used.")


class SearchDemand(_Demand):
    family: Literal["search"]
    queries: list[Words] = Field(min_length=1, max_length=MAX_SLOT, description="Search queries, free text.")


class ClickDemand(_EntityDemand):
    family: Literal["click"]
    pages: list[Name] = Field(default_factory=list, max_length=MAX_SLOT, description="App pages (SPM) clicked.")


class PaymentDemand(_EntityDemand):
    family: Literal["payment"]
    channels: list[Name] = Field(default_factory=list, max_length=MAX_SLOT, description="Payment channels used.")


Demand = Annotated[Union[PurchaseDemand, BrowsingDemand, SearchDemand, ClickDemand, PaymentDemand],
                   Field(discriminator="family")]


class Condition(_Strict):
    field: str = Field(description="A profile column.")
    op: Literal["=", "!=", ">", ">=", "<", "<=", "between", "in"]
    value: str = Field(min_length=1, max_length=60, description="'a,b' for between; comma list for in.")

    def render(self) -> str:
        return f"({self.field}#{self.op}#{self.value})"


class Filters(_Strict):
    join: Literal["AND", "OR"] = "AND"
    conditions: list[Condition] = Field(min_length=1, max_length=MAX_CONDITIONS)

    def render(self) -> str:
        return f" {self.join} ".join(c.render() for c in self.conditions)


class TargetingPlan(_Strict):
    demands: list[Demand] = Field(min_length=1, max_length=MAX_DEMANDS)
    seed_entities: list[Name] = Field(default_factory=list, max_length=MAX_SEEDS,
                                      description="Extra seeds for graph expansion beyond the demand entities.")
    hops: int = Field(1, ge=0, le=3, description="k-hop depth of graph expansion.")
    filters: Filters | None = None
    exclude: list[Name] = Field(default_factory=list, max_length=MAX_EXCLUDE,
                                description="Hard negatives: users drawn to these entities are left out.")
    seed_users: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default_factory=list,
                                                                                max_length=MAX_SEED_USERS)
    size: int | None = Field(None, ge=1, le=100_000_000, description="Audience size wanted.")
    threshold: float | None = Field(None, ge=0, le=1, description="Score threshold instead of a size.")
    # Set by grounding, never by the model: what the request states that no slot can hold ("under
    # $20", an exclusion that names nothing in the catalog), said rather than guessed.
    unknown: list[Annotated[str, Field(min_length=1, max_length=MAX_PHRASING_CHARS)]] = Field(
        default_factory=list, max_length=8, description="Stated but not representable (grounding-set).")
    # Set by the agent after the rewrite, never taken from model output (parse_plan drops it): the
    # request in the marketer's own words, which FIND matches as free text. The slots above lose what
    # has no catalog entity ("hackers are about to take over" -> payment via wallet balance).
    phrasing: list[Annotated[str, Field(min_length=1, max_length=MAX_PHRASING_CHARS)]] = Field(
        default_factory=list, max_length=2, description="The request as said (agent-set); FIND scores against it.")

    # ---- views ---------------------------------------------------------------------------
    def to_json(self) -> str:
        """Canonical compact serialisation (defaults left out) - what the rewriter is trained to emit."""
        return json.dumps(self.model_dump(mode="json", exclude_defaults=True), ensure_ascii=True)

    def families(self) -> list[str]:
        return list(dict.fromkeys(d.family for d in self.demands))

    def entities(self) -> list[str]:
        """Every catalog entity the plan targets: demand entity slots then extra seeds."""
        out: list[str] = []
        for d in self.demands:
            for slot in ENTITY_SLOTS:
                out.extend(getattr(d, slot, None) or [])
        out.extend(self.seed_entities)
        return list(dict.fromkeys(out))

    def sentences(self) -> list[str]:
        """The demands rendered in FIND's template sentences (what the user tower was aligned on)."""
        return [render_demand(d) for d in self.demands]

    def has_placeholder(self) -> bool:
        return bool(PLACEHOLDER.search(self.to_json()))

    def condition_string(self) -> str | None:
        return self.filters.render() if self.filters else None


# ---- FIND templates ------------------------------------------------------------------------
@lru_cache(maxsize=1)
def find_templates() -> dict[str, list[str]]:
    try:
        data = yaml.safe_load(TEMPLATES_FILE.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise TargetbotError(f"{TEMPLATES_FILE}: cannot read FIND templates ({e.__class__.__name__})") from None
    return {k: list(v) for k, v in data.items()}


def _join(values: list[str]) -> str:
    values = list(values)
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def render_demand(d) -> str:
    """Fill the family's template with the demand's slots; optional clauses whose slot is empty are dropped."""
    slots = {k: v for k, v in d.model_dump().items() if k != "family" and v not in (None, [], "")}
    slot = FAMILY_SLOT[d.family]
    if slot not in slots and slots.get("words"):  # the request's words stand in for a missing entity
        slots[slot] = slots["words"]
    values = {k: _join(v) if isinstance(v, list) else str(v) for k, v in slots.items()}
    templates = find_templates().get(d.family, [])
    if "total" in values and "num" not in values:  # the template that says "in total"
        values["num"] = values["total"]
        templates = [t for t in templates if "in total" in t] + [t for t in templates if "in total" not in t]
    for t in templates:
        need = set(re.findall(r"\{(\w+)\}", t))
        if need <= set(values):
            return t.format(**values)
    if not templates:
        raise TargetbotError(f"{TEMPLATES_FILE}: no template for family '{d.family}'")
    t = templates[0]
    missing = [m for m in re.finditer(r"\{(\w+)\}", t) if m.group(1) not in values]
    head = t[:missing[0].start()]
    # cut back to the clause that introduces the missing slot ("amounting more than", "with", ...)
    head = re.sub(r"\s+(amounting|with|for|in|of|more)\b.*$", "", head.rstrip())
    return head.format(**values).rstrip(" ,") + "."


# ---- JSON schema for constrained decoding ---------------------------------------------------
def plan_json_schema(catalog=None, entities: str = "enum", omit: tuple[str, ...] = ()) -> dict:
    """A self-contained JSON schema of the plan; with a catalog, entity slots and filter fields are enums.

    Property order is the serialisation order the decoder follows. vLLM accepts the same schema
    as `response_format={"type": "json_schema", ...}`. `entities="text"` leaves entity slots as
    short free strings (filter fields stay enums): what a served model decodes when the client
    snaps entities onto the catalog itself (rewrite.snap.snap_entities), as engine `local` does
    inside its decoder. `omit` leaves optional top-level properties out (a request that states no
    profile constraint gets a schema without `filters`, so nothing can be invented there).
    """
    names = sorted(catalog.names) if catalog is not None and entities == "enum" else None
    ent = {"type": "string", "enum": names} if names else {"type": "string", "minLength": 1, "maxLength": 80}

    def elist(desc: str, max_items: int, min_items: int = 1) -> dict:
        return {"type": "array", "items": ent, "minItems": min_items, "maxItems": max_items, "description": desc}

    def demand(family: str, props: dict, required: list[str]) -> dict:
        return {"type": "object", "properties": {"family": {"const": family}, **props},
                "required": ["family", *required], "additionalProperties": False}

    demands = [
        demand("purchase", {"items": elist("entities bought", MAX_SLOT),
                            "num": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
                            "status": {"enum": list(STATUSES)}}, ["items"]),
        demand("browsing", {"programs": elist("mini-programs or apps used", MAX_SLOT)}, ["programs"]),
        demand("search", {"queries": {"type": "array", "minItems": 1, "maxItems": MAX_SLOT,
                                      "items": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS}}},
               ["queries"]),
        demand("click", {"pages": elist("app pages clicked", MAX_SLOT)}, ["pages"]),
        demand("payment", {"channels": elist("payment channels", MAX_SLOT)}, ["channels"]),
    ]
    schema = {
        "title": "TargetingPlan",
        "type": "object",
        "additionalProperties": False,
        "required": ["demands"],
        "properties": {
            "demands": {"type": "array", "minItems": 1, "maxItems": MAX_DEMANDS, "items": {"anyOf": demands}},
            "seed_entities": elist("extra graph-expansion seeds", MAX_SEEDS, 0),
            "hops": {"type": "integer", "minimum": 0, "maximum": 3},
            "filters": filters_schema(catalog),
            "exclude": elist("hard negatives", MAX_EXCLUDE, 0),
            "seed_users": {"type": "array", "minItems": 0, "maxItems": MAX_SEED_USERS,
                           "items": {"type": "string", "minLength": 1, "maxLength": 40}},
            "size": {"type": "integer", "minimum": 1, "maximum": 100_000_000},
            "threshold": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }
    for key in omit:
        if key != "demands":
            schema["properties"].pop(key, None)
    return schema


def filters_schema(catalog=None) -> dict:
    return {"type": "object", "additionalProperties": False, "required": ["conditions"],
            "properties": {"join": {"enum": ["AND", "OR"]},
                           "conditions": {"type": "array", "minItems": 1, "maxItems": MAX_CONDITIONS,
                                          "items": {"anyOf": _condition_schemas(catalog)}}}}


def _condition_schemas(catalog) -> list[dict]:
    """One condition shape per profile field: categorical values as an enum, numbers as digits."""
    def cond(field: dict, ops: list[str], value: dict) -> dict:
        return {"type": "object", "additionalProperties": False, "required": ["field", "op", "value"],
                "properties": {"field": field, "op": {"enum": ops}, "value": value}}

    if catalog is None or not catalog.fields:
        return [cond({"type": "string", "minLength": 1}, list(OPS), {"type": "string", "minLength": 1, "maxLength": 60})]
    out = []
    for f in catalog.fields:
        name = {"const": f.name}
        if f.kind == "numeric":
            out.append(cond(name, ["=", "!=", ">", ">=", "<", "<="], {"type": "string", "pattern": "^[0-9.]+$", "maxLength": 12}))
            out.append(cond(name, ["between", "in"], {"type": "string", "pattern": "^[0-9.,]+$", "maxLength": 40}))
        elif f.values:
            out.append(cond(name, ["=", "!="], {"enum": list(f.values)}))
            out.append(cond(name, ["in"], {"type": "string", "minLength": 1, "maxLength": 60}))
        else:
            out.append(cond(name, ["=", "!=", "in"], {"type": "string", "minLength": 1, "maxLength": 60}))
    return out


# ---- parsing and validation -----------------------------------------------------------------
def extract_json(text: str) -> str:
    """The first balanced {...} object in model text (code fences and chatter around it ignored)."""
    start = text.find("{")
    if start < 0:
        raise PlanError("model output holds no JSON object")
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    raise PlanError("model output has an unterminated JSON object")


def _loc(err: dict) -> str:
    return ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p in FAMILIES))


def parse_plan(text: str, catalog=None) -> TargetingPlan:
    """Model text -> a plan that passed the schema and, with a catalog, the catalog checks."""
    raw = extract_json(text)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise PlanError(f"model output is not valid JSON ({e.msg} at char {e.pos})") from None
    try:
        plan = TargetingPlan.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise PlanError(f"plan field {_loc(err) or '(root)'}: {err['msg']}") from None
    if plan.phrasing:  # the agent's field: a model cannot put words in the marketer's mouth
        plan = plan.model_copy(update={"phrasing": []})
    if catalog is not None:
        plan = check_plan(plan, catalog)
    return plan


def check_plan(plan: TargetingPlan, catalog) -> TargetingPlan:
    """Catalog checks; entity aliases are normalised to canonical names. Raises PlanError."""
    data = plan.model_dump(mode="json")

    def canon(value: str, where: str) -> str:
        c = catalog.canonical(value)
        if c is None:
            raise PlanError(f"plan field {where}: unknown entity '{value[:60]}' (not in the catalog)")
        return c

    for i, d in enumerate(data["demands"]):
        for slot in ENTITY_SLOTS:
            if slot in d:
                d[slot] = list(dict.fromkeys(canon(v, f"demands.{i}.{slot}") for v in d[slot]))
    data["seed_entities"] = list(dict.fromkeys(canon(v, "seed_entities") for v in data["seed_entities"]))
    data["exclude"] = list(dict.fromkeys(canon(v, "exclude") for v in data["exclude"]))
    targets = {e for d in data["demands"] for s in ENTITY_SLOTS for e in d.get(s, [])} | set(data["seed_entities"])
    clash = targets & set(data["exclude"])
    if clash:
        raise PlanError(f"plan both targets and excludes {sorted(clash)[0]!r}")
    if data.get("filters"):
        for j, c in enumerate(data["filters"]["conditions"]):
            _check_condition(c, catalog, f"filters.conditions.{j}")
    return TargetingPlan.model_validate(data)


def _num(s: str) -> float | None:
    try:
        return float(s.strip())
    except ValueError:
        return None


def _check_condition(c: dict, catalog, where: str) -> None:
    if not catalog.fields:
        return
    f = catalog.field(c["field"])
    if f is None:
        raise PlanError(f"{where}: unknown profile field '{c['field'][:40]}'")
    op, value = c["op"], c["value"]
    parts = [p.strip() for p in value.split(",")] if op in ("between", "in") else [value.strip()]
    if op == "between" and len(parts) != 2:
        raise PlanError(f"{where}: 'between' needs 'low,high', got '{value}'")
    if f.kind == "numeric":
        if any(_num(p) is None for p in parts):
            raise PlanError(f"{where}: field '{f.name}' is numeric, value '{value}' is not")
        if op == "between" and _num(parts[0]) > _num(parts[1]):
            raise PlanError(f"{where}: 'between' bounds are reversed ('{value}')")
    else:
        if op in (">", ">=", "<", "<=", "between"):
            raise PlanError(f"{where}: field '{f.name}' is categorical; '{op}' needs a numeric field")
        known = {v.lower(): v for v in f.values}
        if known:
            for p in parts:
                if p.lower() not in known:
                    raise PlanError(f"{where}: '{p[:30]}' is not a value of '{f.name}' "
                                    f"(e.g. {', '.join(f.values[:4])})")
        c["value"] = ",".join(known.get(p.lower(), p) for p in parts)


# ---- normalisation --------------------------------------------------------------------------
def normalise_families(plan: TargetingPlan, catalog) -> TargetingPlan:
    """Put every catalog entity in the demand family its type belongs to (`rewrite.config.TYPE_FAMILY`,
    the convention the rewriter is trained on): a mini-program the model wrote under `purchase` moves
    to a `browsing` demand, a product under `payment` to `purchase`, and a demand holding entities of
    several families is split. `num`/`status` stay with the purchase part. Search demands and plans
    that would exceed the demand limit are left as they are. Entities must be canonical (check_plan)."""
    from targetbot.rewrite.config import TYPE_FAMILY

    out: list[dict] = []
    changed = False
    for d in plan.demands:
        data = d.model_dump(mode="json", exclude_none=True)
        if d.family == "search":
            out.append(data)
            continue
        groups: dict[str, list[str]] = {}
        if not data.get(FAMILY_SLOT[d.family]):  # words only: nothing to move
            out.append(data)
            continue
        for name in data[FAMILY_SLOT[d.family]]:
            e = catalog.entity(name)
            fam = TYPE_FAMILY.get(e.type, "click") if e is not None else d.family
            groups.setdefault(fam, []).append(name)
        if list(groups) == [d.family]:
            out.append(data)
            continue
        changed = True
        for fam, names in groups.items():
            nd: dict = {"family": fam, FAMILY_SLOT[fam]: names}
            nd.update({k: data[k] for k in ("min_count", "per_days", "within_days") if k in data})
            if fam == "purchase" and d.family == "purchase":
                nd.update({k: data[k] for k in ("num", "total", "status") if k in data})
            if fam == d.family and data.get("words"):
                nd["words"] = data["words"]
            out.append(nd)
    if not changed or len(out) > MAX_DEMANDS:
        return plan
    return TargetingPlan.model_validate({**plan.model_dump(mode="json"), "demands": out})
