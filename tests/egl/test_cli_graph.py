"""`targetbot graph expand|users|show`, `eval run --suite graph` and the `graph` zero-shot method,
driven through the CLI with their JSON contracts; the build stage's skip and its errors."""

import json

import numpy as np

import pytest
import yaml
from typer.testing import CliRunner

from targetbot.egl.build import build_graph
from targetbot.egl.config import GraphConfig
from targetbot.cli import app
from targetbot.core.errors import DataError
from tests.egl.conftest import hashing_models

runner = CliRunner()


def invoke(*args):
    """The CLI with the hashing encoder as the invocation's text encoder (passed as the app's obj)."""
    return runner.invoke(app, [str(a) for a in args], obj=hashing_models())


def test_build_is_skipped_when_up_to_date(graph_world):
    r = build_graph(graph_world, hashing_models())
    assert r["skipped"] and r["stage"] == "graph" and r["key"] == GraphConfig.for_workspace(graph_world.root).key()
    man = json.loads((graph_world.root / "artifacts" / "graph" / "manifest.json").read_text())
    assert {"extraction", "semantic", "stage1_candidates", "stage2_alpc", "stage3_ensemble", "total"} <= set(man["timings_s"])
    assert man["stats"]["mined_relations"] > 0 and len(man["snapshots"]) == 3


def test_expand_json_contract(graph_world):
    r = invoke("graph", "expand", "-w", graph_world.root, "NBA", "--hops", 2, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) == {"seeds", "entities"} and out["seeds"] == ["NBA"]
    assert out["entities"][0] == {"entity": "NBA", "type": "sports_league", "hop": 0, "score": 1.0, "path": ["NBA"]}
    for row in out["entities"]:
        assert set(row) == {"entity", "type", "hop", "score", "path"}
        assert row["path"][0] == "NBA" and row["path"][-1] == row["entity"] and len(row["path"]) == row["hop"] + 1
        assert 0 <= row["score"] <= 1 and row["hop"] <= 2


def test_expand_human_output_reads_as_paths(graph_world):
    r = invoke("graph", "expand", "-w", graph_world.root, "Los Angeles Lakers")  # an alias
    assert r.exit_code == 0, r.output
    assert "seeds: Lakers" in r.stdout
    from targetbot.egl.storage import load_graph

    g = load_graph(graph_world)
    hub = g.entities.sort_values("degree", ascending=False)["entity"].iloc[0]  # surely has mined relations
    r = invoke("graph", "expand", "-w", graph_world.root, hub, "--hops", 1)
    assert r.exit_code == 0, r.output
    assert "→" in r.stdout


def test_unknown_seed_phrase_suggests_entities(graph_world):
    r = invoke("graph", "expand", "-w", graph_world.root, "Lakerz", "--json")
    assert r.exit_code == 2
    assert "error: no entity matches 'Lakerz'; did you mean:" in r.output and "Lakers" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_bad_options_are_one_line_errors(graph_world):
    r = invoke("graph", "expand", "-w", graph_world.root, "NBA", "--min-score", "high")
    assert r.exit_code == 2 and "--min-score takes numbers" in r.output
    r = invoke("graph", "users", "-w", graph_world.root, "--entities", "NBA", "--top-k", 0)
    assert r.exit_code == 2 and "--top-k must be at least 1" in r.output


def test_users_json_contract(graph_world):
    r = invoke("graph", "users", "-w", graph_world.root, "--entities", "NBA,Los Angeles Lakers", "--top-k", 7, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) == {"entities", "pooling", "users", "listed"} and out["entities"] == ["NBA", "Lakers"]  # aliases
    assert out["listed"] is True
    assert out["pooling"] == "top_k"  # the graph config's default, said so scripts can record it
    assert len(out["users"]) == 7 and all(set(u) == {"user_id", "score"} for u in out["users"])
    scores = [u["score"] for u in out["users"]]
    assert scores == sorted(scores, reverse=True)
    r = invoke("graph", "users", "-w", graph_world.root, "--entities", "NBA", "--pooling", "mean", "--json")
    assert r.exit_code == 0, r.output
    mean = json.loads(r.stdout)
    assert mean["pooling"] == "mean"
    mean = mean["users"]
    assert [u["score"] for u in mean] == sorted((u["score"] for u in mean), reverse=True)
    r = invoke("graph", "users", "-w", graph_world.root, "--entities", "NBA", "--pooling", "max")
    assert r.exit_code != 0 and "unknown preference pooling 'max'" in r.output


def test_show_for_a_person(graph_world):
    r = invoke("graph", "show", "-w", graph_world.root, "Lakers")
    assert r.exit_code == 0, r.output
    assert "Lakers (sports_team)" in r.stdout and "mined relations" in r.stdout
    j = json.loads(invoke("graph", "show", "-w", graph_world.root, "LA Lakers", "--json").stdout)
    assert j["entity"] == "Lakers" and j["relations"] and "NBA" in j["description"]


def test_no_graph_yet_is_a_clear_error(world_copy):
    r = invoke("graph", "expand", "-w", world_copy.root, "NBA")
    assert r.exit_code == 2 and "no entity graph built yet" in r.output and "--stage graph" in r.output


