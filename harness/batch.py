"""Many runs from one command: `raftquake run SCHEDULE... --seeds N --jobs J`.

Each (schedule, seed) is one run, J at a time, each in its own process (a run is an
asyncio loop, signal handlers and a Docker cluster of its own; processes keep them
apart). Runs on one Docker engine do not collide: each has its own run id, its own bridge
network on a subnet allocated at creation, and its containers and volumes are named and
labelled by that id (harness/backends/docker/cluster.py). At the end, a table: one row a run with
its verdict, the checker that caught it, and its results folder; the exit status is the
worst of the runs' (harness/exit_codes.py).
"""

from __future__ import annotations

import random
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.exit_codes import EXIT_ENV, worst


@dataclass(frozen=True)
class PlannedRun:
    schedule: str  # path
    seed: int


@dataclass
class RunRow:
    schedule: str
    seed: int
    exit_code: int
    valid: Any
    caught_by: list[str]
    folder: str
    seconds: float
    error: str | None = None


def plan_runs(schedules: list[str], seeds: int, first_seed: int | None) -> list[PlannedRun]:
    """Every schedule with `seeds` seeds: first_seed, first_seed + 1, ... when given, else
    fresh random ones (each printed in the table, so any run can be replayed)."""
    rng = random.SystemRandom()
    out = []
    for path in schedules:
        for k in range(seeds):
            seed = first_seed + k if first_seed is not None else rng.randrange(2**31)
            out.append(PlannedRun(path, seed))
    return out


def _one(run: PlannedRun, backend: str, store: str, time_limit: float | None) -> RunRow:
    """One run in a worker process; its own lines are prefixed with its schedule and seed."""
    from harness.hunt import failing_checkers
    from harness.runner import run_schedule
    from harness.schedule import load_schedule

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops workers on Ctrl-C
    tag = f"[{Path(run.schedule).stem} seed {run.seed}]"
    t0 = time.monotonic()
    try:
        outcome = run_schedule(
            load_schedule(run.schedule),
            backend=backend,
            store=store,
            seed=run.seed,
            time_limit=time_limit,
            say=lambda m: print(f"{tag} {m}", file=sys.stderr, flush=True),
            live_status=False,  # J status lines cannot share one terminal line
        )
    except Exception as exc:  # one broken run must not lose the others' rows
        return RunRow(run.schedule, run.seed, EXIT_ENV, "unknown", [], "", 0.0, str(exc))
    r = outcome.results
    return RunRow(
        run.schedule,
        run.seed,
        outcome.exit_code,
        r.get("valid"),
        failing_checkers(r),
        str(outcome.run_dir.path),
        time.monotonic() - t0,
        r.get("error"),
    )


def run_many(
    runs: list[PlannedRun], backend: str, store: str, time_limit: float | None, jobs: int
) -> tuple[list[RunRow], int]:
    rows: list[RunRow] = []
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(_one, r, backend, store, time_limit): r for r in runs}
        try:
            for f in as_completed(futures):
                row = f.result()
                rows.append(row)
                print(f"run {len(rows)}/{len(runs)}: {_line(row)}", file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            # Workers ignore SIGINT; each run's own SIGTERM handling heals and keeps its
            # history (harness/runner.py).
            for p in list(getattr(pool, "_processes", {}).values()):
                p.terminate()
            raise
    order = {r: i for i, r in enumerate(runs)}
    rows.sort(key=lambda row: order[PlannedRun(row.schedule, row.seed)])
    return rows, worst([row.exit_code for row in rows])


def _line(row: RunRow) -> str:
    from harness.summary import verdict_word

    by = ", ".join(row.caught_by) or "-"
    return f"{Path(row.schedule).stem} seed {row.seed}: {verdict_word(row.valid)} ({by})"


def table(rows: list[RunRow]) -> str:
    """The summary: one row a run."""
    from harness.summary import verdict_word

    head = ("schedule", "seed", "verdict", "caught by", "seconds", "results")
    body = [
        (
            Path(r.schedule).stem,
            str(r.seed),
            verdict_word(r.valid),
            ", ".join(r.caught_by) or ("-" if not r.error else f"error: {r.error[:60]}"),
            f"{r.seconds:.0f}",
            r.folder,
        )
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=False)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in (head, *body)]  # fmt: skip
    return "\n".join(lines)
