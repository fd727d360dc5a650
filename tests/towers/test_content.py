"""The representation center: content store mechanics (fake encoder), the real MiniLM, and the CLI."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import targetbot.towers.content as content
from targetbot.agent.models import Models
from targetbot.cli import app
from targetbot.core.config import Settings
from targetbot.core.errors import TargetbotError
from targetbot.towers.content import ContentStore, build_stage, event_texts

FAKE_SPEC = "fake:hash-encoder"


class FakeEncoder:
    """Deterministic: each text's vector comes from a hash of it. Records what it was asked."""

    spec = FAKE_SPEC
    dim = 8
    fingerprint = "fake00000001"

    def __init__(self, fail_on_call: int | None = None):
        self.calls: list[list[str]] = []
        self.fail_on_call = fail_on_call

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if self.fail_on_call is not None and len(self.calls) == self.fail_on_call:
            raise RuntimeError("simulated crash while embedding")
        return fake_vectors(texts)

    @property
    def seen(self) -> list[str]:
        return [t for call in self.calls for t in call]


def fake_vectors(texts) -> np.ndarray:
    raw = np.frombuffer(b"".join(hashlib.sha256(t.encode()).digest() for t in texts), dtype="<u4")
    v = raw.reshape(-1, 8).astype(np.float32) / 2**32 - 0.5
    return v / np.linalg.norm(v, axis=1, keepdims=True)


class CountingModels(Models):
    """Models whose text encoder is one FakeEncoder; counts how often a stage asks for it."""

    def __init__(self, enc: FakeEncoder):
        super().__init__(Settings(text_encoder=FAKE_SPEC), text_encoder=enc)
        self.enc = enc

    def text_encoder(self):
        self.enc.loads += 1
        return self.enc


@pytest.fixture
def fake():
    enc = FakeEncoder()
    enc.loads = 0
    enc.models = CountingModels(enc)
    return enc


def add_events(ws, texts: list[str]) -> None:
    """Append one event per text (copies of the first event with a new text)."""
    ev = pd.read_parquet(ws.table_path("events"))
    extra = pd.concat([ev.head(1)] * len(texts), ignore_index=True)
    extra["text"] = texts
    both = pd.concat([ev.astype({"text": object}), extra.astype({"text": object})], ignore_index=True)
    ws.write_table("events", both)


# ---- mechanics with the fake encoder ---------------------------------------------------------------
def test_first_build_stores_every_distinct_text(world_copy, fake):
    ws = world_copy
    texts = event_texts(ws)
    events = ws.read_table("events", ["text"])
    assert len(texts) == events["text"].nunique() > 1000
    r = build_stage(ws, models=fake.models, progress=False)
    assert r["status"] == "built" and r["new"] == r["stored"] == len(texts)
    assert sorted(fake.seen) == texts  # each distinct text embedded exactly once
    store = ContentStore.open(ws, fake)
    assert store.root == ws.artifacts_dir / "content" / fake.fingerprint
    assert len(store) == len(texts) and store.matrix().shape == (len(texts), 8)
    rows = store.row_ids(events["text"])  # categorical column, vectorised
    assert (rows >= 0).all()
    np.testing.assert_allclose(store.matrix()[rows[:500]], fake_vectors(events["text"].astype(str)[:500]), atol=1e-6)
    assert store.texts()[rows[7]] == str(events["text"].iloc[7])
    np.testing.assert_allclose(store.lookup(texts[:5]), fake_vectors(texts[:5]), atol=1e-6)


def test_second_build_embeds_nothing_and_loads_no_encoder(world_copy, fake):
    build_stage(world_copy, models=fake.models, progress=False)
    n_calls = len(fake.calls)
    r = build_stage(world_copy, models=fake.models, progress=False)
    assert r["status"] == "skipped" and r["new"] == 0
    assert len(fake.calls) == n_calls and fake.loads == 1


