"""`raftquake hunt SCHEDULE.yaml`: find a failing run on the simulation and shrink it."""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

HELP = "search fault plans on the simulation for a failing run; shrink it to a minimal schedule"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "schedule",
        metavar="SCHEDULE.yaml",
        help="what may vary: its fault families (times ignored), and its workload as the "
        "largest to try",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=200,
        help="simulated runs searched at most (200); shrinking a failure takes more, within "
        "the time budget",
    )
    parser.add_argument(
        "--time-budget", type=float, default=600.0, metavar="S", help="seconds at most (600)"
    )
    parser.add_argument(
        "--seed", type=int, help="seed of the search (default: a fresh one, printed)"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        metavar="S",
        help="the longest workload to try (default: the schedule's own); a long nightly "
        "schedule hunts faster from a shorter one",
    )
    parser.add_argument("--store", default="store", metavar="DIR", help="results store (store/)")
    parser.add_argument(
        "--replay",
        choices=("docker",),
        help="rerun the minimal schedule on Docker and say whether it reproduces",
    )


def run(args: argparse.Namespace) -> int:
    from harness.exit_codes import EXIT_ENV, EXIT_INVALID, EXIT_USAGE, EXIT_VALID
    from harness.hunt import hunt, save_minimal, size
    from harness.runner import docker_available, run_schedule
    from harness.schedule import ScheduleError, load_schedule
    from harness.store import new_run_dir

    try:
        schedule = load_schedule(args.schedule)
    except ScheduleError as exc:
        print(f"raftquake hunt: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.time_limit is not None and args.time_limit < 1:
        print("raftquake hunt: --time-limit must be at least 1 second", file=sys.stderr)
        return EXIT_USAGE
    from harness.backends import backend_problem

    if backend_problem("sim", schedule):  # the hunt explores on the simulation
        print(f"raftquake hunt: {backend_problem('sim', schedule)}", file=sys.stderr)
        return EXIT_USAGE
    why = docker_available() if args.replay == "docker" else None
    if why:
        print(f"raftquake hunt: --replay docker: {why}", file=sys.stderr)
        return EXIT_ENV
    store = Path(args.store)
    folder = new_run_dir(store / "hunt", schedule.name).path
    last = [0.0]

    def progress(h) -> None:
        now = time.monotonic()
        if now - last[0] < 2 and h.runs > 1:
            return
        last[0] = now
        best = "none yet"
        if h.best is not None:
            faults, secs, clients, keys = size(h.best)
            best = f"{faults} faults, {secs:g} s, {clients} clients, {keys} keys"
        print(
            f"hunt: {h.runs} runs, {h.failures} failing, best {best}, {now - h.started:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    print(f"hunt: {schedule.name}, seed {seed}, folder {folder}", file=sys.stderr)
    state = hunt(schedule, store, args.runs, args.time_budget, seed, progress, args.time_limit)
    if state.best is None:
        print(
            f"raftquake hunt: no failing run in {state.runs} runs "
            f"({time.monotonic() - state.started:.0f} s)",
            file=sys.stderr,
        )
        return EXIT_VALID
    found = save_minimal(state, folder)
    minimal, replay = found.minimal, found.replay
    print(
        f"raftquake hunt: minimal failing schedule after {state.runs} runs: "
        f"{len(state.best.nemesis)} faults, {state.best.time_limit:g} s; replayed on sim: "
        f"{_verdict(replay.results)}; results {replay.run_dir.path}",
        file=sys.stderr,
    )
    if args.replay == "docker":
        on_docker = run_schedule(state.best, backend="docker", store=folder, say=lambda _m: None)
        same = on_docker.results.get("valid") is False
        print(
            f"raftquake hunt: on Docker: {_verdict(on_docker.results)} "
            f"({'reproduces' if same else 'does not reproduce'}); "
            f"results {on_docker.run_dir.path}",
            file=sys.stderr,
        )
    print(minimal)
    return EXIT_INVALID


def _verdict(results: dict) -> str:
    return {True: "valid", False: "INVALID"}.get(results.get("valid"), "unknown")
