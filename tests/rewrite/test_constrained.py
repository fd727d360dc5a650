import json

import numpy as np
import pytest

from targetbot.rewrite.config import SynthConfig
from targetbot.rewrite.constrained import Automaton, Decoder, SchemaError
from targetbot.rewrite.plan import TargetingPlan, plan_json_schema
from targetbot.rewrite.synth_requests import request_pairs


@pytest.fixture(scope="module")
def automaton(catalog):
    return Automaton(plan_json_schema(catalog))


def test_every_synthesized_plan_is_in_the_language(catalog, automaton):
    train, heldout = request_pairs(catalog, SynthConfig(requests=150, heldout_requests=30))
    for ex in train + heldout:
        assert automaton.validate(ex["plan"]), ex["plan"]


def test_rejects_non_canonical_or_invalid(automaton, catalog):
    good = TargetingPlan.model_validate({"demands": [{"family": "purchase", "items": [catalog.names[0]]}]}).to_json()
    assert automaton.validate(good)
    assert not automaton.validate(good[:-1])
    assert not automaton.validate(good.replace(catalog.names[0], catalog.names[0] + "x"))
    assert not automaton.validate(good.replace('"purchase"', '"shopping"'))
    assert not automaton.validate(good.replace(", ", ","))  # canonical separators only


def test_small_schema_features():
    schema = {"type": "object", "required": ["n", "tags"], "properties": {
        "n": {"type": "integer", "minimum": 1, "maximum": 250}, "x": {"type": "number", "minimum": 0, "maximum": 1},
        "tags": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string", "maxLength": 5}},
        "ok": {"type": ["boolean", "null"]}}}
    a = Automaton(schema)
    assert a.validate('{"n": 12, "tags": ["ab"]}')
    assert a.validate('{"n": 250, "x": 0.75, "tags": ["ab", "c"], "ok": null}')
    assert not a.validate('{"n": 251, "tags": ["ab"]}')
    assert not a.validate('{"n": 0, "tags": ["ab"]}')
    assert not a.validate('{"n": 1, "x": 1.5, "tags": ["ab"]}')
    assert not a.validate('{"n": 1, "tags": []}')
    assert not a.validate('{"n": 1, "tags": ["a", "b", "c"]}')
    with pytest.raises(SchemaError):
        Automaton({"type": "object", "properties": {"e": {"enum": ['a"b']}}})


def test_random_logits_always_give_schema_valid_plans(catalog, automaton, vocab):
    """Whatever the model scores, the output parses and passes the pydantic contract."""
    dec = Decoder(automaton, vocab)
    rng = np.random.default_rng(0)
    calls = []
    for _ in range(25):
        def scores(feed, ids):
            calls.append((list(feed), len(ids)))
            return rng.normal(size=len(ids))

        text, stats = dec.run(scores)
        plan = TargetingPlan.model_validate(json.loads(text))
        assert automaton.validate(text)
        for d in plan.demands:
            for q in getattr(d, "queries", []):
                assert 1 <= len(q) <= 60
    assert all(feed for feed, _ in calls)  # the model is always given the tokens it has not seen


def test_forced_text_skips_the_model(catalog, vocab):
    """A schema with a single possible document needs no model call at all."""
    schema = {"type": "object", "required": ["family"], "properties": {"family": {"const": "purchase"}}}
    dec = Decoder(Automaton(schema), vocab)
    text, stats = dec.run(lambda feed, ids: (_ for _ in ()).throw(AssertionError("model called")))
    assert text == '{"family": "purchase"}' and stats["model_calls"] == 0


def test_decoder_follows_the_scores(catalog, vocab):
    """A scorer that prefers one entity's tokens gets exactly that entity."""
    schema = {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "minItems": 1, "maxItems": 1, "items": {"enum": catalog.names}}}}
    target = sorted(catalog.names, key=len)[-1]
    want = vocab.encode(json.dumps({"items": [target]}))
    text_so_far = []

    def scores(feed, ids):
        text_so_far.extend(feed)
        so_far = "".join(vocab.text.get(t, "") for t in text_so_far)
        goal = json.dumps({"items": [target]})
        return np.array([len(vocab.text[int(i)]) if goal.startswith(so_far + vocab.text[int(i)]) else -1.0
                         for i in ids])

    text, _ = Decoder(Automaton(schema), vocab).run(scores)
    assert json.loads(text) == {"items": [target]}
    assert want  # tokenizable


def test_entity_slots_are_snapped_from_free_text(catalog, vocab):
    """With a free-string hook, entity values are written freely and snapped onto the catalog:
    typos and aliases land on the canonical name, and the result is still schema-valid."""
    from targetbot.rewrite.snap import Snapper

    aliased = next(e for e in catalog.entities if e.aliases)
    long_name = next(e.name for e in catalog.entities if len(e.name) >= 8 and " " not in e.name)
    typo = long_name[:3] + long_name[4] + long_name[3] + long_name[5:]
    phrases = iter([aliased.aliases[0], typo])
    fed: list[list[int]] = []

    def free_string(feed, max_chars):
        fed.append(list(feed))
        return next(phrases, "zzzz qqqq")

    rng = np.random.default_rng(1)
    dec = Decoder(Automaton(plan_json_schema(catalog)), vocab, aliases=catalog.aliases())
    text, stats = dec.run(lambda feed, ids: rng.normal(size=len(ids)), free_string=free_string)
    plan = TargetingPlan.model_validate(json.loads(text))
    assert plan.entities()[0] == aliased.name
    assert stats["snaps"][0] == (aliased.aliases[0], aliased.name, 1.0)
    if len(stats["snaps"]) > 1:
        assert stats["snaps"][1][1] == long_name
    assert Snapper(catalog.names).snap("zzzz qqqq")[0] is None  # nothing close: plain constrained decoding
