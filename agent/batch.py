"""One audience per row of a demands file: a CSV with a `request` (or `demand`) column and
optional `id` and `size` columns. Each row is planned, executed, recorded under WS/runs and
exported to OUT/<id>.csv when the privacy guard lets it out; a row that fails is reported with
its error and the batch goes on. OUT/summary.csv holds one line per row and is rewritten after
every row, so a stopped batch leaves the summary of what it did. Ids are made unique (a repeated
id gets -2, -3 ...), and an existing OUT/<id>.csv is replaced only with `overwrite`."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Callable

import pandas as pd

from targetbot.agent.executor import AskOptions, Executor
from targetbot.agent.planner import Planner
from targetbot.core.atomic import atomic_path
from targetbot.core.errors import DataError, TargetbotError


def read_demands(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise DataError(f"{path}: demands file not found")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as e:  # pandas raises many kinds for a bad CSV
        raise DataError(f"{path}: not a readable CSV ({e.__class__.__name__}: {str(e)[:100]})") from None
    cols = {c.strip().lower(): c for c in df.columns}
    col = cols.get("request") or cols.get("demand")
    if col is None:
        raise DataError(f"{path}: needs a 'request' (or 'demand') column (found: {', '.join(df.columns)})")
    out = pd.DataFrame({"request": df[col]})
    out["id"] = df[cols["id"]] if "id" in cols else [f"row-{i + 1:03d}" for i in range(len(df))]
    out["size"] = df[cols["size"]] if "size" in cols else ""
    if out.empty:
        raise DataError(f"{path}: no rows")
    return out


def _safe_id(s: str, i: int) -> str:
    s = re.sub(r"[^A-Za-z0-9_\-]+", "-", str(s)).strip("-")[:60]
    return s or f"row-{i + 1:03d}"


def unique_ids(raw: list[str]) -> list[str]:
    """File-safe ids, a repeated one suffixed -2, -3 ... so no row overwrites another's export."""
    out, seen = [], set()
    for i, r in enumerate(raw):
        base = rid = _safe_id(r, i)
        if base.lower() == "summary":  # OUT/summary.csv is the batch's own file
            base = rid = f"{base}-row"
        k = 2
        while rid in seen:
            rid, k = f"{base}-{k}", k + 1
        seen.add(rid)
        out.append(rid)
    return out


def _write_summary(out_dir: Path, rows: list[dict]) -> None:
    with atomic_path(out_dir / "summary.csv", suffix=".csv") as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)


def run_batch(planner: Planner, executor: Executor, demands: pd.DataFrame, out_dir: Path,
              on_row: Callable[[int, dict], None] | None = None, overwrite: bool = False) -> list[dict]:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TargetbotError(f"{out_dir}: cannot create the output directory ({e.strerror})") from None
    from targetbot.agent.export import check_export_path

    check_export_path(out_dir / "summary.csv", overwrite=True)  # writable, before the first row
    rows = []
    ids = unique_ids([str(x) for x in demands["id"]])
    for i, (rid, r) in enumerate(zip(ids, demands.itertuples(index=False))):
        row = {"id": rid, "request": r.request[:200], "status": "ok", "size": None, "export": "", "run_id": "",
               "seconds": None, "error": ""}
        t = time.perf_counter()
        try:
            size = None
            if str(r.size).strip():
                try:
                    size = int(float(r.size))
                except ValueError:
                    raise TargetbotError(f"size '{r.size}' is not a number") from None
                if size < 1:
                    raise TargetbotError(f"size must be at least 1 (got {size})")
            path = check_export_path(out_dir / f"{rid}.csv", overwrite)
            plan, info = planner.plan(r.request)
            res = executor.execute(plan, r.request, AskOptions(size=size), info)
            if res.listed:
                from targetbot.agent.export import write_audience

                write_audience(res.audience[["user_id", "score"]], path)
                row["export"] = str(path)
            else:
                row["status"] = "not exported: " + (res.session.state.refusal or "")[:200]
            row.update(size=int(len(res.audience)), run_id=res.run_id)
        except TargetbotError as e:
            row.update(status="error", error=str(e)[:300])
        except Exception as e:  # one bad row must not stop the batch
            row.update(status="error", error=f"internal error: {e.__class__.__name__}: {str(e)[:200]}")
        row["seconds"] = round(time.perf_counter() - t, 2)
        rows.append(row)
        _write_summary(out_dir, rows)
        if on_row:
            on_row(i, row)
    return rows
