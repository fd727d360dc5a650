"""Run a suite of methods over a workspace's scenarios and summarise the metrics."""

from __future__ import annotations

import functools
import time
from typing import Callable

import numpy as np

from targetbot.eval.metrics import auc, ks, precision_at_k, selection_metrics
from targetbot.eval.registry import EvalContext, get_method, list_methods
from targetbot.eval.results import SuiteResult
from targetbot.core.errors import TargetbotError
from targetbot.core.scenarios import Scenario, load_scenarios
from targetbot.core.workspace import Workspace

SCENARIO_SUITES = ("zero-shot", "few-shot", "probe")
# Suites whose results are not per-scenario targeting metrics register a runner here
# (graph: relation-mining metrics; rewrite: plan metrics). Signature: fn(ws, models, methods, options) -> dict.
SUITE_RUNNERS: dict[str, Callable[..., dict]] = {}
SUITE_MODULES = {"graph": "targetbot.eval.graph_suite", "rewrite": "targetbot.eval.rewrite_suite"}
SUITES = SCENARIO_SUITES + tuple(SUITE_MODULES)


def register_suite(name: str):
    def deco(fn):
        SUITE_RUNNERS[name] = fn
        return fn
    return deco


def run(ws: Workspace, suite: str, models=None, methods: list[str] | None = None,
        scenario_names: list[str] | None = None, seed: int = 0, progress: Callable[[str], None] | None = None,
        options: dict | None = None) -> SuiteResult:
    """Entry point for every suite: scenario suites here, others through their registered runner.
    `models`: the process's models (targetbot.agent.models.Models); methods that need none run without."""
    if suite in SUITE_MODULES:
        import importlib

        try:
            importlib.import_module(SUITE_MODULES[suite])
        except ModuleNotFoundError as e:
            raise TargetbotError(f"suite '{suite}' is not available in this build ({e.name} missing)") from None
        body = SUITE_RUNNERS[suite](ws, models, methods, {"seed": seed, "progress": progress, **(options or {})})
        return SuiteResult(suite, suite, body)
    return SuiteResult(suite, "scenarios", run_suite(ws, suite, methods or list_methods(suite), scenario_names,
                                                     models=models, seed=seed, progress=progress, options=options))


def _r(x: float, nd: int = 4) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else round(float(x), nd)


def run_suite(ws: Workspace, suite: str, methods: list[str], scenario_names: list[str] | None = None,
              models=None, seed: int = 0, progress: Callable[[str], None] | None = None,
              options: dict | None = None) -> dict:
    if suite not in SCENARIO_SUITES:
        raise TargetbotError(f"unknown suite '{suite}' (suites: {', '.join(SUITES)})")
    available = list_methods(suite)
    for m in methods:
        if m not in available:
            raise TargetbotError(f"method '{m}' is not in suite '{suite}' (available: {', '.join(available) or 'none yet'})")
    dirs = (options or {}).get("scenario_dirs")
    scenarios: list[Scenario] = load_scenarios(scenario_paths(dirs) or ws.scenario_files())
    if (options or {}).get("split"):
        scenarios = [s for s in scenarios if scenario_split(s.name, dirs) == options["split"]]
    if scenario_names:
        known = {s.name for s in scenarios}
        for n in scenario_names:
            if n not in known:
                raise TargetbotError(f"unknown scenario '{n}' (scenarios: {', '.join(sorted(known))})")
        scenarios = [s for s in scenarios if s.name in scenario_names]
    if not scenarios:
        raise TargetbotError(f"{ws.scenarios_dir} holds no scenario files (or pass --scenario-dir)")
    ctx = EvalContext.load(ws, models, seed=seed, options=options)
    results = []
    timings: dict[str, float] = {}
    for name in methods:
        method = get_method(name)
        t = time.perf_counter()
        method.prepare(ctx)
        for s in scenarios:
            if progress:
                progress(f"{name} · {s.name}")
            out = method.score(s, ctx)
            y = ctx.eval_labels(s)
            if len(out.scores) != len(y):
                raise TargetbotError(f"method '{name}' returned {len(out.scores)} scores for {len(y)} evaluation users")
            sel = selection_metrics(y, out.selected)
            draws = out.extra.pop("draw_scores", None)
            draw_sel = out.extra.pop("draw_selected", None)
            if draws:  # several seed draws: metrics per draw, reported as mean (and std for AUC)
                aucs = [auc(y, d) for d in draws]
                kss = [ks(y, d) for d in draws]
                sels = [selection_metrics(y, d) for d in (draw_sel or [out.selected])]
                sel = {k: float(np.mean([x[k] for x in sels])) for k in ("accuracy", "precision", "recall", "selected")}
                sel["selected"] = int(round(sel["selected"]))
            row = {
                "scenario": s.name, "domain": s.domain, "method": name,
                "auc": _r(float(np.mean(aucs)) if draws else auc(y, out.scores)),
                "ks": _r(float(np.mean(kss)) if draws else ks(y, out.scores)),
                "accuracy": _r(sel["accuracy"]), "precision": _r(sel["precision"]), "recall": _r(sel["recall"]),
                "selected": sel["selected"], "positives": int(y.sum()),
                "precision_at_pos": _r(precision_at_k(y, out.scores, int(y.sum()))),
                "rule": out.rule,
            }
            if draws:
                row["auc_std"] = _r(float(np.std(aucs)))
                row["draws"] = len(draws)
            row.update({k: v for k, v in out.extra.items() if isinstance(v, (int, float, str, type(None)))})
            results.append(row)
        timings[name] = round(time.perf_counter() - t, 2)
    summary = {}
    for name in methods:
        rows = [r for r in results if r["method"] == name]
        def mean(key):
            vals = [r[key] for r in rows if r[key] is not None]
            return _r(float(np.mean(vals))) if vals else None
        summary[name] = {"mean_auc": mean("auc"), "mean_ks": mean("ks"), "mean_precision": mean("precision"),
                         "mean_recall": mean("recall"), "mean_accuracy": mean("accuracy"),
                         "mean_precision_at_pos": mean("precision_at_pos"), "seconds": timings[name]}
    for base in ("keyword", "find"):
        if base not in methods or len(methods) < 2:
            continue
        for name in methods:
            if name == base:
                continue
            wins = sum(1 for s in scenarios
                       if _get(results, s.name, name, "auc") is not None and _get(results, s.name, base, "auc") is not None
                       and _get(results, s.name, name, "auc") > _get(results, s.name, base, "auc"))
            summary[name][f"wins_vs_{base}"] = wins
    return {"suite": suite, "workspace": str(ws.root), "eval_users": int(ctx.eval_mask.sum()),
            "scenarios": len(scenarios), "results": results, "summary": summary}


