"""The data contract: what a user brings, as pydantic row schemas plus vectorised checks.

The pydantic models are the single declaration of each table's columns (names, types,
required or optional, meaning). Validating millions of rows one pydantic object at a time
would be slow, so `check_table` derives column checks from the model fields and runs them on
whole columns, reporting the file, first offending rows and column of each problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args, get_origin

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field


class EventRow(BaseModel):
    """One behaviour event. `source` is open-ended; built-ins mirror FIND."""

    user_id: str = Field(description="User identifier, joins with profiles.user_id.")
    ts: datetime = Field(description="Event time.")
    source: str = Field(description="bill | miniprogram | page | search | any other source name.")
    text: str = Field(description="Natural-language rendering of the event (what the text encoder sees).")
    item: str | None = Field(None, description="Item, product or service involved.")
    category: str | None = Field(None, description="Category of the item or page.")
    merchant: str | None = Field(None, description="Merchant, mini-program or app owner.")
    amount: float | None = Field(None, description="Money amount for bills.")
    status: str | None = Field(None, description="e.g. paid, refunded, failed, instalment.")
    channel: str | None = Field(None, description="Payment channel or entry point.")
    window: str | None = Field(
        None, description="Optional explicit window name; overrides the ts-based windows of the workspace."
    )


class EntityRow(BaseModel):
    """One entry of the entity dictionary."""

    entity: str = Field(description="Canonical entity name (unique).")
    type: str = Field(description="Entity type, e.g. brand, product, mini_program, sports_team.")
    aliases: list[str] = Field(default_factory=list, description="Other surface forms used in text.")
    description: str = Field("", description="One or two sentences describing the entity.")


class RelationRow(BaseModel):
    """A (head, relation, tail) fact between two dictionary entities."""

    head: str
    relation: str
    tail: str


ColumnKind = Literal["categorical", "numeric"]


class ProfileSchema(BaseModel):
    """`data/profiles.schema.yaml`: every profile column and whether it is categorical or numeric."""

    columns: dict[str, ColumnKind] = Field(description="Column name -> categorical | numeric (user_id excluded).")
    descriptions: dict[str, str] = Field(default_factory=dict, description="Optional human descriptions.")


@dataclass(frozen=True)
class Problem:
    """One contract violation, printable as a single line."""

    file: str
    message: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    warning: bool = False  # worth knowing, but the workspace is still usable

    def __str__(self) -> str:
        where = self.file
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" (+{len(self.rows) - 5} more)" if len(self.rows) > 5 else ""
            where += f" row {shown}{more}"
        if self.column:
            where += f" column '{self.column}'"
        return f"{where}: {self.message}"


def _kind(annotation) -> tuple[str, bool]:
    """Map a pydantic annotation to (kind, optional)."""
    optional = False
    args = get_args(annotation)
    if args and type(None) in args:
        optional = True
        annotation = next(a for a in args if a is not type(None))
    if annotation is datetime:
        return "timestamp", optional
    if annotation is float:
        return "float", optional
    if get_origin(annotation) is list:
        return "list", optional
    return "string", optional


def table_columns(model: type[BaseModel]) -> dict[str, tuple[str, bool]]:
    """Column name -> (kind, required) derived from a row model."""
    out = {}
    for name, field in model.model_fields.items():
        kind, optional = _kind(field.annotation)
        out[name] = (kind, field.is_required() and not optional)
    return out


def _rows(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(mask)[:6])


def check_table(df: pd.DataFrame, model: type[BaseModel], file: str, allow_extra: bool = False) -> list[Problem]:
    """Column-wise check of a DataFrame against a row model. Row numbers are 0-based."""
    problems: list[Problem] = []
    spec = table_columns(model)
    for col, (_, required) in spec.items():
        if required and col not in df.columns:
            problems.append(Problem(file, f"missing required column (expected {', '.join(spec)})", col))
    if not allow_extra:
        for col in df.columns:
            if col not in spec:
                problems.append(Problem(file, f"unknown column (allowed: {', '.join(spec)})", str(col)))
    for col, (kind, required) in spec.items():
        if col not in df.columns:
            continue
        s = df[col]
        null = s.isna().to_numpy()
        if required and null.any():
            problems.append(Problem(file, "empty value in required column", col, _rows(null)))
        present = ~null
        if kind == "string":
            textual = pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype)
            if textual and required:
                blank = present & (s.astype("string").str.strip().fillna("") == "").to_numpy()
                if blank.any():
                    problems.append(Problem(file, "blank string in required column", col, _rows(blank)))
            elif not (textual or pd.api.types.is_integer_dtype(s)):
                problems.append(Problem(file, f"expected text, found {s.dtype}", col))
        elif kind == "timestamp":
            if not pd.api.types.is_datetime64_any_dtype(s):
                parsed = pd.to_datetime(s, errors="coerce")
                bad = present & parsed.isna().to_numpy()
                if bad.any():
                    problems.append(Problem(file, "not a timestamp", col, _rows(bad)))
        elif kind == "float":
            if not pd.api.types.is_numeric_dtype(s):
                parsed = pd.to_numeric(s, errors="coerce")
                bad = present & parsed.isna().to_numpy()
                if bad.any():
                    problems.append(Problem(file, "not a number", col, _rows(bad)))
            else:
                bad = present & ~np.isfinite(s.to_numpy(dtype=float, na_value=0.0))
                if bad.any():
                    problems.append(Problem(file, "not a finite number", col, _rows(bad)))
        elif kind == "list":
            bad = present & ~s.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).to_numpy()
            if bad.any():
                problems.append(Problem(file, "expected a list of strings", col, _rows(bad)))
    return problems


def check_profiles(df: pd.DataFrame, schema: ProfileSchema, file: str) -> list[Problem]:
    problems: list[Problem] = []
    if "user_id" not in df.columns:
        return [Problem(file, "missing required column", "user_id")]
    dup = df["user_id"].duplicated().to_numpy()
    if dup.any():
        problems.append(Problem(file, "duplicate user_id", "user_id", _rows(dup)))
    null = df["user_id"].isna().to_numpy()
    if null.any():
        problems.append(Problem(file, "empty user_id", "user_id", _rows(null)))
    for col in df.columns:
        if col != "user_id" and col not in schema.columns:
            problems.append(Problem(file, "column not declared in profiles.schema.yaml", str(col)))
    for col, kind in schema.columns.items():
        if col not in df.columns:
            problems.append(Problem(file, "declared in profiles.schema.yaml but missing", col))
            continue
        if kind == "numeric" and not pd.api.types.is_numeric_dtype(df[col]):
            parsed = pd.to_numeric(df[col], errors="coerce")
            bad = df[col].notna().to_numpy() & parsed.isna().to_numpy()
            problems.append(Problem(file, "declared numeric but holds non-numbers", col, _rows(bad)))
    return problems


def json_schemas() -> dict[str, dict]:
    """JSON schemas of every row model, for documentation and other languages."""
    return {m.__name__: m.model_json_schema() for m in (EventRow, EntityRow, RelationRow, ProfileSchema)}
