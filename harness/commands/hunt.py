"""`raftquake hunt SCHEDULE.yaml`: find a failing run on the simulation and shrink it."""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from harness import interrupt
from harness.commands.flags import COUNT, SECONDS, SEED_FLAG, numeric
from harness.numeric import NumberRule
from harness.words import plural as _plural

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
        type=COUNT,
        default=200,
        help="simulated runs at most, searching and shrinking together (200); the replay of "
        "the minimal schedule is one more",
    )
    parser.add_argument(
        "--time-budget",
        type=SECONDS,
        default=600.0,
        metavar="S",
        help="seconds at most for the whole hunt, the replay of the minimal schedule "
        "included (600); a run still going when it ends is stopped",
    )
    parser.add_argument(
        "--seed", type=SEED_FLAG, help="seed of the search (default: a fresh one, printed)"
    )
    parser.add_argument(
        "--time-limit",
        # The shortest workload a hunt draws is a second or two (harness/hunt.py).
        type=numeric(NumberRule(1), "seconds"),
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
    from harness.exit_codes import EXIT_ENV, EXIT_USAGE
    from harness.owners import owner
    from harness.runner import docker_available
    from harness.schedule import ScheduleError, load_schedule
    from harness.store import new_run_dir

    try:
        schedule = load_schedule(args.schedule)
    except ScheduleError as exc:
        print(f"raftquake hunt: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from harness.backends import backend_problem

    if backend_problem("sim", schedule):  # the hunt explores on the simulation
        print(f"raftquake hunt: {backend_problem('sim', schedule)}", file=sys.stderr)
        return EXIT_USAGE
    why = docker_available() if args.replay == "docker" else None
    if why:
        print(f"raftquake hunt: --replay docker: {why}", file=sys.stderr)
        return EXIT_ENV
    # The time budget counts from the command's start (harness/cli.py).
    started = getattr(args, "started", None) or time.monotonic()
    store = Path(args.store)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    with interrupt.handling():
        with interrupt.deferred():  # the folder says "running" before anything can stop it
            folder = new_run_dir(store / "hunt", schedule.name)
            record = {
                "kind": "hunt",
                "name": schedule.name,
                "schedule": str(args.schedule),
                "seed": seed,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "owner": owner(),
                "runs-limit": args.runs,
                "time-budget": args.time_budget,
                "status": "running",
            }
            folder.write_results(record)
        return _hunt(args, schedule, seed, folder, record, started)


def _hunt(
    args: argparse.Namespace, schedule, seed: int, folder, record: dict, started: float
) -> int:
    """The hunt proper, its folder made; results.json there says how it ended."""
    from harness.exit_codes import EXIT_INVALID, EXIT_UNKNOWN, EXIT_VALID
    from harness.hunt import hunt, minimal_yaml, save_minimal, size
    from harness.runner import run_schedule

    last = [0.0]

    def progress(h) -> None:
        now = time.monotonic()
        if now - last[0] < 2 and h.runs > 1:
            return
        last[0] = now
        best = "none yet"
        if h.best is not None:
            best = _size_words(size(h.best))
        print(
            f"hunt: {h.runs} of {_plural(h.runs_limit, 'run')}, {h.failures} failing, best "
            f"{best}, {now - h.started:.0f} of {h.budget:g} s; {h.step}",
            file=sys.stderr,
            flush=True,
        )

    print(f"hunt: {schedule.name}, seed {seed}, folder {folder.path}", file=sys.stderr)
    # A signal is only recorded while the hunt searches (hypothesis's own machinery, a gc
    # callback, must never see a KeyboardInterrupt raised inside it): a run in progress
    # stops at once (its driver listens), and the hunt stops before its next run.
    with interrupt.deferred():
        state = hunt(
            schedule,
            Path(args.store),
            args.runs,
            args.time_budget,
            seed,
            progress,
            args.time_limit,
            started,
        )
    seconds = time.monotonic() - state.started
    record.update(
        {
            "status": "interrupted" if state.interrupted else "complete",
            "duration-s": round(seconds, 3),
            "runs": state.runs,
            "searched": state.searched,
            "failures": state.failures,
            "found": state.best is not None,
            "ended-by": state.ended,
        }
    )
    stopped = "interrupted; " if state.interrupted else ""
    if state.best is None:
        with interrupt.deferred():
            folder.write_results(record)
        print(
            f"raftquake hunt: {stopped}no failing run in {_plural(state.runs, 'run')} "
            f"({seconds:.0f} s){_ended(state, args)}",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN if state.interrupted else EXIT_VALID
    faults, secs, clients, keys = size(state.best)
    record["best"] = {
        "faults": faults,
        "time-limit": secs,
        "clients": clients,
        "keys": keys,
        "caught-by": state.best_checkers,
    }
    record["minimal"] = "minimal.yaml"
    if state.interrupted:
        # Stopped: the smallest failure so far, not replayed (the user asked to stop).
        minimal = folder.path / "minimal.yaml"
        with interrupt.deferred():
            minimal.write_text(minimal_yaml(state.best, state.best_checkers, state))
            folder.write_results(record)
        print(
            f"raftquake hunt: interrupted after {_plural(state.runs, 'run')}; the smallest "
            f"failing schedule so far: {_size_words(size(state.best))}; replay it with "
            f"`raftquake run {minimal} --backend sim`",
            file=sys.stderr,
        )
        print(minimal)
        return EXIT_INVALID
    found = save_minimal(state, folder.path)
    minimal, replay = found.minimal, found.replay
    if replay is None:
        replayed = "not replayed: the time budget left no time for it"
    else:
        record["replay"] = str(replay.run_dir.path.relative_to(folder.path))
        replayed = f"replayed on sim: {_verdict(replay.results)}; results {replay.run_dir.path}"
    record["duration-s"] = round(time.monotonic() - state.started, 3)
    folder.write_results(record)
    print(
        f"raftquake hunt: minimal failing schedule after {_plural(state.runs, 'run')} "
        f"({time.monotonic() - state.started:.0f} s){_ended(state, args)}: "
        f"{_size_words(size(state.best))}; {replayed}",
        file=sys.stderr,
    )
    if args.replay == "docker":
        on_docker = run_schedule(
            state.best, backend="docker", store=folder.path, say=lambda _m: None
        )
        same = on_docker.results.get("valid") is False
        print(
            f"raftquake hunt: on Docker: {_verdict(on_docker.results)} "
            f"({'reproduces' if same else 'does not reproduce'}); "
            f"results {on_docker.run_dir.path}",
            file=sys.stderr,
        )
    print(minimal)
    return EXIT_INVALID


def _ended(state, args: argparse.Namespace) -> str:
    """What ended the hunt, when a limit did: the user asked for a run count or a time."""
    what = "the search" if state.step == "searching" else "the shrinking"
    if state.ended == "time-budget":
        return f"; the time budget ({args.time_budget:g} s) ended {what}"
    if state.ended == "runs":
        return f"; --runs {args.runs} ended {what}"
    return ""


def _size_words(size: tuple[int, float, int, int]) -> str:
    faults, secs, clients, keys = size
    return (
        f"{_plural(faults, 'fault')}, {secs:g} s, {_plural(clients, 'client')}, "
        f"{_plural(keys, 'key')}"
    )


def _verdict(results: dict) -> str:
    return {True: "valid", False: "INVALID"}.get(results.get("valid"), "unknown")
