"""Whole simulated runs for property tests and seed searches.

A run is a fault plan in the schedule's own vocabulary (harness/schedule.py's
`PlannedFault`: the nemesis's faults, modes and targets, started and healed through
harness/nemesis/ on the simulation's `Cluster`) plus clients that talk to whichever
node believes it leads, stale leaders included: that is where stale reads and lost
writes show, and the simulation checks Raft's safety properties as the run goes.

`random_plan` draws a plan from a seed; `run_simulation` runs one. Both are what the
hypothesis tests, `python -m harness.sim` and seed searches call.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from harness.backends.sim.adapter import SimBackendCluster
from harness.backends.sim.cluster import SimCluster, SimConfig
from harness.nemesis import FaultError, NoLeader, make_fault
from harness.nemesis.package import FAMILIES, random_options
from harness.schedule import FaultSpec, PlannedFault
from workloads.base import Operation
from workloads.register import make_slots

LEADER_RETRY_MS = 50.0  # a fault aimed at the leader while there is none asks again


def plan_text(plan: Sequence[PlannedFault]) -> str:
    """One line per fault, as a person reads a schedule: `0.30-0.70 s partition mode=one`."""
    lines = []
    for p in plan:
        opts = " ".join(f"{k}={v}" for k, v in p.spec.options.items())
        end = f"{p.end:.2f}" if p.end is not None else "end"
        lines.append(f"{p.start:.2f}-{end} s {p.spec.fault} {opts}".rstrip())
    return "\n".join(lines)


def planned(start_s: float, for_s: float | None, fault: str, **options: object) -> PlannedFault:
    """A fault window: `planned(0.3, 0.4, "partition", mode="one")`."""
    end = start_s + for_s if for_s is not None else None
    return PlannedFault(start_s, end, FaultSpec(fault=fault, options=dict(options)))


def random_fault(rng: random.Random, ids: list[str], family: str) -> FaultSpec:
    """A fault of `family` with options drawn from everything the nemesis offers."""
    return FaultSpec(fault=family, options=random_options(rng, ids, family))


def random_plan(
    rng: random.Random,
    ids: list[str],
    duration_s: float,
    count: int,
    families: Sequence[str] = FAMILIES,
    max_for_s: float = 0.6,
    min_for_s: float = 0.005,
) -> list[PlannedFault]:
    """`count` faults of the given families at random times within `duration_s`."""
    plan = []
    for _ in range(count):
        spec = random_fault(rng, ids, rng.choice(list(families)))
        start = round(rng.uniform(0, duration_s), 3)
        plan.append(PlannedFault(start, start + round(rng.uniform(min_for_s, max_for_s), 3), spec))
    return sorted(plan, key=lambda p: p.start)


def schedule_plan(c: SimCluster, plan: Sequence[PlannedFault], seed: int) -> None:
    """Start and heal each planned fault at its virtual time, through the nemesis.

    Faults may overlap; a fault that cannot apply (a mode this cluster size does not
    allow) is noted in the trace and skipped; one aimed at the leader while there is
    none asks again every LEADER_RETRY_MS until its window ends.
    """
    cluster = SimBackendCluster(c, seed)
    for i, p in enumerate(plan):
        end_ms = p.end * 1000.0 if p.end is not None else None

        def start(i: int = i, p: PlannedFault = p, end_ms: float | None = end_ms) -> None:
            rng = random.Random(f"{seed}/fault/{i}")
            try:
                fault = make_fault(p.spec, cluster, rng)
                fault.start()
            except NoLeader:
                if end_ms is None or c.now + LEADER_RETRY_MS < end_ms:
                    c.at(c.now + LEADER_RETRY_MS, lambda: start(i, p, end_ms), f"fault {i} retry")
                return
            except FaultError as exc:
                c._log(f"fault {i} not applied: {exc}")
                return
            if end_ms is not None:
                c.at(max(end_ms, c.now), fault.heal, f"fault {i} heal {p.spec.fault}")

        c.at(p.start * 1000.0, start, f"fault {i} {p.spec.fault} {p.spec.options}")


def run_simulation(
    config: SimConfig,
    plan: Sequence[PlannedFault] = (),
    duration_ms: float = 2000.0,
    op_interval_ms: float = 10.0,
    keys: int = 3,
    finish: bool = True,
) -> SimCluster:
    """Run a workload under `plan` for duration_ms, then heal and check at rest.

    Raises SafetyViolation (an AssertionError) at the first broken property; the
    cluster's trace up to that point is on the exception's `cluster` attribute.
    """
    from harness.schedule import WorkloadSpec

    c = SimCluster(config)
    schedule_plan(c, plan, config.seed)
    # The register workload's own operation stream (one slot): unique values per key.
    spec = WorkloadSpec(keys=keys, concurrency=1, mix={"read": 0.4, "write": 0.45, "cas": 0.15})
    slot = make_slots(spec, config.seed)[0]
    # What the slot learns of each register from its completed operations, so that some
    # of its cas find the value they expect.
    c.on_complete = lambda op: slot.observe(
        Operation(op.f, op.key, None if op.f == "read" else op.value), op.type, op.value
    )

    def client() -> None:
        # Clients talk to any node that believes it leads, stale leaders included:
        # that is where stale reads and lost writes show.
        leaders = [i for i in c.ids if c.nodes[i].up and c.nodes[i].core.role == "leader"]
        node = c.rng.choice(leaders) if leaders else c.rng.choice(c.ids)
        op = slot.next_operation()
        c.invoke(op.f, op.key, op.value, node=node)
        nxt = c.now + c.rng.expovariate(1.0 / op_interval_ms)
        if nxt < duration_ms:
            c.at(nxt, client, "client")

    c.at(config.tick_ms * config.election_ticks, client, "client")
    try:
        c.run_for(duration_ms)
        if finish:
            c.finish()
    except AssertionError as exc:
        exc.cluster = c  # type: ignore[attr-defined]
        raise
    return c
