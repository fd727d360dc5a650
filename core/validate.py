"""`targetbot data validate`: check every table and scenario of a workspace against the contract."""

from __future__ import annotations

import numpy as np
import pandas as pd

from targetbot.core.contract import EntityRow, EventRow, Problem, RelationRow, check_profiles, check_table
from targetbot.core.errors import DataError, TargetbotError
from targetbot.core.workspace import Workspace


def _read(ws: Workspace, name: str, problems: list[Problem], required: bool) -> pd.DataFrame | None:
    path = ws.table_path(name)
    if not path.exists():
        if required:
            problems.append(Problem(str(path), "missing (required table)"))
        return None
    try:
        return ws.read_table(name)
    except TargetbotError as e:
        problems.append(Problem(str(path), str(e).split(": ", 1)[-1]))
        return None


def validate_workspace(ws: Workspace) -> list[Problem]:
    problems: list[Problem] = []
    events = _read(ws, "events", problems, required=True)
    profiles = _read(ws, "profiles", problems, required=True)
    entities = _read(ws, "entities", problems, required=False)
    relations = _read(ws, "relations", problems, required=False)
    ev_file = str(ws.table_path("events"))

    if events is not None:
        problems += check_table(events, EventRow, ev_file)
        if "window" in events.columns:
            known = {w.name for w in ws.meta.windows}
            bad = events["window"].notna().to_numpy() & ~events["window"].astype("string").isin(known).to_numpy()
            if bad.any():
                problems.append(Problem(ev_file, f"unknown window name (windows: {', '.join(sorted(known))})", "window",
                                        tuple(int(i) for i in np.flatnonzero(bad)[:6])))
        if not any(p.file == ev_file for p in problems):
            assigned = ws.assign_windows(events)["window"]
            outside = assigned.isna().to_numpy()
            if outside.all():
                problems.append(Problem(ev_file, "no event falls inside any window of workspace.yaml", "ts"))
    if profiles is not None:
        try:
            problems += check_profiles(profiles, ws.profile_schema(), str(ws.table_path("profiles")))
        except TargetbotError as e:
            problems.append(Problem(str(ws.data_dir / "profiles.schema.yaml"), str(e).split(": ", 1)[-1]))
    if events is not None and profiles is not None and "user_id" in events.columns and "user_id" in profiles.columns:
        unknown = ~events["user_id"].astype(str).isin(profiles["user_id"].astype(str)).to_numpy()
        if unknown.any():
            problems.append(Problem(ev_file, "user_id not found in profiles", "user_id",
                                    tuple(int(i) for i in np.flatnonzero(unknown)[:6])))
    if entities is not None:
        ent_file = str(ws.table_path("entities"))
        problems += check_table(entities, EntityRow, ent_file)
        if "entity" in entities.columns:
            dup = entities["entity"].duplicated().to_numpy()
            if dup.any():
                problems.append(Problem(ent_file, "duplicate entity name", "entity", tuple(int(i) for i in np.flatnonzero(dup)[:6])))
    if relations is not None:
        rel_file = str(ws.table_path("relations"))
        problems += check_table(relations, RelationRow, rel_file)
        if entities is not None and {"head", "tail"} <= set(relations.columns) and "entity" in entities.columns:
            names = set(entities["entity"].astype(str))
            for col in ("head", "tail"):
                bad = ~relations[col].astype(str).isin(names).to_numpy()
                if bad.any():
                    problems.append(Problem(rel_file, "not an entity in entities.parquet", col,
                                            tuple(int(i) for i in np.flatnonzero(bad)[:6])))
    problems += _validate_scenarios(ws, events is not None and profiles is not None and not errors(problems))
    return problems


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if not p.warning]


def _validate_scenarios(ws: Workspace, data_ok: bool) -> list[Problem]:
    from targetbot.core.scenarios import LabelContext, compute_labels, load_scenario

    problems: list[Problem] = []
    scenarios = []
    for path in ws.scenario_files():
        try:
            scenarios.append((path, load_scenario(path)))
        except DataError as e:
            problems.append(Problem(str(path), str(e).split(": ", 1)[-1]))
    if data_ok and scenarios:
        ctx = LabelContext.load(ws)
        for path, s in scenarios:
            try:
                labels = compute_labels(s, ctx)
            except DataError as e:
                problems.append(Problem(str(path), str(e)))
                continue
            if labels.positives == 0:
                problems.append(Problem(str(path), "label rule matches no user in this workspace", warning=True))
    return problems
