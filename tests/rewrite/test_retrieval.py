"""Retrieval before planning and grounding after it (rewrite/retrieval.py, rewrite/ground.py),
with a spelling-based stand-in encoder so the mechanics are exact; the real MiniLM is in
test_real_models.py."""

import json
import zlib

import numpy as np
import pytest

from targetbot.rewrite.catalog import Catalog, EntityInfo, FieldInfo
from targetbot.rewrite.config import RetrievalConfig
from targetbot.rewrite.ground import Grounding, ground_entities, ground_plan
from targetbot.rewrite.plan import TargetingPlan, parse_plan, plan_json_schema
from targetbot.rewrite.retrieval import EntityIndex, index_version, spans, split_negated


class TrigramEncoder:
    """Unit vectors of hashed character trigrams: close when spelled alike."""

    spec = "trigram-test"
    dim = 512

    def __init__(self):
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            s = f"  {t.lower()} "
            for j in range(len(s) - 2):
                out[i, zlib.crc32(s[j:j + 3].encode()) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture()
def catalog():
    ents = [("phone rental", "service", ["rent a phone"]), ("phone repair", "service", ["repair technicians"]),
            ("phone case", "category", []), ("british shorthair", "pet_breed", []),
            ("MetroGo", "mini_program", ["metro go"]), ("Lakers", "sports_team", []),
            ("Hoops Tonight", "media_show", []), ("Celtics", "sports_team", ["Celts"])]
    return Catalog(entities=[EntityInfo(name=n, type=t, aliases=a) for n, t, a in ents],
                   fields=[FieldInfo(name="age", kind="numeric", low=18, high=80),
                           FieldInfo(name="city", kind="categorical", values=["Beijing", "Wuhan"])])


@pytest.fixture()
def index(catalog, tmp_path):
    return EntityIndex.build(catalog, TrigramEncoder(), tmp_path)


def test_negated_clauses_and_spans():
    pos, neg = split_negated("Lakers fans who watch Hoops Tonight, excluding anyone who follows the Celts")
    assert neg == [" anyone who follows the Celts"] and "Hoops Tonight" in pos[0]
    assert split_negated("people searching for deals who haven't bought travel insurance yet")[1] == \
        [" bought travel insurance yet"]
    assert "rent a phone" in spans("users who'd rent a phone") and "who'd" not in spans("users who'd rent a phone")


def test_only_retrieved_entities_reach_a_plan(index):
    r = index.retrieve("people who'd rent a phone, but leave out the repair technicians")
    assert "phone rental" in r.names() and "british shorthair" not in r.names()
    assert [c.name for c in r.excluded][:1] == ["phone repair"]
    report = Grounding()
    data = ground_entities({"demands": [{"family": "purchase", "items": ["rent phone", "british shorthair"]}],
                            "exclude": []}, r, report)
    assert data["demands"][0]["items"] == ["phone rental"]
    assert data["exclude"] == ["phone repair"] and report.added_exclusions == ["phone repair"]
    assert "british shorthair" in report.dropped_entities  # nothing in the request backs it


def test_a_phrase_with_no_entity_keeps_the_requests_words(index):
    r = index.retrieve("young couples planning their wedding")
    data = ground_entities({"demands": [{"family": "purchase", "items": ["wedding planning"]}]}, r, Grounding())
    d = data["demands"][0]
    assert d["items"] == [] and d["words"] and "wedding" in d["words"][0]
    plan = TargetingPlan.model_validate(data)
    assert plan.entities() == [] and "wedding" in plan.sentences()[0]


def test_a_second_intent_the_model_dropped_is_recalled(index):
    r = index.retrieve("Lakers fans who watch Hoops Tonight, excluding anyone who follows the Celts")
    report = Grounding()
    data = ground_entities({"demands": [{"family": "click", "pages": ["Hoops Tonight"]}]}, r, report)
    pages = [p for d in data["demands"] for p in d.get("pages", [])]
    assert set(pages) == {"Hoops Tonight", "Lakers"} and report.recalled == ["Lakers"]
    assert data["exclude"] == ["Celtics"]  # "Celts" is its alias


def test_quantities_and_units_are_grounded(catalog):
    plan = parse_plan(json.dumps({"demands": [{"family": "purchase", "items": ["phone case"], "num": 7}],
                                  "filters": {"conditions": [{"field": "age", "op": ">", "value": "500"}]},
                                  "size": 3}), catalog)
    report = Grounding()
    out = ground_plan(plan, "big spenders over 500 bucks on phone cases, at least 3 times", catalog, report)
    d = out.demands[0]
    assert (d.num, d.min_count, out.filters, out.size) == (500, 3, None, None)
    assert report.dropped_filters == ["(age#>#500)"] and report.dropped_sizing == ["size 3"]
    assert "more than 500 dollars" in out.sentences()[0]


def test_schema_leaves_out_what_the_request_does_not_state(catalog):
    from targetbot.rewrite.client import Rewriter

    class Chat:
        snaps_entities = True

        def __init__(self):
            self.schemas = []

        def __call__(self, model, messages, schema, max_tokens):
            self.schemas.append(schema)
            return {"content": json.dumps({"demands": [{"family": "purchase", "items": ["phone rent"]}],
                                           "filters": {"conditions": [{"field": "city", "op": "=", "value": "Beijing"}]}}),
                    "completion_tokens": 9}

    chat = Chat()
    rw = Rewriter(chat, catalog, "m", index=EntityIndex.build(catalog, TrigramEncoder()))
    res = rw.rewrite("frequent travellers who rent a phone")
    assert "filters" not in chat.schemas[0]["properties"] and "exclude" not in chat.schemas[0]["properties"]
    assert res.plan.filters is None and res.plan.entities() == ["phone rental"]  # invented city dropped
    rw.rewrite("travellers in Beijing who rent a phone")
    assert "filters" in chat.schemas[-1]["properties"]
    assert plan_json_schema(catalog, omit=("filters",))["properties"].keys() >= {"demands", "exclude"}


def test_the_model_is_shown_the_retrieved_matches(catalog):
    from targetbot.rewrite.client import Rewriter

    class Chat:
        snaps_entities = True

        def __init__(self):
            self.users = []

        def __call__(self, model, messages, schema, max_tokens):
            self.users.append(messages[-1]["content"])
            return {"content": json.dumps({"demands": [{"family": "purchase", "items": ["phone rental"]}]}),
                    "completion_tokens": 5}

    chat = Chat()
    index = EntityIndex.build(catalog, TrigramEncoder())
    Rewriter(chat, catalog, "m", index=index).rewrite("people who rent a phone, not the repair technicians")
    request, note = chat.users[-1].split("\n\n")
    assert request == "people who rent a phone, not the repair technicians"
    assert "Catalog matches: phone rental" in note and "Named in negated clauses: phone repair" in note
    Rewriter(chat, catalog, "m", index=index, show_matches=False).rewrite("people who rent a phone")
    assert chat.users[-1] == "people who rent a phone"  # an adapter trained without them is asked without
    Rewriter(chat, catalog, "m").rewrite("people who rent a phone")  # ungrounded: nothing retrieved
    assert chat.users[-1] == "people who rent a phone"


def test_index_is_cached_and_versioned_by_catalog(catalog, tmp_path):
    enc = TrigramEncoder()
    a = EntityIndex.build(catalog, enc, tmp_path)
    calls = enc.calls
    b = EntityIndex.build(catalog, enc, tmp_path)
    assert enc.calls == calls and np.array_equal(a.vectors, b.vectors) and a.version == b.version
    assert a.version == index_version(catalog, enc.spec)
    catalog.entities[0].aliases.append("lease a phone")
    assert index_version(catalog, enc.spec) != a.version
    assert index_version(catalog, enc.spec, RetrievalConfig(k=5)) != index_version(catalog, enc.spec)


def test_training_requests_get_the_matches_a_rewrite_shows(index):
    from targetbot.rewrite.train import attach_matches

    text = "people who rent a phone, not the repair technicians"
    ex = [{"request": text, "plan": "{}"}, {"request": "Lakers fans", "plan": "{}"}]
    attach_matches(ex, index, 1.0, seed=0)
    r = index.retrieve(text)
    assert ex[0]["matches"] == r.names() and ex[0]["negated"] == [c.name for c in r.excluded]
    assert "phone repair" in ex[0]["negated"] and "phone rental" in ex[0]["matches"]
    none = [{"request": text, "plan": "{}"}]
    attach_matches(none, index, 0.0, seed=0)
    assert "matches" not in none[0]
