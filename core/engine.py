"""Where per-user batch work runs: in this process (`local`) or as Ray Data jobs (`ray`).

A stage writes its per-user work as one function of a batch number (a batch of users, see
core/user_batches.py) that returns columns: numpy arrays of equal length, one row per output
row (a user, or one non-zero of a sparse block), carrying the row's position so that results can
arrive in any order. The engine runs that function over every batch and hands the columns back
one batch at a time; the stage writes them where they belong. The same function runs in both
engines, so their results are the same.

    >>> engine = make_engine("local")                                 # or make_engine("ray", address)
    >>> for cols in engine.map_batches(embed_batch, range(len(ub))):  # doctest: +SKIP
    ...     out[cols["row"]] = cols["fused"]

Ray is an optional dependency (`pip install 'targetbot[ray]'`); with no address it starts a local
Ray on this machine, with one an existing cluster is joined.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np

from targetbot.core.errors import TargetbotError

BatchFn = Callable[[int], dict[str, np.ndarray]]
ENGINES = ("local", "ray")


class LocalEngine:
    name = "local"

    def map_batches(self, fn: BatchFn, batches: Iterable[int]) -> Iterator[dict[str, np.ndarray]]:
        for b in batches:
            yield fn(int(b))


class RayEngine:
    """Ray Data over the batch numbers: `map_batches` runs `fn` in Ray tasks, one batch of users
    each; the columns stream back to this process."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise TargetbotError("--engine ray needs Ray: pip install 'targetbot[ray]' (make test installs it)") from None
        import logging

        logging.getLogger("ray.data").setLevel(logging.WARNING)  # per-job INFO lines would drown the build's
        if not ray.is_initialized():
            kw = {"address": address} if address else {"num_cpus": num_cpus, "include_dashboard": False}
            ray.init(ignore_reinit_error=True, log_to_driver=False, configure_logging=False, **kw)
        self.address = address

    def map_batches(self, fn: BatchFn, batches: Iterable[int]) -> Iterator[dict[str, np.ndarray]]:
        import ray.data

        def run(block: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            outs = [fn(int(b)) for b in block["batch"]]
            return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ds = ray.data.from_items([{"batch": int(b)} for b in batches])
        yield from ds.map_batches(run, batch_size=1, batch_format="numpy").iter_batches(batch_size=None,
                                                                                       batch_format="numpy")


def collect(engine, fn: BatchFn, n_batches: int, progress: Callable[[int], None] | None = None
            ) -> dict[str, np.ndarray]:
    """Every batch's columns, concatenated in one dict (for outputs small enough to gather, such as
    the non-zeros of a sparse matrix); `engine` None is this process. `progress(k)` after the k-th."""
    parts = []
    for k, cols in enumerate((engine or LocalEngine()).map_batches(fn, range(n_batches)), 1):
        parts.append(cols)
        if progress:
            progress(k)
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def make_engine(name: str = "local", address: str | None = None):
    if name == "local":
        if address:
            raise TargetbotError("--ray-address needs --engine ray")
        return LocalEngine()
    if name == "ray":
        return RayEngine(address)
    raise TargetbotError(f"unknown engine '{name}' (use {' or '.join(ENGINES)})")