def test_new_texts_embed_only_those(world_copy, fake):
    ws = world_copy
    build_stage(ws, models=fake.models, progress=False)
    before = ContentStore.open(ws, fake)
    old_keys, old_n = before.keys().copy(), len(before)
    fake.calls.clear()
    new = ["Bought a brand-new zzyzx gadget", "searched for zzyzx repair", "Bought a brand-new zzyzx gadget"]
    add_events(ws, new)
    r = build_stage(ws, models=fake.models, progress=False)
    assert r["status"] == "built" and r["new"] == 2 and r["stored"] == old_n + 2
    assert sorted(fake.seen) == sorted(set(new))
    after = ContentStore.open(ws, fake)
    np.testing.assert_array_equal(after.keys()[:old_n], old_keys)  # row ids of old texts do not move
    np.testing.assert_allclose(after.lookup(new), fake_vectors(new), atol=1e-6)


def test_only_texts_in_use_are_embedded(world_copy, fake):
    """A categorical column written after filtering keeps unused categories in its dictionary."""
    ev = pd.read_parquet(world_copy.table_path("events"))
    assert isinstance(ev["text"].dtype, pd.CategoricalDtype)
    sub = ev[ev["source"].astype(str) == "search"].reset_index(drop=True)
    world_copy.write_table("events", sub)
    r = build_stage(world_copy, models=fake.models, progress=False)
    assert r["new"] == sub["text"].astype(str).nunique() < len(ev["text"].cat.categories)


def test_lookup_of_unknown_text_with_and_without_encoder(world_copy, fake):
    build_stage(world_copy, models=fake.models, progress=False)
    store = ContentStore.open(world_copy, fake)
    known = store.texts()[0]
    with pytest.raises(TargetbotError, match="not in the content store.*never seen text"):
        store.lookup([known, "a never seen text"])
    with pytest.raises(TargetbotError, match="not in the content store"):
        store.row_ids(["a never seen text"])
    assert store.row_ids(["a never seen text", None], missing="ignore").tolist() == [-1, -1]
    n = len(store)
    v = store.lookup([known, "a never seen text", known], encoder=fake)
    np.testing.assert_allclose(v, fake_vectors([known, "a never seen text", known]), atol=1e-6)
    assert len(store) == n and "a never seen text" not in store  # on the fly, not stored
    store.lookup(["a never seen text"], encoder=fake, store=True)
    assert len(ContentStore.open(world_copy, fake)) == n + 1 and "a never seen text" in store
    other = FakeEncoder()
    other.fingerprint = "fake00000002"
    with pytest.raises(TargetbotError, match="does not match"):
        store.lookup(["another unseen"], encoder=other)


