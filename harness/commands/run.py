"""`raftquake run SCHEDULE.yaml`: one test run from a YAML schedule to a verdict."""

from __future__ import annotations

import argparse
import sys

from harness.backends import BACKENDS

HELP = "run a fault schedule against a cluster, check the history, store the results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("schedule", metavar="SCHEDULE.yaml", help="the fault schedule to run")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="docker: real containers (the default when a Docker engine answers); "
        "sim: a deterministic in-process simulation in virtual time; local: raftnode "
        "processes on 127.0.0.1 (kills and pauses only)",
    )
    parser.add_argument("--seed", type=int, help="seed for the fault and operation plans")
    parser.add_argument(
        "--time-limit", type=float, metavar="S", help="seconds of workload (overrides the schedule)"
    )
    parser.add_argument("--store", default="store", metavar="DIR", help="results store (store/)")


def run(args: argparse.Namespace) -> int:
    from harness.exit_codes import EXIT_ENV, EXIT_USAGE
    from harness.runner import docker_available, run_schedule
    from harness.schedule import ScheduleError, load_schedule
    from harness.summary import summary_text

    try:
        schedule = load_schedule(args.schedule)
    except ScheduleError as exc:
        print(f"raftquake run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from harness.backends import backend_problem

    backend = args.backend
    if backend is not None and backend_problem(backend, schedule):
        print(f"raftquake run: {backend_problem(backend, schedule)}", file=sys.stderr)
        return EXIT_USAGE
    if backend is None:
        why = docker_available()
        backend = "sim" if why else "docker"
        if why and backend_problem("sim", schedule):
            print(f"raftquake run: {why}; and {backend_problem('sim', schedule)}", file=sys.stderr)
            return EXIT_ENV
        if why:
            print(f"raftquake run: {why}; falling back to --backend sim", file=sys.stderr)
    elif backend == "docker":
        why = docker_available()
        if why:
            print(f"raftquake run: {why}", file=sys.stderr)
            return EXIT_ENV
    outcome = run_schedule(
        schedule, backend=backend, store=args.store, seed=args.seed, time_limit=args.time_limit
    )
    print(summary_text(outcome.run_dir, outcome.results))
    return outcome.exit_code
