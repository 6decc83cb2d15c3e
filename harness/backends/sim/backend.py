"""`raftquake run --backend sim`: a schedule over the deterministic simulation.

The very run driver of a Docker run (harness/driver.py: workload, raftnode's clients,
nemesis, heal, recovery, final reads), on an event loop in the simulation's virtual
time (harness/backends/sim/loop.py), against SimBackendCluster. Then the run folder gets what
the checkers read from a Docker run: history.jsonl, and per node events.jsonl and the
committed log (log.jsonl).

Everything random comes from schedule.seed (the cluster's network and timeouts, the
workload, the clients' latencies and backoff, the nemesis's target choices) and every
event runs in a fixed order, so a seed gives the same history byte for byte.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness.backends import Backend
from harness.backends.sim.adapter import SimBackendCluster
from harness.backends.sim.cluster import NetworkConfig, SimCluster, SimConfig
from harness.backends.sim.loop import run_in_virtual_time
from harness.schedule import Schedule
from raftnode.config import NodeConfig


def sim_config(schedule: Schedule) -> SimConfig:
    """The node's real timing (raftnode/config.py defaults) and the schedule's options."""
    node = NodeConfig(id="n1", listen=("", 0), peers={}, data_dir="")  # defaults only
    return SimConfig(
        nodes=schedule.nodes,
        seed=schedule.seed or 0,
        tick_ms=node.tick_ms,
        election_ticks=node.election_ticks,
        heartbeat_ticks=node.heartbeat_ticks,
        read_mode=schedule.node.read_mode,
        bugs=frozenset(schedule.node.bugs),
        snapshot_entries=schedule.node.snapshot_entries,
        network=NetworkConfig(min_delay_ms=0.2, max_delay_ms=2.0),
        stop_on_violation=False,  # the checkers judge, from what the run leaves behind
        crash_on_error=True,  # a node whose code fails dies; the run goes on, as on Docker
        trace=False,
    )


def sim_backend(schedule: Schedule) -> Backend:
    """The simulation as a backend for harness/runner.py."""
    sim = SimCluster(sim_config(schedule))
    cluster = SimBackendCluster(sim, schedule.seed or 0)
    wall0 = time.monotonic()

    def details() -> dict[str, Any]:
        out: dict[str, Any] = {
            "virtual-time-s": round(sim.now / 1000, 3),
            "wall-time-s": round(time.monotonic() - wall0, 3),
            # The simulation's own safety checks, for information; the verdict is the
            # checkers', on the node files, exactly as for a Docker run.
            "sim-violations": sim.violations,
        }
        if sim.node_errors:
            out["node-errors"] = sim.node_errors
        if cluster.settle_problem:
            out["sim-settle"] = cluster.settle_problem
        return out

    return Backend(
        cluster,
        lambda coro: run_in_virtual_time(sim, coro),
        f"run: simulating {schedule.nodes} nodes; workload for {schedule.time_limit:g} s "
        "of virtual time",
        clock=lambda: round(sim.now * 1_000_000),
        details=details,
        live=False,  # virtual time: a run takes seconds, and a watcher would perturb it
    )


def execute(schedule: Schedule, run_dir: Any, say: Callable[[str], None]) -> dict[str, Any]:
    """Run `schedule` on the simulation into `run_dir` (a harness.store.RunDir), without
    checking it: the runner's steps, for tests and benchmarks that time the backend."""
    from harness.runner import _execute

    return _execute("sim", schedule, run_dir, say)
