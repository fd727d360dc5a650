"""A tiny end-to-end FIND build (fake content vectors, the real MiniLM text tower), then the
CLI the way users drive it: find, tune, find --prompt, and the evaluation suites."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import targetbot.towers.content as content
from targetbot.agent.models import Models
from targetbot.cli import app
from targetbot.core.config import BUNDLED_TEXT_ENCODER, Settings
from targetbot.towers.build import build_towers
from targetbot.towers.bundle import Bundle
from targetbot.towers.config import TowerConfig



class _Runner(CliRunner):
    """The CLI with the fake content encoder as the invocation's text encoder."""

    def invoke(self, app, args, **kw):
        return super().invoke(app, args, obj=fake_models(), **kw)


runner = _Runner()


class FakeEncoder384:
    """Deterministic 384-d vectors from a hash of each text; poses as the bundled encoder."""

    spec = BUNDLED_TEXT_ENCODER
    dim = 384
    fingerprint = "fake384000001"

    def encode(self, texts):
        raw = np.frombuffer(b"".join(hashlib.sha512(t.encode()).digest() * 6 for t in texts), dtype="<u1")
        v = raw.reshape(len(texts), 384).astype(np.float32) - 127.5
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def fake_models() -> Models:
    return Models(Settings(), text_encoder=FakeEncoder384())


TINY = dict(dim=32, step_days=10, max_searches=4,
            behaviour={"hidden": 32, "epochs": 1, "max_users": 200},
            tabular={"dim": 16, "layers": 1, "heads": 2, "epochs": 1},
            align={"epochs": 1, "batch_size": 64, "queue_size": 64, "lora_steps": 2, "lora_batch_size": 8})


@pytest.fixture(scope="module")
def built(tmp_path_factory, small_world_path):
    import shutil

    root = tmp_path_factory.mktemp("find") / "ws"
    shutil.copytree(small_world_path, root)
    from targetbot.core.workspace import Workspace

    ws = Workspace.open(root)
    import yaml

    from tests.egl.conftest import MECHANICS_POLICY

    (root / "agent.yaml").write_text(yaml.safe_dump(MECHANICS_POLICY))  # mechanics, not privacy policy
    content.build_stage(ws, models=fake_models(), progress=False)
    result = build_towers(ws, fake_models(), config=TowerConfig.from_name("quick", **TINY))
    yield ws, result


def test_build_writes_a_bundle_and_skips_when_up_to_date(built):
    ws, result = built
    assert result["status"] == "built"
    bundle = Bundle.load(ws, Settings())
    assert bundle.embeddings("fused").shape == (400, 32)
    assert np.allclose(np.linalg.norm(bundle.embeddings("fused"), axis=1), 1.0, atol=1e-4)
    assert bundle.index().ntotal == 400
    again = build_towers(ws, fake_models(), config=TowerConfig.from_name("quick", **TINY))
    assert again["status"] == "up to date" and again["bundle"] == result["bundle"]


