"""`raftquake run SCHEDULE.yaml...`: test runs from YAML schedules to verdicts; several
schedules, or `--seeds N`, make a batch (harness/batch.py), `--jobs J` of them at once."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.commands.flags import COUNT, SECONDS, SEED_FLAG

HELP = "run fault schedules against a cluster, check the histories, store the results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harness.backends import BACKENDS

    parser.add_argument(
        "schedules", nargs="+", metavar="SCHEDULE.yaml", help="the fault schedule(s) to run"
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="docker: real containers (the default when a Docker engine answers); "
        "sim: a deterministic in-process simulation in virtual time; local: raftnode "
        "processes on 127.0.0.1 (kills and pauses only); ssh: raftnode on the hosts of "
        "--inventory (docs/machines.md)",
    )
    parser.add_argument(
        "--inventory", metavar="FILE", help="the hosts for --backend ssh (docs/machines.md)"
    )
    parser.add_argument(
        "--seed",
        type=SEED_FLAG,
        help="seed for the fault and operation plans (with --seeds: the first)",
    )
    parser.add_argument(
        "--seeds", type=COUNT, default=1, metavar="N", help="runs per schedule, one seed each (1)"
    )
    parser.add_argument(
        "--jobs", type=COUNT, default=1, metavar="J", help="runs at once, each its own process (1)"
    )
    parser.add_argument(
        "--time-limit",
        type=SECONDS,
        metavar="S",
        help="seconds of workload (overrides the schedule)",
    )
    parser.add_argument("--store", default="store", metavar="DIR", help="results store (store/)")


def run(args: argparse.Namespace) -> int:
    from harness.backends import backend_problem
    from harness.exit_codes import EXIT_ENV, EXIT_USAGE
    from harness.runner import docker_available
    from harness.schedule import ScheduleError, load_schedule

    try:
        schedules = [load_schedule(p) for p in args.schedules]
    except ScheduleError as exc:
        print(f"raftquake run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    backend = args.backend
    if backend == "ssh" or args.inventory:
        why = _ssh_problem(args, len(schedules))
        if why:
            print(f"raftquake run: {why}", file=sys.stderr)
            return EXIT_USAGE
    for s in schedules:
        why = backend_problem(backend, s) if backend is not None else None
        if why:
            print(f"raftquake run: {s.source}: {why}", file=sys.stderr)
            return EXIT_USAGE
    if backend is None:
        why = docker_available()
        backend = "sim" if why else "docker"
        problems = [backend_problem("sim", s) for s in schedules] if why else []
        if any(problems):
            print(f"raftquake run: {why}; and {next(p for p in problems if p)}", file=sys.stderr)
            return EXIT_ENV
        if why:
            print(f"raftquake run: {why}; falling back to --backend sim", file=sys.stderr)
    elif backend == "docker":
        why = docker_available()
        if why:
            print(f"raftquake run: {why}", file=sys.stderr)
            return EXIT_ENV
    _say_what_dead_runs_left(args.store, backend)
    if len(schedules) == 1 and args.seeds == 1:
        return _one(schedules[0], backend, args)
    return _batch(backend, args)


def _ssh_problem(args: argparse.Namespace, schedules: int) -> str | None:
    """Why --backend ssh / --inventory cannot be used as given; None: they can."""
    from harness.backends.ssh.inventory import InventoryError, load_inventory

    if args.backend != "ssh":
        return "--inventory is for --backend ssh"
    if not args.inventory:
        return "--backend ssh needs --inventory FILE (the hosts; docs/machines.md)"
    if schedules > 1 or args.seeds > 1:
        return "--backend ssh runs one schedule and one seed at a time (one set of hosts)"
    try:
        load_inventory(args.inventory)
    except InventoryError as exc:
        return str(exc)
    return None


def _say_what_dead_runs_left(store: str, backend: str) -> None:
    """Runs killed -9 leave their cluster running and their results "running": say so,
    and how to remove it, before this run starts beside them (harness/leftovers.py)."""
    from harness.leftovers import docker_client, find_leftovers

    client = docker_client() if backend == "docker" else None
    try:
        for line in find_leftovers(store, client).lines():
            print(f"run: {line}", file=sys.stderr)
    finally:
        if client is not None:
            client.close()


def _one(schedule, backend: str, args: argparse.Namespace) -> int:
    from harness.runner import run_schedule
    from harness.summary import summary_text

    outcome = run_schedule(
        schedule,
        backend=backend,
        store=args.store,
        seed=args.seed,
        time_limit=args.time_limit,
        inventory=Path(args.inventory) if args.inventory else None,
    )
    print(summary_text(outcome.run_dir, outcome.results))
    return outcome.exit_code


def _batch(backend: str, args: argparse.Namespace) -> int:
    from harness.batch import plan_runs, run_many, table

    runs = plan_runs(args.schedules, args.seeds, args.seed)
    print(
        f"run: {len(runs)} runs on {backend}, {args.jobs} at a time, results under {args.store}",
        file=sys.stderr,
    )
    rows, status = run_many(runs, backend, args.store, args.time_limit, args.jobs)
    print(table(rows))
    return status
