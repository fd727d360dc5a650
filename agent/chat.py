"""Multi-turn targeting: a first request makes a plan; later turns refine it.

A turn that reads as a refinement ("narrow it to first-tier cities", "exclude people who already
rent", "only 500 of them") is rewritten together with the request it refines, and only what a
refinement may change is taken from the new plan: its filter conditions are AND-ed on (a
condition on a field already filtered replaces the old one), its exclusions are added, its size
replaces the old size. The demands stay. Any other turn starts a new request. Slash commands:
/plan, /export FILE, /size N, /undo, /new, /help, /quit (also /exit, a bare "exit" or "quit",
and Ctrl-D); a refinement before any request is answered, not planned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from targetbot.agent.executor import AskOptions, AskResult, Executor
from targetbot.agent.filters import merge_filters
from targetbot.agent.planner import Planner
from targetbot.rewrite.plan import TargetingPlan
from targetbot.core.errors import TargetbotError

REFINE = re.compile(r"^\s*(narrow|only|just|limit|restrict|exclude|excluding|remove|drop|without|but|and|also|except|"
                    r"keep|filter|make it|no |not |leave out|skip|focus|among|in |from |who |aged?|older|younger|"
                    r"top |at most|at least|fewer|more |less )", re.IGNORECASE)
QUIT_WORDS = {"exit", "quit", "bye", "q", ":q"}
# turns that only make sense as a refinement of an earlier audience
REFINE_ONLY = re.compile(r"^\s*(narrow (it|them|that)|only \d|just \d|limit (it|them)|exclude|excluding|remove (them|those)|"
                         r"drop (them|those)|make it|leave out|restrict (it|them)|fewer|top \d+ of them)", re.IGNORECASE)
HELP = ("Type who to target, then refine: 'narrow it to first-tier cities', 'exclude people who already rent'.\n"
        "Commands: /plan  /export FILE [--force]  /size N  /undo  /new  /help  /quit")


@dataclass
class Reply:
    message: str = ""
    result: AskResult | None = None
    quit: bool = False


def is_refinement(text: str) -> bool:
    return bool(REFINE.match(text)) or bool(re.search(r"\b(it|them|those|these|that audience)\b", text, re.IGNORECASE))


def refine_plan(current: TargetingPlan, new: TargetingPlan) -> tuple[TargetingPlan, list[str]]:
    """The current plan with the refinement's filters, exclusions and size; what changed, in words."""
    changes = []
    data = current.model_dump(mode="json")
    if new.filters is not None:
        merged = merge_filters(current.filters, new.filters)
        data["filters"] = merged.model_dump(mode="json")
        changes.append(f"filters {merged.render()}")
    extra = [e for e in new.exclude if e not in current.exclude]
    if extra:
        data["exclude"] = list(current.exclude) + extra
        changes.append(f"excluding {', '.join(extra)}")
    if new.size is not None and new.size != current.size:
        data["size"], data["threshold"] = new.size, None
        changes.append(f"size {new.size:,}")
    return TargetingPlan.model_validate(data), changes


class ChatSession:
    def __init__(self, planner: Planner, executor: Executor, options: AskOptions | None = None):
        self.planner, self.executor = planner, executor
        self.options = options or AskOptions()
        self.turns: list[tuple[str, TargetingPlan, AskResult]] = []  # (request so far, plan, result)

    @property
    def current(self):
        return self.turns[-1] if self.turns else None

    def _run(self, request: str, plan: TargetingPlan, info: dict, export: Path | None = None,
             overwrite: bool = False) -> AskResult:
        prev = self.current[2].session.state.audience.rows if self.current else None
        opts = AskOptions(size=self.options.size, export_path=export, overwrite=overwrite, record=self.options.record)
        return self.executor.execute(plan, request, opts, info, previous=prev)

    def turn(self, text: str) -> Reply:
        text = (text or "").strip()
        if not text:
            return Reply("")
        if text.lower().strip(" .!") in QUIT_WORDS:
            return Reply("bye", quit=True)
        if text.startswith("/"):
            return self._command(text)
        if self.current is None and REFINE_ONLY.match(text):
            return Reply("nothing to refine yet: first say who to target, e.g. 'users likely to rent phones'")
        if self.current is not None and is_refinement(text):
            base, plan, _ = self.current
            combined = f"{base}, {text}"
            new, info = self.planner.plan(combined)
            refined, changes = refine_plan(plan, new)
            if not changes:
                return Reply(f"I found no filter, exclusion or size in '{text[:80]}', so the audience is unchanged. "
                             "Try e.g. 'only users in first-tier cities' or 'exclude people who already rent'.")
            result = self._run(combined, refined, info)
            self.turns.append((combined, refined, result))
            return Reply("refined: " + "; ".join(changes), result)
        plan, info = self.planner.plan(text)
        result = self._run(text, plan, info)
        self.turns.append((text, plan, result))
        return Reply("", result)

    def _command(self, text: str) -> Reply:
        cmd, _, arg = text.partition(" ")
        arg = arg.strip()
        if cmd in ("/quit", "/exit", "/q"):
            return Reply("bye", quit=True)
        if cmd == "/help":
            return Reply(HELP)
        if cmd == "/new":
            self.turns.clear()
            return Reply("starting over: who should we target?")
        if self.current is None:
            return Reply("nothing yet: type who to target first")
        base, plan, result = self.current
        if cmd == "/plan":
            return Reply(plan.model_dump_json(indent=2, exclude_defaults=True))
        if cmd == "/undo":
            self.turns.pop()
            return Reply("back to: " + (self.current[0] if self.current else "nothing"),
                         self.current[2] if self.current else None)
        if cmd == "/size":
            try:
                n = int(arg.replace(",", ""))
            except ValueError:
                return Reply("usage: /size N (a whole number)")
            if n < 1:
                return Reply("usage: /size N (at least 1)")
            sized = TargetingPlan.model_validate({**plan.model_dump(mode="json"), "size": n, "threshold": None})
            r = self._run(base, sized, {"plan_source": "chat"})
            self.turns.append((base, sized, r))
            return Reply(f"size {n:,}", r)
        if cmd == "/export":
            force = arg.endswith(" --force")
            arg = arg.removesuffix(" --force").strip()
            if not arg:
                return Reply("usage: /export FILE.csv [--force]")
            r = self._run(base, plan, {"plan_source": "chat"}, export=Path(arg).expanduser(), overwrite=force)
            return Reply(f"exported {len(r.audience):,} users to {r.export_path}", r)
        raise TargetbotError(f"unknown command '{cmd}' ({HELP.splitlines()[-1]})")
