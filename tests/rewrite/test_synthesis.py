import json

from targetbot.rewrite.catalog import Catalog
from targetbot.rewrite.config import SynthConfig
from targetbot.rewrite.plan import PLACEHOLDER, parse_plan
from targetbot.rewrite.synth_knowledge import knowledge_dialogues
from targetbot.rewrite.synth_requests import request_pairs, request_templates


def test_stage2_is_deterministic_and_valid(catalog):
    cfg = SynthConfig(requests=120, heldout_requests=40)
    a, ha = request_pairs(catalog, cfg)
    b, hb = request_pairs(catalog, cfg)
    assert a == b and ha == hb
    c, _ = request_pairs(catalog, cfg.model_copy(update={"seed": 99}))
    assert c != a
    varied, _ = request_pairs(catalog, cfg.model_copy(update={"variety": True}))
    for ex in a + ha + varied:
        if ex["unlisted"]:  # what the catalog lacks stays a phrase: only those fail the catalog checks
            plan = parse_plan(ex["plan"])
            assert set(plan.entities()) - set(catalog.names) == set(ex["unlisted"])
        else:
            plan = parse_plan(ex["plan"], catalog)  # every target passes the same checks as model output
        assert plan.to_json() == ex["plan"]
        assert not PLACEHOLDER.search(ex["plan"])
        assert set(ex["families"]) == set(plan.families())


def test_heldout_families_never_reach_training(catalog):
    t = request_templates()
    held = {f["id"] for f in t["families"] if f["split"] == "heldout"}
    assert held and {f["id"] for f in t["families"]} - held
    train, heldout = request_pairs(catalog, SynthConfig(requests=200, heldout_requests=50))
    assert {x["paraphrase_family"] for x in train}.isdisjoint(held)
    assert {x["paraphrase_family"] for x in heldout} <= held
    assert not {x["request"] for x in train} & {x["request"] for x in heldout}
    held_wording = {w for v in t["extras"].values() if isinstance(v.get("heldout"), list) for w in v["heldout"]}
    for x in train:
        for w in held_wording:
            assert w.split("{")[0].strip() not in x["request"] or len(w.split("{")[0].strip()) < 8


def test_stage2_covers_the_request_phenomena(catalog):
    train, _ = request_pairs(catalog, SynthConfig(requests=400, heldout_requests=10))
    plans = [json.loads(x["plan"]) for x in train]
    assert any("exclude" in p for p in plans)
    assert any("filters" in p for p in plans)
    assert any(len(p["demands"]) > 1 for p in plans)
    assert any(d.get("num") for p in plans for d in p["demands"])
    assert any("size" in p or "threshold" in p for p in plans)
    assert any("seed_users" in p for p in plans)
    assert {d["family"] for p in plans for d in p["demands"]} == {"purchase", "browsing", "search", "click", "payment"}
    assert any("instruction" in x["request"].lower() or "system" in x["request"].lower() for x in train)


def test_variety_adds_request_shapes(catalog):
    """With `variety`: exclusions said first as well as last, two at once, and demands for what the
    catalog lacks (kept as phrases); the default recipe has none of them."""
    firsts = tuple(w.split("{")[0].lower() for w in request_templates()["extras"]["exclude_first"]["train"])
    train, held = request_pairs(catalog, SynthConfig(requests=400, heldout_requests=40, variety=True))
    assert any(x["exclude"] and x["request"].lower().startswith(firsts) for x in train)
    assert any(len(x["exclude"]) == 2 for x in train)
    assert any(x["unlisted"] and x["unlisted"][0] in x["request"] for x in train)
    plain, _ = request_pairs(catalog, SynthConfig(requests=400, heldout_requests=10))
    assert not any(x["unlisted"] for x in plain)
    assert not any(x["exclude"] and x["request"].lower().startswith(firsts) for x in plain)


def test_unlisted_phrases_skip_what_the_catalog_spells():
    from targetbot.rewrite.catalog import EntityInfo
    from targetbot.rewrite.synth_requests import unlisted_phrases

    cat = Catalog(entities=[EntityInfo(name="vinyl record", type="category", aliases=["LP"])])
    assert unlisted_phrases(["vinyl records", "wedding planning", "lp"], cat) == ["wedding planning"]


def test_stage1_dialogues_are_multi_round_and_grow_with_the_catalog(catalog):
    cfg = SynthConfig(knowledge_per_entity=0.1, knowledge_min=5)
    d = knowledge_dialogues(catalog, cfg)
    assert all(sum(m["role"] == "assistant" for m in x["messages"]) >= 2 for x in d)
    half = Catalog(entities=catalog.entities[: len(catalog.entities) // 2], fields=catalog.fields,
                   relations=catalog.relations)
    n_ent = lambda ds: sum(x["kind"] == "entity" for x in ds)  # noqa: E731
    assert n_ent(knowledge_dialogues(half, cfg)) < n_ent(d)
    text = json.dumps(d)
    assert "{name}" not in text and "{desc}" not in text
