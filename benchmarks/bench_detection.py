"""Detection power: how often generic schedules catch each planted bug, and how often a
correct node is (wrongly) called invalid.

    python benchmarks/bench_detection.py                        # the matrix, 10 sim seeds
    python benchmarks/bench_detection.py --seeds 3 --jobs 2     # quicker, 2 runs at once
    python benchmarks/bench_detection.py --docker-seeds 3       # and package.yaml on Docker
    python benchmarks/bench_detection.py --schedules schedules/bug-stale-read.yaml
    python benchmarks/bench_detection.py --hunt 200 --time-limit 30   # raftquake hunt per bug
    python benchmarks/bench_detection.py --system etcd --docker-seeds 3   # etcd on Docker
    python benchmarks/bench_detection.py --sim-vs-docker        # the same schedules on both

The matrix (issue 11): every planted bug (raftnode/bugs.py) x each schedule (by default
the generic schedules/default.yaml and schedules/package.yaml, neither written around a
bug), the bug planted into the schedule's node; lease-no-quorum also switches the node to
lease reads, since the bug lives there. A bug counts as caught when a checker its table
row names (caught_by) says invalid. False positives: the same schedules with no bug,
their own seeds; any checker saying invalid is one, "unknown" is counted apart. Targets:
package.yaml >= 90%, default.yaml >= 80%, Docker >= 2 of 3, no false positive.

`--sim-vs-docker` (issue 24): instead, the agreement of the two backends: for each
register-visible bug (AGREEMENT_BUGS) and the correct node, the same schedule on the
simulation (--seeds, 10) and on Docker (--docker-seeds, 3; one at a time), for
leader-cuts.yaml (two leader partitions of 7 s in 25 s) and package.yaml (--schedules to
choose others; --only sim|docker for one backend's rows). Target: each bug's Docker rate
within 2 of 10 of the simulation's, and no false positive on either.

`--hunt N`: instead, per bug, `raftquake hunt` (harness/hunt.py) from a schedule that
names only the fault families (the last schedule given; its times are ignored; with
`--time-limit S`, workloads of at most S seconds) with the bug planted: runs and seconds
to the first failure, and the shrunk schedule's size (faults, seconds of workload).
Target: found within 200 runs or 10 min, shrunk to at most 3 faults and 15 s.

`--system NAME` (issues 12 and 26): instead, the system's rows on Docker, --docker-seeds
runs each (default 3), one at a time. A row is a shipped schedule and the system options
it changes (SYSTEM_ROWS): the same faults and workload under another setting. A setting
whose system expects findings (its expected_findings()) counts the runs its checkers
catch (target: found in >= 2 of 3); the others count the runs called invalid (target:
0, valid in 3 of 3).
  etcd       etcd.yaml (linearizable reads: valid), etcd-serializable.yaml (stale reads)
  etcd-txn   etcd-txn.yaml (list-append) and etcd-bank.yaml (bank): valid
  etcd-lock  etcd-lock.yaml (locks, pauses longer than the TTL): two holders (mutex)
  redis      redis.yaml as shipped (defaults: lost acknowledged writes) and with wait: 1
  zookeeper  zookeeper.yaml as shipped (plain reads: stale reads) and with reads: sync
  stores     issue 26's findings table: redis, zookeeper, etcd-txn and etcd-lock's rows

`--system postgres|mariadb|galera|sql` (issue 23): instead, the findings table of the SQL
systems (benchmarks/bench_sql.py: each row 3 Docker runs of 60 s, --docker-seeds runs if
given; `sql`: every row), held to the published analyses it cites.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.hunt import failing_checkers  # noqa: E402
from harness.pytest_plugin import schedule_catchers  # noqa: E402
from harness.runner import docker_available, run_schedule  # noqa: E402
from harness.schedule import Schedule, load_schedule  # noqa: E402
from raftnode.bugs import BY_NAME, PLANTED_BUGS  # noqa: E402

SCHEDULES = ROOT / "schedules"
GENERIC = [SCHEDULES / "default.yaml", SCHEDULES / "package.yaml"]
# --sim-vs-docker: the schedules both backends run, and the bugs a register history or the
# nodes' records show (txn-dirty-read needs a transactional workload; unsafe-membership
# and commit-previous-term are not caught by generic schedules: docs/detection.md).
AGREEMENT = [SCHEDULES / "leader-cuts.yaml", SCHEDULES / "package.yaml"]
AGREEMENT_BUGS = [
    "stale-read",
    "no-log-check",
    "lease-no-quorum",
    "forget-vote",
    "ack-before-commit",
    "snapshot-skip-commit",
]


@dataclasses.dataclass
class Row:
    bug: str  # "" for the correct node
    schedule: str
    backend: str
    runs: int = 0
    hits: int = 0  # caught (bug rows) or invalid (false-positive rows)
    unknown: int = 0
    seconds: float = 0.0
    by: dict[str, int] = dataclasses.field(default_factory=dict)
    misses: list[str] = dataclasses.field(default_factory=list)
    # The checkers that count as catching it; None: the bug's own (raftnode/bugs.py).
    wanted: tuple[str, ...] | None = None
    setting: str = ""  # a system row's system as configured ("redis (wait: 1)")

    def line(self) -> str:
        rate = f"{100 * self.hits / self.runs:5.1f}%" if self.runs else "    -"
        by = ", ".join(f"{k} {v}" for k, v in sorted(self.by.items())) or "-"
        per = self.seconds / self.runs if self.runs else 0.0
        what = self.bug or (f"{self.setting}: invalid" if self.setting else "(correct: false pos.)")
        return (
            f"{what:22} {self.schedule:10} {self.backend:7} {self.runs:5} {self.hits:6} "
            f"{rate:>7} {self.unknown:8} {per:8.1f}  {by}"
        )


def planted(schedule: Schedule, bug: str) -> Schedule:
    """`schedule` with only `bug` planted (none for ""): lease-no-quorum needs lease reads."""
    system = schedule.system
    if not bug:
        if system.name != "raftnode":  # only raftnode has planted bugs (a --system row)
            return schedule
        return dataclasses.replace(schedule, system=system.with_options({"bugs": ()}))
    mode = "lease" if bug == "lease-no-quorum" else system.option("read-mode", "read-index")
    planted = system.with_options({"read-mode": mode, "bugs": (bug,)})
    return dataclasses.replace(schedule, system=planted)


def with_system_options(schedule: Schedule, options: dict | None) -> Schedule:
    """`schedule` with its system's options overridden by `options` (a row of
    SYSTEM_ROWS: the same schedule, another setting)."""
    if not options:
        return schedule
    merged = {**dict(schedule.system.options), **options}
    system = dataclasses.replace(schedule.system, options=tuple(merged.items()))
    return dataclasses.replace(schedule, system=system)


def one_run(
    path: str,
    bug: str,
    backend: str,
    seed: int,
    time_limit,
    store: str,
    system_options: dict | None = None,
) -> dict:
    """One run, in a worker process: what the row needs of it."""
    schedule = with_system_options(planted(load_schedule(Path(path)), bug), system_options)
    t0 = time.monotonic()
    o = run_schedule(
        schedule, backend, store, seed=seed, time_limit=time_limit, say=_quiet, live_status=False
    )
    return {
        "seconds": time.monotonic() - t0,
        "invalid": failing_checkers(o.results),
        "valid": o.results.get("valid"),
        "dir": str(o.run_dir.path),
    }


def _quiet(_msg: str) -> None:
    pass


def tally(row: Row, seed: int, out: dict) -> None:
    row.runs += 1
    row.seconds += out["seconds"]
    wanted = row.wanted or (BY_NAME[row.bug].caught_by if row.bug else None)
    hit = [c for c in out["invalid"] if wanted is None or c in wanted]
    if hit:
        row.hits += 1
        for c in hit:
            row.by[c] = row.by.get(c, 0) + 1
    if row.bug and not hit or not row.bug and hit:
        row.misses.append(f"seed {seed}: {out['dir']}")
    if not hit and out["valid"] not in (True, False):
        row.unknown += 1
    verdict = ("caught" if hit else "missed") if row.bug else f"valid={out['valid']}"
    print(f"  {row.bug or 'correct'} {row.schedule} {row.backend} seed {seed}: {verdict}")


def matrix(cells, seeds, backend, time_limit, store, jobs) -> list[Row]:
    rows = {(bug, path): Row(bug, Path(path).stem, backend) for bug, path, _ in cells}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [
            (bug, path, seed, pool.submit(one_run, path, bug, backend, seed, time_limit, store))
            for bug, path, n in cells
            for seed in seeds[:n]
        ]
        for bug, path, seed, f in futures:
            tally(rows[(bug, path)], seed, f.result())
    return list(rows.values())


# A third-party system's rows: a shipped schedule, and the system options a row changes in
# it (the same faults and workload, another setting), for issue 26's findings table.
SYSTEM_ROWS: dict[str, list[tuple[str, dict]]] = {
    "etcd": [("etcd.yaml", {}), ("etcd-serializable.yaml", {})],
    "etcd-txn": [("etcd-txn.yaml", {}), ("etcd-bank.yaml", {})],
    "etcd-lock": [("etcd-lock.yaml", {})],
    "redis": [("redis.yaml", {}), ("redis.yaml", {"wait": 1})],
    "zookeeper": [("zookeeper.yaml", {}), ("zookeeper.yaml", {"reads": "sync"})],
}
# Issue 26's findings table, every row: `--system stores`.
SYSTEM_ROWS["stores"] = [
    row for name in ("redis", "zookeeper", "etcd-txn", "etcd-lock") for row in SYSTEM_ROWS[name]
]
SQL_SYSTEMS = ("postgres", "mariadb", "galera", "sql")  # benchmarks/bench_sql.py's rows


def system_matrix(name: str, runs: int, time_limit, store: str) -> list[Row]:
    """A third-party system's rows on Docker: a setting whose system expects findings (a
    weak mode) is a bug row, counting the runs its checkers catch; the others are correct
    rows, counting the runs called invalid."""
    from harness.systems import make_system

    rows = []
    for file, options in SYSTEM_ROWS[name]:
        path = str(SCHEDULES / file)
        schedule = with_system_options(load_schedule(Path(path)), options)
        wanted = schedule_catchers(schedule)
        described = make_system(schedule).describe()
        if schedule.workload.name != "register":  # "etcd, lock": what the row runs
            described = f"{described}, {schedule.workload.name}"
        label = described if wanted else ""
        row = Row(label, Path(path).stem, "docker", wanted=wanted or None, setting=described)
        for seed in range(1, runs + 1):
            tally(row, seed, one_run(path, "", "docker", seed, time_limit, store, options))
        rows.append(row)
    return rows


def hunts(
    path: str, bugs: list[str], runs: int, budget: float, store: str, time_limit: float | None
) -> None:
    from harness.hunt import hunt

    print(f"hunts from {Path(path).name}: at most {runs} runs, {budget:g} s each", flush=True)
    head = f"{'bug':22} {'runs':>5} {'to 1st':>7} {'s to 1st':>9} {'faults':>7} "
    head += f"{'secs':>5} {'s':>6}"
    lines = [head]
    for bug in bugs:
        schedule = planted(load_schedule(Path(path)), bug)
        state = hunt(schedule, Path(store), runs, budget, seed=1, time_limit=time_limit)
        took = time.monotonic() - state.started
        if state.best is None:
            lines.append(f"{bug:22} {state.runs:5} {'-':>7} {'-':>9} {'-':>7} {'-':>5} {took:6.0f}")
        else:
            lines.append(
                f"{bug:22} {state.runs:5} {state.first_failure_run:7} "
                f"{state.first_failure_s:9.1f} {len(state.best.nemesis):7} "
                f"{state.best.time_limit:5g} {took:6.0f}"
            )
        print(lines[-1], flush=True)
    print("\n".join(["", *lines]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bugs = [b.name for b in PLANTED_BUGS]
    p.add_argument("--seeds", type=int, default=10, help="sim runs per bug and schedule (10)")
    p.add_argument("--correct-runs", type=int, default=40, help="correct sim runs per schedule")
    p.add_argument("--docker-seeds", type=int, default=0, help="package.yaml runs on Docker")
    p.add_argument("--docker-correct", type=int, default=0, help="correct runs on Docker")
    p.add_argument(
        "--docker-schedule",
        default=str(SCHEDULES / "package.yaml"),
        help="the schedule of the Docker rows (package.yaml)",
    )
    p.add_argument("--schedules", nargs="*", default=[str(s) for s in GENERIC])
    p.add_argument("--time-limit", type=float, default=None, help="override schedules' own")
    p.add_argument("--bugs", nargs="*", default=bugs, choices=bugs)
    p.add_argument("--jobs", type=int, default=1, help="sim runs at once (1)")
    p.add_argument("--store", default=None, help="results store (default: a temporary dir)")
    p.add_argument("--hunt", type=int, default=0, metavar="N", help="hunt per bug instead")
    p.add_argument("--hunt-budget", type=float, default=600.0, metavar="S", help="per hunt")
    p.add_argument(
        "--system",
        choices=sorted([*SYSTEM_ROWS, *SQL_SYSTEMS]),
        help="a third-party system's rows on Docker, or an SQL system's findings table",
    )
    p.add_argument(
        "--sim-vs-docker",
        action="store_true",
        help="the same schedules on the simulation and on Docker, bug by bug",
    )
    p.add_argument("--only", choices=["sim", "docker"], help="with --sim-vs-docker: one backend")
    a = p.parse_args(argv)
    store = a.store or tempfile.mkdtemp(prefix="raftquake-detect-")
    if a.sim_vs_docker:
        return agreement(a, argv or sys.argv[1:], store)
    if a.system in SQL_SYSTEMS:
        import bench_sql

        args = ["--runs", str(a.docker_seeds or 3), "--store", store]
        args += ["--time-limit", str(a.time_limit)] if a.time_limit else []
        args += ["--system", a.system] if a.system != "sql" else []
        return bench_sql.main(args)
    if a.system:
        why = docker_available()
        if why:
            print(f"--system {a.system} runs on Docker: {why}")
            return 4
        t0 = time.monotonic()
        rows = system_matrix(a.system, a.docker_seeds or 3, a.time_limit, store)
        _print_rows(rows, t0)
        return 0
    if a.hunt:
        hunts(a.schedules[-1], a.bugs, a.hunt, a.hunt_budget, store, a.time_limit)
        return 0
    limit = f"{a.time_limit:g} s (shortened)" if a.time_limit else "each schedule's own"
    print(f"detection benchmark: time limit {limit}; results under {store}", flush=True)

    t0 = time.monotonic()
    # A bug only where the schedule runs a checker that can catch it (txn-dirty-read needs
    # a transactional workload's elle; register schedules cannot show it).
    cells = [
        (bug, s, a.seeds)
        for bug in a.bugs
        for s in a.schedules
        if set(BY_NAME[bug].caught_by) & set(load_schedule(Path(s)).checkers)
    ]
    cells += [("", s, a.correct_runs) for s in a.schedules]
    most = max(a.seeds, a.correct_runs)
    sim_seeds = list(range(1, most + 1))
    rows = matrix(cells, sim_seeds, "sim", a.time_limit, store, a.jobs)
    if a.docker_seeds or a.docker_correct:
        why = docker_available()
        if why:
            print(f"Docker rows skipped: {why}")
        else:
            on = a.docker_schedule
            checks = set(load_schedule(Path(on)).checkers)
            cells = [
                (bug, on, a.docker_seeds)
                for bug in a.bugs
                if a.docker_seeds and set(BY_NAME[bug].caught_by) & checks
            ]
            cells += [("", on, a.docker_correct)] if a.docker_correct else []
            seeds = list(range(1, max(a.docker_seeds, a.docker_correct) + 1))
            rows += matrix(cells, seeds, "docker", a.time_limit, store, 1)

    _print_rows(rows, t0)
    return 0


def agreement(a: argparse.Namespace, argv: list[str], store: str) -> int:
    """--sim-vs-docker: per schedule, each bug's (and the correct node's) simulated and
    Docker rows side by side."""
    given = "--schedules" in argv
    schedules = a.schedules if given else [str(s) for s in AGREEMENT]
    bugs = [b for b in AGREEMENT_BUGS if b in a.bugs]
    docker_runs = a.docker_seeds or 3
    t0 = time.monotonic()
    rows: list[Row] = []
    for s in schedules:
        cells = [(bug, s, a.seeds) for bug in bugs] + [("", s, a.seeds)]
        if a.only != "docker":
            print(f"{Path(s).name} on the simulation, {a.seeds} seeds", flush=True)
            rows += matrix(cells, list(range(1, a.seeds + 1)), "sim", a.time_limit, store, a.jobs)
        if a.only != "sim":
            why = docker_available()
            if why:
                print(f"Docker rows skipped: {why}")
                continue
            print(f"{Path(s).name} on Docker, {docker_runs} runs", flush=True)
            cells = [(bug, s, docker_runs) for bug, s, _ in cells]
            seeds = list(range(1, docker_runs + 1))
            rows += matrix(cells, seeds, "docker", a.time_limit, store, 1)
    rows.sort(key=lambda r: (r.schedule, r.bug == "", r.bug, r.backend != "sim"))
    _print_rows(rows, t0)
    return 0


def _print_rows(rows: list[Row], t0: float) -> None:
    print(f"\n{time.monotonic() - t0:.0f} s in all")
    print(
        f"{'bug':22} {'schedule':10} {'backend':7} {'runs':>5} {'caught':>6} {'rate':>7} "
        f"{'unknown':>8} {'s/run':>8}  by"
    )
    for r in rows:
        if r.runs:
            print(r.line())
    print("(correct rows: 'caught' = runs of a correct node called invalid; target 0)")
    for r in rows:
        for m in r.misses[:3] if r.bug else r.misses:
            print(f"  {'missed ' + r.bug if r.bug else 'false positive'} {r.schedule}: {m}")


if __name__ == "__main__":
    sys.exit(main())
