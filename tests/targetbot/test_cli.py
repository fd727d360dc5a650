"""The CLI, driven the way users drive it (typer's CliRunner), for the core commands."""

import json

from typer.testing import CliRunner

from targetbot.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_help_teaches():
    r = invoke("--help")
    assert r.exit_code == 0 and "world" in r.output and "eval" in r.output
    r = invoke("world", "generate", "--help")
    assert r.exit_code == 0 and "--users" in r.output and "--seed" in r.output


def test_generate_stats_validate_labels(tmp_path):
    ws = tmp_path / "ws"
    r = invoke("world", "generate", "-w", ws, "--users", 150, "--seed", 1, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["users"] == 150
    r = invoke("world", "generate", "-w", ws, "--users", 150)
    assert r.exit_code == 2 and "already holds a workspace" in r.output

    stats = json.loads(invoke("world", "stats", "-w", ws, "--json").stdout)
    assert stats["users"] == 150 and stats["entities"] >= 1500 and stats["entity_types"] >= 26
    assert len(stats["scenarios"]) == 13
    assert {"name", "domain", "prevalence", "hard_negatives"} <= set(stats["scenarios"][0])

    r = invoke("data", "validate", "-w", ws)
    assert r.exit_code == 0 and "valid" in r.stdout

    labels = json.loads(invoke("eval", "labels", "-w", ws, "--json").stdout)
    assert {"name", "prevalence", "positives"} <= set(labels["scenarios"][0])

    r = invoke("eval", "run", "-w", ws, "--methods", "random,keyword", "--scenarios", "pet_food", "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert result["suite"] == "zero-shot" and len(result["results"]) == 2
    assert (ws / "runs").exists() and any((ws / "runs").iterdir())


def test_scenario_file_from_scratch(world_copy, tmp_path):
    f = tmp_path / "renters.yaml"
    f.write_text("name: renters\ndomain: marketing\ndemand: users who pay rent\n"
                 "label:\n  events:\n    where: {category: monthly rent}\n")
    r = invoke("eval", "labels", "-w", world_copy.root, "--scenario-file", f, "--json")
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout)["scenarios"][0]
    assert row["name"] == "renters" and row["positives"] > 0


def test_errors_are_one_line(tmp_path, world_copy):
    r = invoke("world", "stats", "-w", tmp_path / "nothing")
    assert r.exit_code == 2 and "is not a workspace" in r.output and len(r.output.strip().splitlines()) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndomain: m\ndemand: users\nlabel: {evnts: {}}\n")
    r = invoke("eval", "labels", "-w", world_copy.root, "--scenario-file", bad)
    assert r.exit_code == 2 and "unknown rule 'evnts'" in r.output and len(r.output.strip().splitlines()) == 1
