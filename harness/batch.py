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

import contextlib
import multiprocessing
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from harness import interrupt
from harness.exit_codes import EXIT_ENV, EXIT_UNKNOWN, worst
from harness.words import plural


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
    interrupted: bool = False


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

    tag = f"[{Path(run.schedule).stem} seed {run.seed}]"
    t0 = time.monotonic()
    try:
        outcome = run_schedule(
            load_schedule(run.schedule),
            backend=backend,
            store=store,
            seed=run.seed,
            time_limit=time_limit,
            say=lambda m: _say(f"{tag} {m}"),
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
        r.get("status") == "interrupted",
    )


def _say(line: str) -> None:
    """One write per line: J processes share the terminal, and print()'s separate write
    of the newline let their lines run into each other."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _worker(conn: Connection, run: PlannedRun, backend: str, store: str, limit: float | None):
    """A worker process's body: one run, its row sent back to the parent."""
    interrupt.child_reset()  # SIGINT ignored (the parent coordinates), SIGTERM stops the run
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, interrupt.SIGNALS)
        row = _one(run, backend, store, limit)
    except KeyboardInterrupt:  # SIGTERM before the run began
        row = RunRow(run.schedule, run.seed, EXIT_UNKNOWN, "unknown", [], "", 0.0, "interrupted")
    except BaseException as exc:  # noqa: BLE001 - the parent must get a row whatever happens
        row = RunRow(run.schedule, run.seed, EXIT_ENV, "unknown", [], "", 0.0, repr(exc))
    with interrupt.deferred():
        conn.send(row)
        conn.close()


@dataclass
class _Running:
    run: PlannedRun
    process: BaseProcess
    conn: Connection


def run_many(
    runs: list[PlannedRun], backend: str, store: str, time_limit: float | None, jobs: int
) -> tuple[list[RunRow], int]:
    """The runs, `jobs` at a time, each in its own process. Ctrl-C or SIGTERM stops the
    batch: no new run starts, the running ones are sent SIGTERM (each heals, tears down and
    writes its results, harness/runner.py) and their rows still come back, so the table
    shows what ran; the status of an interrupted batch is at least "unknown" (3)."""
    ctx = multiprocessing.get_context("fork")
    rows: list[RunRow] = []
    queue = list(runs)
    running: dict[int, _Running] = {}  # by the connection's fileno
    stopped = False
    with interrupt.handling(), interrupt.deferred():
        while queue or running:
            if interrupt.requested() and not stopped:
                stopped = True
                _say(
                    f"run: stopping the batch ({interrupt.requested()}): each running run "
                    "heals, removes its cluster and writes its results"
                )
                queue.clear()
                for r in running.values():
                    if r.process.pid is not None:
                        with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                            os.kill(r.process.pid, signal.SIGTERM)
            while queue and len(running) < max(1, jobs):
                r = _start(ctx, queue.pop(0), backend, store, time_limit)
                running[r.conn.fileno()] = r
            ready = wait([r.conn for r in running.values()], timeout=0.5)
            for conn in ready:
                r = running.pop(conn.fileno())
                row = _receive(r)
                rows.append(row)
                _say(f"run {len(rows)}/{len(runs)}: {_line(row)}")
    order = {r: i for i, r in enumerate(runs)}
    rows.sort(key=lambda row: order[PlannedRun(row.schedule, row.seed)])
    if stopped and len(rows) < len(runs):
        _say(f"run: interrupted; {plural(len(runs) - len(rows), 'run')} not started")
    statuses = [row.exit_code for row in rows] + ([EXIT_UNKNOWN] if stopped else [])
    return rows, worst(statuses)


def _start(ctx, run: PlannedRun, backend: str, store: str, limit: float | None) -> _Running:
    ours, theirs = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_worker, args=(theirs, run, backend, store, limit), daemon=False)
    # Signals stay blocked across the fork until the worker has set its own handlers: a
    # Ctrl-C in between would otherwise run the parent's handler in the child.
    old = signal.pthread_sigmask(signal.SIG_BLOCK, interrupt.SIGNALS)
    try:
        p.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    theirs.close()
    return _Running(run, p, ours)


def _receive(r: _Running) -> RunRow:
    """The worker's row; a worker that died without one (killed) gets an error row."""
    try:
        row = r.conn.recv()
    except (EOFError, OSError):
        r.process.join()
        why = f"worker process died (exit {r.process.exitcode})"
        row = RunRow(r.run.schedule, r.run.seed, EXIT_ENV, "unknown", [], "", 0.0, why)
    r.conn.close()
    r.process.join()
    return row


def _line(row: RunRow) -> str:
    from harness.summary import verdict_word

    line = f"{Path(row.schedule).stem} seed {row.seed}: {verdict_word(row.valid)}"
    return line + (f" ({_why(row)})" if _why(row) else "")


def _why(row: RunRow) -> str:
    """What the verdict column needs beside it: who caught it, or why there is none."""
    if row.caught_by:
        return "caught by " + ", ".join(row.caught_by)
    if row.interrupted:
        return "interrupted"
    return f"error: {row.error[:60]}" if row.error else ""


def table(rows: list[RunRow]) -> str:
    """The summary: one row a run."""
    from harness.summary import verdict_word

    head = ("schedule", "seed", "verdict", "caught by", "seconds", "results")
    body = [
        (
            Path(r.schedule).stem,
            str(r.seed),
            verdict_word(r.valid),
            ", ".join(r.caught_by) or _why(r) or "-",
            f"{r.seconds:.0f}",
            r.folder,
        )
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=False)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in (head, *body)]  # fmt: skip
    return "\n".join(lines)
