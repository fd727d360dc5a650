"""Readable forms of a suite result: a rich table for the terminal and a Markdown report."""

from __future__ import annotations

from rich.table import Table


def _methods(result: dict) -> list[str]:
    return list(result["summary"])


def _by(result: dict) -> dict[tuple[str, str], dict]:
    return {(r["scenario"], r["method"]): r for r in result["results"]}


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}"


def summary_table(result: dict) -> Table:
    methods = _methods(result)
    by = _by(result)
    scenarios = list(dict.fromkeys(r["scenario"] for r in result["results"]))
    table = Table(title=f"{result['suite']} · AUC per scenario ({result['eval_users']:,} evaluation users)")
    table.add_column("scenario")
    for m in methods:
        table.add_column(m, justify="right")
    for s in scenarios:
        aucs = {m: by[(s, m)]["auc"] for m in methods if (s, m) in by}
        best = max((v for v in aucs.values() if v is not None), default=None)
        cells = []
        for m in methods:
            v = aucs.get(m)
            cells.append(f"[bold]{_fmt(v)}[/]" if v is not None and v == best else _fmt(v))
        table.add_row(s, *cells)
    table.add_section()
    for key, label in (("mean_auc", "mean AUC"), ("mean_ks", "mean KS"), ("mean_precision", "mean precision"),
                       ("mean_recall", "mean recall")):
        table.add_row(label, *[_fmt(result["summary"][m].get(key)) for m in methods])
    for base in ("keyword", "find"):
        if not any(f"wins_vs_{base}" in result["summary"][m] for m in methods):
            continue
        table.add_row(f"wins vs {base}", *[str(result["summary"][m].get(f"wins_vs_{base}", "–")) for m in methods])
    return table


def markdown_report(result: dict) -> str:
    methods = _methods(result)
    by = _by(result)
    scenarios = list(dict.fromkeys(r["scenario"] for r in result["results"]))
    lines = [f"# targetbot evaluation — {result['suite']}", "",
             f"Workspace `{result['workspace']}`, {result['eval_users']:,} held-out evaluation users.", ""]
    for metric in ("auc", "ks", "precision", "recall"):
        lines += [f"## {metric.upper() if metric in ('auc', 'ks') else metric}", "",
                  "| scenario | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
        for s in scenarios:
            lines.append(f"| {s} | " + " | ".join(_fmt(by.get((s, m), {}).get(metric)) for m in methods) + " |")
        key = f"mean_{metric}"
        lines.append("| **mean** | " + " | ".join(_fmt(result["summary"][m].get(key)) for m in methods) + " |")
        lines.append("")
    lines += ["## Decision rules", ""]
    for m in methods:
        rules = sorted({r["rule"] for r in result["results"] if r["method"] == m})
        lines.append(f"* `{m}`: " + ("; ".join(rules[:3]) + (" …" if len(rules) > 3 else "")))
    return "\n".join(lines) + "\n"
