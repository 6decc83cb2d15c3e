"""One test run: schedule in, verdict out.

    set up the cluster -> clients + nemesis on the schedule -> heal -> recover
    -> final reads -> tear down -> check -> store

The run folder is made first and the history streams into it, so whatever
happens later (Ctrl-C, a node that never starts, a crash of the harness) the
folder holds what was seen and a results.json that says how the run ended.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness import interrupt
from harness.backends import ClusterSpec, EnvironmentProblem
from harness.backends.docker import engine_problem as docker_available  # noqa: F401 (its old name)
from harness.exit_codes import EXIT_ENV, EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID
from harness.owners import owner
from harness.recorder import HistoryRecorder
from harness.schedule import Schedule, dump_schedule, fault_families, fault_plan, with_seed
from harness.store import DEFAULT_STORE, RunDir, new_run_dir


@dataclass
class RunOutcome:
    run_dir: RunDir
    results: dict[str, Any]

    @property
    def valid(self) -> Any:
        return self.results.get("valid")

    @property
    def exit_code(self) -> int:
        if self.results.get("status") == "environment-error":
            return EXIT_ENV
        return {True: EXIT_VALID, False: EXIT_INVALID}.get(self.valid, EXIT_UNKNOWN)


def run_schedule(
    schedule: Schedule,
    backend: str = "docker",
    store: str | Path = DEFAULT_STORE,
    seed: int | None = None,
    time_limit: float | None = None,
    say: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
    live_status: bool = True,
    inventory: Path | None = None,
) -> RunOutcome:
    """One run (the module's docstring); `live_status` False: no status line while it runs
    (many runs at once share one terminal)."""
    from harness.backends import backend_problem

    why = backend_problem(backend, schedule)
    if why:  # before any run folder: a usage error, not a run
        raise ValueError(why)
    schedule = with_seed(schedule, seed)
    if time_limit is not None:
        schedule = replace(schedule, time_limit=time_limit)
    with interrupt.handling():
        with interrupt.deferred():  # the folder says "running" before anything can stop it
            run_dir = new_run_dir(store, schedule.name)
            run_dir.schedule.write_text(dump_schedule(schedule))
            base: dict[str, Any] = {
                "name": schedule.name,
                "backend": backend,
                **({"inventory": str(inventory)} if inventory else {}),
                "seed": schedule.seed,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "faults-planned": len(fault_plan(schedule)),
                # Who runs it: a results.json still "running" whose owner is gone was
                # abandoned (killed -9), harness/store.py.
                "owner": owner(),
            }
            run_dir.write_results({**base, "valid": "unknown", "status": "running"})
        say(f"run: {schedule.name} on {backend}, seed {schedule.seed}, results in {run_dir.path}")
        return _run_in(run_dir, base, backend, schedule, say, live_status, inventory)


def _run_in(
    run_dir: RunDir,
    base: dict[str, Any],
    backend: str,
    schedule: Schedule,
    say: Callable[[str], None],
    live_status: bool,
    inventory: Path | None = None,
) -> RunOutcome:
    """run_schedule's run, check and results, in its folder (signals handled by then)."""
    status, error, details = "complete", None, {}
    t0 = time.monotonic()
    try:
        details = execute(backend, schedule, run_dir, say, live_status, inventory)
    except KeyboardInterrupt as exc:  # RunInterrupted, or a signal while starting
        details = getattr(exc, "details", {})
        status, error = "interrupted", _interrupted_words()
        say(f"run: {error}")
    except EnvironmentProblem as exc:
        status, error = "environment-error", str(exc)
        say(f"run: environment error: {exc}")
    base["duration-s"] = round(time.monotonic() - t0, 3)

    from harness.verdict import ChecksInterrupted, check_run

    try:
        origin = details.get("workload-start-ns") or 0
        results = check_run(run_dir, schedule, say=say, origin_ns=origin)
    except ChecksInterrupted as exc:  # a second Ctrl-C while checking: what was done
        results = exc.partial
        status = "interrupted"
        error = error or "interrupted while checking"
    with interrupt.deferred():  # results and report are written whatever comes now
        results = {**base, **results, "status": status, **details}
        if error:
            results["error"] = error
            if status != "complete" and results.get("valid") is True:
                # A partial run that looked fine proves less than a whole one.
                results["valid"] = "unknown"
            if status == "environment-error":
                results["valid"] = "unknown"
        run_dir.write_results(results)
        _write_report(run_dir, results, say)
    return RunOutcome(run_dir, results)


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM once it had a cluster: healed, collected and torn
    down; `details` holds what results.json takes from the run (faults applied, run id)."""

    def __init__(self, details: dict[str, Any]):
        super().__init__("interrupted")
        self.details = details


def _interrupted_words() -> str:
    return (
        f"stopped by {interrupt.requested() or 'SIGINT'}; faults healed, cluster removed, "
        "history kept"
    )


def _write_report(run_dir: RunDir, results: dict[str, Any], say) -> None:
    """report.html, after the results are safe on disk: a report that fails (a plot
    that breaks, a full disk) is noted in results.json and never costs the verdict."""
    try:
        from harness.report import write_run_report

        write_run_report(run_dir.path)
    except Exception as exc:
        results["report-error"] = f"{type(exc).__name__}: {exc}"
        run_dir.write_results(results)
        say(f"run: report not written: {results['report-error']}")


def cluster_spec(schedule: Schedule) -> ClusterSpec:
    """The cluster a schedule runs on: its system with its options, its size and seed."""
    from harness.systems import make_system

    return ClusterSpec(
        system=make_system(schedule),
        nodes=schedule.nodes,
        seed=schedule.seed or 0,
        clock_faults="clock" in fault_families(schedule),
        name=schedule.name,
    )


def execute(
    backend: str,
    schedule: Schedule,
    run_dir: RunDir,
    say: Callable[[str], None],
    live_status: bool = True,
    inventory: Path | None = None,
) -> dict[str, Any]:
    """Bring the backend's cluster up, drive the schedule, collect, tear down: the same
    steps for every backend (harness/backends/__init__.py supplies the cluster and its
    loop). No checking: run_schedule's, or a caller's that times the backend alone (the
    hunt, tests, benchmarks). Returns results.json's fields of the run itself."""
    from harness.backends import make_backend
    from harness.backends.base import ClusterError
    from harness.driver import RunReport, drive

    if interrupt.requested():  # stopped before anything started
        raise RunInterrupted({})
    b = make_backend(backend, replace(cluster_spec(schedule), inventory=inventory), say)
    report = RunReport()
    # Which containers are this run's, in its results while it runs: a harness killed -9
    # leaves them, and whoever finds the run abandoned can name them (harness/leftovers.py).
    named = {k: v for k, v in b.details().items() if k in ("run-id", "system")}
    if named:
        with interrupt.deferred():
            run_dir.write_results({**(run_dir.read_results() or {}), **named})
    with HistoryRecorder(run_dir.history, clock=b.clock) as recorder:
        try:
            say(f"run: starting {schedule.nodes} nodes")
            b.cluster.start()
        except BaseException as exc:  # Ctrl-C too: nothing may be left behind
            with interrupt.deferred():
                b.cluster.teardown()
                b.cleanup()
            from harness.backends.docker.image import ImageError

            if isinstance(exc, ClusterError):
                raise EnvironmentProblem(str(exc)) from exc
            if isinstance(exc, ImageError):
                raise EnvironmentProblem(f"image build failed: {exc}") from exc
            if isinstance(exc, KeyboardInterrupt):
                raise RunInterrupted({**report.to_results(), **b.details()}) from None
            raise
        try:
            # From here a signal is a request the driver answers (it heals and returns):
            # raised inside the event loop, it would leave the loop's tasks half run.
            with interrupt.deferred():
                unit = "s" if b.live else "s of virtual time"
                say(f"{b.announce}; workload for {schedule.time_limit:g} {unit}")
                if b.live and live_status:
                    from harness.status import StatusView

                    with StatusView() as view:
                        b.run(drive(b.cluster, schedule, recorder, view.update, report))
                else:
                    b.run(drive(b.cluster, schedule, recorder, report=report))
        finally:
            with interrupt.deferred():
                # Seconds on Docker (copying the nodes' files, removing containers): said,
                # so the wait between the workload and the verdict is not a silence.
                say("run: collecting the nodes' records and removing the cluster")
                try:
                    b.cluster.collect(run_dir.path)
                finally:
                    b.cluster.teardown()
                    b.cleanup()
    details = {**report.to_results(), **b.details()}
    if report.interrupted or interrupt.requested():
        raise RunInterrupted(details)
    return details