def test_crash_mid_append_leaves_store_readable(world_copy, fake):
    ws = world_copy
    texts = event_texts(ws)[:600]
    store = ContentStore.for_encoder(ws, fake)
    # the encoder dies in the second chunk: the first chunk is committed, nothing else
    crashing = FakeEncoder(fail_on_call=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        store.add(texts, crashing, commit_every=250)
    reopened = ContentStore.open(ws, fake)
    assert len(reopened) == 250
    np.testing.assert_allclose(reopened.lookup(texts[:250]), fake_vectors(texts[:250]), atol=1e-6)

    # the process dies after writing a chunk's files but before committing the index
    def die(*a, **k):
        raise KeyboardInterrupt("simulated kill before the commit")

    real_write_json = content.write_json
    content.write_json = die
    try:
        with pytest.raises(KeyboardInterrupt):
            reopened.add(texts, fake, commit_every=250)
    finally:
        content.write_json = real_write_json
    orphans = [p for p in reopened.root.iterdir() if p.name.startswith("chunk-")]
    assert len(orphans) == 6  # 2 chunks x 3 files, one of them unreferenced
    again = ContentStore.open(ws, fake)
    assert len(again) == 250 and again.texts() == texts[:250]

    # the next writer cleans up and finishes the job, embedding only what is missing
    fake.calls.clear()
    r = again.add(texts, fake, commit_every=250)
    assert r["new"] == 350 and sorted(fake.seen) == sorted(texts[250:])
    assert len(again.info["chunks"]) == 1  # a multi-chunk add ends merged into one memory-mappable chunk
    assert len([p for p in again.root.iterdir() if p.name.startswith("chunk-")]) == 3
    np.testing.assert_allclose(ContentStore.open(ws, fake).lookup(texts), fake_vectors(texts), atol=1e-6)


def test_corrupt_index_is_a_clear_error(world_copy, fake):
    store = ContentStore.for_encoder(world_copy, fake)
    (store.root / "index.json").write_text("{not json")
    with pytest.raises(TargetbotError, match="index.json: not valid JSON"):
        ContentStore.open(world_copy, fake)


def test_many_chunks_are_compacted_in_order(world_copy, fake):
    texts = event_texts(world_copy)[:500]
    store = ContentStore.for_encoder(world_copy, fake)
    r = store.add(texts, fake, commit_every=50)  # 10 chunks > MAX_CHUNKS
    assert r["compacted"] and len(store.info["chunks"]) == 1
    assert isinstance(store.matrix(), np.memmap)
    assert store.texts() == texts
    np.testing.assert_allclose(store.matrix(), fake_vectors(texts), atol=1e-6)
    assert len(list(store.root.glob("chunk-*"))) == 3


def test_force_rebuilds_and_encoders_do_not_mix(world_copy, fake):
    ws = world_copy
    build_stage(ws, models=fake.models, progress=False)
    fake.calls.clear()
    r = build_stage(ws, models=fake.models, force=True, progress=False)
    assert r["status"] == "built" and r["new"] == r["stored"] == r["texts"]
    other = FakeEncoder()
    other.fingerprint, other.spec, other.dim = "fake00000002", "fake:other", 8
    store = ContentStore.for_encoder(ws, other)
    assert len(store) == 0 and store.root != ContentStore.open(ws, fake).root
    assert ContentStore.find(ws, FAKE_SPEC).fingerprint == fake.fingerprint


# ---- the real text encoder ---------------------------------------------------------------------------
@pytest.mark.real_models
def test_real_minilm_build_matches_the_encoder(world_copy):
    from targetbot.towers.text_encoder import load_text_encoder

    ws = world_copy
    keep = set(event_texts(ws)[::60][:300])
    ev = pd.read_parquet(ws.table_path("events"))
    ws.write_table("events", ev[ev["text"].astype(str).isin(keep)].reset_index(drop=True))
    s = Settings()
    models = Models(s)
    r = build_stage(ws, models=models, progress=False)
    assert r["status"] == "built" and r["new"] == len(keep) and r["texts_per_s"] > 0
    assert build_stage(ws, models=Models(s), progress=False)["status"] == "skipped"
    enc = load_text_encoder(s)
    store = ContentStore.open(ws, spec=s.text_encoder)  # by the configured spec, no encoder needed
    assert store.fingerprint == enc.fingerprint and store.dim == 384
    texts = sorted(keep)
    ref = enc.encode(texts)  # sentence-transformers' own path
    got = store.lookup(texts)
    assert float((ref * got).sum(1).min()) >= 0.999
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    demand = ["users likely to rent phones", "Opened DailyBasket mini-program"]
    v = store.lookup(demand, encoder=enc)
    assert float((v * enc.encode(demand)).sum(1).min()) >= 0.999


# ---- the CLI ---------------------------------------------------------------------------------------
def test_cli_build_content_json(world_copy, fake):
    runner = CliRunner()
    ws = world_copy
    res = runner.invoke(app, ["build", "-w", str(ws.root), "--stage", "content", "--json"], obj=fake.models)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    (stage,) = out["stages"]
    assert stage["name"] == "content" and stage["status"] == "built" and stage["seconds"] >= 0
    assert stage["new"] == stage["stored"] == len(event_texts(ws))
    res = runner.invoke(app, ["build", "-w", str(ws.root), "--stage", "content", "--json"], obj=fake.models)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["stages"][0]["status"] == "skipped"
    res = runner.invoke(app, ["build", "-w", str(ws.root), "--stage", "content"], obj=fake.models)  # human output
    assert res.exit_code == 0 and "skipped" in res.stdout and "content" in res.stdout


def test_cli_build_errors(world_copy, fake, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["build", "-w", str(world_copy.root), "--stage", "nope"])
    assert res.exit_code == 2 and "unknown stage 'nope'" in res.output and "content" in res.output
    res = runner.invoke(app, ["build", "-w", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "not a workspace" in res.output
    res = runner.invoke(app, ["build", "--help"])
    assert res.exit_code == 0 and "content" in res.output and "--stage" in res.output