def test_find_cli_json_contract(built):
    ws, _ = built
    r = runner.invoke(app, ["find", "-w", str(ws.root), "users likely to rent phones", "--top-k", "25", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) >= {"demand", "audience_size", "threshold", "users"}
    assert out["audience_size"] == 25 and {"user_id", "score"} == set(out["users"][0])
    scores = [u["score"] for u in out["users"]]
    assert scores == sorted(scores, reverse=True)

    r = runner.invoke(app, ["find", "-w", str(ws.root), "users likely to rent phones", "--exclude",
                            "phone repair technicians", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["audience_size"] >= 1  # the label-free rule selects someone

    thr = out["users"][10]["score"]
    r = runner.invoke(app, ["find", "-w", str(ws.root), "users likely to rent phones", "--threshold", str(thr), "--json"])
    assert json.loads(r.stdout)["audience_size"] >= 10  # range search


@pytest.mark.parametrize("scorer", ["forecast", "tower"])
def test_tune_saves_a_reusable_prompt(built, tmp_path, scorer):
    ws, _ = built
    bundle = Bundle.load(ws, Settings())
    users = bundle.users.to_numpy()
    (tmp_path / "pos.txt").write_text("\n".join(users[:5]))
    (tmp_path / "neg.csv").write_text("user_id,note\n" + "\n".join(f"{u},x" for u in users[5:10]))
    r = runner.invoke(app, ["tune", "-w", str(ws.root), "users likely to rent phones", "--positives",
                            str(tmp_path / "pos.txt"), "--negatives", str(tmp_path / "neg.csv"), "--name", "renters",
                            "--steps", "3", "--scorer", scorer, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["prompt_name"] == "renters" and "users" in out and out["tuning"]["scorer"] == scorer
    where = bundle.seed_records_dir if scorer == "forecast" else bundle.prompts_dir  # seed records outlive the towers
    saved = json.loads((where / "renters.json").read_text())
    assert saved["scorer"] == scorer and saved["positives"] == list(users[:5])
    r = runner.invoke(app, ["find", "-w", str(ws.root), "users likely to rent phones", "--prompt", "renters", "-k", "5", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["prompt_name"] == "renters"
    if scorer == "forecast":  # the seeds move the forecast: their scores differ from zero-shot's
        r0 = runner.invoke(app, ["find", "-w", str(ws.root), "users likely to rent phones", "-k", "400", "--json"])
        r1 = runner.invoke(app, ["find", "-w", str(ws.root), "users likely to rent phones", "--prompt", "renters",
                                 "-k", "400", "--json"])
        z = {u["user_id"]: u["score"] for u in json.loads(r0.stdout)["users"]}
        f = {u["user_id"]: u["score"] for u in json.loads(r1.stdout)["users"]}
        gain = np.mean([f[u] - z[u] for u in users[:5]]) - np.mean([f[u] - z[u] for u in users[5:10]])
        assert gain > 0
    r = runner.invoke(app, ["find", "-w", str(ws.root), "x", "--prompt", "nope"])
    assert r.exit_code == 2 and "no tuned prompt 'nope'" in r.output


def test_bad_seed_files_and_empty_demand(built, tmp_path):
    ws, _ = built
    (tmp_path / "pos.txt").write_text("ghost-user\n")
    (tmp_path / "neg.txt").write_text("u000\n")
    r = runner.invoke(app, ["tune", "-w", str(ws.root), "x", "--positives", str(tmp_path / "pos.txt"),
                            "--negatives", str(tmp_path / "neg.txt")])
    assert r.exit_code == 2 and "not in this workspace" in r.output
    r = runner.invoke(app, ["find", "-w", str(ws.root), "   "])
    assert r.exit_code == 2 and "empty demand" in r.output


def test_zero_shot_few_shot_and_probe_suites_run(built):
    from targetbot.eval.runner import run

    ws, _ = built
    models = fake_models()
    z = run(ws, "zero-shot", models, ["find", "keyword"], ["nba_fans"]).body
    assert {r["method"] for r in z["results"]} == {"find", "keyword"}
    f = run(ws, "few-shot", models, ["find-fewshot", "forecast-fewshot", "umlp"], ["nba_fans"]).body
    row = next(r for r in f["results"] if r["method"] == "find-fewshot")
    assert row["draws"] == 5 and row["auc_std"] is not None
    p = run(ws, "probe", models, ["probe-behaviour", "probe-fused", "probe-concat", "probe-anchors"], ["nba_fans"]).body
    assert len(p["results"]) == 4


def test_find_scorers_forecast_by_default_and_tower_on_request(built):
    ws, _ = built
    r = runner.invoke(app, ["find", "-w", str(ws.root), "users likely to rent phones", "-k", "20", "--json"])
    t = runner.invoke(app, ["find", "-w", str(ws.root), "users likely to rent phones", "-k", "20", "--scorer", "tower", "--json"])
    assert r.exit_code == 0 and t.exit_code == 0, r.output + t.output
    assert json.loads(r.stdout)["users"] != json.loads(t.stdout)["users"]
    from targetbot.towers.config import ForecastConfig

    stored = Bundle.load(ws, Settings()).forecast_path(ForecastConfig())
    assert (stored / "texts.json").exists() and not list(stored.glob("*.pkl"))  # built once, kept, no pickle
    bad = runner.invoke(app, ["find", "-w", str(ws.root), "x", "--scorer", "magic"])
    assert bad.exit_code == 2 and "unknown scorer 'magic'" in bad.output


def test_anchor_towers_are_built_with_the_towers_and_score_on_request(built):
    from targetbot.eval.runner import run
    from targetbot.towers.config import FindConfig

    ws, _ = built
    bundle = Bundle.load(ws, Settings())
    config = FindConfig()
    stored = bundle.root / f"anchors-{config.anchors.data_key(config.forecast)}"
    assert (stored / "anchors.json").exists()  # built by `build`, not on first use
    tower = bundle.anchor_tower(config, FakeEncoder384().encode)
    assert tower.embeddings.shape[0] == 400 and 0 < len(tower.texts) <= config.anchors.count
    r = runner.invoke(app, ["find", "-w", str(ws.root), "users likely to rent phones", "-k", "20", "--scorer", "anchors", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["audience_size"] == 20
    z = run(ws, "zero-shot", fake_models(), ["find-anchors"], ["nba_fans"]).body
    assert z["results"][0]["method"] == "find-anchors" and 0.0 <= z["results"][0]["auc"] <= 1.0


def test_forecast_data_latest_shares_match_the_events(built):
    ws, _ = built
    from targetbot.towers.train import eval_input_windows

    from targetbot.towers.config import ForecastConfig

    data = Bundle.load(ws, Settings()).forecast_data(ForecastConfig())
    assert data.latest_share is not None and data.latest_share.shape == (len(data.users), len(data.future_texts))
    ev = ws.events(windows=eval_input_windows(ws))
    user = str(ev["user_id"].astype(str).value_counts().index[0])  # the most active user
    mine = ev[ev["user_id"].astype(str) == user]
    known = set(data.future_texts)
    col = {t: i for i, t in enumerate(data.future_texts)}
    row = data.latest_share[data.users.get_loc(user)].toarray().ravel()
    expected = np.zeros(len(data.future_texts))
    for t in mine["text"].astype(str):
        if t in known:
            expected[col[t]] += 1.0 / len(mine)
    assert expected.sum() > 0 and np.allclose(row, expected, atol=1e-6) and row.sum() <= 1.0 + 1e-6


def test_build_prune_removes_old_bundles_and_keeps_current_and_ablations(built):
    ws, _ = built
    from targetbot.towers.build import ABLATIONS, ablation_key
    from targetbot.towers.bundle import bundle_root, current_key

    old = bundle_root(ws) / "quick-0000000000-old"
    (old / "embeddings").mkdir(parents=True)
    (old / "embeddings" / "fused.npy").write_bytes(b"\0" * 2048)
    writing = bundle_root(ws) / ".quick-1111111111-new.abc.tmp"  # a build in progress
    writing.mkdir()
    ablations = {ablation_key(ws, o, BUNDLED_TEXT_ENCODER) for o in ABLATIONS.values()}
    kept_before = {p.name for p in bundle_root(ws).iterdir() if p.is_dir()} & (ablations | {current_key(ws)})
    r = runner.invoke(app, ["build", "-w", str(ws.root), "--stage", "content", "--prune", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["pruned"] == ["quick-0000000000-old"] and not old.exists()
    assert current_key(ws) in kept_before and all((bundle_root(ws) / k).is_dir() for k in kept_before)
    assert Bundle.load(ws, Settings()).embeddings("fused").shape[0] > 0  # the current bundle still loads
    assert writing.is_dir()
    writing.rmdir()
    again = runner.invoke(app, ["build", "-w", str(ws.root), "--stage", "content", "--prune"])
    assert again.exit_code == 0 and "pruned 0 old tower bundle(s)" in again.output


def test_every_user_embedded_in_batches_from_a_training_sample(tmp_path, small_world_path):
    """Batches change nothing (a user's embedding and features do not depend on which batch it
    is in), nor does a build before it; a training sample still embeds and scores every user."""
    import shutil

    import scipy.sparse as sp

    from targetbot.core.workspace import Workspace
    from targetbot.towers.config import ForecastConfig

    shutil.copytree(small_world_path, tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    content.build_stage(ws, models=fake_models(), progress=False)
    cfg = TowerConfig.from_name("quick", **TINY)

    def build(**kw):
        build_towers(ws, fake_models(), config=cfg, force=True, **kw)
        b = Bundle.load(ws, Settings())
        return np.array(b.embeddings("fused")), b.forecast_data(ForecastConfig())

    one, f1 = build(batch_users=1000)  # the first build also adds the future statements to the content store,
    many, f2 = build(batch_users=130)  # which must change nothing the second time
    assert np.allclose(one, many, atol=1e-5)
    for name in ("history_latest", "latest_share", "history_input"):
        a, b = getattr(f1, name), getattr(f2, name)
        assert a.shape == b.shape and abs(a - b).max() < 1e-6, name
    assert f1.future_texts == f2.future_texts and np.array_equal(f1.train_rows, f2.train_rows)

    sampled = TowerConfig.from_name("quick", **{**TINY, "sample_users": 150})
    build_towers(ws, fake_models(), config=sampled, batch_users=130)
    b = Bundle.load(ws, Settings())
    assert b.meta["sample_users"] <= 151 and b.meta["users"] == 400
    assert b.embeddings("fused").shape == (400, 32) and b.index().ntotal == 400
    f = b.forecast_data(ForecastConfig())
    assert f.history_latest.shape[0] == 400 and sp.issparse(f.latest_share)
    assert len(f.train_rows) < 100  # the regression fits on the sample's training users only
