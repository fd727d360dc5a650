"""Audit records of asks: `WS/runs/ask-<UTC time>-<hash>/`, written to a temporary directory and
renamed into place, so a record is complete or absent.

    request.txt      the request as typed
    plan.json        the validated plan (replay: targetbot ask -w WS --plan WS/runs/<id>/plan.json)
    tool_calls.json  [{"tool", "args", "seconds"}] in call order
    versions.json    model and artifact versions (tower bundle, graph key, rewriter model, config)
    audience.parquet user_id, score (fused), find, graph (per-source rank-normalised); only for an
                     audience whose ids were revealed (agent/privacy.py): otherwise the
                     record keeps its size and the reason, never the ids
    summary.json     kind "ask", time, size, export path, timings, plan source, notes
    result.json      the `ask --json` object

Evaluation runs live beside them as `eval-<suite>-<time>/` (written by `targetbot eval run`);
`summary.json`'s `kind` and the directory prefix tell them apart, and `runs list` shows only
asks unless asked for all.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from targetbot.core.atomic import atomic_path
from targetbot.core.errors import TargetbotError

PREFIX = "ask-"


def new_run_id() -> str:
    return f"{PREFIX}{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def write_run(res, result) -> str:
    run_id = result.run_id or new_run_id()
    target = res.ws.runs_dir / run_id
    result.run_id = run_id
    summary = {"kind": "ask", "run_id": run_id, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "request": result.request[:300], "size": int(len(result.audience)), "listed": result.listed,
               "export_path": result.export_path, "tools": [c["tool"] for c in result.tool_calls],
               "notes": result.explanation.get("notes", []), **result.info}
    with atomic_path(target) as tmp:
        tmp.mkdir(parents=True)
        (tmp / "request.txt").write_text(result.request, encoding="utf-8")
        (tmp / "plan.json").write_text(result.plan.model_dump_json(indent=2, exclude_defaults=True) + "\n")
        (tmp / "tool_calls.json").write_text(json.dumps(result.tool_calls, indent=2, default=str) + "\n")
        (tmp / "versions.json").write_text(json.dumps(res.versions(), indent=2, default=str) + "\n")
        if result.listed:
            result.audience.to_parquet(tmp / "audience.parquet", index=False)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        (tmp / "result.json").write_text(json.dumps(result.to_json(), indent=2, default=str) + "\n")
    return run_id


def list_runs(ws, include_eval: bool = False) -> list[dict]:
    out = []
    if not ws.runs_dir.exists():
        return out
    for d in sorted(ws.runs_dir.iterdir(), reverse=True):
        if not d.is_dir() or d.name.startswith("."):
            continue
        if d.name.startswith(PREFIX) and (d / "summary.json").exists():
            s = json.loads((d / "summary.json").read_text())
            out.append({"run_id": d.name, "kind": "ask", "created": s.get("created"), "size": s.get("size"),
                        "request": s.get("request", "")})
        elif include_eval and d.name.startswith("eval-"):
            out.append({"run_id": d.name, "kind": "eval", "created": None, "size": None, "request": ""})
    return out


def run_dir(ws, run_id: str) -> Path:
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise TargetbotError(f"'{run_id}' is not a run id (see 'targetbot runs list')")
    d = ws.runs_dir / run_id
    if not d.is_dir():
        matches = [p for p in ws.runs_dir.glob(f"{run_id}*") if p.is_dir()] if ws.runs_dir.exists() else []
        if len(matches) == 1:
            return matches[0]
        raise TargetbotError(f"no run '{run_id}' in {ws.runs_dir} (see 'targetbot runs list')")
    return d


def show_run(ws, run_id: str) -> dict:
    d = run_dir(ws, run_id)
    if not (d / "summary.json").exists():
        files = sorted(p.name for p in d.iterdir())
        return {"run_id": d.name, "kind": "eval" if d.name.startswith("eval-") else "unknown", "files": files}
    out = {"run_id": d.name, **json.loads((d / "summary.json").read_text())}
    out["plan"] = json.loads((d / "plan.json").read_text())
    out["tool_calls"] = json.loads((d / "tool_calls.json").read_text())
    out["versions"] = json.loads((d / "versions.json").read_text())
    out["path"] = str(d)
    return out