SPLITS_FILE = "splits.yaml"  # a scenario folder's fixed dev/test split (eval/data/scenario_bank has one)


def scenario_split(name: str, sources=None) -> str:
    """'dev' or 'test': from a `splits.yaml` in one of the scenario folders when it names the
    scenario, else by a fixed rule (the parity of the SHA-256 of the name), so any set splits
    the same way on every machine."""
    import hashlib
    from pathlib import Path

    for src in sources or []:
        split = _recorded_splits(str(Path(src) / SPLITS_FILE)).get(name)
        if split is not None:
            return split
    return "dev" if int(hashlib.sha256(name.encode()).hexdigest(), 16) % 2 == 0 else "test"


@functools.lru_cache(maxsize=8)
def _recorded_splits(path: str) -> dict[str, str]:
    """A splits.yaml as scenario name -> split (empty when there is none), read once per run."""
    from pathlib import Path

    import yaml

    f = Path(path)
    if not f.is_file():
        return {}
    out: dict[str, str] = {}
    for split, names in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).items():
        for n in names or []:
            out.setdefault(n, split)  # a name listed twice keeps its first split
    return out


def bank_sets(ws: Workspace, bank) -> dict[str, list[Scenario]]:
    """The workspace's own scenarios (`builtin`) and a scenario folder's `dev` and `test` halves,
    as the transfer benches compare them."""
    sets: dict[str, list[Scenario]] = {"dev": [], "test": []}
    for s in load_scenarios(scenario_paths([bank])):
        sets[scenario_split(s.name, [bank])].append(s)
    sets["builtin"] = load_scenarios(ws.scenario_files())
    return sets


def scenario_paths(sources) -> list:
    """The scenario files of the given folders and files (none given: an empty list)."""
    from pathlib import Path

    out = []
    for src in sources or []:
        src = Path(src)
        if src.is_dir():
            files = sorted(f for f in src.glob("*.yaml") if f.name != SPLITS_FILE)
            if not files:
                raise TargetbotError(f"{src}: no scenario files (*.yaml) in this folder")
            out += files
        elif src.is_file():
            out.append(src)
        else:
            raise TargetbotError(f"{src}: no such scenario file or folder")
    return out


def _get(results, scenario, method, key):
    for r in results:
        if r["scenario"] == scenario and r["method"] == method:
            return r[key]
    return None
