"""Bad data gets a clear problem naming file, row and column; nothing is half-written."""

import pandas as pd
import pytest

from targetbot.core.atomic import atomic_path, write_parquet
from targetbot.core.errors import TargetbotError
from targetbot.core.validate import validate_workspace
from targetbot.core.workspace import Workspace


def problems(ws):
    return [str(p) for p in validate_workspace(ws)]


def test_unknown_and_missing_columns(world_copy):
    ev = world_copy.read_table("events")
    ev = ev.rename(columns={"text": "txt"})
    world_copy.write_table("events", ev)
    found = problems(world_copy)
    assert any("column 'text': missing required column" in p for p in found)
    assert any("column 'txt': unknown column" in p for p in found)


def test_bad_values_name_rows(world_copy):
    ev = world_copy.read_table("events")
    ev["ts"] = ev["ts"].astype(str)
    ev.loc[3, "ts"] = "not a date"
    ev["user_id"] = ev["user_id"].astype(str)
    ev.loc[5, "user_id"] = "ghost"
    world_copy.write_table("events", ev)
    found = problems(world_copy)
    assert any("row 3 column 'ts': not a timestamp" in p for p in found)
    assert any("row 5 column 'user_id': user_id not found in profiles" in p for p in found)


def test_profiles_against_schema(world_copy):
    prof = world_copy.profiles()
    prof["shoe_size"] = 42
    prof.loc[1, "user_id"] = prof.loc[0, "user_id"]
    world_copy.write_table("profiles", prof)
    found = problems(world_copy)
    assert any("column 'shoe_size': column not declared" in p for p in found)
    assert any("row 1 column 'user_id': duplicate user_id" in p for p in found)


def test_corrupt_parquet_and_bad_scenario(world_copy):
    world_copy.table_path("entities").write_bytes(b"PAR1 this is not parquet")
    (world_copy.scenarios_dir / "broken.yaml").write_text("name: Broken Name\ndomain: x\ndemand: users\nlabel: {}\n")
    found = problems(world_copy)
    assert any("entities.parquet: not a readable Parquet file" in p for p in found)
    assert any("broken.yaml" in p for p in found)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "t.parquet"
    write_parquet(target, pd.DataFrame({"a": [1]}))
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash")
    assert pd.read_parquet(target)["a"].tolist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_workspace_yaml_errors(tmp_path):
    (tmp_path / "workspace.yaml").write_text("name: x\nwindows: []\nroles: {train_input: [w0], train_target: [], history: [], label: []}\n")
    with pytest.raises(TargetbotError, match="unknown window 'w0'"):
        Workspace.open(tmp_path)
