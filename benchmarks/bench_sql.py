"""The findings table of issue 23: PostgreSQL, MariaDB and Galera Cluster from Debian 12,
held to Hermitage's and Jepsen's published analyses, on Docker.

    python benchmarks/bench_sql.py                      # every row, 3 runs of 60 s each
    python benchmarks/bench_sql.py --system galera      # one system's rows
    python benchmarks/bench_sql.py --rows 4 5 --runs 1  # some rows, one run each
    python benchmarks/bench_detection.py --system sql   # the same, from the detection bench
    python benchmarks/bench_sql.py --images             # each image built from nothing

Each row is a system with the options a user sets (isolation, flush-log-at-commit,
sync-wait), a workload with the generic knobs (concurrency 10, 200 operations a second,
the workload's own default keys and transaction lengths, clients bound to their node) and
the row's faults: nothing here is shaped around a finding. A row "finds" an anomaly when
it is in a checker's `anomalies` (results.json) in at least 2 of the 3 runs
(`linearizable` counts as the anomaly "nonlinearizable" when invalid); a row expected
valid needs all 3 valid. Rows marked "report" have no expectation: the table says what
was found. `--images` instead times each system's image as a fresh machine builds it on the
shared base (apt-get update and install from Debian's mirror, the template): postgres and
mariadb with no cached layer, then galera, which shares mariadb's layers. Run it alone
(the measure lock), one run at a time:

    flock /tmp/raftquake-measure.lock .venv/bin/python benchmarks/bench_sql.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.runner import docker_available, run_schedule  # noqa: E402
from harness.schedule import parse_schedule  # noqa: E402

# The faults a row names, as a schedule's nemesis (the knobs a user sets).
FAULTS = {
    "none": "",
    "kill, pause": "  - {package: [kill, pause], interval: 6, for: [1, 3]}",
    "kill": "  - {package: [kill], interval: 8, for: [1, 3]}",
    "partition": "  - {package: [partition], interval: 6, for: [2, 5]}",
    # Every 20 s: a Galera cluster killed whole takes 10-15 s to restore its primary
    # component and resync, so each kill meets a working cluster.
    "every node killed at once": "  - {start: 8, every: 20, fault: kill, target: all, for: 2}",
    "every node killed at once, and partitions": (
        "  - {start: 8, every: 20, fault: kill, target: all, for: 2}\n"
        "  - {package: [partition], interval: 6, for: [2, 5], start: 3}"
    ),
}


@dataclass
class FindingRow:
    number: int
    system: str  # the schedule's system: mapping, YAML flow style
    workload: str  # the schedule's workload: mapping, YAML flow style
    faults: str  # a key of FAULTS
    expected: str  # what the table says, in its words
    kind: str  # "valid" | "found" | "report"
    wanted: tuple[str, ...] = ()  # "found": any of these, in >= 2 of 3 runs
    absent: tuple[str, ...] = ()  # "found": and none of these (in any run)

    def schedule_text(self, time_limit: float) -> str:
        galera = "galera" in self.system
        nemesis = FAULTS[self.faults]
        return (
            f"name: findings-{self.number}\n"
            f"system: {self.system}\n"
            f"time-limit: {time_limit:g}\n"
            f"workload: {self.workload}\n"
            + (f"nemesis:\n{nemesis}\n" if nemesis else "")
            + f"final: {{heal: true, recover: {10 if galera else 5}}}\n"
        )

    @property
    def label(self) -> str:
        return f"{self.system} | {self.workload} | {self.faults}"


def W(name: str, **extra: object) -> str:
    """A workload with the generic knobs (and a row's own, e.g. binding)."""
    fields = {"name": name, "concurrency": 10, "rate": 200, **extra}
    return "{" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}"


def S(name: str, **options: object) -> str:
    return "{" + ", ".join([f"name: {name}", *(f"{k}: {v}" for k, v in options.items())]) + "}"


STALE = ("nonlinearizable", "G0-realtime", "G1c-realtime", "G-single-realtime",
         "G-nonadjacent-realtime", "G2-item-realtime")  # fmt: skip