def test_bad_config_file_names_the_field(world_copy):
    (world_copy.root / "egl.yaml").write_text(yaml.safe_dump({"alpc": {"epochs": 0}}))
    with pytest.raises(DataError, match=r"egl.yaml: alpc.epochs"):
        GraphConfig.for_workspace(world_copy.root)


def test_graph_suite_json_contract(graph_world):
    r = invoke("eval", "run", "-w", graph_world.root, "--suite", "graph", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["suite"] == "graph" and set(out["variance"]) == {"with_ensemble", "without_ensemble"}
    methods = [x["method"] for x in out["results"]]
    assert methods == ["candidates", "alpc", "trmp", "alpc_no_threshold", "alpc_no_contrastive", "deepwalk", "node2vec"]
    for row in out["results"]:
        assert {"method", "acc", "aecc", "auc"} <= set(row)
        assert 0 <= row["acc"] <= 1 and 0 <= row["auc"] <= 1 and row["aecc"] >= 0
        assert 0 <= row["r_precision"] <= 1
    cand = out["results"][0]
    assert all(x["aecc"] <= cand["aecc"] for x in out["results"])  # ranking keeps a subset of the candidates
    assert len(out["snapshot_acc"]["with_ensemble"]) == len(out["snapshot_acc"]["without_ensemble"]) == 2


def test_r_precision_scores_the_ranking_without_the_cut():
    from targetbot.eval.graph_suite import r_precision

    true_edge = np.array([True, False, True, False])  # R = 2
    assert r_precision(np.array([0.9, 0.8, 0.7, 0.1]), true_edge) == 0.5
    assert r_precision(np.array([0.9, 0.1, 0.7, 0.2]), true_edge) == 1.0
    assert np.isnan(r_precision(np.ones(2), np.zeros(2, bool)))


def test_graph_method_in_zero_shot_suite(graph_world):
    r = invoke("eval", "run", "-w", graph_world.root, "--methods", "graph,keyword", "--scenarios", "ebike_new,nba_fans",
               "--json")
    assert r.exit_code == 0, r.output
    rows = [x for x in json.loads(r.stdout)["results"] if x["method"] == "graph"]
    assert len(rows) == 2 and all(x["auc"] is not None for x in rows)
    assert "VoltRide" in next(x for x in rows if x["scenario"] == "ebike_new")["seeds"]


def test_readers_use_the_stored_graph_whatever_profile_built_it(graph_world, tmp_path, monkeypatch):
    """`targetbot build` defaults to the quick profile; the graph suite and the `graph` method must score
    that graph (and train their ablations with its config), not rebuild it under the full profile."""
    import shutil

    import targetbot.egl.build as egl_build
    from targetbot.egl.build import build_stage, built_config, ensure_graph, profile_config
    from targetbot.core.workspace import Workspace

    monkeypatch.setattr(egl_build, "QUICK", {"alpc": {"epochs": 5}, "ensemble": {"epochs": 4}})
    dst = tmp_path / "ws"
    shutil.copytree(graph_world.root, dst)
    ws = Workspace.open(dst)
    assert built_config(ws).key() == profile_config(ws, "full").key()
    build_stage(ws, models=hashing_models(), profile="quick")
    quick = profile_config(ws, "quick")
    assert quick.alpc.epochs == 5 and built_config(ws).key() == quick.key()
    man = ws.artifacts_dir / "graph" / "manifest.json"
    stamp = man.stat().st_mtime_ns
    assert ensure_graph(ws, hashing_models()).key() == quick.key() and man.stat().st_mtime_ns == stamp  # not rebuilt
    (dst / "egl.yaml").write_text(yaml.safe_dump({"alpc": {"epochs": 7}}))  # config changed: stale
    assert built_config(ws) is None


def test_expand_says_why_nothing_was_reached(graph_world):
    r = invoke("graph", "expand", "-w", graph_world.root, "NBA", "--min-score", "1.0")
    assert r.exit_code == 0, r.output
    assert "no mined relation of these seeds clears the score cut-offs" in r.stdout


def test_show_evidence_in_words(graph_world):
    r = invoke("graph", "show", "-w", graph_world.root, "Lakers", "--max", 30)
    assert r.exit_code == 0, r.output
    assert "similar descriptions" in r.stdout or "together in" in r.stdout
    assert "co-occurrence" not in r.stdout


def test_graph_suite_repeats_trains_alpc_and_ablations_on_the_same_seeds(graph_world):
    r = invoke("eval", "run", "-w", graph_world.root, "--suite", "graph", "--methods",
               "alpc,alpc_no_contrastive", "--repeats", 2, "--json")
    assert r.exit_code == 0, r.output
    rows = {x["method"]: x for x in json.loads(r.stdout)["results"]}
    for name in ("alpc", "alpc_no_contrastive"):
        assert rows[name]["repeats"] == 2 and rows[name]["acc_std"] >= 0 and 0 <= rows[name]["acc"] <= 1
        assert len(rows[name]["acc_runs"]) == 2 and rows[name]["acc"] == pytest.approx(np.mean(rows[name]["acc_runs"]), abs=1e-4)
