"""Events by user batch (core/user_batches.py): the same events as the table, sorted per user,
whatever order the table is in; written once and atomically."""

import numpy as np
import pandas as pd
import pytest

from targetbot.core.user_batches import MANIFEST, UserBatches


def _per_user(ev: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in ev.columns if c != "window"]
    out = ev[cols].astype(str)
    out["window"] = ev["window"].astype(str).to_numpy()
    return out.sort_values(["user_id", "ts", "text"], kind="stable").reset_index(drop=True)


def test_batches_hold_the_events_of_their_users(world_copy):
    ub = UserBatches.build(world_copy, batch_users=150)
    assert len(ub) == 3 and ub.users_of(2).tolist() == ub.users[300:].tolist()
    parts = [ub.read(b) for b in range(len(ub))]
    for b, ev in enumerate(parts):
        assert set(ev["user_id"].astype(str)) <= set(ub.users_of(b))
        key = ev["user_id"].cat.codes.to_numpy().astype(np.int64) * 10**10 + pd.to_datetime(ev["ts"]).astype("int64").to_numpy() // 10**9
        assert (np.diff(key) >= 0).all()  # (user, time) order
    whole = pd.concat(parts, ignore_index=True)
    # the world's table is already in (user, time) order: batches read back exactly as it
    assert whole.astype(str).equals(world_copy.events().astype(str))
    some = ub.read_users(np.array([3, 160, 399]), columns=["ts", "text"], windows=["w0"])
    assert set(some["user_id"].astype(str)) <= {ub.users[3], ub.users[160], ub.users[399]}
    assert list(some.columns) == ["user_id", "ts", "text", "window"] and set(some["window"]) <= {"w0"}


def test_any_table_order_gives_the_same_batches(world_copy, tmp_path):
    ev = pd.read_parquet(world_copy.table_path("events"))
    ev.sample(frac=1.0, random_state=0).to_parquet(world_copy.table_path("events"), index=False,
                                                   row_group_size=5000)  # shuffled, several row groups
    ub = UserBatches.build(world_copy, batch_users=100)
    whole = pd.concat([ub.read(b) for b in range(len(ub))], ignore_index=True)
    assert _per_user(whole).equals(_per_user(world_copy.events()))


def test_built_once_and_atomically(world_copy, monkeypatch):
    import targetbot.core.user_batches as m

    first = UserBatches.build(world_copy, batch_users=200)
    stamp = (first.root / MANIFEST).stat().st_mtime_ns
    assert UserBatches.build(world_copy, batch_users=200).root == first.root
    assert (first.root / MANIFEST).stat().st_mtime_ns == stamp  # not written again

    def boom(*a, **k):
        raise RuntimeError("killed")

    monkeypatch.setattr(m, "_partition", boom)
    with pytest.raises(RuntimeError):
        UserBatches.build(world_copy, batch_users=50)
    # nothing half-written stays where a reader would look
    assert not [p for p in first.root.parent.iterdir() if p.name.endswith("-b50")]


def test_users_of_several_batches_keep_categorical_columns(world_copy):
    ub = UserBatches.build(world_copy, batch_users=100)
    ev = ub.read_users(np.array([1, 150, 250, 399]))
    for col in ("user_id", "text", "source", "window"):
        assert isinstance(ev[col].dtype, pd.CategoricalDtype), col
    assert ev["text"].cat.codes.min() >= 0 and len(ev) > 0
    assert list(ev["user_id"].cat.categories) == list(ub.users)  # user codes stay profile positions