ROWS = [
    FindingRow(1, S("postgres", isolation="serializable"), W("list-append"), "kill, pause",
               "valid", "valid"),
    FindingRow(2, S("postgres", isolation="serializable"), W("rw-register"), "kill, pause",
               "valid", "valid"),
    FindingRow(3, S("postgres", isolation="serializable"), W("bank"), "kill, pause",
               "valid", "valid"),
    FindingRow(4, S("postgres", isolation="repeatable-read"), W("list-append"), "none",
               "G2-item found; no G-single, no lost-update", "found",
               ("G2-item",), ("G-single", "lost-update")),
    FindingRow(5, S("postgres", isolation="read-committed"), W("rw-register"), "none",
               "lost-update or G-single found", "found", ("lost-update", "G-single")),
    FindingRow(6, S("mariadb", isolation="repeatable-read"), W("rw-register"), "none",
               "lost-update found", "found", ("lost-update",)),
    FindingRow(7, S("mariadb", isolation="repeatable-read"), W("list-append"), "none",
               "G-single found", "found", ("G-single",)),
    FindingRow(8, S("mariadb", isolation="serializable"), W("list-append"), "kill",
               "valid", "valid"),
    FindingRow(9, S("galera"), W("rw-register"), "none", "lost-update found", "found",
               ("lost-update",)),
    FindingRow(10, S("galera"), W("register", binding="node"), "none",
               "stale reads found (linearizable)", "found", STALE),
    FindingRow(11, S("galera"), W("list-append", binding="node"), "none",
               "stale reads found (realtime cycles)", "found", STALE),
    FindingRow(12, S("galera", **{"sync-wait": 1}), W("register"), "partition",
               "report what is found", "report"),
    FindingRow(13, S("galera", **{"flush-log-at-commit": 0}), W("set"),
               "every node killed at once", "lost acknowledged writes found", "found", ("lost",)),
    FindingRow(14, S("galera"), W("set"), "every node killed at once, and partitions",
               "report (flush-log-at-commit as recommended: 0)", "report"),
    FindingRow(15, S("galera", **{"flush-log-at-commit": 1}), W("set"),
               "every node killed at once, and partitions", "report", "report"),
]  # fmt: skip


@dataclass
class Outcome:
    row: FindingRow
    runs: list[dict] = field(default_factory=list)  # per run: anomalies, valid, dir, s

    def counts(self) -> Counter:
        c: Counter = Counter()
        for r in self.runs:
            c.update(set(r["anomalies"]))
        return c

    def verdict(self) -> str:
        n = len(self.runs)
        c = self.counts()
        if self.row.kind == "valid":
            valid = sum(1 for r in self.runs if r["valid"] is True)
            return f"{'valid' if valid == n else 'NOT valid'} ({valid}/{n})"
        if self.row.kind == "report":
            return "reported"
        hit = sum(1 for r in self.runs if set(r["anomalies"]) & set(self.row.wanted))
        found = hit >= min(2, n) if n >= 2 else hit == n
        seen_absent = [a for a in self.row.absent if c[a]]
        text = f"{'found' if found else 'NOT found'} ({hit}/{n})"
        if seen_absent:
            text += "; but also " + ", ".join(f"{a} {c[a]}/{n}" for a in seen_absent)
        return text


def anomalies_of(results: dict) -> list[str]:
    found: list[str] = []
    for name, entry in results.get("checkers", {}).items():
        found += list(entry.get("anomalies") or [])
        if name == "linearizable" and entry.get("valid") is False:
            found.append("nonlinearizable")
    return found


def run_row(row: FindingRow, runs: int, time_limit: float, store: str) -> Outcome:
    out = Outcome(row)
    schedule = parse_schedule(row.schedule_text(time_limit), f"findings-row-{row.number}.yaml")
    for seed in range(1, runs + 1):
        t0 = time.monotonic()
        o = run_schedule(schedule, "docker", store, seed=seed, say=_quiet, live_status=False)
        r = o.results
        out.runs.append(
            {
                "anomalies": anomalies_of(r),
                "valid": r.get("valid"),
                "dir": str(o.run_dir.path),
                "seconds": time.monotonic() - t0,
                "ops": _ops(r),
            }
        )
        print(
            f"  row {row.number} seed {seed}: valid={r.get('valid')} "
            f"anomalies={sorted(set(out.runs[-1]['anomalies']))} {out.runs[-1]['ops']} "
            f"({out.runs[-1]['seconds']:.0f} s) {o.run_dir.path}",
            flush=True,
        )
    return out


