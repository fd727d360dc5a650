"""Cost of targeting against the number of users: generate and build worlds of several sizes in
one run, each stage in its own process, and print time and peak memory per stage, warm `find`
and `ask` latency, the index size, zero-shot quality on a sample of evaluation users, and the
growth exponent of every stage (time ~ users^k, fitted on the largest sizes).

    .venv/bin/python bench/scale.py --users 20000,200000,1000000 --out /data/scale [--json]
        [--engines local,ray] [--ray-users 200000] [--plot scale.png] [--keep] [--prior rows.jsonl]

Each stage runs as `targetbot ...` in a child process; its peak RSS is the child's own (wait4
rusage), so one stage's memory never hides another's. With `--engines local,ray` the per-user
stages of the `--ray-users` world are rebuilt on Ray in the same run and both timings reported.
The zero-shot suite scores `keyword` and `find` on a 20,000-user sample of evaluation users
(`eval run --sample-users`), so its cost does not grow with the world.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

STAGES = ("content", "towers", "graph")
ASKS = ["users likely to rent phones", "people who will apply for a credit line", "new pet owners buying dog food",
        "commuters who would ride a shared e-bike", "fans who will buy NBA tickets", "users at risk of a scam"]


def run(cmd: list[str], log: Path) -> dict:
    """Run a command in a child process: seconds, peak RSS (GiB) and exit status."""
    t = time.perf_counter()
    with open(log, "ab") as fh:
        fh.write(("$ " + " ".join(cmd) + "\n").encode())
        fh.flush()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    out = {"seconds": round(time.perf_counter() - t, 1), "peak_rss_gib": round(usage.ru_maxrss / 2**20, 2),
           "ok": os.waitstatus_to_exitcode(status) == 0}
    if not out["ok"]:
        raise SystemExit(f"failed: {' '.join(cmd)} (see {log})")
    return out


LATENCY = r'''
import json, statistics, sys, time
from targetbot.agent.executor import AskOptions, Executor
from targetbot.agent.models import Models
from targetbot.agent.planner import Planner
from targetbot.agent.resources import Resources
from targetbot.commands.common import settings_from_env
from targetbot.core.workspace import Workspace
ws, asks = Workspace.open(sys.argv[1]), json.loads(sys.argv[2])
res = Resources(ws, Models(settings_from_env()))
zs, planner, ex = res.zero_shot(), Planner(res), Executor(res)
from targetbot.towers.find import Query
def find(q):
    zs.audience(Query.from_demand(q))
def ask(q):
    plan, info = planner.plan(q)
    ex.execute(plan, q, AskOptions(record=False, reveal=False), info)
out = {}
for name, fn in (("find", find), ("ask", ask)):
    t = time.perf_counter(); fn(asks[0]); cold = time.perf_counter() - t
    xs = []
    for q in asks[1:]:
        t = time.perf_counter(); fn(q); xs.append(time.perf_counter() - t)
    out[name] = {"cold_s": round(cold, 2), "p50_s": round(statistics.median(xs), 2), "max_s": round(max(xs), 2),
                 "n": len(xs)}
print(json.dumps(out))
'''


def latency(tb_python: str, ws: Path, log: Path) -> dict:
    t = time.perf_counter()
    with open(log, "ab") as fh:
        proc = subprocess.run([tb_python, "-c", LATENCY, str(ws), json.dumps(ASKS)], stdout=subprocess.PIPE,
                              stderr=fh, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"latency run failed (see {log})")
    out = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    out["seconds"] = round(time.perf_counter() - t, 1)
    return out


def quality(tb: str, ws: Path, log: Path) -> dict:
    with open(log, "ab") as fh:
        proc = subprocess.run([tb, "eval", "run", "-w", str(ws), "--suite", "zero-shot", "--methods", "keyword,find",
                               "--sample-users", "20000", "--json"], stdout=subprocess.PIPE, stderr=fh, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"eval run failed (see {log})")
    summary = json.loads(proc.stdout)["summary"]
    return {m: summary[m]["mean_auc"] for m in ("keyword", "find")}


def exponent(sizes: list[int], seconds: list[float]) -> float | None:
    """Least-squares slope of log(time) on log(users) over the given points."""
    pts = [(math.log(n), math.log(max(s, 1e-3))) for n, s in zip(sizes, seconds)]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    den = sum((x - mx) ** 2 for x, _ in pts)
    return round(sum((x - mx) * (y - my) for x, y in pts) / den, 3) if den else None


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["users"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    for stage in ("generate", *STAGES):
        a.plot(sizes, [r["stages"][stage]["seconds"] for r in rows], marker="o", label=stage)
        b.plot(sizes, [r["stages"][stage]["peak_rss_gib"] for r in rows], marker="o", label=stage)
    for ax, title in ((a, "seconds"), (b, "peak RSS (GiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log" if ax is a else "linear")
        ax.set_xlabel("users")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    b.axhline(12, color="grey", ls="--", lw=1)
    a.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", default="20000,200000,1000000")
    ap.add_argument("--out", required=True, help="folder for the worlds (tens of GB at a million users)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--engines", default="local", help="local, or local,ray")
    ap.add_argument("--ray-users", type=int, default=200_000, help="with ray: the world size rebuilt on Ray")
    ap.add_argument("--plot", default=None, help="PNG of time and memory against users")
    ap.add_argument("--keep", action="store_true", help="keep the worlds afterwards")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--prior", default=None,
                    help="rows of an earlier run (the JSON lines it printed to stderr) to report and fit with "
                         "this run's, for sizes not run again")
    args = ap.parse_args()

    bin_dir = Path(sys.executable).parent
    tb = str(bin_dir / "targetbot")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    if args.prior:
        rows = [json.loads(line) for line in Path(args.prior).read_text().splitlines() if line.startswith("{")]
        rows = [r for r in rows if str(r["users"]) not in args.users.split(",")]
    for n in [int(x) for x in args.users.split(",")]:
        ws, log = out / f"world-{n}", out / f"world-{n}.log"
        row = {"users": n, "stages": {}}
        row["stages"]["generate"] = run([tb, "world", "generate", "-w", str(ws), "--users", str(n), "--seed",
                                         str(args.seed), "--overwrite"], log)
        for stage in STAGES:
            row["stages"][stage] = run([tb, "build", "-w", str(ws), "--stage", stage], log)
        bundle = (ws / "artifacts" / "towers" / (ws / "artifacts" / "towers" / "CURRENT").read_text().strip())
        row["index_mib"] = round((bundle / "index.faiss").stat().st_size / 2**20, 1)
        row["events_gib"] = round((ws / "data" / "events.parquet").stat().st_size / 2**30, 2)
        row["latency"] = latency(sys.executable, ws, log)
        row["zero_shot_auc"] = quality(tb, ws, log)
        if "ray" in args.engines.split(",") and n == args.ray_users:
            row["ray"] = {}
            for stage in ("towers", "graph"):
                row["ray"][stage] = run([tb, "build", "-w", str(ws), "--stage", stage, "--force", "--engine", "ray"],
                                        log)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
        if not args.keep and n != max(int(x) for x in args.users.split(",")):
            shutil.rmtree(ws, ignore_errors=True)
    rows.sort(key=lambda r: r["users"])
    sizes = [r["users"] for r in rows]
    growth = {}
    for stage in ("generate", *STAGES):
        secs = [r["stages"][stage]["seconds"] for r in rows]
        growth[stage] = {"all": exponent(sizes, secs), "largest_two": exponent(sizes[-2:], secs[-2:])}
    report = {"rows": rows, "growth_exponent": growth}
    if args.plot:
        plot(rows, Path(args.plot))
        report["plot"] = args.plot
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{'users':>9} {'stage':<9} {'seconds':>9} {'peak GiB':>9}")
    for r in rows:
        for stage, v in r["stages"].items():
            print(f"{r['users']:>9,} {stage:<9} {v['seconds']:>9.1f} {v['peak_rss_gib']:>9.2f}")
        for stage, v in r.get("ray", {}).items():
            print(f"{r['users']:>9,} {stage + '@ray':<9} {v['seconds']:>9.1f} {v['peak_rss_gib']:>9.2f}")
        lat = r["latency"]
        print(f"{'':>9} find p50 {lat['find']['p50_s']} s, ask p50 {lat['ask']['p50_s']} s, index {r['index_mib']} MiB, "
              f"zero-shot AUC {r['zero_shot_auc']}")
    print("growth exponent (time ~ users^k):", json.dumps(growth))


if __name__ == "__main__":
    main()
