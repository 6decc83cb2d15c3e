"""The hunt's draw against planted bugs: how many of the runs it draws fail, and hunts.

    python benchmarks/bench_hunt_draw.py --bugs no-log-check stale-read --seeds 1 2
    python benchmarks/bench_hunt_draw.py --bugs no-log-check stale-read --hunts 1 2 3 4 5 6

A hunt's power is its draw (harness/hunt.py `schedules`, `plan_shape`): the share of
failing runs among those it draws, from package.yaml (--schedule) with the bug planted
and workloads of at most --time-limit seconds (15), is the figure to compare draws by.
Each search seed draws --runs schedules (100) as a hunt's search does (hypothesis's
generate phase), every one run and checked, none stopping the search. Runs to a hunt's
first failure vary too much from seed to seed to compare draws by alone (a hunt's first
runs are hypothesis's simplest schedules, the same at every seed), so `--hunts` (instead)
gives the user's view beside it: a whole `raftquake hunt` per seed (--hunt-runs, 60),
runs to the first failure and the shrunk size. Figures: docs/finding-bugs.md. One run at a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_detection import planted  # noqa: E402

from harness import hunt as hunting  # noqa: E402
from harness.schedule import Schedule, load_schedule  # noqa: E402


def share(schedule: Schedule, runs: int, seed: int) -> tuple[int, int]:
    """(failing, run) among `runs` schedules a hunt's search at `seed` draws."""
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    work = Path(tempfile.mkdtemp(prefix="bench-hunt-draw-"))
    counts = [0, 0]

    def fails(s: Schedule) -> bool:
        counts[1] += 1
        counts[0] += bool(hunting.failing_checkers(hunting.run_once(hunting.fitted(s), work)))
        return False  # every drawn schedule is run: the search never stops early

    strategy = hunting.schedules(schedule, hunting.bounds_of(schedule))
    quiet = settings(
        max_examples=runs,
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    try:
        find(strategy, fails, settings=quiet, random=random.Random(seed))
    except NoSuchExample:
        pass
    return counts[0], counts[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--schedule", default=str(ROOT / "schedules" / "package.yaml"))
    p.add_argument("--bugs", nargs="+", default=["no-log-check", "stale-read"])
    p.add_argument("--time-limit", type=float, default=15.0)
    p.add_argument("--seeds", type=int, nargs="*", default=[1, 2], help="search seeds (shares)")
    p.add_argument("--runs", type=int, default=100, help="runs drawn per seed (shares)")
    p.add_argument("--hunts", type=int, nargs="*", default=[], help="search seeds of hunts")
    p.add_argument("--hunt-runs", type=int, default=60)
    a = p.parse_args(argv)
    base = load_schedule(Path(a.schedule))
    for bug in a.bugs:
        s = dataclasses.replace(planted(base, bug), time_limit=a.time_limit)
        if not a.hunts:
            total = [0, 0]
            for seed in a.seeds:
                t0 = time.monotonic()
                bad, n = share(s, a.runs, seed)
                total = [total[0] + bad, total[1] + n]
                print(
                    f"{bug:22} seed {seed}: {bad} of {n} runs failed"
                    f" ({time.monotonic() - t0:.0f} s)"
                )
            print(f"{bug:22} {total[0]} of {total[1]}: {100 * total[0] / max(1, total[1]):.1f}%")
        for seed in a.hunts:
            store = Path(tempfile.mkdtemp(prefix="bench-hunt-draw-store-"))  # no stored examples
            h = hunting.hunt(s, store, a.hunt_runs, 3600.0, seed=seed)
            best = (
                "-" if h.best is None else f"{len(h.best.nemesis)} faults, {h.best.time_limit:g} s"
            )
            print(
                f"{bug:22} hunt seed {seed}: first failure at run {h.first_failure_run or '-'}"
                f" of {h.searched} searched; {h.runs} runs in all; best {best}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
