"""Whole simulated runs for property tests, seed searches and `python -m harness.sim`.

A run here is a run like any other: the run driver (harness/driver.py: the workload,
raftnode's own clients over the simulated network, the nemesis, heal, final reads) on the
virtual-time loop, against the simulation's `Cluster`. What it adds is the simulation's
live safety oracle (harness/backends/sim/oracle.py): with `SimConfig.stop_on_violation`
the first broken property is raised as a SafetyViolation once the workload has ended,
and `finish()` then heals, converges and checks what must hold at rest.

A plan is in the schedule's own vocabulary (harness/schedule.py's `PlannedFault`):
`planned(0.3, 0.4, "partition", mode="one")`; a random one is a nemesis package's draw
(`random_plan`: harness/nemesis/package.py, as schedules, hunts and tests draw them).
"""

from __future__ import annotations

import dataclasses
import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness import interrupt
from harness.backends.sim.adapter import SimBackendCluster
from harness.backends.sim.cluster import SafetyViolation, SimCluster, SimConfig
from harness.backends.sim.loop import run_in_virtual_time
from harness.driver import RunReport, drive
from harness.nemesis.package import FAMILIES, package_plan
from harness.recorder import NEMESIS, HistoryRecorder
from harness.schedule import FaultSpec, FinalSpec, PlannedFault, Schedule, WorkloadSpec

# The workload of a seed search: one register, written often (so that a read at a stale
# index sees a stale value, and the checkers can tell), clients bound to the nodes (so
# that some talk to a deposed leader, where stale reads and lost writes show), 100
# operations a second in all.
WORKLOAD = WorkloadSpec(
    keys=1,
    concurrency=10,
    rate=100.0,
    mix={"read": 0.4, "write": 0.45, "cas": 0.15},
    binding="node",
    timeout=1.0,
)
RECOVER_S = 0.5  # after the heal, before the final reads: a short run recovers quickly


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


def random_plan(
    rng: random.Random,
    ids: list[str],
    duration_s: float,
    count: int,
    families: Sequence[str] = FAMILIES,
    for_s: tuple[float, float] = (0.005, 0.6),
) -> list[PlannedFault]:
    """About `count` faults of `families` within `duration_s`, each lasting `for_s`: a
    nemesis package's draw (harness/nemesis/package.py: one fault at a time per group),
    a fault every duration_s/count seconds on average."""
    plan = package_plan(rng, list(families), ids, 0.0, duration_s, duration_s / count, for_s)
    return [PlannedFault(at, end, FaultSpec(family, options)) for at, end, family, options in plan]


@dataclass
class SimRun:
    """What a simulated run left: the cluster (its trace, the oracle's records, the nodes)
    and the history the driver wrote (DESIGN's JSONL events, nemesis lines included)."""

    sim: SimCluster
    report: RunReport
    history: list[dict[str, Any]]

    @property
    def completions(self) -> list[dict[str, Any]]:
        """The client operations' completions (ok, fail, info), in history order."""
        return [e for e in self.history if e["type"] != "invoke" and e["process"] != NEMESIS]

    def history_text(self) -> str:
        return "".join(json.dumps(e) + "\n" for e in self.history)


def plan_schedule(
    config: SimConfig,
    plan: Sequence[PlannedFault],
    duration_s: float,
    workload: WorkloadSpec = WORKLOAD,
) -> Schedule:
    """The schedule the driver runs: `plan`'s windows as timed faults (in their order at
    equal times), `workload` for `duration_s`, then heal, recover briefly, final reads."""
    nemesis = tuple(
        dataclasses.replace(
            p.spec,
            at=p.start,
            duration=None if p.end is None else p.end - p.start,
            line=k + 1,
        )
        for k, p in enumerate(plan)
    )
    return Schedule(
        name="sim",
        nodes=config.nodes,
        time_limit=duration_s,
        seed=config.seed,
        workload=workload,
        nemesis=nemesis,
        final=FinalSpec(heal=True, recover=RECOVER_S),
    )


def simulate(
    config: SimConfig,
    plan: Sequence[PlannedFault] = (),
    duration_ms: float = 2000.0,
    workload: WorkloadSpec = WORKLOAD,
    finish: bool = True,
) -> SimRun:
    """Run the workload under `plan` for duration_ms through the run driver, then heal,
    let the cluster converge and check it at rest (`finish`).

    With config.stop_on_violation (the default) the first broken safety property raises
    SafetyViolation (an AssertionError), once the driver has ended; a node whose code
    failed, an AssertionError; a healed cluster that does not converge, an AssertionError
    too. The exception's `cluster` attribute is the SimCluster, its trace up to there.
    Without it, the oracle's findings are in `run.sim.violations`.
    """
    raising, crashing = config.stop_on_violation, config.crash_on_error
    # Inside the loop nothing raises: the run goes on to its end, as a run does.
    sim = SimCluster(dataclasses.replace(config, stop_on_violation=False, crash_on_error=True))
    cluster = SimBackendCluster(sim, config.seed)
    out = io.StringIO()
    recorder = HistoryRecorder(out, clock=lambda: round(sim.now * 1_000_000))
    report = RunReport()
    schedule = plan_schedule(config, plan, duration_ms / 1000.0, workload)
    try:
        with interrupt.handling():
            run_in_virtual_time(sim, drive(cluster, schedule, recorder, report=report))
        if raising and sim.violations:
            raise SafetyViolation(sim.violations[0])
        if not crashing and sim.node_errors:
            raise AssertionError(f"a node failed: {sim.node_errors[0]}")
        if finish:
            if sim.oracle is not None:
                sim.oracle.stop_on_violation = raising
            sim.finish()
            if not crashing and sim.node_errors:
                raise AssertionError(f"a node failed: {sim.node_errors[0]}")
    except AssertionError as exc:
        exc.cluster = sim  # type: ignore[attr-defined]
        raise
    history = [json.loads(line) for line in out.getvalue().splitlines()]
    return SimRun(sim, report, history)
