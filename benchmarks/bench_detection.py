"""Detection power: how often each planted bug's schedule is caught, and how often a
correct node is (wrongly) called invalid.

    python benchmarks/bench_detection.py                   # sim: 10 seeds per bug, 20 correct
    python benchmarks/bench_detection.py --docker-seeds 3  # and 3 runs per bug on Docker
    python benchmarks/bench_detection.py --time-limit 30   # shortened runs (say so when quoting)

A bug counts as caught when a checker docs/DESIGN.md names for it says invalid
(raftnode/bugs.py: each bug's caught_by). False positives: every shipped schedule with its
planted bugs removed, cycled over the correct runs, each with its own seed; any checker
saying invalid is a false positive, "unknown" is counted apart. Target (issue 5): every
bug caught in at least 90% of 60 s runs, no false positive.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.runner import docker_available, run_schedule  # noqa: E402
from harness.schedule import BUGS, NodeOptions, load_schedule  # noqa: E402
from raftnode.bugs import BY_NAME  # noqa: E402

SCHEDULES = ROOT / "schedules"


@dataclasses.dataclass
class Row:
    what: str
    backend: str
    runs: int = 0
    hits: int = 0  # caught (bug rows) or invalid (false-positive row)
    unknown: int = 0
    seconds: float = 0.0
    by: dict[str, int] = dataclasses.field(default_factory=dict)
    misses: list[str] = dataclasses.field(default_factory=list)

    def line(self) -> str:
        rate = f"{100 * self.hits / self.runs:5.1f}%" if self.runs else "    -"
        by = ", ".join(f"{k} {v}" for k, v in sorted(self.by.items())) or "-"
        per = self.seconds / self.runs if self.runs else 0.0
        return (
            f"{self.what:24} {self.backend:7} {self.runs:5} {self.hits:6} {rate:>7} "
            f"{self.unknown:8} {per:8.1f}  {by}"
        )


def _say(_msg: str) -> None:
    pass


def detect(bug: str, backend: str, seeds: list[int], time_limit, store: Path) -> Row:
    schedule = load_schedule(SCHEDULES / f"bug-{bug}.yaml")
    row = Row(bug, backend)
    for seed in seeds:
        t0 = time.monotonic()
        o = run_schedule(schedule, backend, store, seed=seed, time_limit=time_limit, say=_say)
        row.seconds += time.monotonic() - t0
        row.runs += 1
        checkers = o.results.get("checkers", {})
        caught = [c for c in BY_NAME[bug].caught_by if checkers.get(c, {}).get("valid") is False]
        if caught:
            row.hits += 1
            for c in caught:
                row.by[c] = row.by.get(c, 0) + 1
        else:
            row.misses.append(f"seed {seed}: {o.run_dir.path}")
            if o.results.get("valid") == "unknown":
                row.unknown += 1
        print(f"  {bug} {backend} seed {seed}: {'caught' if caught else 'missed'}", flush=True)
    return row


def false_positives(runs: int, backend: str, time_limit, store: Path) -> Row:
    shipped = [load_schedule(p) for p in sorted(SCHEDULES.glob("*.yaml"))]
    correct = [dataclasses.replace(s, node=NodeOptions(s.node.read_mode, ())) for s in shipped]
    row = Row("false positives", backend)
    for i in range(runs):
        s = correct[i % len(correct)]
        seed = 1000 + i
        t0 = time.monotonic()
        o = run_schedule(s, backend, store, seed=seed, time_limit=time_limit, say=_say)
        row.seconds += time.monotonic() - t0
        row.runs += 1
        v = o.results.get("valid")
        if v is False:
            row.hits += 1
            bad = [c for c, r in o.results["checkers"].items() if r.get("valid") is False]
            for c in bad:
                row.by[c] = row.by.get(c, 0) + 1
            row.misses.append(f"{s.name} seed {seed}: {o.run_dir.path}")
        elif v != True:  # noqa: E712
            row.unknown += 1
        print(f"  correct {s.name} {backend} seed {seed}: {v}", flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sim-seeds", type=int, default=10, help="runs per bug on sim (10)")
    p.add_argument("--docker-seeds", type=int, default=0, help="runs per bug on Docker (0)")
    p.add_argument("--correct-runs", type=int, default=20, help="correct runs on sim (20)")
    p.add_argument("--time-limit", type=float, default=None, help="override schedules' 60 s")
    p.add_argument("--bugs", nargs="*", default=list(BUGS), choices=BUGS)
    p.add_argument("--store", default=None, help="results store (default: a temporary dir)")
    a = p.parse_args(argv)
    store = Path(a.store or tempfile.mkdtemp(prefix="raftquake-detect-"))
    limit = f"{a.time_limit:g} s (shortened)" if a.time_limit else "each schedule's own (60 s)"
    print(f"detection benchmark: time limit {limit}; results under {store}", flush=True)

    rows: list[Row] = []
    sim_seeds = list(range(1, a.sim_seeds + 1))
    for bug in a.bugs:
        if sim_seeds:
            rows.append(detect(bug, "sim", sim_seeds, a.time_limit, store))
    if a.correct_runs:
        rows.append(false_positives(a.correct_runs, "sim", a.time_limit, store))
    if a.docker_seeds:
        why = docker_available()
        if why:
            print(f"Docker rows skipped: {why}")
        else:
            for bug in a.bugs:
                seeds = list(range(1, a.docker_seeds + 1))
                rows.append(detect(bug, "docker", seeds, a.time_limit, store))

    print()
    print(
        f"{'bug':24} {'backend':7} {'runs':>5} {'caught':>6} {'rate':>7} {'unknown':>8} "
        f"{'s/run':>8}  by"
    )
    for r in rows:
        print(r.line())
    print("(false-positive row: 'caught' = runs of a correct node called invalid; target 0)")
    for r in rows:
        for m in r.misses if r.what == "false positives" else r.misses[:3]:
            print(
                f"  {'false positive' if r.what == 'false positives' else 'missed'} "
                f"{r.what} {r.backend}: {m}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
