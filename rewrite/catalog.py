"""What the rewriter knows about a workspace: entity names and aliases, profile fields, scenarios.

A `Catalog` is plain data (saved as JSON next to an adapter), so a served rewriter does not need
the workspace's tables: the JSON schema used for constrained decoding is built from it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from pydantic import BaseModel, Field

from targetbot.core.atomic import write_json
from targetbot.core.errors import TargetbotError

# Characters a name may hold to be usable as a JSON enum value the decoder can emit.
_SAFE = re.compile(r'^[\x20-\x7e]+$')


class EntityInfo(BaseModel):
    name: str
    type: str
    aliases: list[str] = Field(default_factory=list)
    description: str = ""


class FieldInfo(BaseModel):
    name: str
    kind: str = Field(description="categorical | numeric")
    values: list[str] = Field(default_factory=list, description="Known categories (categorical fields).")
    low: float | None = None
    high: float | None = None


class ScenarioInfo(BaseModel):
    name: str
    demand: str
    paraphrases: list[str] = Field(default_factory=list)
    description: str = ""


class Catalog(BaseModel):
    entities: list[EntityInfo]
    fields: list[FieldInfo] = Field(default_factory=list)
    relations: list[tuple[str, str, str]] = Field(default_factory=list, description="(head, relation, tail)")
    scenarios: list[ScenarioInfo] = Field(default_factory=list)

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    def from_workspace(cls, ws, max_relations: int = 20000) -> "Catalog":
        if not ws.has_table("entities"):
            raise TargetbotError(f"{ws.table_path('entities')} not found: the rewriter needs an entity dictionary")
        ents = ws.entities()
        entities = []
        for row in ents.itertuples(index=False):
            name = str(row.entity).strip()
            if not name or not _SAFE.match(name):
                continue  # names the decoder cannot emit verbatim are left out of the enum
            aliases = [str(a).strip() for a in (list(row.aliases) if row.aliases is not None else []) if str(a).strip()]
            entities.append(EntityInfo(name=name, type=str(row.type), aliases=aliases,
                                       description=str(getattr(row, "description", "") or "")))
        fields = []
        try:
            schema = ws.profile_schema()
            prof = ws.profiles()
        except TargetbotError:
            schema, prof = None, None
        if schema is not None:
            for col, kind in schema.columns.items():
                kind = str(getattr(kind, "value", kind))
                if col not in prof.columns:
                    continue
                s = prof[col].dropna()
                if kind == "categorical":
                    vals = sorted({str(v) for v in s.unique()})[:50]
                    fields.append(FieldInfo(name=col, kind=kind, values=vals))
                else:
                    fields.append(FieldInfo(name=col, kind="numeric", low=float(s.min()) if len(s) else None,
                                            high=float(s.max()) if len(s) else None))
        relations: list[tuple[str, str, str]] = []
        if ws.has_table("relations"):
            rel = ws.relations()
            cols = list(rel.columns)
            h, t = cols[0], cols[1]
            r = "relation" if "relation" in cols else ("type" if "type" in cols else None)
            for row in rel.head(max_relations).itertuples(index=False):
                d = row._asdict()
                relations.append((str(d[h]), str(d[r]) if r else "related to", str(d[t])))
        scenarios = []
        from targetbot.core.scenarios import load_scenarios

        for s in load_scenarios(ws.scenario_files()):
            scenarios.append(ScenarioInfo(name=s.name, demand=s.demand, paraphrases=list(s.paraphrases),
                                          description=str(getattr(s, "description", "") or "")))
        return cls(entities=entities, fields=fields, relations=relations, scenarios=scenarios)

    @classmethod
    def load(cls, path: str | Path) -> "Catalog":
        path = Path(path)
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:
            raise TargetbotError(f"{path}: not a readable rewriter catalog ({str(e).splitlines()[0][:120]})") from None

    def save(self, path: str | Path) -> None:
        write_json(path, self.model_dump(mode="json"))

    # ---- look-ups -------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entities]

    def fingerprint(self) -> str:
        blob = json.dumps([self.names, [(f.name, f.kind) for f in self.fields]], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def _alias_map(self) -> dict[str, str]:
        if not hasattr(self, "_amap"):
            m: dict[str, str] = {}
            for e in self.entities:  # aliases first so canonical names win on collisions
                for a in e.aliases:
                    m.setdefault(a.lower(), e.name)
            for e in self.entities:
                m[e.name.lower()] = e.name
            object.__setattr__(self, "_amap", m)
        return self._amap  # type: ignore[attr-defined]

    def aliases(self) -> dict[str, str]:
        """{alias: canonical name} as written in the entity dictionary."""
        out: dict[str, str] = {}
        for e in self.entities:
            for a in e.aliases:
                out.setdefault(a, e.name)  # an alias shared by several entities means the first one
        return out

    def canonical(self, phrase: str) -> str | None:
        """The canonical entity name for a name or alias (case-insensitive), else None."""
        return self._alias_map().get(str(phrase).strip().lower())

    def normalise(self, phrase: str) -> str:
        """Lower-case canonical name when the phrase is a known name/alias, else the lower-cased phrase."""
        c = self.canonical(phrase)
        return (c or str(phrase).strip()).lower()

    def entity(self, name: str) -> EntityInfo | None:
        if not hasattr(self, "_emap"):
            object.__setattr__(self, "_emap", {e.name: e for e in self.entities})
        return self._emap.get(name)  # type: ignore[attr-defined]

    def field(self, name: str) -> FieldInfo | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def by_type(self, *types: str) -> list[EntityInfo]:
        return [e for e in self.entities if e.type in types]
