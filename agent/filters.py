"""Profile filters applied exactly: each `(field # op # value)` condition of a plan becomes a
boolean mask over the profiles table, joined by AND or OR. No model is involved, so a filter
never lets a user through that fails it.

A filter that selects nobody is reported before any tool runs, naming the condition (or the
pair of AND-ed conditions) responsible: "(city_tier#=#1) AND (city_tier#=#2) select nobody
together".
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from targetbot.rewrite.plan import MAX_CONDITIONS, Condition, Filters
from targetbot.core.errors import TargetbotError


class FilterError(TargetbotError):
    """A plan's filters cannot be applied or select nobody; the message names the conditions."""


def _numbers(values: list[str], c: Condition) -> list[float]:
    try:
        return [float(v) for v in values]
    except ValueError:
        raise FilterError(f"filter {c.render()}: '{c.value}' is not a number") from None


def condition_mask(profiles: pd.DataFrame, c: Condition) -> np.ndarray:
    if c.field not in profiles.columns or c.field == "user_id":
        raise FilterError(f"filter {c.render()}: the profiles have no column '{c.field}'")
    col = profiles[c.field]
    parts = [p.strip() for p in c.value.split(",")] if c.op in ("between", "in") else [c.value.strip()]
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    if numeric:
        x = col.to_numpy(dtype=np.float64)
        v = _numbers(parts, c)
        if c.op == "between":
            if len(v) != 2:
                raise FilterError(f"filter {c.render()}: 'between' needs 'low,high'")
            m = (x >= v[0]) & (x <= v[1])
        elif c.op == "in":
            m = np.isin(x, v)
        else:
            m = {"=": x == v[0], "!=": x != v[0], ">": x > v[0], ">=": x >= v[0], "<": x < v[0],
                 "<=": x <= v[0]}[c.op]
        return np.asarray(m & ~np.isnan(x) if c.op != "!=" else m, dtype=bool)
    if c.op in (">", ">=", "<", "<=", "between"):
        raise FilterError(f"filter {c.render()}: '{c.field}' is categorical; '{c.op}' needs a numeric column")
    s = col.astype("string").str.strip().str.lower()
    wanted = [p.lower() for p in parts]
    if c.op == "!=":
        return (s != wanted[0]).fillna(True).to_numpy(dtype=bool)
    return s.isin(wanted).fillna(False).to_numpy(dtype=bool)


def filter_mask(profiles: pd.DataFrame, filters: Filters | None) -> tuple[np.ndarray, list[dict]]:
    """(mask over profile rows, per-condition counts). Raises FilterError when nobody passes."""
    n = len(profiles)
    if filters is None:
        return np.ones(n, dtype=bool), []
    masks = [condition_mask(profiles, c) for c in filters.conditions]
    counts = [{"condition": c.render(), "users": int(m.sum())} for c, m in zip(filters.conditions, masks)]
    if filters.join == "AND":
        mask = np.logical_and.reduce(masks)
    else:
        mask = np.logical_or.reduce(masks)
    if not mask.any():
        empty = [c for c, m in zip(filters.conditions, masks) if not m.any()]
        if empty:
            raise FilterError(f"filter {empty[0].render()} matches no user in this workspace")
        for (a, ma), (b, mb) in combinations(zip(filters.conditions, masks), 2):
            if not (ma & mb).any():
                raise FilterError(f"the filters contradict each other: {a.render()} AND {b.render()} "
                                  "select nobody together")
        raise FilterError(f"the filters {filters.render()} select nobody together")
    return mask, counts


def merge_filters(old: Filters | None, new: Filters | None) -> Filters | None:
    """A refinement's conditions AND-ed onto the current ones; a new condition on a field replaces
    the old conditions on that field ("actually second-tier cities")."""
    if new is None:
        return old
    if old is None:
        return new
    fields = {c.field for c in new.conditions}
    if old.join == "OR" and len(old.conditions) > 1:
        raise FilterError("cannot narrow an OR filter; start a new request with all conditions")
    kept = [c for c in old.conditions if c.field not in fields]
    conditions = kept + list(new.conditions)
    if len(conditions) > MAX_CONDITIONS:
        raise FilterError(f"at most {MAX_CONDITIONS} filter conditions (this would make {len(conditions)}); start a new request")
    return Filters(join="AND", conditions=conditions)
