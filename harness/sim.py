"""Run simulated clusters from the shell, to reproduce or hunt for a failing schedule.

Each run is the run driver's (harness/driver.py: raftnode's clients over the simulated
network, the nemesis, heal, final reads; harness/backends/sim/simulate.py) with the
simulation's live safety checks, under a random plan of faults drawn from the seed.

    python -m harness.sim --seed 7                      # one run; prints the verdict
    python -m harness.sim --seeds 0-199 --bug no-log-check   # search; stops at the first violation
    python -m harness.sim --seed 7 --trace run.txt      # also write the full trace

Exit status: 0 every run was safe, 1 a run broke a safety property (or did not
converge once healed), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from harness.backends.sim.cluster import NetworkConfig, SafetyViolation, SimConfig
from harness.backends.sim.simulate import FAMILIES, plan_text, random_plan, simulate
from raftnode.bugs import KNOWN_BUGS
from raftnode.core import READ_MODES


def _seed_range(text: str) -> range:
    try:
        if "-" in text:
            lo, hi = text.split("-", 1)
            return range(int(lo), int(hi) + 1)
        return range(int(text), int(text) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or N-M, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harness.sim", description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=_seed_range, default=None, help="one seed (or N-M)")
    p.add_argument("--seeds", type=_seed_range, default=None, help="a range N-M of seeds")
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--duration-ms", type=float, default=2000.0)
    p.add_argument(
        "--faults", type=int, default=6, help="faults per run, on average (a nemesis package)"
    )
    p.add_argument(
        "--families", default=",".join(FAMILIES), help="fault families to draw from (the nemesis's)"
    )
    p.add_argument("--read-mode", choices=READ_MODES, default="read-index")
    p.add_argument("--bug", action="append", default=[], choices=sorted(KNOWN_BUGS))
    p.add_argument("--drop", type=float, default=0.05)
    p.add_argument("--duplicate", type=float, default=0.05)
    p.add_argument("--max-delay-ms", type=float, default=20.0)
    p.add_argument("--disk-ms", type=float, default=0.0)
    p.add_argument("--trace", help="write the trace of the (last or failing) run here")
    args = p.parse_args(argv)
    families = tuple(k for k in args.families.split(",") if k)
    unknown = set(families) - set(FAMILIES)
    if unknown:
        p.error(f"unknown fault family {sorted(unknown)}; known: {', '.join(FAMILIES)}")
    seeds = args.seeds or args.seed or range(0, 1)
    ids = [f"n{i}" for i in range(1, args.nodes + 1)]
    status = 0
    sim = None
    for seed in seeds:
        config = SimConfig(
            nodes=args.nodes,
            seed=seed,
            read_mode=args.read_mode,
            bugs=frozenset(args.bug),
            disk_ms=args.disk_ms,
            network=NetworkConfig(1.0, args.max_delay_ms, args.drop, args.duplicate),
        )
        plan = random_plan(random.Random(seed), ids, args.duration_ms / 1000, args.faults, families)
        t0 = time.perf_counter()
        try:
            run = simulate(config, plan, args.duration_ms)
        except AssertionError as exc:
            sim = getattr(exc, "cluster", None)
            kind = "VIOLATION" if isinstance(exc, SafetyViolation) else "NO CONVERGENCE"
            print(f"seed {seed}: {kind}: {exc}")
            print("  faults:\n" + "\n".join("    " + ln for ln in plan_text(plan).splitlines()))
            status = 1
            break
        sim = run.sim
        ops = run.completions
        ok = sum(1 for e in ops if e["type"] == "ok")
        took = time.perf_counter() - t0
        print(f"seed {seed}: safe ({len(ops)} ops, {ok} ok, {took:.2f}s)")
    if args.trace and sim is not None:
        with open(args.trace, "w") as f:
            f.write(sim.trace_text())
        print(f"trace: {args.trace}")
    return status


if __name__ == "__main__":
    sys.exit(main())
