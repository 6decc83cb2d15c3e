"""What libfaketime costs the node: client latency in a Docker run with and without clock
faults in the schedule.

A schedule with a clock fault starts every node with libfaketime re-reading its control
file on every clock call (FAKETIME_NO_CACHE=1), so that a bump takes effect at once;
without one, libfaketime caches it. This runs schedules/default.yaml on Docker with its
clock entries removed, twice: as it is, and with one clock fault planned after the end
of the workload (so it never fires, but the nodes run as under clock faults). The same
faults otherwise, so the difference is what the clock machinery costs. It prints the p50
and p99 latency of the ok operations of each and their ratio.

    .venv/bin/python benchmarks/bench_clock_latency.py [--time-limit 30] [--seed 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.runner import docker_available, run_schedule  # noqa: E402
from harness.schedule import load_schedule  # noqa: E402


def latencies_ms(history: Path) -> list[float]:
    open_at: dict = {}
    out = []
    for line in history.read_text().splitlines():
        e = json.loads(line)
        if e["process"] == "nemesis":
            continue
        if e["type"] == "invoke":
            open_at[e["process"]] = e["time"]
        elif e["process"] in open_at:
            start = open_at.pop(e["process"])
            if e["type"] == "ok":
                out.append((e["time"] - start) / 1e6)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    why = docker_available()
    if why:
        print(f"bench_clock_latency: skipped: {why}")
        return 0
    shipped = load_schedule(ROOT / "schedules" / "default.yaml")
    clock = [f for f in shipped.nemesis if getattr(f, "fault", None) == "clock"][0]
    no_clock = dataclasses.replace(
        shipped,
        name="default-no-clock",
        nemesis=tuple(f for f in shipped.nemesis if f is not clock),
    )
    never = dataclasses.replace(clock, at=args.time_limit + 3600.0)
    idle_clock = dataclasses.replace(
        no_clock, name="default-idle-clock", nemesis=(*no_clock.nemesis, never)
    )
    figures = {}
    for label, s in (("with a clock fault", idle_clock), ("without", no_clock)):
        with tempfile.TemporaryDirectory() as store:
            outcome = run_schedule(
                s, "docker", store, seed=args.seed, time_limit=args.time_limit, say=lambda m: None
            )
            lat = sorted(latencies_ms(outcome.run_dir.history))
        p50 = statistics.median(lat)
        p99 = lat[int(0.99 * (len(lat) - 1))]
        figures[label] = p50
        print(
            f"{label:<20} {len(lat):6d} ok ops  p50 {p50:7.2f} ms  p99 {p99:8.2f} ms  "
            f"verdict {outcome.results.get('valid')}",
            flush=True,
        )
    ratio = figures["with a clock fault"] / figures["without"]
    print(f"p50 with a clock fault / without: x{ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
