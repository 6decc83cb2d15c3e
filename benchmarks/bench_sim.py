"""How fast the simulated backend runs a schedule: wall and CPU seconds per run, and the
ratio of virtual time to wall time (a Docker run takes at least its virtual time, plus
cluster start and teardown).

    .venv/bin/python benchmarks/bench_sim.py [SCHEDULE.yaml] [--seeds N]

Only the simulation (harness/backends/sim/backend.py: cluster, workload, nemesis, final reads,
node files) is timed; the checkers and the report are timed apart, since they cost
the same on either backend. CPU time is the figure to trust on a loaded machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.runner import execute  # noqa: E402
from harness.schedule import load_schedule  # noqa: E402
from harness.store import new_run_dir  # noqa: E402
from harness.verdict import check_run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("schedule", nargs="?", default=str(ROOT / "schedules" / "default.yaml"))
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    base = load_schedule(args.schedule)
    rows = []
    for seed in range(1, args.seeds + 1):
        s = dataclasses.replace(base, seed=seed)
        with tempfile.TemporaryDirectory() as store:
            run_dir = new_run_dir(store, s.name)
            w0, c0 = time.monotonic(), time.process_time()
            details = execute("sim", s, run_dir, lambda m: None)
            wall, cpu = time.monotonic() - w0, time.process_time() - c0
            ops = sum(1 for line in run_dir.history.open() if '"invoke"' in line)
            w1 = time.monotonic()
            verdict = check_run(run_dir, s)["valid"]
            check_wall = time.monotonic() - w1
        virtual = details["virtual-time-s"]
        rows.append(
            {
                "seed": seed,
                "virtual_s": virtual,
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "virtual_per_cpu_s": round(virtual / cpu, 1),
                "operations": ops,
                "checkers_wall_s": round(check_wall, 2),
                "valid": verdict,
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    def median(key: str) -> float:
        return sorted(r[key] for r in rows)[len(rows) // 2]

    print(
        f"{base.name}: {base.time_limit:g} s schedule on sim, median {median('cpu_s')} s CPU, "
        f"{median('wall_s')} s wall (simulation only) over {len(rows)} seeds; virtual time "
        f"runs {median('virtual_per_cpu_s')}x faster than real time per CPU second"
    )


if __name__ == "__main__":
    main()
