"""Many runs at once: wall time of a batch one at a time vs two at a time (issue 15).

    python benchmarks/bench_parallel.py                  # 8 sim runs and 4 Docker runs
    python benchmarks/bench_parallel.py --sim 8 --docker 0

The same (schedule, seed) list each way, through harness/batch.py as `raftquake run
--seeds N --jobs J` does: schedules/default.yaml, the full 60 s of virtual time on the
simulation (CPU-bound: two cores, two runs), and 20 s of it on Docker (mostly waiting
on the containers and the clock).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.batch import plan_runs, run_many  # noqa: E402
from harness.runner import docker_available  # noqa: E402

SCHEDULE = str(ROOT / "schedules" / "default.yaml")


def timed(runs, backend, limit, jobs, store) -> tuple[float, list]:
    t0 = time.monotonic()
    rows, _ = run_many(runs, backend, store, limit, jobs)
    return time.monotonic() - t0, rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", type=int, default=8, help="simulated runs (8)")
    ap.add_argument("--docker", type=int, default=4, help="Docker runs (4)")
    ap.add_argument("--docker-limit", type=float, default=20.0, help="seconds of workload")
    a = ap.parse_args()
    store = tempfile.mkdtemp(prefix="raftquake-parallel-")
    lines = []
    cases = [("sim", a.sim, None)]
    if a.docker:
        why = docker_available()
        if why:
            print(f"Docker rows skipped: {why}")
        else:
            cases.append(("docker", a.docker, a.docker_limit))
    for backend, n, limit in cases:
        if not n:
            continue
        runs = plan_runs([SCHEDULE], n, 1)
        one, rows1 = timed(runs, backend, limit, 1, store)
        two, rows2 = timed(runs, backend, limit, 2, store)
        verdicts = {r.valid for r in rows1 + rows2}
        lines.append(
            f"{backend:7} {n:3} runs  one at a time {one:7.1f} s  --jobs 2 {two:7.1f} s  "
            f"ratio {one / two:4.2f}x  verdicts {sorted(map(str, verdicts))}"
        )
        print(lines[-1], flush=True)
    print("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
