"""A workspace directory: data tables, scenarios, artifacts and runs, plus its time windows.

    WS/
      workspace.yaml            name, origin, windows, window roles, user split
      data/events.parquet       behaviour events (see contract.EventRow)
      data/profiles.parquet     one row per user, columns declared in profiles.schema.yaml
      data/profiles.schema.yaml
      data/entities.parquet     optional entity dictionary
      data/relations.parquet    optional relations between entities (ground truth in a world)
      scenarios/*.yaml          benchmark scenarios (targetbot.core.scenarios)
      artifacts/<stage>/        everything built from data, keyed by config
      runs/<run_id>/            audit records of asks and evaluations

Windows keep training and evaluation apart: roles name which windows are model input for
training (`train_input`), which describe a user's future during alignment (`train_target`),
which are history at evaluation time (`history`) and which hold labels (`label`). Nothing in a
label window may reach model input.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from targetbot.core.atomic import write_parquet, write_text, write_yaml
from targetbot.core.contract import ProfileSchema
from targetbot.core.errors import DataError, TargetbotError
from targetbot.core.yamlfile import load_model

META_FILE = "workspace.yaml"
ENV_VAR = "TARGETBOT_WORKSPACE"


class Window(BaseModel):
    name: str
    start: datetime | None = Field(None, description="Inclusive; None when events carry an explicit window.")
    end: datetime | None = Field(None, description="Exclusive.")


class Roles(BaseModel):
    train_input: list[str] = Field(description="Model input windows for training pairs.")
    train_target: list[str] = Field(description="Windows whose behaviour describes the user's future in training.")
    history: list[str] = Field(description="Windows usable as model input at evaluation time.")
    label: list[str] = Field(description="Windows where scenario labels are read; never model input.")


class WorkspaceMeta(BaseModel):
    version: int = 1
    name: str
    origin: str = Field("custom", description="world | movielens | caravan | custom")
    windows: list[Window]
    roles: Roles
    eval_fraction: float = Field(0.5, gt=0, lt=1, description="Share of users held out for evaluation.")
    seed: int = 0
    info: dict = Field(default_factory=dict, description="Free-form provenance (generator config, source files).")

    @model_validator(mode="after")
    def _check_roles(self) -> "WorkspaceMeta":
        names = [w.name for w in self.windows]
        for role, ws in self.roles.model_dump().items():
            for w in ws:
                if w not in names:
                    raise ValueError(f"role '{role}' names unknown window '{w}' (windows: {', '.join(names)})")
        leak = set(self.roles.label) & (set(self.roles.history) | set(self.roles.train_input))
        if leak:
            raise ValueError(f"label window(s) {sorted(leak)} must not also be model input")
        return self


def resolve_path(path: str | Path | None) -> Path:
    """The workspace path given (the CLI's -w/--workspace option also reads TARGETBOT_WORKSPACE)."""
    if path is None or str(path) == "":
        raise TargetbotError(f"no workspace given: pass -w/--workspace or set {ENV_VAR}")
    return Path(path).expanduser()


class Workspace:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    # ---- layout -------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def scenarios_dir(self) -> Path:
        return self.root / "scenarios"

    @property
    def artifacts_dir(self) -> Path:
        return self.root / "artifacts"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def table_path(self, name: str) -> Path:
        return self.data_dir / f"{name}.parquet"

    def artifact_dir(self, stage: str) -> Path:
        d = self.artifacts_dir / stage
        d.mkdir(parents=True, exist_ok=True)
        return d

    # ---- creation and opening ---------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, meta: WorkspaceMeta, overwrite: bool = False) -> "Workspace":
        ws = cls(root)
        if (ws.root / META_FILE).exists() and not overwrite:
            raise TargetbotError(f"{ws.root} already holds a workspace (use --overwrite to replace it)")
        for d in (ws.data_dir, ws.scenarios_dir, ws.artifacts_dir, ws.runs_dir):
            d.mkdir(parents=True, exist_ok=True)
        ws.write_meta(meta)
        return ws

    @classmethod
    def open(cls, root: str | Path | None) -> "Workspace":
        ws = cls(resolve_path(root))
        if not (ws.root / META_FILE).exists():
            raise TargetbotError(
                f"{ws.root} is not a workspace (no {META_FILE}); create one with "
                "'targetbot world generate -w WS' or 'targetbot data movielens -w WS'"
            )
        _ = ws.meta
        return ws

    def write_meta(self, meta: WorkspaceMeta) -> None:
        write_yaml(self.root / META_FILE, meta.model_dump(mode="json"))
        self.__dict__["meta"] = meta

    @cached_property
    def meta(self) -> WorkspaceMeta:
        return load_model(WorkspaceMeta, self.root / META_FILE)

    # ---- tables ---------------------------------------------------------------------------
    def has_table(self, name: str) -> bool:
        return self.table_path(name).exists()

    def read_table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        path = self.table_path(name)
        if not path.exists():
            raise TargetbotError(f"{path} not found: this workspace has no '{name}' table")
        try:
            pf = pq.ParquetFile(path)
            cols = columns if columns is None else [c for c in columns if c in pf.schema_arrow.names]
            string_cols = [f.name for f in pf.schema_arrow if str(f.type) in ("string", "large_string")]
            table = pq.read_table(path, columns=cols, read_dictionary=[c for c in string_cols if c in (cols or string_cols)])
        except Exception as e:  # pyarrow raises many types for a corrupt file
            raise DataError(f"{path}: not a readable Parquet file ({e.__class__.__name__}: {str(e)[:120]})") from None
        df = table.to_pandas()
        if "user_id" in df.columns and not (
            pd.api.types.is_string_dtype(df["user_id"]) or isinstance(df["user_id"].dtype, pd.CategoricalDtype)
        ):
            df["user_id"] = df["user_id"].astype(str)
        return df

    def write_table(self, name: str, df: pd.DataFrame) -> Path:
        path = self.table_path(name)
        write_parquet(path, df)
        return path

    def write_artifact_table(self, stage: str, name: str, df: pd.DataFrame) -> Path:
        path = self.artifact_dir(stage) / f"{name}.parquet"
        write_parquet(path, df)
        return path

    def profile_schema(self) -> ProfileSchema:
        path = self.data_dir / "profiles.schema.yaml"
        if not path.exists():
            raise TargetbotError(f"{path} not found: declare each profile column as categorical or numeric")
        try:
            return ProfileSchema.model_validate(yaml.safe_load(path.read_text()))
        except (yaml.YAMLError, ValidationError) as e:
            raise DataError(f"{path}: {str(e).splitlines()[0]}") from None

    def write_profile_schema(self, schema: ProfileSchema) -> None:
        write_yaml(self.data_dir / "profiles.schema.yaml", schema.model_dump())

    def profiles(self) -> pd.DataFrame:
        return self.read_table("profiles")

    def user_profiles(self) -> pd.DataFrame:
        """The profiles, one row per user: what models and labels read. A repeated user_id is refused
        with the line `data validate` prints for it (which scores would it get otherwise?)."""
        from targetbot.core.contract import Problem

        p = self.profiles()
        if "user_id" in p.columns:
            dup = p["user_id"].astype(str).duplicated().to_numpy()
            if dup.any():
                rows = tuple(int(i) for i in np.flatnonzero(dup)[:6])
                raise DataError(f"{Problem(str(self.table_path('profiles')), 'duplicate user_id', 'user_id', rows)}"
                                f" (targetbot data validate -w {self.root} lists every problem)")
        return p

    def entities(self) -> pd.DataFrame:
        return self.read_table("entities")

    def relations(self) -> pd.DataFrame:
        return self.read_table("relations")

    def events(self, role: str | None = None, windows: list[str] | None = None,
               columns: list[str] | None = None) -> pd.DataFrame:
        """Events with a `window` column; restricted to a role's windows or named windows."""
        if role is not None:
            windows = getattr(self.meta.roles, role)
        need = None if columns is None else list(dict.fromkeys([*columns, "ts", "window"]))
        df = self.read_table("events", need)
        df = self.assign_windows(df)
        if windows is not None:
            df = df[df["window"].isin(windows)]
        if columns is not None:
            df = df[list(dict.fromkeys([*columns, "window"]))]
        return df.reset_index(drop=True)

    def assign_windows(self, df: pd.DataFrame) -> pd.DataFrame:
        """Fill the `window` column from timestamps where events do not carry one."""
        explicit = df["window"].astype("string") if "window" in df.columns else pd.Series(pd.NA, index=df.index, dtype="string")
        need = explicit.isna().to_numpy()
        if need.any():
            ts = pd.to_datetime(df["ts"]).to_numpy()
            out = np.full(len(df), None, dtype=object)
            for w in self.meta.windows:
                if w.start is None or w.end is None:
                    continue
                lo, hi = np.datetime64(w.start.replace(tzinfo=None)), np.datetime64(w.end.replace(tzinfo=None))
                out[need & (ts >= lo) & (ts < hi)] = w.name
            explicit = explicit.where(~need, pd.Series(out, index=df.index, dtype="string"))
        df = df.copy()
        df["window"] = explicit.astype("category")
        return df

    # ---- users ----------------------------------------------------------------------------
    def user_split(self, user_ids: pd.Series | None = None) -> pd.Series:
        """Stable train/eval split by hashing user ids (same answer on every machine)."""
        if user_ids is None:
            user_ids = self.read_table("profiles", ["user_id"])["user_id"]
        ids = pd.Series(user_ids).astype(str).reset_index(drop=True)
        h = pd.util.hash_pandas_object(ids + f"#{self.meta.seed}", index=False).to_numpy()
        frac = (h % np.uint64(1_000_003)).astype(np.float64) / 1_000_003
        return pd.Series(np.where(frac < self.meta.eval_fraction, "eval", "train"), index=ids, name="split")

    # ---- scenarios ------------------------------------------------------------------------
    def scenario_files(self) -> list[Path]:
        return sorted(self.scenarios_dir.glob("*.yaml"))


def write_workspace(root: str | Path, meta: WorkspaceMeta, tables: dict[str, pd.DataFrame], schema: ProfileSchema,
                    scenario_files: list[Path], overwrite: bool = False) -> Workspace:
    """Write a complete workspace from tables built in memory (world simulator, adapters); a table
    given as a Path is a finished Parquet file beside the workspace's data, renamed into place.

    With `overwrite`, everything derived from the replaced data goes too: data tables not
    rewritten, old scenario files and built artifacts (models of old data must not be reused);
    audit records under `runs/` stay. `workspace.yaml` is written last, so an interrupted write
    never leaves something that opens as a workspace with missing tables.
    """
    root = Path(root)
    if (root / META_FILE).exists():
        if not overwrite:
            raise TargetbotError(f"{root} already holds a workspace (use --overwrite to replace it)")
        (root / META_FILE).unlink()
    ws = Workspace(root)
    for d in (ws.data_dir, ws.scenarios_dir, ws.artifacts_dir, ws.runs_dir):
        d.mkdir(parents=True, exist_ok=True)
    for f in ws.data_dir.glob("*.parquet"):
        if f.stem not in tables:
            f.unlink()
    for f in ws.scenario_files():
        f.unlink()
    for d in ws.artifacts_dir.iterdir():
        shutil.rmtree(d) if d.is_dir() and not d.is_symlink() else d.unlink()
    for name, df in tables.items():
        if isinstance(df, Path):  # a table written in pieces beside its place (world chunks): moved in
            os.replace(df, ws.table_path(name))
        else:
            ws.write_table(name, df)
    ws.write_profile_schema(schema)
    for f in scenario_files:
        write_text(ws.scenarios_dir / f.name, Path(f).read_text(encoding="utf-8"))
    ws.write_meta(meta)
    return ws