def _ops(results: dict) -> str:
    stats = results.get("checkers", {}).get("stats", {})
    total = stats.get("total") or {}
    if isinstance(total, dict) and total:
        return f"ok {total.get('ok', 0)} fail {total.get('fail', 0)} info {total.get('info', 0)}"
    return ""


def _quiet(_msg: str) -> None:
    pass


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| # | system, setting | workload | faults | expected | result | anomalies (runs) |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        r = o.row
        c = o.counts()
        n = len(o.runs)
        seen = ", ".join(f"{a} {k}/{n}" for a, k in sorted(c.items())) or "none"
        lines.append(
            f"| {r.number} | `{r.system}` | `{r.workload}` | {r.faults} | {r.expected} | "
            f"{o.verdict()} | {seen} |"
        )
    return "\n".join(lines)


def findings(
    systems: list[str] | None, rows: list[int] | None, runs: int, time_limit: float, store: str
) -> list[Outcome]:
    chosen = [
        r
        for r in ROWS
        if (not rows or r.number in rows)
        and (not systems or any(f"name: {s}" in r.system for s in systems))
    ]
    # The rows that should find something first, then those that should be valid, then
    # the reports: a table cut short still answers the main question. Printed in
    # number order.
    order = {"found": 0, "valid": 1, "report": 2}
    outcomes = []
    for row in sorted(chosen, key=lambda r: (order[r.kind], r.number)):
        print(f"row {row.number}: {row.label}", flush=True)
        outcomes.append(run_row(row, runs, time_limit, store))
    return sorted(outcomes, key=lambda o: o.row.number)


def build_images() -> None:
    """Each SQL system's image as a fresh machine builds it: postgres and mariadb with no
    layer cache at all, then galera, whose steps up to its label are mariadb's (its
    packages and template come from the layers mariadb's build just made), on the base a
    run would use, under bench- tags removed afterwards; seconds each."""
    import docker
    from harness.backends.docker import image
    from harness.systems import system_class

    client = docker.from_env()
    base, _ = image.choose_base(client, image.REPO, None, False, print)
    built = []
    for name, nocache in (("postgres", True), ("mariadb", True), ("galera", False)):
        spec = system_class(name)().image()
        tag = f"{spec.repo}:bench-{int(time.time())}"
        t0 = time.monotonic()
        client.images.build(
            fileobj=image._context_tar(spec, None),
            custom_context=True,
            dockerfile=spec.dockerfile,
            buildargs={"BASE": base},
            tag=tag,
            nocache=nocache,
            rm=True,
            forcerm=True,
        )
        took = time.monotonic() - t0
        size = client.images.get(tag).attrs["Size"] / 1e6
        built.append(tag)
        how = "from nothing" if nocache else "after mariadb's"
        print(f"{name:9} image {how} on {base}: {took:6.1f} s ({size:.0f} MB)", flush=True)
    for tag in reversed(built):
        client.images.remove(tag)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--system", nargs="*", choices=["postgres", "mariadb", "galera"])
    p.add_argument("--rows", nargs="*", type=int, help="row numbers (default: all)")
    p.add_argument("--runs", type=int, default=3, help="runs per row (3)")
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per run (60)")
    p.add_argument("--store", default=None, help="results store (default: a temporary dir)")
    p.add_argument("--images", action="store_true", help="time each image from nothing")
    a = p.parse_args(argv)
    why = docker_available()
    if why:
        print(f"the findings table runs on Docker: {why}")
        return 4
    if a.images:
        build_images()
        return 0
    store = a.store or tempfile.mkdtemp(prefix="raftquake-findings-")
    t0 = time.monotonic()
    print(f"findings table: {a.runs} runs of {a.time_limit:g} s per row; results under {store}")
    outcomes = findings(a.system, a.rows, a.runs, a.time_limit, store)
    print(f"\n{time.monotonic() - t0:.0f} s in all\n")
    print(table(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
